//! The rollout state machine: `update(now, input) -> effects`.
//!
//! Everything the product decides happens here, with time passed in, so a
//! day of rollout can be simulated in a loop and every rule tested without
//! a terminal, a network or a clock.

use std::collections::{BTreeMap, VecDeque};

use super::event::{
    Action, Actor, Command, Countdown, Effect, Event, Failure, Input, MetricValue, Outcome, Phase,
    Purpose, RollbackInfo, Running, Said, State, Step,
};
use super::now::{Now, Ready};
use super::track::Track;
use super::traffic::{self, Traffic, TrafficShare};
use super::verdict::{At, Level, Rule};
use super::window::{DeployWindows, WindowStatus};
use crate::config::Config;
use crate::config::model::{Hook, MetricKind, OnCritical, OnNoData};
use crate::format::number;

pub struct Rollout {
    pub config: Config,
    pub state: State,
    pub tracks: Vec<Track>,
    windows: DeployWindows,
    out: Vec<Effect>,
}

impl Rollout {
    /// Needs a config that passed `config::parse`.
    pub fn new(config: Config, now: At) -> Rollout {
        let state = State {
            phase: Phase::Waiting,
            stage: 0,
            entered: 0,
            observed_ms: 0,
            paused: false,
            operator: String::new(),
            started_at: None,
            last_at: now,
            window: None,
            window_override: None,
            checks_skipped: None,
            checklist: vec![false; config.checklist.items.len()],
            countdown: None,
            countdown_dismissed: false,
            rollback: None,
            rollback_deferred: None,
            queue: VecDeque::new(),
            running: None,
            failed: None,
            gate_open: false,
            next_id: 1,
            last_snapshot: now,
            outcome: None,
            traffic: Traffic::default(),
        };
        Self::resume(config, state, now)
    }

    /// Carries on from a checkpoint. A hook that was running has an unknown
    /// outcome: it becomes a failure the operator must retry or skip.
    /// Someone else's rollout as their cockpit last published it, for a
    /// read-only screen: nothing is resumed or re-judged.
    pub fn follow(config: Config, state: State, tracks: Vec<Track>) -> Rollout {
        let windows = DeployWindows::from_spec(&config.window).unwrap_or_default();
        Rollout {
            config,
            state,
            tracks,
            windows,
            out: Vec::new(),
        }
    }

    pub fn resume(config: Config, mut state: State, now: At) -> Rollout {
        if let Some(r) = state.running.take() {
            state.failed = Some(Failure {
                summary: format!(
                    "outcome unknown: the cockpit stopped while `{}` ran",
                    r.shown_label()
                ),
                step: r.step,
            });
        }
        state.last_at = now;
        let windows = DeployWindows::from_spec(&config.window).unwrap_or_default();
        let mut rollout = Rollout {
            config,
            state,
            tracks: Vec::new(),
            windows,
            out: Vec::new(),
        };
        rollout.tracks = rollout
            .rules_for(rollout.state.stage)
            .into_iter()
            .map(|r| Track::new(r, now))
            .collect();
        rollout
    }

    fn rules_for(&self, stage: usize) -> Vec<Rule> {
        super::verdict::stage_rules(&self.config, stage)
    }

    pub fn update(&mut self, now: At, input: Input) -> Vec<Effect> {
        let elapsed = now.saturating_sub(self.state.last_at);
        self.state.last_at = now.max(self.state.last_at);
        // The verdicts held over the elapsed time are the ones before this input.
        if self.clock_runs() {
            self.state.observed_ms += elapsed;
        }
        match input {
            Input::Start { local, operator } => self.start(now, local, operator),
            Input::Tick => {}
            Input::Poll(samples) => {
                if let Some(seen) = traffic::read(&samples, now) {
                    self.state.traffic.seen = Some(seen);
                }
                let mut read = Vec::new();
                for s in samples {
                    if let Some(t) = self.tracks.get_mut(s.metric) {
                        t.record(now, s.group, s.reading);
                        read.push(s.metric);
                    }
                }
                // Only these metrics changed; staleness of the rest is caught by ticks.
                self.refresh(now, Some(&read));
                self.decide(now);
                self.snapshot(now);
                return self.finish_effects();
            }
            Input::Command { actor, command } => self.command(now, actor, command),
            Input::HookDone { id, ok, summary } => self.hook_done(now, id, ok, summary),
            Input::GateOpened { stage } => {
                if self.state.phase == Phase::Gate && stage == self.state.stage {
                    self.state.gate_open = true;
                    self.enter_stage(now, stage);
                }
            }
        }
        self.refresh(now, None);
        self.decide(now);
        self.snapshot(now);
        self.finish_effects()
    }

    /// Journal first, then the checkpoint, then anything that acts: a crash
    /// after an action started can never lose the decision behind it.
    fn finish_effects(&mut self) -> Vec<Effect> {
        let mut effects = std::mem::take(&mut self.out);
        effects.sort_by_key(|e| match e {
            Effect::Journal { .. } => 0,
            _ => 2,
        });
        let decided = effects.iter().any(|e| matches!(e, Effect::Journal { event, .. } if !matches!(event, Event::Snapshot { .. } | Event::MetricChanged { .. })));
        if decided
            || effects.iter().any(|e| {
                matches!(
                    e,
                    Effect::Journal {
                        event: Event::Snapshot { .. },
                        ..
                    }
                )
            })
        {
            let at = effects
                .iter()
                .position(|e| !matches!(e, Effect::Journal { .. }))
                .unwrap_or(effects.len());
            effects.insert(at, Effect::Checkpoint(Box::new(self.state.clone())));
        }
        effects
    }

    fn journal(&mut self, now: At, event: Event) {
        let notify = matches!(
            event,
            Event::Decision { .. }
                | Event::StageObserving { .. }
                | Event::RollbackComplete
                | Event::Finished { .. }
        );
        if notify && !self.config.hooks.on_event.0.is_empty() {
            let text = serde_json::to_string(&event).unwrap_or_default();
            self.notify(self.config.hooks.on_event.0.clone(), text, "");
        }
        self.out.push(Effect::Journal { at: now, event });
    }

    fn notify(&mut self, hooks: Vec<Hook>, event: String, reason: &str) {
        if hooks.is_empty() {
            return;
        }
        let vars = self.vars(self.state.stage, reason);
        self.out.push(Effect::Notify { hooks, vars, event });
    }

    fn say(&mut self, said: Said) {
        self.out.push(Effect::Say(said));
    }

    fn values(&self) -> Vec<MetricValue> {
        self.tracks.iter().map(Track::value).collect()
    }

    fn decision(&mut self, now: At, action: Action, by: Actor, reason: impl Into<String>) {
        let event = Event::Decision {
            action,
            by,
            reason: reason.into(),
            stage: self.state.stage,
            metrics: self.values(),
            traffic: self.traffic_known(now),
        };
        self.journal(now, event);
    }

    // ----- starting -------------------------------------------------------

    fn start(&mut self, now: At, local: chrono::NaiveDateTime, operator: String) {
        if self.state.started_at.is_some() {
            return;
        }
        self.state.started_at = Some(now);
        self.state.operator = operator.clone();
        let window = if self.config.rollout.security_hotfix {
            WindowStatus::Skipped("security hotfix".into())
        } else if let Some(reason) = &self.state.checks_skipped {
            WindowStatus::Skipped(reason.clone())
        } else {
            self.windows.status(local)
        };
        self.state.window = Some(window.clone());
        let r = &self.config.rollout;
        let event = Event::Started {
            rollout: r.name.clone(),
            service: r.service.clone(),
            environment: r.environment.clone(),
            old_version: r.old_version.clone(),
            new_version: r.new_version.clone(),
            strategy: r.strategy.to_string(),
            stages: self.config.stages.iter().map(|s| s.name.clone()).collect(),
            operator: operator.clone(),
            window,
        };
        self.journal(now, event);
        if let Some(reason) = self.state.checks_skipped.clone() {
            self.note_skipped(now, Actor::Operator(operator), &reason);
        }
        self.try_begin(now, true);
    }

    fn note_skipped(&mut self, now: At, by: Actor, reason: &str) {
        let text = format!("checklist and deploy window skipped: {reason}");
        self.journal(now, Event::Note { by, text });
    }

    /// Why stage 1 cannot start yet, if it cannot.
    pub fn blocker(&self) -> Option<String> {
        if self.state.checks_skipped.is_some() {
            return None;
        }
        if let Some(w) = &self.state.window
            && w.needs_reason()
            && self.state.window_override.is_none()
        {
            return Some(format!("{}: starting needs a typed reason", w.describe()));
        }
        let done = self.state.checklist.iter().filter(|t| **t).count();
        let total = self.state.checklist.len();
        (done < total).then(|| format!("pre-deploy checklist: {done} of {total} ticked"))
    }

    /// Enters stage 1 unless something blocks it; `announce` journals the
    /// blocker (not after each checklist tick, which is journalled itself).
    fn try_begin(&mut self, now: At, announce: bool) {
        if self.state.phase != Phase::Waiting || self.state.started_at.is_none() {
            return;
        }
        match self.blocker() {
            Some(reason) if announce => self.journal(now, Event::Blocked { reason }),
            Some(_) => {}
            None => self.enter_stage(now, 0),
        }
    }

    // ----- commands -------------------------------------------------------

    fn command(&mut self, now: At, actor: Actor, command: Command) {
        match command {
            Command::OverrideWindow { reason } => {
                if self.state.phase == Phase::Waiting && self.state.window_override.is_none() {
                    self.state.window_override = Some(reason.clone());
                    self.decision(now, Action::OverrideWindow, actor, reason);
                    self.try_begin(now, true);
                }
            }
            Command::TickChecklist { item } => {
                if let Some(false) = self.state.checklist.get(item).copied() {
                    self.state.checklist[item] = true;
                    let item = self.config.checklist.items[item].clone();
                    self.journal(now, Event::ChecklistTicked { item, by: actor });
                    self.try_begin(now, false);
                }
            }
            Command::SkipChecks { reason } => {
                if self.state.phase == Phase::Waiting && self.state.checks_skipped.is_none() {
                    self.state.checks_skipped = Some(reason.clone());
                    // Before the start, the note follows the Started event.
                    if self.state.started_at.is_some() {
                        self.note_skipped(now, actor, &reason);
                        self.try_begin(now, false);
                    }
                }
            }
            Command::Advance => self.advance(now, actor, None),
            Command::ForceAdvance { reason } => self.advance(now, actor, Some(reason)),
            Command::Pause => self.pause(now, actor, true),
            Command::Resume => self.pause(now, actor, false),
            Command::Rollback { reason } => self.rollback(now, actor, reason),
            Command::Hold | Command::Release | Command::Cancel => {
                self.countdown_command(now, actor, command)
            }
            Command::Note { text } => self.journal(now, Event::Note { by: actor, text }),
            Command::OpenGate => {
                if self.state.phase == Phase::Gate {
                    self.decision(now, Action::OpenGate, actor, "gate opened by hand");
                    self.state.gate_open = true;
                    self.enter_stage(now, self.state.stage);
                }
            }
            Command::Retry => self.retry(now, actor),
            Command::Skip { reason } => self.skip(now, actor, reason),
        }
    }

    fn advance(&mut self, now: At, actor: Actor, forced: Option<String>) {
        if self.state.phase != Phase::Observing || self.state.failed.is_some() {
            return self.say(Said::NothingToAdvance);
        }
        let (action, reason) = match (self.ready(now), forced) {
            (Ok(_), _) => (
                Action::Advance,
                format!("stage {} green", self.stage_name()),
            ),
            (Err(why), Some(reason)) => (
                Action::ForceAdvance,
                format!("{reason} (was not green: {why})"),
            ),
            (Err(why), None) => {
                return self.say(Said::NotReady { why });
            }
        };
        let last = self.state.stage + 1 >= self.config.stages.len();
        let action = if last && action == Action::Advance {
            Action::Promote
        } else {
            action
        };
        self.decision(now, action, actor, reason);
        self.leave_stage(now);
        if last {
            self.promote(now);
        } else {
            self.enter_stage(now, self.state.stage + 1);
        }
    }

    fn pause(&mut self, now: At, actor: Actor, pause: bool) {
        let live = matches!(
            self.state.phase,
            Phase::Observing | Phase::Gate | Phase::Entering
        );
        if !live || self.state.paused == pause {
            return;
        }
        self.state.paused = pause;
        let (action, hooks) = if pause {
            (Action::Pause, self.config.hooks.on_pause.0.clone())
        } else {
            (Action::Resume, self.config.hooks.on_resume.0.clone())
        };
        self.decision(
            now,
            action,
            actor,
            if pause {
                "observation paused"
            } else {
                "observation resumed"
            },
        );
        self.notify(hooks, format!("{action:?}").to_lowercase(), "");
        if !pause && self.config.policy.pause_stops_rollback {
            // A countdown frozen by the pause starts again from where it was.
            if let Some(c) = &mut self.state.countdown
                && let Some(left) = c.held.take()
            {
                c.deadline = now + left;
            }
        }
    }

    fn countdown_command(&mut self, now: At, actor: Actor, command: Command) {
        let Some(c) = self.state.countdown.as_mut() else {
            return self.say(Said::NoCountdown);
        };
        let action = match command {
            Command::Hold if c.held.is_none() => {
                c.held = Some(c.deadline.saturating_sub(now));
                Action::Hold
            }
            Command::Hold | Command::Release if c.held.is_some() => {
                c.deadline = now + c.held.take().unwrap_or(0);
                Action::Release
            }
            Command::Cancel => {
                self.state.countdown = None;
                self.state.countdown_dismissed = true;
                Action::Cancel
            }
            _ => return,
        };
        let reason = match action {
            Action::Hold => "auto-rollback countdown held",
            Action::Release => "auto-rollback countdown released",
            _ => "auto-rollback cancelled for this breach",
        };
        self.decision(now, action, actor, reason);
    }

    // ----- stages and hooks -----------------------------------------------

    fn stage_name(&self) -> String {
        self.config
            .stages
            .get(self.state.stage)
            .map_or_else(String::new, |s| s.name.clone())
    }

    fn weight_of(&self, stage: Option<usize>) -> String {
        stage
            .and_then(|i| self.config.stages.get(i))
            .and_then(|s| s.weight.map(number).or(s.instances.map(|n| n.to_string())))
            .unwrap_or_else(|| "0".into())
    }

    /// Placeholder values for a hook of `stage`.
    pub fn vars(&self, stage: usize, reason: &str) -> BTreeMap<String, String> {
        let r = &self.config.rollout;
        let pairs = [
            ("rollout", r.name.clone()),
            ("service", r.service.clone()),
            (
                "stage",
                self.config
                    .stages
                    .get(stage)
                    .map_or_else(String::new, |s| s.name.clone()),
            ),
            ("weight", self.weight_of(Some(stage))),
            ("previous_weight", self.weight_of(stage.checked_sub(1))),
            ("version", r.new_version.clone()),
            ("operator", self.state.operator.clone()),
            ("reason", reason.to_string()),
        ];
        pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }

    fn enter_stage(&mut self, now: At, index: usize) {
        self.state.stage = index;
        self.state.observed_ms = 0;
        self.state.countdown = None;
        self.state.countdown_dismissed = false;
        let stage = self.config.stages[index].clone();
        if let Some(gate) = &stage.gate
            && !self.state.gate_open
        {
            self.state.phase = Phase::Gate;
            let what = match &gate.url {
                Some(url) => {
                    self.out.push(Effect::WatchGate {
                        stage: index,
                        url: url.clone(),
                        every_ms: gate.every.as_millis(),
                    });
                    format!("gate {url}")
                }
                None => "the operator to open it".into(),
            };
            self.journal(now, Event::WaitingForGate { stage: index, what });
            return;
        }
        self.state.gate_open = false;
        self.state.phase = Phase::Entering;
        // The seen share carries on; the rule starts again once the hooks succeed.
        self.state.traffic = Traffic {
            seen: self.state.traffic.seen,
            ..Traffic::default()
        };
        self.state.entered = self.state.entered.max(index + 1);
        self.journal(
            now,
            Event::StageEntering {
                stage: index,
                name: stage.name.clone(),
                exposure: stage.exposure(),
            },
        );
        let steps = stage
            .enter
            .0
            .iter()
            .map(|h| (h, Purpose::Enter))
            .chain(stage.smoke.iter().map(|h| (h, Purpose::Smoke)));
        self.state.queue = steps
            .map(|(h, purpose)| Step {
                hook: h.clone(),
                purpose,
                stage: index,
            })
            .collect();
        self.next_step(now);
    }

    fn leave_stage(&mut self, now: At) {
        let event = Event::StageLeft {
            stage: self.state.stage,
            name: self.stage_name(),
            observed_ms: self.state.observed_ms,
            traffic: self.traffic_known(now),
        };
        self.journal(now, event);
    }

    /// Starts the next queued hook, or finishes the operation.
    fn next_step(&mut self, now: At) {
        if self.state.running.is_some() || self.state.failed.is_some() {
            return;
        }
        if let Some((actor, reason)) = self.state.rollback_deferred.take() {
            return self.begin_rollback(now, actor, reason);
        }
        match self.state.queue.pop_front() {
            Some(step) => self.run(now, step),
            None => self.operation_done(now),
        }
    }

    fn run(&mut self, now: At, step: Step) {
        let id = self.state.next_id;
        self.state.next_id += 1;
        let reason = self
            .state
            .rollback
            .as_ref()
            .map_or("", |r| r.reason.as_str())
            .to_string();
        let vars = self.vars(step.stage, &reason);
        let label = self.step_label(&step);
        let stage_name = self
            .config
            .stages
            .get(step.stage)
            .map_or_else(String::new, |s| s.name.clone());
        self.journal(
            now,
            Event::HookStarted {
                id,
                label: label.clone(),
                purpose: step.purpose,
                stage: step.stage,
                stage_name,
            },
        );
        self.out.push(Effect::RunHook {
            id,
            hook: step.hook.clone(),
            vars,
            purpose: step.purpose,
            stage: step.stage,
        });
        self.state.running = Some(Running {
            id,
            step,
            started: now,
            label,
        });
    }

    /// A step's hook as it runs (or ran), placeholders filled.
    fn step_label(&self, step: &Step) -> String {
        let reason = self
            .state
            .rollback
            .as_ref()
            .map_or("", |r| r.reason.as_str());
        step.hook.label_filled(&self.vars(step.stage, reason))
    }

    fn hook_done(&mut self, now: At, id: u64, ok: bool, summary: String) {
        let Some(running) = self.state.running.take_if(|r| r.id == id) else {
            return;
        };
        let label = running.shown_label();
        self.journal(
            now,
            Event::HookFinished {
                id,
                label: label.clone(),
                ok,
                summary: summary.clone(),
            },
        );
        if !ok {
            if self.state.phase == Phase::Entering && self.state.rollback_deferred.is_some() {
                // The operator already chose to roll back; the failure changes nothing.
                return self.next_step(now);
            }
            self.state.failed = Some(Failure {
                step: running.step,
                summary: format!("`{label}` failed: {summary}"),
            });
            return;
        }
        self.next_step(now);
    }

    fn retry(&mut self, now: At, actor: Actor) {
        let Some(f) = self.state.failed.take() else {
            return self.say(Said::NoFailedHookToRetry);
        };
        self.decision(
            now,
            Action::Retry,
            actor,
            format!("retry `{}`", self.step_label(&f.step)),
        );
        self.run(now, f.step);
    }

    fn skip(&mut self, now: At, actor: Actor, reason: String) {
        let Some(f) = self.state.failed.take() else {
            return self.say(Said::NoFailedHookToSkip);
        };
        self.decision(
            now,
            Action::Skip,
            actor,
            format!("skipped `{}`: {reason}", self.step_label(&f.step)),
        );
        if f.step.purpose == Purpose::Enter {
            self.state.traffic.hook_skipped = true;
        }
        self.next_step(now);
    }

    fn operation_done(&mut self, now: At) {
        match self.state.phase {
            Phase::Entering => {
                self.state.phase = Phase::Observing;
                self.state.observed_ms = 0;
                // New rules for the new stage; the sparkline history carries on.
                let old = std::mem::take(&mut self.tracks);
                self.tracks = self
                    .rules_for(self.state.stage)
                    .into_iter()
                    .zip(old)
                    .map(|(r, t)| Track::new(r, now).with_evidence(&t).with_history(t.history))
                    .collect();
                self.state.traffic.set_at = Some(now);
                self.state.traffic.in_line_at = Some(now);
                let event = Event::StageObserving {
                    stage: self.state.stage,
                    name: self.stage_name(),
                };
                self.journal(now, event);
            }
            Phase::RollingBack => {
                if let Some(r) = &mut self.state.rollback {
                    r.completed = Some(now);
                }
                self.journal(now, Event::RollbackComplete);
                self.state.phase = Phase::Verifying { since: now };
                for t in &mut self.tracks {
                    t.canary = None;
                    t.baseline = None;
                }
            }
            _ => {}
        }
    }

    fn promote(&mut self, now: At) {
        self.state.phase = Phase::Promoted;
        let hooks = self.config.hooks.on_promote.0.clone();
        self.notify(hooks, "promote".into(), "");
        self.finish(now, Outcome::Promoted);
    }

    fn finish(&mut self, now: At, outcome: Outcome) {
        self.state.outcome = Some(outcome);
        self.journal(now, Event::Finished { outcome });
        self.out.push(Effect::Finished(outcome));
    }

    // ----- rollback -------------------------------------------------------

    fn rollback(&mut self, now: At, actor: Actor, reason: String) {
        if self.state.rollback.is_some() || self.state.rollback_deferred.is_some() {
            return self.say(Said::AlreadyRollingBack);
        }
        if matches!(self.state.phase, Phase::Waiting | Phase::Promoted) {
            return self.say(Said::NothingToRollBack);
        }
        if self.state.running.is_some() {
            // Never kill a half-run traffic change; undo it once it ends.
            self.decision(
                now,
                Action::Rollback,
                actor.clone(),
                format!("{reason} (after the running hook ends)"),
            );
            self.state.rollback_deferred = Some((actor, reason));
            return;
        }
        self.decision(now, Action::Rollback, actor.clone(), reason.clone());
        self.begin_rollback(now, actor, reason);
    }

    fn begin_rollback(&mut self, now: At, by: Actor, reason: String) {
        // The stage ends here: its observed time goes into the journal (a
        // report must not take the last snapshot's).
        if matches!(self.state.phase, Phase::Observing | Phase::Entering) {
            self.leave_stage(now);
        }
        self.state.rollback = Some(RollbackInfo {
            by,
            reason: reason.clone(),
            at: now,
            completed: None,
        });
        self.state.countdown = None;
        self.state.failed = None;
        self.state.paused = false;
        self.state.phase = Phase::RollingBack;
        let stages = &self.config.stages;
        let mut queue: VecDeque<Step> = (0..self.state.entered)
            .rev()
            .flat_map(|i| {
                stages[i].undo.0.iter().map(move |h| Step {
                    hook: h.clone(),
                    purpose: Purpose::Undo,
                    stage: i,
                })
            })
            .collect();
        let last = self.state.entered.saturating_sub(1);
        queue.extend(self.config.hooks.on_rollback.0.iter().map(|h| Step {
            hook: h.clone(),
            purpose: Purpose::OnRollback,
            stage: last,
        }));
        queue.extend((0..self.state.entered).rev().filter_map(|i| {
            stages[i].verify.clone().map(|h| Step {
                hook: h,
                purpose: Purpose::Verify,
                stage: i,
            })
        }));
        self.state.queue = queue;
        self.next_step(now);
    }

    // ----- watching -------------------------------------------------------

    fn refresh(&mut self, now: At, only: Option<&[usize]>) {
        let stale = self.config.policy.stale_after.as_millis();
        let mut changes = Vec::new();
        for (i, t) in self.tracks.iter_mut().enumerate() {
            if only.is_some_and(|o| !o.contains(&i)) {
                continue;
            }
            if let Some(previous) = t.refresh(now, stale) {
                let v = t.value();
                changes.push(Event::MetricChanged {
                    metric: v.metric,
                    from: previous.level,
                    to: v.level,
                    reason: v.reason,
                    canary: v.canary,
                    baseline: v.baseline,
                });
            }
        }
        for event in changes {
            self.journal(now, event);
        }
    }

    fn decide(&mut self, now: At) {
        match self.state.phase {
            Phase::Observing if self.state.failed.is_none() => {
                self.watch_traffic(now);
                self.watch_stage(now);
            }
            Phase::Verifying { since } => self.verify_rollback(now, since),
            _ => {}
        }
    }

    fn watch_stage(&mut self, now: At) {
        let policy = self.config.policy.clone();
        let frozen = self.state.paused && policy.pause_stops_rollback;
        if policy.on_critical != OnCritical::Alert
            && !frozen
            && let Some(t) = self.tracks.iter().find(|t| t.immediate())
        {
            let reason = t.verdict.reason.clone();
            return self.rollback(
                now,
                Actor::Policy,
                format!("{reason} (past the immediate line)"),
            );
        }
        let critical = self
            .tracks
            .iter()
            .find(|t| t.sustained(now, Level::Critical))
            .map(|t| t.reason_held(now));
        match critical {
            Some(reason) => {
                if self.state.countdown.is_none() && !self.state.countdown_dismissed && !frozen {
                    self.on_sustained_critical(now, reason);
                }
            }
            None => self.clear_countdown(now),
        }
        if let Some(c) = &mut self.state.countdown {
            if frozen && c.held.is_none() {
                c.held = Some(c.deadline.saturating_sub(now));
            }
            if c.held.is_none() && now >= c.deadline {
                let reason = c.reason.clone();
                return self.rollback(now, Actor::Policy, format!("{reason}; countdown expired"));
            }
        }
        if policy.on_no_data == OnNoData::Rollback
            && !frozen
            && let Some(t) = self.tracks.iter().find(|t| {
                t.verdict.level == Level::NoData
                    && t.held_ms(now) >= policy.no_data_rollback_after.as_millis()
            })
        {
            let reason = format!("{} for {}", t.verdict.reason, policy.no_data_rollback_after);
            return self.rollback(now, Actor::Policy, reason);
        }
        if policy.auto_advance && !self.state.paused && self.is_ready() {
            self.advance(now, Actor::Policy, None);
        }
    }

    fn on_sustained_critical(&mut self, now: At, reason: String) {
        let hooks = self.config.hooks.on_breach.0.clone();
        self.notify(hooks, "breach".into(), &reason);
        match self.config.policy.on_critical {
            OnCritical::Rollback => self.rollback(now, Actor::Policy, reason),
            OnCritical::Countdown => {
                let ms = self.config.policy.countdown.as_millis();
                self.state.countdown = Some(Countdown {
                    deadline: now + ms,
                    held: None,
                    reason: reason.clone(),
                });
                self.journal(
                    now,
                    Event::CountdownStarted {
                        seconds: ms / 1000,
                        reason,
                    },
                );
            }
            OnCritical::Alert => {
                // Alert once per breach: reuse the dismissed flag as "already said".
                self.state.countdown_dismissed = true;
                self.decision(
                    now,
                    Action::Hold,
                    Actor::Policy,
                    format!("{reason} (policy: alert only)"),
                );
            }
        }
    }

    fn clear_countdown(&mut self, now: At) {
        self.state.countdown_dismissed = false;
        if self.state.countdown.take().is_some() {
            self.journal(
                now,
                Event::CountdownCleared {
                    reason: "no metric is critical any more".into(),
                },
            );
        }
    }

    /// Seed 004: after a rollback the error rate should drop at once.
    fn verify_rollback(&mut self, now: At, since: At) {
        let mut seen = false;
        let mut still_bad = None;
        for t in self
            .tracks
            .iter()
            .filter(|t| t.rule.kind == MetricKind::ErrorRate)
        {
            // After a rollback the stable version carries the traffic.
            let slot = t.baseline.as_ref().or(t.canary.as_ref());
            if let Some((at, super::reading::Reading::Value { value, .. })) = slot
                && *at >= since
            {
                seen = true;
                if t.rule.beyond(*value, t.rule.warning) {
                    still_bad = Some(format!(
                        "{} {} still above {} warning",
                        t.rule.label(),
                        t.rule.show(*value),
                        t.rule.show(t.rule.warning)
                    ));
                }
            }
        }
        // The canary's share must drop too: an undo hook that says OK but
        // left the weight in place recovers nothing.
        let margin = self.config.policy.traffic_margin;
        let share = self
            .fresh_seen(now)
            .filter(|s| s.at >= since)
            .map(|s| s.share);
        let mut moved = String::new();
        if let Some(share) = share {
            if traffic::is_off(0.0, share, margin) {
                still_bad.get_or_insert(format!(
                    "the canary still gets {}% of requests",
                    number(round1(share))
                ));
            } else {
                moved = format!("; the canary gets {}% of requests", number(round1(share)));
            }
        }
        let limit = self.config.policy.rollback_verify_within.as_millis();
        let recovered = if seen && still_bad.is_none() {
            Some((
                true,
                format!("error rate back under its warning line{moved}"),
            ))
        } else if now.saturating_sub(since) >= limit {
            let why = still_bad.unwrap_or_else(|| "no error-rate data after the rollback".into());
            Some((
                false,
                format!(
                    "rollback did not recover the metrics within {}: {why}",
                    self.config.policy.rollback_verify_within
                ),
            ))
        } else {
            None
        };
        if let Some((ok, reason)) = recovered {
            self.journal(
                now,
                Event::RollbackVerified {
                    recovered: ok,
                    reason,
                },
            );
            self.state.phase = Phase::RolledBack { recovered: ok };
            self.finish(
                now,
                if ok {
                    Outcome::RolledBack
                } else {
                    Outcome::RolledBackUnrecovered
                },
            );
        }
    }

    /// "Traffic did not move": the seen share stayed off the set weight for
    /// `traffic_grace` after the enter hooks succeeded. Said once, until the
    /// share comes back in line.
    fn watch_traffic(&mut self, now: At) {
        let (Some(set), Some(set_at)) = (self.set_share(), self.state.traffic.set_at) else {
            return;
        };
        let Some(seen) = self.fresh_seen(now).filter(|s| s.at >= set_at) else {
            return;
        };
        let margin = self.config.policy.traffic_margin;
        let grace = self.config.policy.traffic_grace.as_millis();
        let stage = self.state.stage;
        let t = &mut self.state.traffic;
        let share = round1(seen.share);
        if !traffic::is_off(set, seen.share, margin) {
            t.in_line_at = Some(seen.at);
            if std::mem::take(&mut t.warned) {
                self.journal(
                    now,
                    Event::TrafficBack {
                        stage,
                        set,
                        seen: share,
                    },
                );
            }
            return;
        }
        let held_ms = now.saturating_sub(t.in_line_at.unwrap_or(set_at));
        if !t.warned && held_ms >= grace {
            t.warned = true;
            let hook_skipped = t.hook_skipped;
            self.journal(
                now,
                Event::TrafficOff {
                    stage,
                    set,
                    seen: share,
                    held_ms,
                    hook_skipped,
                },
            );
        }
    }

    /// The weight the current stage set, in percent: only stages with a
    /// weight have one; after a rollback the canary is set to none.
    pub fn set_share(&self) -> Option<f64> {
        let weighted = self.config.stages.iter().any(|s| s.weight.is_some());
        match self.state.phase {
            Phase::Observing | Phase::Promoted => self.config.stages.get(self.state.stage)?.weight,
            Phase::Verifying { .. } | Phase::RolledBack { .. } => weighted.then_some(0.0),
            _ => None,
        }
    }

    /// The latest seen share of requests (percent), unless it is stale.
    pub fn seen_share(&self, now: At) -> Option<f64> {
        self.fresh_seen(now).map(|s| s.share)
    }

    /// The latest poll's counts, unless older than `stale_after`.
    fn fresh_seen(&self, now: At) -> Option<traffic::Seen> {
        let stale = self.config.policy.stale_after.as_millis();
        self.state
            .traffic
            .seen
            .filter(|s| now.saturating_sub(s.at) <= stale)
    }

    /// Set weight and seen share now, for decisions, screens and reports.
    pub fn traffic(&self, now: At) -> TrafficShare {
        TrafficShare {
            set: self.set_share(),
            seen: self.seen_share(now).map(round1),
        }
    }

    fn traffic_known(&self, now: At) -> Option<TrafficShare> {
        Some(self.traffic(now)).filter(|t| t.set.is_some() || t.seen.is_some())
    }

    /// "traffic did not move" holds now: the share is still off.
    pub fn traffic_stuck(&self) -> bool {
        self.state.traffic.warned && self.state.phase == Phase::Observing
    }

    fn snapshot(&mut self, now: At) {
        let every = self.config.journal.snapshot_every.as_millis();
        let live = matches!(self.state.phase, Phase::Observing | Phase::Verifying { .. });
        if live && every > 0 && now.saturating_sub(self.state.last_snapshot) >= every {
            self.state.last_snapshot = now;
            let event = Event::Snapshot {
                stage: self.state.stage,
                observed_ms: self.state.observed_ms,
                metrics: self.values(),
                traffic: self.traffic_known(now),
            };
            self.out.push(Effect::Journal { at: now, event });
        }
    }

    // ----- derived views --------------------------------------------------

    /// `ready(now).is_ok()` without building the words: runs on every sample.
    fn is_ready(&self) -> bool {
        self.state.phase == Phase::Observing
            && self.tracks.iter().all(|t| t.verdict.level == Level::Ok)
            && self.state.observed_ms >= self.config.stages[self.state.stage].wait.as_millis()
    }

    /// The stage clock counts only time observed with judgeable data: a
    /// stage that was blind for its whole wait has not been watched at all.
    fn clock_runs(&self) -> bool {
        self.state.phase == Phase::Observing
            && !self.state.paused
            && self.state.failed.is_none()
            && self.blind().is_none()
    }

    /// The metric that stops the stage clock (no data, or too little
    /// evidence to judge), the blindest first.
    pub fn blind(&self) -> Option<&Track> {
        self.tracks
            .iter()
            .filter(|t| !t.verdict.level.is_judgeable())
            .max_by_key(|t| t.verdict.level)
    }

    /// Ready to advance, or why not, in words.
    pub fn ready(&self, now: At) -> Result<Ready, String> {
        if self.state.phase != Phase::Observing {
            return Err("no stage is being observed".into());
        }
        let wait = self.config.stages[self.state.stage].wait.as_millis();
        let observed = format!(
            "observed {} of {}",
            crate::duration::Span::whole_secs(self.state.observed_ms),
            crate::duration::Span::from_millis(wait)
        );
        if let Some(t) = self
            .tracks
            .iter()
            .filter(|t| t.verdict.level != Level::Ok)
            .max_by_key(|t| t.verdict.level)
        {
            if t.verdict.level.is_breach() {
                return Err(t.reason_held(now));
            }
            return Err(format!("{observed}; clock stopped: {}", t.verdict.reason));
        }
        if self.state.observed_ms < wait {
            return Err(observed);
        }
        Ok(if self.state.stage + 1 >= self.config.stages.len() {
            Ready::Promote
        } else {
            Ready::Advance
        })
    }

    /// Past canary values from a source's backfill: sparklines only, never
    /// a verdict (they may predate this stage).
    pub fn backfill(&mut self, metric: usize, points: &[(At, f64)]) {
        if let Some(t) = self.tracks.get_mut(metric) {
            t.backfill(points);
        }
    }

    pub fn is_finished(&self) -> bool {
        self.state.outcome.is_some()
    }

    /// What is happening now: the one source the header word, the
    /// decision line and the footer are derived from.
    pub fn now(&self, now: At) -> Now {
        let s = &self.state;
        if let Some(f) = &s.failed {
            return Now::HookFailed {
                summary: f.summary.clone(),
                can_roll_back: s.rollback.is_none(),
            };
        }
        match &s.phase {
            Phase::Waiting => match (s.started_at, self.blocker()) {
                (None, _) => Now::NotStarted,
                (Some(_), Some(why)) => Now::Blocked { why },
                (Some(_), None) => Now::Starting,
            },
            Phase::Gate => Now::AtGate {
                stage: self.stage_name(),
            },
            Phase::Entering => Now::Entering {
                stage: self.stage_name(),
                hook: s
                    .running
                    .as_ref()
                    .map(|r| (r.shown_label(), now.saturating_sub(r.started))),
            },
            Phase::Observing => self.observing_now(now),
            Phase::RollingBack => Now::RollingBack {
                hook: s.running.as_ref().map(Running::shown_label),
            },
            Phase::Verifying { .. } => Now::Verifying {
                at: s.rollback.as_ref().map_or(now, |r| r.at),
            },
            Phase::RolledBack { recovered } => Now::RolledBack {
                at: s.rollback.as_ref().map_or(now, |r| r.at),
                reason: s
                    .rollback
                    .as_ref()
                    .map_or_else(String::new, |r| r.reason.clone()),
                recovered: *recovered,
            },
            Phase::Promoted => Now::Promoted,
        }
    }

    /// What an operator can do next, in the order the views offer it: the
    /// core's answer, data only; each view names the steps its own way
    /// (the screen with its keys). The reasons are in [`Rollout::now`].
    pub fn next(&self, now: At) -> Vec<Action> {
        use Action::*;
        let s = &self.state;
        match self.now(now) {
            Now::HookFailed { can_roll_back, .. } => {
                let mut out = vec![Retry, Skip];
                if can_roll_back {
                    out.push(Rollback);
                }
                out
            }
            Now::NotStarted => vec![Start],
            Now::Blocked { .. } => match &s.window {
                Some(w) if w.needs_reason() && s.window_override.is_none() => {
                    vec![OverrideWindow]
                }
                _ => vec![],
            },
            Now::Starting => vec![],
            Now::AtGate { .. } => {
                let manual = self.config.stages[s.stage]
                    .gate
                    .as_ref()
                    .is_some_and(|g| g.url.is_none());
                let mut out = if manual { vec![OpenGate] } else { vec![] };
                out.extend([Pause, Rollback]);
                out
            }
            Now::Entering { .. } => vec![Pause, Rollback],
            Now::Countdown { .. } => vec![Rollback, Hold, Cancel],
            Now::Held { .. } => vec![Rollback, Release, Cancel],
            Now::Ready(Ready::Advance) => vec![Advance, Pause, Rollback],
            Now::Ready(Ready::Promote) => vec![Promote, Pause, Rollback],
            Now::Paused => vec![ForceAdvance, Resume, Rollback],
            Now::Critical { .. } | Now::Holding { .. } => vec![ForceAdvance, Pause, Rollback],
            Now::RollingBack { .. }
            | Now::Verifying { .. }
            | Now::RolledBack { .. }
            | Now::Promoted => vec![],
        }
    }

    fn observing_now(&self, now: At) -> Now {
        let s = &self.state;
        if let Some(c) = &s.countdown {
            return match c.held {
                Some(left_ms) => Now::Held {
                    left_ms,
                    reason: c.reason.clone(),
                },
                None => Now::Countdown {
                    left_ms: c.deadline.saturating_sub(now),
                    reason: c.reason.clone(),
                },
            };
        }
        if s.paused {
            return Now::Paused;
        }
        let critical = self
            .tracks
            .iter()
            .filter(|t| t.verdict.level == Level::Critical)
            .count();
        if let Some(t) = self
            .tracks
            .iter()
            .find(|t| t.sustained(now, Level::Critical))
        {
            return Now::Critical {
                reason: t.reason_held(now),
                critical,
                cancelled: s.countdown_dismissed
                    && self.config.policy.on_critical != OnCritical::Alert,
            };
        }
        match self.ready(now) {
            Ok(ready) => Now::Ready(ready),
            Err(why) => Now::Holding { why },
        }
    }
}

/// Shares are shown and journalled to a tenth of a point.
fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}
