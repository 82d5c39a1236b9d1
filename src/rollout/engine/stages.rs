//! Stages and their hooks: entering, running hooks one at a time,
//! failures to retry or skip, promotion.

use std::collections::BTreeMap;

use super::Rollout;
use crate::format::number;
use crate::rollout::decision::{Actor, Move, Purpose};
use crate::rollout::effect::{Effect, Said};
use crate::rollout::event::{Event, Outcome};
use crate::rollout::state::{Failure, Phase, Running, Step};
use crate::rollout::track::Track;
use crate::rollout::traffic::Traffic;
use crate::rollout::verdict::At;

impl Rollout {
    pub(super) fn stage_name(&self) -> String {
        self.config
            .stages
            .get(self.state.stage)
            .map_or_else(String::new, |s| s.name.clone())
    }

    pub(super) fn weight_of(&self, stage: Option<usize>) -> String {
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

    pub(super) fn enter_stage(&mut self, now: At, index: usize) {
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

    pub(super) fn leave_stage(&mut self, now: At) {
        let event = Event::StageLeft {
            stage: self.state.stage,
            name: self.stage_name(),
            observed_ms: self.state.observed_ms,
            traffic: self.traffic_known(now),
        };
        self.journal(now, event);
    }

    /// Starts the next queued hook, or finishes the operation.
    pub(super) fn next_step(&mut self, now: At) {
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

    pub(super) fn run(&mut self, now: At, step: Step) {
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
    pub(super) fn step_label(&self, step: &Step) -> String {
        let reason = self
            .state
            .rollback
            .as_ref()
            .map_or("", |r| r.reason.as_str());
        step.hook.label_filled(&self.vars(step.stage, reason))
    }

    pub(super) fn hook_done(&mut self, now: At, id: u64, ok: bool, summary: String) {
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

    pub(super) fn retry(&mut self, now: At, actor: Actor) {
        let Some(f) = self.state.failed.take() else {
            return self.say(Said::NoFailedHookToRetry);
        };
        self.decision(
            now,
            Move::Retry,
            actor,
            format!("retry `{}`", self.step_label(&f.step)),
        );
        self.run(now, f.step);
    }

    pub(super) fn skip(&mut self, now: At, actor: Actor, reason: String) {
        let Some(f) = self.state.failed.take() else {
            return self.say(Said::NoFailedHookToSkip);
        };
        self.decision(
            now,
            Move::Skip,
            actor,
            format!("skipped `{}`: {reason}", self.step_label(&f.step)),
        );
        if f.step.purpose == Purpose::Enter {
            self.state.traffic.hook_skipped = true;
        }
        self.next_step(now);
    }

    pub(super) fn operation_done(&mut self, now: At) {
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

    pub(super) fn promote(&mut self, now: At) {
        self.state.phase = Phase::Promoted;
        let hooks = self.config.hooks.on_promote.0.clone();
        self.notify(hooks, "promote".into(), "");
        self.finish(now, Outcome::Promoted);
    }

    pub(super) fn finish(&mut self, now: At, outcome: Outcome) {
        self.state.outcome = Some(outcome);
        self.journal(now, Event::Finished { outcome });
        self.out.push(Effect::Finished(outcome));
    }
}
