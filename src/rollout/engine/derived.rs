//! What the state means now, derived for the views: ready or why not,
//! what is happening, what an operator can do next.

use super::Rollout;
use crate::config::model::OnCritical;
use crate::rollout::decision::Move;
use crate::rollout::now::{Now, Ready};
use crate::rollout::state::{Phase, Running};
use crate::rollout::track::Track;
use crate::rollout::verdict::{At, Level};

impl Rollout {
    pub(super) fn is_ready(&self) -> bool {
        self.state.phase == Phase::Observing
            && self.tracks.iter().all(|t| t.verdict.level == Level::Ok)
            && self.state.observed_ms >= self.config.stages[self.state.stage].wait.as_millis()
    }

    /// The stage clock counts only time observed with judgeable data: a
    /// stage that was blind for its whole wait has not been watched at all.
    pub(super) fn clock_runs(&self) -> bool {
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
    pub fn next(&self, now: At) -> Vec<Move> {
        use Move::*;
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

    pub(super) fn observing_now(&self, now: At) -> Now {
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
