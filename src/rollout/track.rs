//! One metric followed over time: latest readings, current verdict, how long
//! it has held, and a short history for sparklines.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::event::MetricValue;
use super::evidence::Evidence;
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
    /// What this stage's counts have shown (rates judged by evidence).
    #[serde(default)]
    pub evidence: Evidence,
    /// The readings already counted into `evidence`, by their time.
    #[serde(default)]
    pub counted: (Option<At>, Option<At>),
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
            evidence: Evidence::default(),
            counted: (None, None),
        }
    }

    pub fn with_history(mut self, history: VecDeque<(At, f64)>) -> Track {
        self.history = history;
        self
    }

    /// The evidence so far carries into the next stage: it is the same
    /// canary, and a ratio to stable needs every request it can get.
    pub fn with_evidence(mut self, from: &Track) -> Track {
        self.evidence = from.evidence.clone();
        self.counted = from.counted;
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
                    crate::duration::Span::whole_secs(age)
                ))
            } else {
                r.clone()
            })
        };
        self.count_evidence();
        let verdict = match fresh(&self.canary) {
            None => self.verdict.clone(),
            Some(canary) => {
                self.rule
                    .verdict(&canary, fresh(&self.baseline).as_ref(), &self.evidence)
            }
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

    /// Adds the counts of readings not yet counted; the baseline's only
    /// when it came with a new canary reading (one poll, one comparison).
    fn count_evidence(&mut self) {
        let Some(lines) = self.rule.lines() else {
            return;
        };
        let Some((at, reading)) = &self.canary else {
            return;
        };
        if self.counted.0.is_some_and(|c| c >= *at) {
            return;
        }
        let since = self.counted.0.map(|c| at - c);
        let Some(canary) = self.rule.tally(reading, since) else {
            return;
        };
        self.counted.0 = Some(*at);
        let baseline = match &self.baseline {
            Some((b_at, r)) if self.counted.1.is_none_or(|c| c < *b_at) => {
                let since = self.counted.1.map(|c| b_at - c);
                self.counted.1 = Some(*b_at);
                self.rule.tally(r, since)
            }
            _ => None,
        };
        self.evidence.observe(&lines, canary, baseline);
    }

    /// How long the current level has held (a new reason at the same
    /// level does not restart it).
    pub fn held_ms(&self, now: At) -> u64 {
        now.saturating_sub(self.since)
    }

    /// A breach at `level` that has held for the rule's `for`.
    pub fn sustained(&self, now: At, level: Level) -> bool {
        self.verdict.level == level
            && (self.verdict.evidence || self.held_ms(now) >= self.rule.for_ms)
    }

    pub fn immediate(&self) -> bool {
        // A rate the evidence judges crosses the immediate line only when
        // its counts show it, never on one window's point value.
        if self.verdict.evidence || self.rule.lines().is_some() {
            return self.verdict.immediate;
        }
        self.verdict.level == Level::Critical
            && self
                .canary
                .as_ref()
                .is_some_and(|(_, r)| self.rule.is_immediate(r))
    }

    /// The verdict's reason with how long it has held: "..., held 45s of 1m".
    pub fn reason_held(&self, now: At) -> String {
        let v = &self.verdict;
        if !v.level.is_breach() || v.evidence {
            return v.reason.clone();
        }
        let held_ms = self.held_ms(now) / 1000 * 1000;
        let held = crate::duration::Span::from_millis(held_ms);
        let need = crate::duration::Span::from_millis(self.rule.for_ms);
        if held_ms > self.rule.for_ms {
            // "held 1m40s of 1m" reads like progress; it is long past.
            return format!("{}, held {held}, past its {need}", v.reason);
        }
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
