//! The runtime: one loop feeding the pure core from the edges (metric
//! sources, hooks, the operator) and carrying out its effects in order.

mod edges;
pub mod headless;
pub mod live;

use std::time::Duration;

use tokio::sync::mpsc;

pub use edges::spawn_signals;

use crate::clock::{Clock, operator};
use crate::config::Config;
use crate::exit;
use crate::rollout::{At, Effect, Group, Input, Outcome, Reading, Rollout, Sample};
use crate::secrets::Secrets;

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
    fn render(&mut self, rollout: &Rollout, now: At, clock_only: bool);
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
    /// The session is stopping (a signal, a dead task) and why.
    fn stopped(&mut self, why: &str) {
        self.line(why);
    }
}

pub struct Session {
    pub rollout: Rollout,
    pub clock: Clock,
    pub journal: Option<crate::journal::Journal>,
    /// What a follower (`cockpit watch`) sees; beside the journal.
    feed: Option<live::Feed>,
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
            live::Feed::new(j.path(), &driver, ssh)
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
    pub fn apply(&mut self, input: Input, view: &mut dyn View) -> Result<(), String> {
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

    fn carry_out(&mut self, effect: &Effect) -> Result<(), String> {
        match effect {
            Effect::Journal { at, event } => {
                if let Some(j) = &mut self.journal {
                    j.append_event(*at, event)
                        .map_err(|e| format!("cannot write the journal: {e}"))?;
                }
            }
            Effect::Checkpoint(state) => {
                if let Some(j) = &mut self.journal {
                    j.append_checkpoint(self.clock.now(), state)
                        .map_err(|e| format!("cannot write the journal: {e}"))?;
                }
            }
            Effect::RunHook {
                id,
                hook,
                vars,
                purpose,
                ..
            } => {
                // The journal's word for it: "enter", "undo", "on_rollback"...
                let name = serde_json::to_value(purpose).ok();
                let name = name.as_ref().and_then(|v| v.as_str()).unwrap_or("hook");
                let context = self.context(name, vars);
                edges::spawn_hook(self.tx.clone(), *id, hook.clone(), vars.clone(), context)
            }
            Effect::Notify { hooks, vars, event } => {
                let context = self.context(event, vars);
                // Forget the ones already sent.
                while self.notifying.try_join_next().is_some() {}
                edges::spawn_notify(
                    &mut self.notifying,
                    self.tx.clone(),
                    hooks.clone(),
                    vars.clone(),
                    event.clone(),
                    context,
                )
            }
            Effect::WatchGate {
                stage,
                url,
                every_ms,
            } => edges::spawn_gate(self.tx.clone(), self.clock, *stage, url.clone(), *every_ms),
            Effect::Say(_) | Effect::Finished(_) => {}
        }
        Ok(())
    }

    /// What an `http` hook sends: the event, its placeholder values and the
    /// metric values behind it.
    fn context(
        &self,
        event: &str,
        vars: &std::collections::BTreeMap<String, String>,
    ) -> serde_json::Value {
        let mut body = serde_json::json!({ "event": event });
        for (k, v) in vars {
            body[k] = serde_json::Value::String(v.clone());
        }
        let metrics: Vec<_> = self.rollout.tracks.iter().map(|t| t.value()).collect();
        body["metrics"] = serde_json::to_value(metrics).unwrap_or_default();
        // One name per run, kept across a resume: PagerDuty's dedup_key.
        let run = match &self.journal {
            Some(j) => j
                .path()
                .file_stem()
                .map_or_else(String::new, |s| s.to_string_lossy().into_owned()),
            None => format!(
                "{}-{}",
                self.rollout.config.rollout.name,
                self.rollout.state.started_at.unwrap_or_default()
            ),
        };
        body["run"] = serde_json::Value::String(run);
        body
    }

    /// Runs until the view quits, the rollout ends (headless), or a signal.
    pub async fn drive(mut self, view: &mut dyn View, first: Vec<Input>) -> i32 {
        let sources = match self.sources.take() {
            Some(s) => Ok(s),
            None => crate::metrics::Sources::from_config(&self.rollout.config),
        };
        let poller = match sources.map(|s| edges::spawn_metrics(s, self.clock, self.tx.clone())) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("error: {e}");
                return exit::ERROR;
            }
        };
        edges::spawn_signals(self.tx.clone());
        for effect in std::mem::take(&mut self.history) {
            view.history(&effect);
            if let Some(feed) = &mut self.feed {
                feed.effect(&effect);
            }
        }
        self.rewatch_gate();
        let code = self.event_loop(view, first).await;
        poller.abort();
        let notifying = std::mem::take(&mut self.notifying);
        let _ = tokio::time::timeout(NOTIFY_GRACE, notifying.join_all()).await;
        let ending = self.ending();
        self.publish(Some(ending));
        if let Some(j) = &mut self.journal {
            let _ = j.flush();
        }
        code
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

    async fn event_loop(&mut self, view: &mut dyn View, first: Vec<Input>) -> i32 {
        for input in first {
            if let Err(e) = self.apply(input, view) {
                eprintln!("error: {e}");
                return exit::ERROR;
            }
        }
        let mut tick = tokio::time::interval(self.clock.real(Duration::from_secs(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            let now = self.clock.now();
            if self.rollout.is_finished() && view.exits_on_outcome() {
                view.render(&self.rollout, now, false);
                return exit::of_outcome(self.rollout.state.outcome);
            }
            if let Some(code) = view.stuck(&self.rollout) {
                return code;
            }
            let (input, clock_only) = tokio::select! {
                _ = tick.tick() => (Some(Input::Tick), true),
                msg = self.rx.recv() => match msg {
                    None => return exit::ERROR,
                    Some(msg) => match self.message(self.redacted(msg), view) {
                        Ok(input) => (input, false),
                        Err(code) => return code,
                    },
                },
            };
            if let Some(input) = input
                && let Err(e) = self.apply(input, view)
            {
                eprintln!("error: {e}");
                return exit::ERROR;
            }
            view.render(&self.rollout, self.clock.now(), clock_only);
            self.publish(None);
            if let Some(feed) = &self.feed {
                view.watchers(&feed.watchers);
            }
        }
    }

    /// The edge's message with every secret scrubbed from the words that
    /// came from outside: reasons, details, hook output and summaries.
    fn redacted(&self, msg: Msg) -> Msg {
        let s = &self.secrets;
        match msg {
            Msg::Samples(samples) => Msg::Samples(
                samples
                    .into_iter()
                    .map(|(m, g, r)| (m, g, s.reading(r)))
                    .collect(),
            ),
            Msg::HookDone {
                id,
                ok,
                summary,
                label,
                tail,
            } => Msg::HookDone {
                id,
                ok,
                summary: s.redact(&summary),
                label: s.redact(&label),
                tail: tail.iter().map(|l| s.redact(l)).collect(),
            },
            Msg::Line(text) => Msg::Line(s.redact(&text)),
            Msg::Warnings(list) => Msg::Warnings(
                list.into_iter()
                    .map(|w| crate::metrics::Warning {
                        text: s.redact(&w.text),
                        ..w
                    })
                    .collect(),
            ),
            Msg::Journal(event) => Msg::Journal(self.redacted_event(event)),
            Msg::Stop(why) => Msg::Stop(s.redact(&why)),
            other @ (Msg::History(_) | Msg::GateOpen(_) | Msg::Key(_) | Msg::Redraw) => other,
        }
    }

    /// Every string of an event scrubbed, through its JSON form.
    fn redacted_event(&self, event: crate::rollout::Event) -> crate::rollout::Event {
        if self.secrets.is_empty() {
            return event;
        }
        serde_json::to_value(&event)
            .ok()
            .and_then(|v| serde_json::from_value(self.secrets.json(v)).ok())
            // Our own type always makes the round trip; were it not to,
            // the event is dropped rather than shown unscrubbed.
            .unwrap_or(crate::rollout::Event::Note {
                by: crate::rollout::Actor::Policy,
                text: "an event could not be scrubbed of secrets and is not shown".into(),
            })
    }

    /// New or changed Prometheus warnings, journalled (and so shown and
    /// published) once each.
    fn warnings(
        &mut self,
        list: Vec<crate::metrics::Warning>,
        view: &mut dyn View,
    ) -> Result<(), String> {
        // In the order they came, one entry per metric and group.
        let mut texts: Vec<((usize, Group), Vec<String>)> = Vec::new();
        for w in list {
            let key = (w.metric, w.group);
            let at = match texts.iter().position(|(k, _)| *k == key) {
                Some(at) => at,
                None => {
                    texts.push((key, Vec::new()));
                    texts.len() - 1
                }
            };
            if !texts[at].1.contains(&w.text) {
                texts[at].1.push(w.text);
            }
        }
        for ((metric, group), text) in texts {
            let text = text.join("; ");
            if self.warned.get(&(metric, group)) == Some(&text) {
                continue;
            }
            self.warned.insert((metric, group), text.clone());
            let name = self
                .rollout
                .config
                .metrics
                .get(metric)
                .map_or_else(|| format!("metric {metric}"), |m| m.name.clone());
            let effect = Effect::Journal {
                at: self.clock.now(),
                event: crate::rollout::Event::SourceWarning {
                    metric: name,
                    group,
                    text,
                },
            };
            self.carry_out(&effect)?;
            self.show(&effect, view);
        }
        Ok(())
    }

    /// Turns an edge's message into the core's input; Err ends the session.
    fn message(&mut self, msg: Msg, view: &mut dyn View) -> Result<Option<Input>, i32> {
        Ok(match msg {
            Msg::Samples(samples) => Some(Input::Poll(
                samples
                    .into_iter()
                    .map(|(metric, group, reading)| Sample {
                        metric,
                        group,
                        reading,
                    })
                    .collect(),
            )),
            Msg::HookDone {
                id,
                ok,
                summary,
                label,
                tail,
            } => {
                if !tail.is_empty() {
                    let at = self.clock.now();
                    let event = crate::rollout::Event::HookOutput { id, label, tail };
                    self.carry_out(&Effect::Journal { at, event })
                        .map_err(|e| {
                            eprintln!("error: {e}");
                            exit::ERROR
                        })?;
                }
                Some(Input::HookDone { id, ok, summary })
            }
            Msg::History(history) => {
                for (metric, points) in history {
                    self.rollout.backfill(metric, &points);
                }
                None
            }
            Msg::Line(text) => {
                view.output(self.clock.now(), &text);
                if let Some(feed) = &mut self.feed {
                    feed.line(self.clock.now(), &text);
                }
                None
            }
            Msg::Warnings(list) => {
                self.warnings(list, view).map_err(|e| {
                    eprintln!("error: {e}");
                    exit::ERROR
                })?;
                None
            }
            Msg::GateOpen(stage) => Some(Input::GateOpened { stage }),
            Msg::Key(key) => {
                let (inputs, control) = view.key(&self.rollout, key, self.clock.now());
                for input in inputs {
                    if let Err(e) = self.apply(input, view) {
                        eprintln!("error: {e}");
                        return Err(exit::ERROR);
                    }
                }
                if control == Control::Quit {
                    // Quitting never rolls back or promotes: the journal resumes it.
                    return Err(exit::of_outcome(self.rollout.state.outcome));
                }
                None
            }
            Msg::Redraw => None,
            Msg::Journal(event) => {
                let effect = Effect::Journal {
                    at: self.clock.now(),
                    event,
                };
                self.carry_out(&effect).map_err(|e| {
                    eprintln!("error: {e}");
                    exit::ERROR
                })?;
                self.show(&effect, view);
                None
            }
            Msg::Stop(why) => {
                view.stopped(&why);
                self.stopped = Some(why.clone());
                return Err(if self.rollout.is_finished() {
                    exit::of_outcome(self.rollout.state.outcome)
                } else {
                    exit::ABORTED
                });
            }
        })
    }
}
