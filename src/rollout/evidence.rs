//! Judging a rate by its counts, not its point estimate.
//!
//! An error rate is errors out of requests. "0.17% is 19x baseline" on one
//! error in 580 requests is noise; 14 errors in 1,180 is not. Each poll adds
//! the requests and bad requests it saw to two kinds of evidence:
//!
//! - **Past a line** (a breach): for each line (warning, critical, the
//!   immediate line, and "worse than N x stable"), a CUSUM of log-likelihood
//!   ratios against a few alternatives beyond the line. CUSUM forgets a
//!   healthy past (it never goes below zero), so a fault that starts late in
//!   a long stage is not diluted, and it is an e-detector: checked at every
//!   poll for hours, a canary sitting exactly on the line raises a false
//!   alarm no sooner than every 1/alpha polls on average (Shin, Ramdas and
//!   Rinaldo, "E-detectors: a nonparametric framework for sequential change
//!   detection", 2023; Page's CUSUM, 1954).
//! - **Inside the line** (OK): over the whole stage, the average of the
//!   likelihood ratios for a few alternatives inside the critical line (and
//!   within N x stable), which is an e-process: by Ville's inequality it
//!   exceeds 1/alpha with probability at most alpha however often it is
//!   looked at. OK asks for less certainty than a breach (ten times alpha:
//!   90% beside 99%): a wrong OK only lets the stage clock run while the
//!   breach detectors keep watching, a wrong breach rolls back a good
//!   release. Within N x stable may also be shown by the canary's own
//!   errors against the allowed rate (an exact Poisson bound, not the
//!   estimate: see `under_line`), which is minutes where the comparison
//!   of two rare counts takes half an hour. The warning line is a place
//!   to look, not a gate to prove:
//!   only a shown warning holds the stage.
//!
//! The comparison with the stable version conditions on the bad requests of
//! both: given k of them, the canary's share is binomial with a probability
//! fixed by both request counts and the ratio under test, so no rate has to
//! be estimated first.

use serde::{Deserialize, Serialize};

/// Bad requests out of all requests (fractional when a poll's window
/// overlaps the previous one and only its new share is counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    pub bad: f64,
    pub total: f64,
}

impl Tally {
    pub fn add(&mut self, other: Tally) {
        self.bad += other.bad;
        self.total += other.total;
    }

    pub fn rate(&self) -> Option<f64> {
        (self.total > 0.0).then(|| self.bad / self.total)
    }
}

/// One poll's counts against each line (warning, critical, immediate):
/// the same tally for a rate; for a latency, the requests slower than each.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counts(pub [Tally; 3]);

impl From<Tally> for Counts {
    fn from(t: Tally) -> Counts {
        Counts([t; 3])
    }
}

impl Counts {
    pub fn critical(&self) -> Tally {
        self.0[1]
    }
}

/// How far beyond a line the alternatives lie: a CUSUM per factor.
const BEYOND: [f64; 4] = [1.5, 2.0, 4.0, 8.0];
/// OK may be wrong this many times more often than a breach.
const OK_LENIENCE: f64 = 10.0;
/// Canary requests the judge needs, at the least, before it can call a
/// canary within N x stable when stable is under `floor` (a fraction), at
/// the default confidence: with no error at all, the count at which a
/// canary on the line would have shown one but with probability 10%
/// (ln 10 errors expected). Each error seen adds more. What `check`
/// compares with a stage's traffic and wait.
pub fn requests_to_judge(floor: f64) -> f64 {
    (1.0 / (0.01 * OK_LENIENCE)).ln() / floor.max(1e-9)
}

/// Requests a canary twice as bad as `allowed` (a bad share) needs, on
/// average, before its CUSUM passes the bar at `alpha`: the bar over the
/// evidence one request adds, which is the Kullback-Leibler divergence of
/// the doubled share from the allowed one (Wald's approximation).
pub fn requests_to_show_twice(allowed: f64, alpha: f64) -> f64 {
    let (p0, p1) = (clamp(allowed), clamp(2.0 * allowed));
    let kl = p1 * (p1 / p0).ln() + (1.0 - p1) * ((1.0 - p1) / (1.0 - p0)).ln();
    (BEYOND.len() as f64 / alpha).ln() / kl
}

/// How far inside a line the alternatives lie.
const INSIDE: [f64; 3] = [0.5, 0.25, 0.1];

/// The counts behind a CUSUM's current run: the canary's, and the stable
/// version's over the same polls (to tell a shared cause from the release).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub canary: Tally,
    pub stable: Tally,
}

/// A CUSUM of log e-values for one line, one per alternative, with the
/// counts behind its current run (for the words).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cusum {
    log: Vec<f64>,
    runs: Vec<Run>,
}

impl Cusum {
    /// Adds one poll's log-likelihood ratio per alternative.
    fn push(&mut self, llr: impl Iterator<Item = f64>, seen: Run) {
        for (j, l) in llr.enumerate() {
            if self.log.len() <= j {
                self.log.push(0.0);
                self.runs.push(Run::default());
            }
            self.log[j] = (self.log[j] + l).max(0.0);
            if self.log[j] == 0.0 {
                self.runs[j] = Run::default();
            } else {
                self.runs[j].canary.add(seen.canary);
                self.runs[j].stable.add(seen.stable);
            }
        }
    }

    /// The counts of the strongest alternative's run once the average of
    /// the alternatives' CUSUM e-values passes `1 / alpha`. Each CUSUM
    /// e-value is at most its Shiryaev-Roberts statistic, an e-detector,
    /// and an average of e-detectors is one (Shin, Ramdas and Rinaldo), so
    /// the average keeps the false-alarm guarantee while alternatives that
    /// agree add up: a bar of `ln(1 / alpha)` on the mixture, not
    /// `ln(K / alpha)` on each.
    fn alarm(&self, alpha: f64) -> Option<Run> {
        if mixture(&self.log) < (1.0 / alpha).ln() {
            return None;
        }
        let (j, _) = self
            .log
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))?;
        Some(self.runs[j])
    }
}

/// Log-likelihood ratio of `bad` of `total` for rate `alt` against `null`.
fn llr(seen: Tally, alt: f64, null: f64) -> f64 {
    let ok = (seen.total - seen.bad).max(0.0);
    let term = |n: f64, a: f64, b: f64| if n > 0.0 { n * (a / b).ln() } else { 0.0 };
    term(seen.bad, alt, null) + term(ok, 1.0 - alt, 1.0 - null)
}

/// Keeps a probability strictly inside (0, 1) so every log is finite.
fn clamp(p: f64) -> f64 {
    p.clamp(1e-9, 1.0 - 1e-9)
}

/// Everything a stage has shown about one rate metric.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The stage's counts, canary and stable.
    pub canary: Tally,
    pub baseline: Tally,
    /// Past each line: the same order as `Lines::past`.
    past: Vec<Cusum>,
    /// Canary worse than `ratio` x stable.
    worse: Cusum,
    /// Inside the critical line, and within `ratio` x stable: the log of
    /// each alternative's likelihood ratio over the whole stage.
    inside: Vec<f64>,
    within: Vec<f64>,
    /// The last poll read the stable version with traffic.
    #[serde(default)]
    stable_read: bool,
}

/// The lines one rate is judged against, as bad fractions (0.005 for a
/// 0.5% error rate, and for a 99.5% success rate).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lines {
    pub warning: f64,
    pub critical: f64,
    pub immediate: Option<f64>,
    pub ratio: Option<f64>,
}

impl Lines {
    fn past(&self) -> Vec<f64> {
        let mut lines = vec![self.warning, self.critical];
        lines.extend(self.immediate);
        lines
    }
}

/// What the evidence shows now, strongest first.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shown {
    /// Past the line at index 0 (warning), 1 (critical) or 2 (immediate),
    /// with the counts of the run that showed it.
    Past(usize, Run),
    /// Worse than `ratio` x stable, over the run that showed it.
    Worse(Run),
    /// Inside the critical line and within the ratio of stable.
    Inside,
    /// Neither yet.
    Unsure,
}

impl Evidence {
    /// One poll's new counts; `baseline` only when the stable version was
    /// read in the same poll. Each line is judged on its own counts; the
    /// critical line's are the stage's (OK, and the ratio to stable).
    pub fn observe(&mut self, lines: &Lines, canary: Counts, baseline: Option<Counts>) {
        self.canary.add(canary.critical());
        let past = lines.past();
        self.past.resize(past.len(), Cusum::default());
        for (i, (cusum, line)) in self.past.iter_mut().zip(past).enumerate() {
            let null = clamp(line);
            let alts = BEYOND.iter().map(|f| clamp(line * f)).filter(|a| *a > null);
            let seen = Run {
                canary: canary.0[i],
                stable: baseline.map(|b| b.0[i]).unwrap_or_default(),
            };
            cusum.push(alts.map(|a| llr(seen.canary, a, null)), seen);
        }
        let null = clamp(lines.critical);
        let inside = INSIDE
            .iter()
            .map(|f| llr(self.canary, clamp(lines.critical * f), null));
        self.inside = inside.collect();
        self.stable_read = baseline.is_some_and(|b| b.critical().total > 0.0);
        if let (Some(ratio), Some(base)) = (lines.ratio, baseline) {
            self.baseline.add(base.critical());
            self.compare(ratio, canary.critical(), base.critical());
        }
    }

    /// The canary's share of the bad requests of both versions, against
    /// its share if it were `ratio` x as bad as stable.
    fn compare(&mut self, ratio: f64, canary: Tally, base: Tally) {
        let share = |r: f64, c: f64, b: f64| clamp(r * c / (r * c + b));
        if canary.total > 0.0 && base.total > 0.0 {
            let k = Tally {
                bad: canary.bad,
                total: canary.bad + base.bad,
            };
            let null = share(ratio, canary.total, base.total);
            let alts = BEYOND
                .iter()
                .map(|f| llr(k, share(ratio * f, canary.total, base.total), null));
            let seen = Run {
                canary,
                stable: base,
            };
            self.worse.push(alts, seen);
        }
        let (c, b) = (self.canary, self.baseline);
        if c.total > 0.0 && b.total > 0.0 {
            let k = Tally {
                bad: c.bad,
                total: c.bad + b.bad,
            };
            let null = share(ratio, c.total, b.total);
            let alts = INSIDE.map(|f| llr(k, share(ratio * f, c.total, b.total), null));
            self.within = alts.to_vec();
        }
    }

    /// The bad share the canary is held to now: the critical line, or
    /// N x stable's share (not under `floor`) once stable has been read.
    pub fn allowed(&self, lines: &Lines, floor: f64) -> f64 {
        let by_ratio = lines
            .ratio
            .filter(|_| self.stable_read)
            .map(|r| floor.max(r * self.baseline.rate().unwrap_or(0.0)))
            .filter(|a| *a > 0.0);
        by_ratio.map_or(lines.critical, |a| a.min(lines.critical))
    }

    /// What the evidence shows at confidence `1 - alpha`.
    pub fn shown(&self, lines: &Lines, alpha: f64, floor: f64, min_requests: f64) -> Shown {
        let past: Vec<Option<Run>> = self.past.iter().map(|c| c.alarm(alpha)).collect();
        // The immediate line, then critical; warning only after the ratio.
        for level in (1..past.len()).rev() {
            if let Some(run) = past[level] {
                return Shown::Past(level, run);
            }
        }
        let above_floor = self.canary.rate().is_some_and(|r| r > floor);
        // No stable traffic (at 100%, or a blue-green switch): nothing to compare.
        let compared = lines.ratio.is_some() && self.stable_read;
        if compared
            && above_floor
            && let Some(run) = self.worse.alarm(alpha)
        {
            return Shown::Worse(run);
        }
        if let Some(Some(run)) = past.first() {
            return Shown::Past(0, *run);
        }
        let bar = (1.0 / (alpha * OK_LENIENCE).min(0.5)).ln();
        let inside = mixture(&self.inside) >= bar;
        // Within N x stable: shown by the e-process on both versions'
        // counts, or by the canary's own errors against the allowed rate
        // (N x stable's, not under the floor). Rare errors at low traffic
        // take the e-process half an hour to show a ratio; a rate under a
        // known line shows in minutes, and asking for its upper bound, not
        // the estimate, keeps a canary over the line from passing by luck.
        let allowed = floor.max(lines.ratio.unwrap_or(1.0) * self.baseline.rate().unwrap_or(0.0));
        let within = !compared
            || under_line(self.canary, allowed, alpha * OK_LENIENCE)
            || (!self.within.is_empty() && mixture(&self.within) >= bar);
        if inside && within && self.canary.total >= min_requests {
            Shown::Inside
        } else {
            Shown::Unsure
        }
    }
}

/// The canary's rate is shown under `line` at confidence `1 - alpha`: its
/// errors are fewer than a canary exactly on the line would show but with
/// probability `alpha` (the one-sided Poisson bound, exact: the chance of
/// at most `bad` errors when `line x total` are expected). A canary 1.6x
/// over the line passes it rarely; one at a third of the line passes once
/// about five errors were expected on the line.
pub fn under_line(seen: Tally, line: f64, alpha: f64) -> bool {
    let expected = line * seen.total;
    if seen.total <= 0.0 || seen.bad >= expected {
        return false;
    }
    poisson_cdf(seen.bad.floor(), expected) <= alpha
}

/// P(X <= k) for X ~ Poisson(mean), summed in logs so that a large mean
/// does not underflow the first terms into a wrong zero.
fn poisson_cdf(k: f64, mean: f64) -> f64 {
    let mut log_term = -mean;
    let mut sum = log_term.exp();
    for i in 1..=(k as u64) {
        log_term += mean.ln() - (i as f64).ln();
        sum += log_term.exp();
    }
    sum.min(1.0)
}

/// The log of the average of the alternatives' likelihood ratios: an
/// average of e-processes is one.
fn mixture(logs: &[f64]) -> f64 {
    if logs.is_empty() {
        return f64::NEG_INFINITY;
    }
    let top = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = logs.iter().map(|l| (l - top).exp()).sum();
    top + (sum / logs.len() as f64).ln()
}

#[cfg(test)]
mod tests;
