//! What goes into the core: an operator's command, a poll, a hook's
//! result, a tick. Each carries its time through `Rollout::update`.

use serde::{Deserialize, Serialize};

use super::decision::Actor;
use super::reading::{Group, Reading, Sample};

/// The keypress-level things an operator (or a script) can ask for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Start outside the deploy window, with the reason for the log.
    OverrideWindow {
        reason: String,
    },
    TickChecklist {
        item: usize,
    },
    /// Drills and scripted runs: checklist and window do not apply.
    SkipChecks {
        reason: String,
    },
    Advance,
    ForceAdvance {
        reason: String,
    },
    Pause,
    Resume,
    Rollback {
        reason: String,
    },
    /// Freeze an auto-rollback countdown; `Release` lets it run again.
    Hold,
    Release,
    /// Dismiss the countdown for this breach; the breach stays on screen.
    Cancel,
    Note {
        text: String,
    },
    /// The operator opened a metric's detail on screen: a look, which a
    /// drill scores as detection. Named by the metric's rule name.
    Look {
        metric: String,
    },
    /// A y/N question about a decision (roll back?) opened on screen, or
    /// answered: the operator is deciding.
    Question {
        open: bool,
    },
    /// Open a manual gate.
    OpenGate,
    /// After a failed hook: run it again, or skip it with a reason.
    Retry,
    Skip {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Input {
    /// The operator starts the rollout; `local` is the wall clock for windows.
    Start {
        local: chrono::NaiveDateTime,
        operator: String,
    },
    Tick,
    /// Everything one poll read, canary and baseline together, applied at
    /// once so no metric is judged against the previous poll's baseline.
    Poll(Vec<Sample>),
    Command {
        actor: Actor,
        command: Command,
    },
    HookDone {
        id: u64,
        ok: bool,
        summary: String,
    },
    /// An HTTP gate's URL answered 200.
    GateOpened {
        stage: usize,
    },
}

impl Input {
    /// A poll that read a single sample.
    pub fn sample(metric: usize, group: Group, reading: Reading) -> Input {
        Input::Poll(vec![Sample {
            metric,
            group,
            reading,
        }])
    }
}
