//! The runtime: one loop feeding the pure core from the edges (metric
//! sources, hooks, the operator) and carrying out its effects in order.

mod edges;
mod effects;
pub mod handover;
pub mod headless;
mod inbox;
mod past;
pub mod start;
mod view;

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;

pub use edges::spawn_signals;
pub use start::runtime;
pub use view::{Control, Msg, View};

use crate::clock::{Clock, operator};
use crate::config::Config;
use crate::error::Error;
use crate::exit;
use crate::rollout::{At, Effect, Group, Input, Outcome, Rollout};
use crate::secrets::Secrets;
use inbox::Step;

pub struct Session {
    pub rollout: Rollout,
    pub clock: Clock,
    pub journal: Option<crate::journal::Journal>,
    /// What a follower (`cockpit watch`) sees; beside the journal.
    feed: Option<crate::feed::Feed>,
    /// Why the session stopped early (a signal, a dead task), for followers.
    stopped: Option<String>,
    /// The resumed journal's events, shown before the session starts.
    history: Vec<Effect>,
    /// The plan's metric sources; built from the config when there is no plan.
    sources: Option<crate::metrics::Sources>,
    /// What the pre-flight found; a blocker keeps `Start` from the engine.
    preflight: Option<crate::preflight::Preflight>,
    /// `--force-start REASON`: start despite a failed pre-flight.
    force_start: Option<String>,
    /// The offer of the wheel to a follower, and whether it was taken.
    wheel: handover::Wheel,
    /// Scrubbed from every edge message before the core, the journal, the
    /// view or the followers see it.
    secrets: Secrets,
    /// The last warning journalled per metric and group: a warning that
    /// comes with every poll is journalled when it starts or changes.
    warned: std::collections::HashMap<(usize, Group), String>,
    /// Notifications on their way: the last ones (a rollout's outcome, a
    /// PagerDuty resolve) are waited for before the session ends.
    notifying: tokio::task::JoinSet<()>,
    /// Who watches the effects beside the view (a drill's referee).
    watchers: Vec<mpsc::UnboundedSender<Effect>>,
    tx: mpsc::UnboundedSender<Msg>,
    rx: mpsc::UnboundedReceiver<Msg>,
}

/// How a session ended, for the command that started it.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// With this exit code: the rollout's outcome, a quit, a signal.
    Exit(i32),
    /// The wheel went to a follower; the journal of the run, which this
    /// terminal follows from now on.
    HandedOver(PathBuf),
}

impl Ended {
    /// The exit code alone, for a caller that never follows after a
    /// hand-over: the run goes on unfinished under its new driver.
    pub fn code(self) -> i32 {
        match self {
            Ended::Exit(code) => code,
            Ended::HandedOver(_) => exit::of_outcome(None),
        }
    }
}

/// How long an ending session waits for notifications still being sent.
const NOTIFY_GRACE: Duration = Duration::from_secs(15);

impl Session {
    pub fn new(config: Config, clock: Clock, journal: Option<crate::journal::Journal>) -> Session {
        let rollout = Rollout::new(config, clock.now());
        Self::with(rollout, clock, journal)
    }

    pub fn with(
        rollout: Rollout,
        clock: Clock,
        journal: Option<crate::journal::Journal>,
    ) -> Session {
        let (tx, rx) = mpsc::unbounded_channel();
        let feed = journal.as_ref().map(|j| {
            let (driver, ssh) = operator();
            crate::feed::Feed::new(j.path(), &driver, ssh)
        });
        Session {
            secrets: Secrets::from_config(&rollout.config),
            warned: std::collections::HashMap::new(),
            notifying: tokio::task::JoinSet::new(),
            rollout,
            clock,
            journal,
            feed,
            stopped: None,
            history: Vec::new(),
            sources: None,
            preflight: None,
            force_start: None,
            wheel: handover::Wheel::default(),
            watchers: Vec::new(),
            tx,
            rx,
        }
    }

    /// A resumed run: what its journal already holds, so the log pane (and
    /// followers) pick up where the dead cockpit left off.
    pub fn with_history(
        mut self,
        events: impl Iterator<Item = (At, crate::rollout::Event)>,
    ) -> Session {
        self.history = events
            .map(|(at, event)| Effect::Journal { at, event })
            .collect();
        self
    }

    /// Every effect the view sees goes to `watcher` too, in order; the
    /// channel closes when the session ends.
    pub fn with_watcher(mut self, watcher: mpsc::UnboundedSender<Effect>) -> Session {
        self.watchers.push(watcher);
        self
    }

    /// Polls the sources a plan built instead of building them again.
    pub fn with_sources(mut self, sources: crate::metrics::Sources) -> Session {
        self.sources = Some(sources);
        self
    }

    /// The pre-flight's result gates the start: stage 1 waits while it
    /// blocks, unless `force` gives a reason (journalled as a note).
    pub fn with_preflight(
        mut self,
        report: crate::preflight::Preflight,
        force: Option<String>,
    ) -> Session {
        self.preflight = Some(report);
        self.force_start = force;
        self
    }

    /// The inputs a start becomes: refused while the pre-flight blocks,
    /// a note with the operator's reason first when forced.
    fn gate_start(&mut self, input: Input, view: &mut dyn View) -> Vec<Input> {
        let Input::Start { operator, .. } = &input else {
            return vec![input];
        };
        let Some(why) = self.preflight.as_ref().and_then(|p| p.blocker()) else {
            return vec![input];
        };
        if self.rollout.state.started_at.is_some() {
            return vec![input];
        }
        let Some(reason) = self.force_start.take().or_else(|| view.forced_start()) else {
            view.refused(&why);
            return vec![];
        };
        let note = Input::Command {
            actor: crate::rollout::Actor::Operator(operator.clone()),
            command: crate::rollout::Command::Note {
                text: format!("FORCED START: {reason} ({why})"),
            },
        };
        vec![note, input]
    }

    pub fn sender(&self) -> mpsc::UnboundedSender<Msg> {
        self.tx.clone()
    }

    /// Feeds one input and carries out every effect, journal first.
    pub fn apply(&mut self, input: Input, view: &mut dyn View) -> Result<(), Error> {
        for input in self.gate_start(input, view) {
            let now = self.clock.now();
            let effects = self.rollout.update(now, input);
            for effect in &effects {
                self.carry_out(effect)?;
                self.show(effect, view);
            }
        }
        Ok(())
    }

    /// An effect for the operator's eyes: the view and the followers.
    fn show(&mut self, effect: &Effect, view: &mut dyn View) {
        view.effect(&self.rollout, effect);
        self.watchers.retain(|w| w.send(effect.clone()).is_ok());
        if let Some(feed) = &mut self.feed {
            feed.effect(effect);
        }
    }

    /// Tells the followers; `ended` says how the session ended, once it has.
    fn publish(&mut self, ended: Option<String>) {
        if let Some(feed) = &mut self.feed {
            // A follower's view, not the record: failing to write it must
            // not stop the rollout. The follower sees the driver go silent.
            let _ = feed.publish(&self.rollout, &self.clock, ended);
        }
    }

    /// How the session ended, in words for the followers.
    fn ending(&self) -> String {
        if let Some(to) = &self.wheel.handed_to {
            return format!("{} handed the wheel to {to}", self.driver());
        }
        let state = &self.rollout.state;
        match (state.outcome, &self.stopped) {
            (Some(Outcome::Promoted), _) => "the rollout ended: promoted".into(),
            (Some(Outcome::RolledBack), _) => "the rollout ended: rolled back".into(),
            (Some(Outcome::RolledBackUnrecovered), _) => {
                "the rollout ended: rolled back, but the metrics did not recover".into()
            }
            (None, Some(why)) => format!(
                "the driver's cockpit stopped ({why}); the rollout waits where it was until someone resumes it"
            ),
            (None, None) => "the driver quit; the rollout waits where it was until someone resumes it (cockpit run --resume)".into(),
        }
    }

    /// Runs until the view quits, the rollout ends (headless), a signal, or
    /// the wheel goes to a follower: how it ended, or why it could not go
    /// on (a source that cannot be built, a journal that cannot be written).
    pub async fn run(mut self, view: &mut dyn View, first: Vec<Input>) -> Result<Ended, Error> {
        let sources = match self.sources.take() {
            Some(s) => Ok(s),
            None => crate::metrics::Sources::from_config(&self.rollout.config),
        };
        let poller = sources
            .map(|s| edges::spawn_metrics(s, self.clock, self.tx.clone()))
            .map_err(Error::failed)?;
        edges::spawn_signals(self.tx.clone());
        for effect in std::mem::take(&mut self.history) {
            view.history(&effect);
            if let Some(feed) = &mut self.feed {
                feed.effect(&effect);
            }
        }
        self.rewatch_gate();
        let ended = match self.journal_preflight() {
            Ok(()) => self.event_loop(view, first).await,
            Err(e) => Err(e),
        };
        poller.abort();
        let notifying = std::mem::take(&mut self.notifying);
        let _ = tokio::time::timeout(NOTIFY_GRACE, notifying.join_all()).await;
        let ending = self.ending();
        // An offer outlives no driver: nobody would be there to grant it.
        self.offer_wheel(None);
        self.publish(Some(ending));
        if let Some(j) = &mut self.journal {
            let _ = j.flush();
        }
        ended
    }

    /// The pre-flight's result, journalled once before anything starts so
    /// the report, a replay and followers have it. The view has shown it.
    fn journal_preflight(&mut self) -> Result<(), Error> {
        let Some(report) = &self.preflight else {
            return Ok(());
        };
        let event = start::preflight_event(report);
        let effect = Effect::Journal {
            at: self.clock.now(),
            event: self.redacted_event(event),
        };
        self.carry_out(&effect)?;
        if let Some(feed) = &mut self.feed {
            feed.effect(&effect);
        }
        Ok(())
    }

    /// A resumed session waiting at a URL gate watches it again: the
    /// `WatchGate` effect died with the process that carried it out.
    fn rewatch_gate(&self) {
        let state = &self.rollout.state;
        let gate = self
            .rollout
            .config
            .stages
            .get(state.stage)
            .and_then(|s| s.gate.as_ref());
        if state.phase == crate::rollout::Phase::Gate
            && let Some(g) = gate
            && let Some(url) = &g.url
        {
            let every = g.every.as_millis();
            edges::spawn_gate(self.tx.clone(), self.clock, state.stage, url.clone(), every);
        }
    }

    async fn event_loop(&mut self, view: &mut dyn View, first: Vec<Input>) -> Result<Ended, Error> {
        for input in first {
            self.apply(input, view)?;
        }
        let mut tick = tokio::time::interval(self.clock.real(Duration::from_secs(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            let now = self.clock.now();
            if self.rollout.is_finished() && view.exits_on_outcome() {
                view.render(&self.rollout, now);
                return Ok(Ended::Exit(exit::of_outcome(self.rollout.state.outcome)));
            }
            if let Some(code) = view.stuck(&self.rollout) {
                return Ok(Ended::Exit(code));
            }
            let input = tokio::select! {
                _ = tick.tick() => Some(Input::Tick),
                msg = self.rx.recv() => match msg {
                    // Every sender is gone, ours included: cannot happen
                    // while the session lives, so it is the runtime's fault.
                    None => return Err(Error::failed("the session's message channel closed")),
                    Some(msg) => match self.message(self.redacted(msg), view)? {
                        Step::Go(input) => input,
                        Step::End(code) => return Ok(Ended::Exit(code)),
                    },
                },
            };
            if let Some(input) = input {
                self.apply(input, view)?;
            }
            view.render(&self.rollout, self.clock.now());
            self.publish(None);
            if let Some(journal) = self.followers(view)? {
                return Ok(Ended::HandedOver(journal));
            }
            if let Some(feed) = &self.feed {
                view.watchers(&feed.watchers);
            }
        }
    }
}
