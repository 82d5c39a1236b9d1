//! What the loop shares with the edges and the views: the messages the
//! edges send it, and what a view (the screen, the JSON-lines printer)
//! must answer to.

use crate::rollout::{At, Effect, Group, Input, Reading, Rollout};

/// What the edges tell the loop.
#[derive(Debug)]
pub enum Msg {
    Samples(Vec<(usize, Group, Reading)>),
    /// Recent canary values from the source's backfill, for sparklines.
    History(Vec<(usize, Vec<(At, f64)>)>),
    HookDone {
        id: u64,
        ok: bool,
        summary: String,
        label: String,
        tail: Vec<String>,
    },
    /// A line of hook output or a notification result, for the log pane.
    Line(String),
    /// What Prometheus warned about in a poll, for the journal and the view.
    Warnings(Vec<crate::metrics::Warning>),
    GateOpen(usize),
    Key(crossterm::event::KeyEvent),
    Redraw,
    /// An event from an edge for the journal and the view, not for the
    /// core: a drill's faults and its score.
    Journal(crate::rollout::Event),
    /// A signal or a dead task: stop now, leaving the journal resumable.
    Stop(String),
}

/// What a view wants after a key.
#[derive(Debug, PartialEq)]
pub enum Control {
    Continue,
    Quit,
    /// The driver offers the wheel (to a follower, or anyone), or withdraws.
    Offer(Option<super::handover::Offer>),
    /// A follower asks for the wheel.
    Take,
}

/// The screen or the JSON-lines printer; both drive the same core.
pub trait View {
    fn effect(&mut self, rollout: &Rollout, effect: &Effect);
    fn line(&mut self, text: &str);
    /// A line a hook printed, at `at`.
    fn output(&mut self, _at: At, text: &str) {
        self.line(text);
    }
    fn key(
        &mut self,
        rollout: &Rollout,
        key: crossterm::event::KeyEvent,
        now: At,
    ) -> (Vec<Input>, Control);
    fn render(&mut self, rollout: &Rollout, now: At);
    /// Headless: the exit code when only an operator could carry on.
    fn stuck(&mut self, rollout: &Rollout) -> Option<i32>;
    /// Whether the session ends as soon as the rollout has an outcome.
    fn exits_on_outcome(&self) -> bool;
    /// What happened before this session, from the journal being resumed:
    /// for the eyes only (the headless view's stdout is this run's events).
    fn history(&mut self, _effect: &Effect) {}
    /// Who follows the rollout with `cockpit watch` now.
    fn watchers(&mut self, _who: &[String]) {}
    /// The runtime refused the operator's start (a failed pre-flight), and why.
    fn refused(&mut self, why: &str) {
        self.line(why);
    }
    /// The operator's typed reason to start despite a failed pre-flight,
    /// once given (taken: asked again after a refusal).
    fn forced_start(&mut self) -> Option<String> {
        None
    }
    /// A question is open on the screen: not a safe point to hand over.
    fn busy(&self) -> bool {
        false
    }
    /// The session is stopping (a signal, a dead task) and why.
    fn stopped(&mut self, why: &str) {
        self.line(why);
    }
}
