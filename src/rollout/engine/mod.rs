//! The rollout state machine: `update(now, input) -> effects`.
//!
//! Everything the product decides happens here, with time passed in, so a
//! day of rollout can be simulated in a loop and every rule tested without
//! a terminal, a network or a clock.
//!
//! One file a concern, all of them `impl Rollout`: `start` (window,
//! checklist), `commands` (what an operator asks for), `stages` (entering,
//! hooks, promotion), `rollback` (undo and verify), `watch` (breaches,
//! countdowns, no data, snapshots), `share` (the canary's share of
//! requests), `derived` (ready, now, next: what the views ask).

use std::collections::{BTreeSet, VecDeque};

use crate::config::Config;
use crate::config::model::Hook;
use crate::rollout::decision::{Actor, Move};
use crate::rollout::effect::{Effect, Said};
use crate::rollout::event::{Event, MetricValue};
use crate::rollout::input::Input;
use crate::rollout::state::{Failure, Phase, State};
use crate::rollout::track::Track;
use crate::rollout::traffic::{self, Traffic};
use crate::rollout::verdict::{At, Rule};
use crate::rollout::window::DeployWindows;

mod commands;
mod derived;
mod rollback;
mod share;
mod stages;
mod start;
mod watch;

pub struct Rollout {
    pub config: Config,
    pub state: State,
    pub tracks: Vec<Track>,
    windows: DeployWindows,
    out: Vec<Effect>,
    /// (stage, metric) the operator has opened: only a first look is
    /// journalled. Not checkpointed: after a resume a look counts anew.
    looked: BTreeSet<(usize, String)>,
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
            looked: BTreeSet::new(),
        }
    }

    /// Carries on from a checkpoint. A hook that was running has an unknown
    /// outcome: it becomes a failure the operator must retry or skip.
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
            looked: BTreeSet::new(),
        };
        rollout.tracks = rollout
            .rules_for(rollout.state.stage)
            .into_iter()
            .map(|r| Track::new(r, now))
            .collect();
        rollout
    }

    fn rules_for(&self, stage: usize) -> Vec<Rule> {
        crate::rollout::verdict::stage_rules(&self.config, stage)
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
        let decided = effects.iter().any(|e| matches!(e, Effect::Journal { event, .. } if !matches!(event, Event::Snapshot { .. } | Event::MetricChanged { .. } | Event::BreachPending { .. } | Event::Looked { .. })));
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

    fn decision(&mut self, now: At, action: Move, by: Actor, reason: impl Into<String>) {
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
}

/// Shares are shown and journalled to a tenth of a point.
fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}
