//! Watching a stage: metric changes, sustained breaches, countdowns, no
//! data, auto-advance, snapshots.

use super::Rollout;
use crate::config::model::{OnCritical, OnNoData};
use crate::rollout::decision::{Actor, Move};
use crate::rollout::effect::Effect;
use crate::rollout::event::Event;
use crate::rollout::state::{Countdown, Phase};
use crate::rollout::track::Track;
use crate::rollout::verdict::{At, Level};

impl Rollout {
    pub(super) fn refresh(&mut self, now: At, only: Option<&[usize]>) {
        let stale = self.config.policy.stale_after.as_millis();
        let mut changes = Vec::new();
        for (i, t) in self.tracks.iter_mut().enumerate() {
            if only.is_some_and(|o| !o.contains(&i)) {
                continue;
            }
            if let Some(previous) = t.refresh(now, stale) {
                let v = t.value();
                let pending = pending_breach(t, previous.level);
                changes.push(Event::MetricChanged {
                    metric: v.metric,
                    from: previous.level,
                    to: v.level,
                    reason: v.reason,
                    canary: v.canary,
                    baseline: v.baseline,
                });
                changes.extend(pending);
            }
        }
        for event in changes {
            self.journal(now, event);
        }
    }

    pub(super) fn decide(&mut self, now: At) {
        match self.state.phase {
            Phase::Observing if self.state.failed.is_none() => {
                self.watch_traffic(now);
                self.watch_stage(now);
            }
            Phase::Verifying { since } => self.verify_rollback(now, since),
            _ => {}
        }
    }

    pub(super) fn watch_stage(&mut self, now: At) {
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

    pub(super) fn on_sustained_critical(&mut self, now: At, reason: String) {
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
                    Move::Hold,
                    Actor::Policy,
                    format!("{reason} (policy: alert only)"),
                );
            }
        }
    }

    pub(super) fn clear_countdown(&mut self, now: At) {
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

    pub(super) fn snapshot(&mut self, now: At) {
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
}

/// A metric that just turned critical and must still hold its `for`
/// before the policy acts: the race, said once, with its finish line. A
/// breach the evidence judged counts at once: nothing pending.
fn pending_breach(t: &Track, from: Level) -> Option<Event> {
    let turned = t.verdict.level == Level::Critical && from != Level::Critical;
    (turned && !t.verdict.evidence && t.rule.for_ms > 0).then(|| Event::BreachPending {
        metric: t.rule.name.clone(),
        since: t.since,
        holds_at: t.since + t.rule.for_ms,
    })
}
