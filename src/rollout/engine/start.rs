//! Starting: the deploy window, the checklist, and what blocks stage 1.

use super::Rollout;
use crate::rollout::decision::Actor;
use crate::rollout::event::Event;
use crate::rollout::state::Phase;
use crate::rollout::verdict::At;
use crate::rollout::window::WindowStatus;

impl Rollout {
    pub(super) fn start(&mut self, now: At, local: chrono::NaiveDateTime, operator: String) {
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

    pub(super) fn note_skipped(&mut self, now: At, by: Actor, reason: &str) {
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
    pub(super) fn try_begin(&mut self, now: At, announce: bool) {
        if self.state.phase != Phase::Waiting || self.state.started_at.is_none() {
            return;
        }
        match self.blocker() {
            Some(reason) if announce => self.journal(now, Event::Blocked { reason }),
            Some(_) => {}
            None => self.enter_stage(now, 0),
        }
    }
}
