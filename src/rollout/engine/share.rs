//! The canary's share of requests: the weight a stage set, the share a
//! poll saw, and "traffic did not move".

use super::{Rollout, round1};
use crate::rollout::event::Event;
use crate::rollout::state::Phase;
use crate::rollout::traffic::{self, TrafficShare};
use crate::rollout::verdict::At;

impl Rollout {
    /// "Traffic did not move": the seen share stayed off the set weight for
    /// `traffic_grace` after the enter hooks succeeded. Said once, until the
    /// share comes back in line.
    pub(super) fn watch_traffic(&mut self, now: At) {
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
    pub(super) fn fresh_seen(&self, now: At) -> Option<traffic::Seen> {
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

    pub(super) fn traffic_known(&self, now: At) -> Option<TrafficShare> {
        Some(self.traffic(now)).filter(|t| t.set.is_some() || t.seen.is_some())
    }

    /// "traffic did not move" holds now: the share is still off.
    pub fn traffic_stuck(&self) -> bool {
        self.state.traffic.warned && self.state.phase == Phase::Observing
    }
}
