//! Rolling back: undo every entered stage, then verify the metrics and
//! the canary's share of requests recover.

use std::collections::VecDeque;

use super::{Rollout, round1};
use crate::config::model::MetricKind;
use crate::format::number;
use crate::rollout::decision::{Actor, Move, Purpose};
use crate::rollout::effect::Said;
use crate::rollout::event::{Event, Outcome};
use crate::rollout::reading::Reading;
use crate::rollout::state::{Phase, RollbackInfo, Step};
use crate::rollout::traffic::{self};
use crate::rollout::verdict::At;

impl Rollout {
    pub(super) fn rollback(&mut self, now: At, actor: Actor, reason: String) {
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
                Move::Rollback,
                actor.clone(),
                format!("{reason} (after the running hook ends)"),
            );
            self.state.rollback_deferred = Some((actor, reason));
            return;
        }
        self.decision(now, Move::Rollback, actor.clone(), reason.clone());
        self.begin_rollback(now, actor, reason);
    }

    pub(super) fn begin_rollback(&mut self, now: At, by: Actor, reason: String) {
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

    /// Seed 004: after a rollback the error rate should drop at once, and
    /// the canary's share of requests with it.
    pub(super) fn verify_rollback(&mut self, now: At, since: At) {
        let (seen, errors_bad) = self.error_rate_after(since);
        let (moved, share_bad) = self.share_after(now, since);
        let still_bad = errors_bad.or(share_bad);
        let limit = self.config.policy.rollback_verify_within.as_millis();
        let (ok, reason) = if seen && still_bad.is_none() {
            (
                true,
                format!("error rate back under its warning line{moved}"),
            )
        } else if now.saturating_sub(since) >= limit {
            let why = still_bad.unwrap_or_else(|| "no error-rate data after the rollback".into());
            let within = &self.config.policy.rollback_verify_within;
            let reason = format!("rollback did not recover the metrics within {within}: {why}");
            (false, reason)
        } else {
            return;
        };
        let event = Event::RollbackVerified {
            recovered: ok,
            reason,
        };
        self.journal(now, event);
        self.state.phase = Phase::RolledBack { recovered: ok };
        let outcome = if ok {
            Outcome::RolledBack
        } else {
            Outcome::RolledBackUnrecovered
        };
        self.finish(now, outcome);
    }

    /// Whether an error rate was read since the rollback, and the last one
    /// still above its warning line, in words.
    fn error_rate_after(&self, since: At) -> (bool, Option<String>) {
        let mut seen = false;
        let mut still_bad = None;
        let error_rates = self
            .tracks
            .iter()
            .filter(|t| t.rule.kind == MetricKind::ErrorRate);
        for t in error_rates {
            // After a rollback the stable version carries the traffic.
            let slot = t.baseline.as_ref().or(t.canary.as_ref());
            if let Some((at, Reading::Value { value, .. })) = slot
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
        (seen, still_bad)
    }

    /// The canary's share must drop too: an undo hook that says OK but left
    /// the weight in place recovers nothing. Words for a share that moved,
    /// and for one that did not.
    fn share_after(&self, now: At, since: At) -> (String, Option<String>) {
        let margin = self.config.policy.traffic_margin;
        let share = self
            .fresh_seen(now)
            .filter(|s| s.at >= since)
            .map(|s| s.share);
        match share {
            Some(share) if traffic::is_off(0.0, share, margin) => {
                let words = format!(
                    "the canary still gets {}% of requests",
                    number(round1(share))
                );
                (String::new(), Some(words))
            }
            Some(share) => {
                let words = format!("; the canary gets {}% of requests", number(round1(share)));
                (words, None)
            }
            None => (String::new(), None),
        }
    }
}
