//! A rule judged by its counts: the lines as shares of bad requests, one
//! poll's counts against them, and the evidence's verdict in words.
//!
//! An error or success rate counts its bad requests directly. A p95 line
//! is "more than 5% of requests slower than the line": the requests slower
//! than it are read from the histogram's buckets, one count per line, and
//! judged by the same evidence as errors (slow requests out of requests).

use super::evidence::{Counts, Evidence, Lines, Shown, Tally, requests_to_show_twice};
use super::reading::Reading;
use super::verdict::{Level, Rule, Verdict};
use crate::config::model::{Judge, MetricKind};
use crate::duration::Span;
use crate::format::{count, number};

/// A p95 line is crossed when more than this share of requests is slower.
pub const P95_SLOW: f64 = 0.05;

/// Requests slower than a line, read from a histogram's buckets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slower {
    pub tally: Tally,
    /// The bucket bounds around a line that falls between two: every
    /// request between them was counted as slower, since a bucket cannot
    /// say which side of the line its requests fell. Counting the other
    /// way could call a slow canary OK; this way can only hold it longer.
    pub between: Option<(f64, f64)>,
}

/// A bound scaled from seconds to ms may carry float noise: this close
/// is the line itself.
fn same(a: f64, b: f64) -> bool {
    a.is_finite() && (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// The requests slower than `line` in a cumulative histogram sorted by
/// bound and ending at +Inf; None for one without a +Inf bucket.
pub fn slower(h: &[(f64, f64)], line: f64) -> Option<Slower> {
    let &(top, total) = h.last()?;
    if top != f64::INFINITY {
        return None;
    }
    let (fast, between) = match h.iter().find(|(le, _)| same(*le, line)) {
        Some(&(_, n)) => (n, None),
        None => {
            let below = h.iter().rev().find(|(le, _)| *le < line);
            let above = h.iter().find(|(le, _)| *le > line).map_or(top, |b| b.0);
            let low = below.map_or(0.0, |b| b.0);
            (below.map_or(0.0, |b| b.1), Some((low, above)))
        }
    };
    let bad = (total - fast).max(0.0);
    Some(Slower {
        tally: Tally { bad, total },
        between,
    })
}

/// "9.1%": one decimal, none when it is whole.
fn percent(t: Tally) -> String {
    let p = format!("{:.1}", t.rate().unwrap_or(0.0) * 100.0);
    format!("{}%", p.strip_suffix(".0").unwrap_or(&p))
}

impl Rule {
    /// The bad share a value stands for: errors for an error rate,
    /// failures for a success rate; None for metrics that are not rates.
    fn bad(&self, v: f64) -> Option<f64> {
        match self.kind {
            MetricKind::ErrorRate => Some(v / 100.0),
            MetricKind::SuccessRate => Some(1.0 - v / 100.0),
            _ => None,
        }
    }

    fn is_latency(&self) -> bool {
        self.kind == MetricKind::LatencyP95
    }

    /// The lines as bad shares, when the evidence judge applies: for a
    /// p95, 5% slower than each line.
    pub fn lines(&self) -> Option<Lines> {
        if self.judge != Judge::Evidence || !self.warning.is_finite() || !self.critical.is_finite()
        {
            return None;
        }
        if self.is_latency() {
            return Some(Lines {
                warning: P95_SLOW,
                critical: P95_SLOW,
                immediate: self.immediate.map(|_| P95_SLOW),
                ratio: self.baseline_ratio,
            });
        }
        Some(Lines {
            warning: self.bad(self.warning)?,
            critical: self.bad(self.critical)?,
            immediate: self.immediate.and_then(|l| self.bad(l)),
            ratio: self.baseline_ratio,
        })
    }

    /// Line `i` of `Counts` (warning, critical, immediate) in the
    /// metric's unit, with the level past it and its name.
    fn line_at(&self, i: usize) -> (f64, Level, &'static str) {
        match i {
            0 => (self.warning, Level::Warning, "warning"),
            1 => (self.critical, Level::Critical, "critical"),
            _ => (
                self.immediate.unwrap_or(self.critical),
                Level::Critical,
                "immediate",
            ),
        }
    }

    /// The new counts in a reading that came `since_ms` after the previous
    /// one (all of it when there was none). A p95 needs its histogram.
    pub fn tally(&self, reading: &Reading, since_ms: Option<u64>) -> Option<Counts> {
        let Reading::Value {
            value,
            requests: Some(n),
            histogram,
            ..
        } = reading
        else {
            return None;
        };
        let share = match (since_ms, self.window_ms) {
            (Some(dt), w) if w > 0 => (dt as f64 / w as f64).min(1.0),
            _ => 1.0,
        };
        let new = |t: Tally| Tally {
            bad: t.bad * share,
            total: t.total * share,
        };
        if self.is_latency() {
            let h = histogram.as_deref()?;
            let mut each = [Tally::default(); 3];
            for (i, t) in each.iter_mut().enumerate() {
                *t = new(slower(h, self.line_at(i).0)?.tally);
            }
            return Some(Counts(each));
        }
        let bad = self.bad(*value)?.clamp(0.0, 1.0) * n;
        Some(new(Tally { bad, total: *n }).into())
    }

    /// The verdict on a fresh canary reading: by its counts when the rule
    /// is judged by evidence and the reading has counts (a p95 from a
    /// query without buckets has none), else by the thresholds and `for`.
    pub fn verdict(&self, canary: &Reading, baseline: Option<&Reading>, ev: &Evidence) -> Verdict {
        let counted = match canary {
            Reading::Value {
                requests: Some(_),
                histogram,
                ..
            } => {
                let h = histogram.as_deref();
                !self.is_latency() || h.is_some_and(|h| slower(h, self.critical).is_some())
            }
            _ => false,
        };
        match (canary, self.lines()) {
            (Reading::Value { value, .. }, Some(lines)) if counted => {
                self.judge_evidence(*value, &lines, ev, canary)
            }
            _ => self.judge(canary, baseline),
        }
    }

    /// The verdict of the evidence, in words with the counts behind it.
    fn judge_evidence(&self, value: f64, lines: &Lines, ev: &Evidence, now: &Reading) -> Verdict {
        // A floor is a rate; a latency's slow share has none.
        let floor = match self.is_latency() {
            true => 0.0,
            false => self.baseline_floor.unwrap_or(0.0) / 100.0,
        };
        let shown = ev.shown(lines, self.alpha, floor, self.min_requests.unwrap_or(0.0));
        let label = self.label();
        let sure = format!("{}% confidence", number((1.0 - self.alpha) * 100.0));
        let verdict = match shown {
            Shown::Past(i, run) => return self.past(i, run, lines, &sure, value, now),
            Shown::Worse(run) => Verdict::new(
                Level::Critical,
                format!(
                    "{label} {} vs stable {}: worse than {}x stable, {sure}",
                    self.counted(run.canary, 1),
                    self.counted(run.stable, 1),
                    number(self.baseline_ratio.unwrap_or(1.0))
                ),
            ),
            Shown::Inside => Verdict::new(
                Level::Ok,
                format!(
                    "{label} {} ok ({})",
                    self.show(value),
                    self.so_far(ev.canary)
                ),
            ),
            Shown::Unsure => {
                let mut reason = format!(
                    "{label}: not enough evidence yet: {}",
                    self.so_far(ev.canary)
                );
                if let Some(when) = self.would_show(lines, ev, floor, now) {
                    reason.push_str(&format!("; {when}"));
                }
                Verdict::new(Level::LowEvidence, reason)
            }
        };
        Verdict {
            evidence: true,
            ..verdict.with_value(value)
        }
    }

    /// A line shown crossed, with the counts of the run that showed it.
    fn past(
        &self,
        i: usize,
        run: super::evidence::Run,
        lines: &Lines,
        sure: &str,
        value: f64,
        now: &Reading,
    ) -> Verdict {
        let (line, level, word) = self.line_at(i);
        let label = self.label();
        let mut reason = if self.is_latency() {
            let mut r = format!(
                "{label} over {}: {}, {word}, {sure}",
                self.show(line),
                self.counted(run.canary, i)
            );
            if let Some(note) = self.between_words(now, line) {
                r.push_str(&format!("; {note}"));
            }
            r
        } else {
            format!(
                "{label} {} {} {} {word}, {sure}",
                self.counted(run.canary, i),
                self.sign(),
                self.show(line)
            )
        };
        // Stable as bad over the same polls (past the line too, or within
        // the allowed ratio of the canary): a shared cause more likely than
        // the release. Still shown, but it must hold for `for` before it
        // acts, as a point value would. Without a ratio rule (success
        // rate), twice stable is close enough.
        let limit = [
            lines.warning,
            lines.critical,
            lines.immediate.unwrap_or(1.0),
        ][i.min(2)];
        let ratio = self.baseline_ratio.unwrap_or(2.0);
        let shared = i < 2
            && run
                .stable
                .rate()
                .is_some_and(|s| s > limit || run.canary.rate().is_some_and(|c| c <= ratio * s));
        if shared {
            reason.push_str(&format!(
                "; stable is past it too ({}): a shared cause?",
                self.counted(run.stable, i)
            ));
        }
        Verdict {
            immediate: i == 2,
            evidence: !shared,
            ..Verdict::new(level, reason).with_value(value)
        }
    }

    /// Rates: "2.1% (12 of 580)". A p95, against line `i`: "9.1% of 2,300
    /// requests slower than 300 ms (limit 5%)".
    fn counted(&self, t: Tally, i: usize) -> String {
        if self.is_latency() {
            return format!(
                "{} of {} requests slower than {} (limit {})",
                percent(t),
                count(t.total),
                self.show(self.line_at(i).0),
                percent(Tally {
                    bad: P95_SLOW,
                    total: 1.0
                })
            );
        }
        let rate = t.rate().unwrap_or(0.0) * 100.0;
        let shown = match self.kind {
            MetricKind::SuccessRate => 100.0 - rate,
            _ => rate,
        };
        format!("{} ({})", self.show(shown), self.counts(t))
    }

    /// The stage's counts so far: "1 error in 590", "2 failed in 590",
    /// "3 of 590 slower than 500 ms".
    fn so_far(&self, t: Tally) -> String {
        let (bad, total) = (count(t.bad), count(t.total));
        match self.kind {
            MetricKind::LatencyP95 => {
                format!("{bad} of {total} slower than {}", self.show(self.critical))
            }
            MetricKind::SuccessRate => format!("{bad} failed in {total}"),
            _ if bad == "1" => format!("1 error in {total}"),
            _ => format!("{bad} errors in {total}"),
        }
    }

    /// "12 of 580" for errors, "12 failed of 580" for a success rate.
    fn counts(&self, t: Tally) -> String {
        let word = match self.kind {
            MetricKind::SuccessRate => " failed",
            _ => "",
        };
        format!("{}{word} of {}", count(t.bad), count(t.total))
    }

    /// A line between two bucket bounds, in words: the requests between
    /// them were counted as slower.
    fn between_words(&self, now: &Reading, line: f64) -> Option<String> {
        let Reading::Value {
            histogram: Some(h), ..
        } = now
        else {
            return None;
        };
        let (low, high) = slower(h, line)?.between?;
        Some(format!(
            "no bucket at {}: every request between {} and {} counted as slower",
            self.show(line),
            self.show(low),
            self.show(high)
        ))
    }

    /// When the evidence would show a canary twice as bad as it is held
    /// to, at the traffic of the latest reading: "a real 2x regression
    /// would show in ~3m at this traffic".
    fn would_show(
        &self,
        lines: &Lines,
        ev: &Evidence,
        floor: f64,
        now: &Reading,
    ) -> Option<String> {
        let n = now.requests().filter(|n| *n > 0.0)?;
        let window = (self.window_ms > 0).then_some(self.window_ms as f64 / 1000.0)?;
        let secs = requests_to_show_twice(ev.allowed(lines, floor), self.alpha) / (n / window);
        // Minutes when it is minutes: "~3m", not "~3m7s".
        let secs = match secs.ceil() as u64 {
            s if s >= 120 => s.div_ceil(60) * 60,
            s => s,
        };
        Some(format!(
            "a real 2x regression would show in ~{} at this traffic",
            Span::secs(secs)
        ))
    }
}

/// A histogram in JSON (journal, live feed): JSON has no infinity, so the
/// last bound is written as Prometheus writes it, "+Inf".
pub mod bounds;

#[cfg(test)]
mod tests;
