//! One metric followed over time: latest readings, current verdict, how long
//! it has held, and a short history for sparklines.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::event::MetricValue;
use super::reading::{Group, Reading};
use super::verdict::{At, Level, Rule, Verdict};

const HISTORY: usize = 240;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Track {
    pub rule: Rule,
    pub canary: Option<(At, Reading)>,
    pub baseline: Option<(At, Reading)>,
    pub verdict: Verdict,
    /// When the current level began: a breach counts once it has held `for`.
    pub since: At,
    /// Recent canary values, oldest first.
    pub history: VecDeque<(At, f64)>,
}

impl Track {
    pub fn new(rule: Rule, now: At) -> Track {
        let verdict = Verdict::new(
            Level::NoData,
            format!("{}: no data (waiting for the first sample)", rule.label()),
        );
        Track {
            rule,
            canary: None,
            baseline: None,
            verdict,
            since: now,
            history: VecDeque::new(),
        }
    }

    pub fn with_history(mut self, history: VecDeque<(At, f64)>) -> Track {
        self.history = history;
        self
    }

    /// Older points go in front of what is already there, oldest first.
    pub fn backfill(&mut self, points: &[(At, f64)]) {
        let first = self.history.front().map_or(At::MAX, |(at, _)| *at);
        let older = points.iter().filter(|(at, v)| *at < first && v.is_finite());
        let mut merged: VecDeque<(At, f64)> = older.copied().collect();
        merged.extend(self.history.drain(..));
        while merged.len() > HISTORY {
            merged.pop_front();
        }
        self.history = merged;
    }

    pub fn record(&mut self, now: At, group: Group, reading: Reading) {
        if group == Group::Canary {
            if let Reading::Value { value, .. } = &reading {
                if self.history.len() == HISTORY {
                    self.history.pop_front();
                }
                self.history.push_back((now, *value));
            }
            self.canary = Some((now, reading));
        } else {
            self.baseline = Some((now, reading));
        }
    }

    /// Re-judges; returns the previous verdict when the level changed, or
    /// when a blind metric became blind for another reason (so every
    /// reason reaches the journal the moment it appears).
    pub fn refresh(&mut self, now: At, stale_after_ms: u64) -> Option<Verdict> {
        let fresh = |slot: &Option<(At, Reading)>| -> Option<Reading> {
            let (at, r) = slot.as_ref()?;
            let age = now.saturating_sub(*at);
            Some(if age > stale_after_ms {
                Reading::no_data(format!(
                    "no sample for {}",
                    crate::duration::Span::from_millis(age / 1000 * 1000)
                ))
            } else {
                r.clone()
            })
        };
        let verdict = match fresh(&self.canary) {
            None => self.verdict.clone(),
            Some(canary) => self.rule.judge(&canary, fresh(&self.baseline).as_ref()),
        };
        let new_level = verdict.level != self.verdict.level;
        let new_cause =
            !verdict.level.is_judgeable() && !same_cause(&verdict.reason, &self.verdict.reason);
        let previous = std::mem::replace(&mut self.verdict, verdict);
        if new_level {
            self.since = now;
        }
        (new_level || new_cause).then_some(previous)
    }

    /// How long the current level has held (a new reason at the same
    /// level does not restart it).
    pub fn held_ms(&self, now: At) -> u64 {
        now.saturating_sub(self.since)
    }

    /// A breach at `level` that has held for the rule's `for`.
    pub fn sustained(&self, now: At, level: Level) -> bool {
        self.verdict.level == level && self.held_ms(now) >= self.rule.for_ms
    }

    pub fn immediate(&self) -> bool {
        self.verdict.level == Level::Critical
            && self
                .canary
                .as_ref()
                .is_some_and(|(_, r)| self.rule.is_immediate(r))
    }

    /// The verdict's reason with how long it has held: "..., held 45s of 1m".
    pub fn reason_held(&self, now: At) -> String {
        let v = &self.verdict;
        if !v.level.is_breach() {
            return v.reason.clone();
        }
        let held = crate::duration::Span::from_millis(self.held_ms(now) / 1000 * 1000);
        let need = crate::duration::Span::from_millis(self.rule.for_ms);
        format!("{}, held {held} of {need}", v.reason)
    }

    pub fn value(&self) -> MetricValue {
        let val = |slot: &Option<(At, Reading)>| match slot {
            Some((_, Reading::Value { value, .. })) => Some(*value),
            _ => None,
        };
        MetricValue {
            metric: self.rule.name.clone(),
            level: self.verdict.level,
            canary: val(&self.canary),
            baseline: val(&self.baseline),
            reason: self.verdict.reason.clone(),
        }
    }
}

/// Two reasons that differ only in their numbers ("no sample for 12s",
/// "for 13s") are one cause: journalled once, not every poll.
fn same_cause(a: &str, b: &str) -> bool {
    let words = |s: &str| {
        s.chars()
            .filter(|c| !c.is_ascii_digit())
            .collect::<String>()
    };
    words(a) == words(b)
}
