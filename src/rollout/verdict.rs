//! Judging one metric: a reading against its thresholds and baseline.

use serde::{Deserialize, Serialize};

use super::evidence::{Evidence, Lines, Shown, Tally};
use super::reading::Reading;
use crate::config::model::{Direction, Judge, MetricKind, MetricSpec, ThresholdOverride};
use crate::format::{with_unit, with_unit_within};

/// Time in milliseconds since the Unix epoch, always passed in.
pub type At = u64;

/// The state a metric shows: never "ok" without evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Ok,
    LowEvidence,
    NoData,
    Warning,
    Critical,
}

impl Level {
    pub fn word(self) -> &'static str {
        match self {
            Level::Ok => "OK",
            Level::LowEvidence => "LOW EVIDENCE",
            Level::NoData => "NO DATA",
            Level::Warning => "WARN",
            Level::Critical => "CRIT",
        }
    }

    /// A reading the judge could place against the lines.
    pub fn is_judgeable(self) -> bool {
        matches!(self, Level::Ok | Level::Warning | Level::Critical)
    }

    pub fn is_breach(self) -> bool {
        matches!(self, Level::Warning | Level::Critical)
    }
}

/// A metric's rule for one stage: config thresholds with stage overrides applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub name: String,
    pub kind: MetricKind,
    pub unit: String,
    pub direction: Direction,
    pub warning: f64,
    pub critical: f64,
    pub for_ms: u64,
    pub immediate: Option<f64>,
    pub baseline_ratio: Option<f64>,
    pub baseline_floor: Option<f64>,
    pub min_requests: Option<f64>,
    /// How counts are judged; `Thresholds` for metrics without counts.
    #[serde(default = "thresholds")]
    pub judge: Judge,
    /// 1 - the confidence the evidence judge needs.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// The span one reading's counts cover (a rate window): a poll counts
    /// only its share that the previous poll did not.
    #[serde(default)]
    pub window_ms: u64,
    /// A breach's reason ends with the reading's detail: the firing
    /// alerts' names, for a count of alerts.
    #[serde(default)]
    pub names_cause: bool,
}

fn thresholds() -> Judge {
    Judge::Thresholds
}

fn default_alpha() -> f64 {
    0.01
}

/// Every metric's rule for one stage: the config's lines with the stage's
/// overrides, judged as the policy says. The one place rules are made.
pub fn stage_rules(config: &crate::config::Config, stage: usize) -> Vec<Rule> {
    let overrides = config.stages.get(stage).map(|s| &s.thresholds);
    let policy = &config.policy;
    config
        .metrics
        .iter()
        .map(|m| {
            Rule::new(m, overrides.and_then(|o| o.get(&m.name))).with_judge(
                policy.judge,
                policy.confidence,
                config.counts_window_ms(m),
            )
        })
        .collect()
}

impl Rule {
    /// Needs a resolved spec (see config::resolve).
    pub fn new(spec: &MetricSpec, over: Option<&ThresholdOverride>) -> Rule {
        let o = over.cloned().unwrap_or_default();
        Rule {
            name: spec.name.clone(),
            kind: spec.kind,
            unit: spec.unit.clone().unwrap_or_default(),
            direction: spec.direction.unwrap_or(Direction::HigherIsWorse),
            warning: o.warning.or(spec.warning).unwrap_or(f64::INFINITY),
            critical: o.critical.or(spec.critical).unwrap_or(f64::INFINITY),
            for_ms: o.for_.or(spec.for_).map_or(60_000, |s| s.as_millis()),
            immediate: spec.immediate,
            baseline_ratio: spec.baseline_ratio,
            baseline_floor: spec.baseline_floor,
            min_requests: spec.min_requests,
            judge: Judge::Thresholds,
            alpha: default_alpha(),
            window_ms: 0,
            names_cause: spec.alerts.is_some(),
        }
    }

    /// Judges this rule by its counts where it has them (error and success
    /// rates), at `confidence`, reading counts that cover `window_ms`.
    pub fn with_judge(mut self, judge: Judge, confidence: f64, window_ms: u64) -> Rule {
        self.judge = judge;
        self.alpha = 1.0 - confidence;
        self.window_ms = window_ms;
        self
    }

    /// The bad fraction a value stands for: errors for an error rate,
    /// failures for a success rate; None for metrics that are not rates.
    fn bad(&self, v: f64) -> Option<f64> {
        match self.kind {
            MetricKind::ErrorRate => Some(v / 100.0),
            MetricKind::SuccessRate => Some(1.0 - v / 100.0),
            _ => None,
        }
    }

    /// The lines as bad fractions, when the evidence judge applies.
    pub fn lines(&self) -> Option<Lines> {
        if self.judge != Judge::Evidence || !self.warning.is_finite() || !self.critical.is_finite()
        {
            return None;
        }
        Some(Lines {
            warning: self.bad(self.warning)?,
            critical: self.bad(self.critical)?,
            immediate: self.immediate.and_then(|l| self.bad(l)),
            ratio: self.baseline_ratio,
        })
    }

    /// The new counts in a reading that came `since_ms` after the previous
    /// one (all of it when there was none).
    pub fn tally(&self, reading: &Reading, since_ms: Option<u64>) -> Option<Tally> {
        let Reading::Value {
            value,
            requests: Some(n),
            ..
        } = reading
        else {
            return None;
        };
        let share = match (since_ms, self.window_ms) {
            (Some(dt), w) if w > 0 => (dt as f64 / w as f64).min(1.0),
            _ => 1.0,
        };
        let total = n * share;
        Some(Tally {
            bad: self.bad(*value)?.clamp(0.0, 1.0) * total,
            total,
        })
    }

    /// The verdict of the evidence, in words with the counts behind it.
    pub fn judge_evidence(&self, value: f64, lines: &Lines, ev: &Evidence) -> Verdict {
        let floor = self.baseline_floor.unwrap_or(0.0) / 100.0;
        let shown = ev.shown(lines, self.alpha, floor, self.min_requests.unwrap_or(0.0));
        let label = self.label();
        let sure = format!(
            "{}% confidence",
            crate::format::number((1.0 - self.alpha) * 100.0)
        );
        let verdict = match shown {
            Shown::Past(i, run) => {
                let (level, line, word) = match i {
                    0 => (Level::Warning, self.warning, "warning"),
                    1 => (Level::Critical, self.critical, "critical"),
                    _ => (
                        Level::Critical,
                        self.immediate.unwrap_or(self.critical),
                        "immediate",
                    ),
                };
                let mut reason = format!(
                    "{label} {} {} {} {word}, {sure}",
                    self.counted(run.canary),
                    self.sign(),
                    self.show(line)
                );
                // Stable as bad over the same polls (past the line too, or
                // within the allowed ratio of the canary): a shared cause
                // more likely than the release. Still shown, but it must
                // hold for `for` before it acts, as a point value would.
                // Without a ratio rule (success rate), twice stable is close enough.
                let ratio = self.baseline_ratio.unwrap_or(2.0);
                let shared = i < 2
                    && run.stable.rate().is_some_and(|s| {
                        self.bad(line).is_some_and(|l| s > l)
                            || run.canary.rate().is_some_and(|c| c <= ratio * s)
                    });
                if shared {
                    reason.push_str(&format!(
                        "; stable is past it too ({}): a shared cause?",
                        self.counted(run.stable)
                    ));
                }
                let v = Verdict::new(level, reason);
                return Verdict {
                    immediate: i == 2,
                    evidence: !shared,
                    ..v.with_value(value)
                };
            }
            Shown::Worse(run) => Verdict::new(
                Level::Critical,
                format!(
                    "{label} {} vs stable {}: worse than {}x stable, {sure}",
                    self.counted(run.canary),
                    self.counted(run.stable),
                    crate::format::number(self.baseline_ratio.unwrap_or(1.0))
                ),
            ),
            Shown::Inside => Verdict::new(
                Level::Ok,
                format!(
                    "{label} {} ok ({} requests so far)",
                    self.show(value),
                    self.counts(ev.canary)
                ),
            ),
            Shown::Unsure => Verdict::new(
                Level::LowEvidence,
                format!(
                    "{label}: not enough evidence yet ({} requests so far)",
                    self.counts(ev.canary)
                ),
            ),
        };
        Verdict {
            evidence: true,
            ..verdict.with_value(value)
        }
    }

    /// "2.1% (12 of 580)": the rate the counts give, and the counts.
    fn counted(&self, t: Tally) -> String {
        let rate = t.rate().unwrap_or(0.0) * 100.0;
        let shown = match self.kind {
            MetricKind::SuccessRate => 100.0 - rate,
            _ => rate,
        };
        format!("{} ({})", self.show(shown), self.counts(t))
    }

    /// "12 of 580" for errors, "12 failed of 580" for a success rate.
    fn counts(&self, t: Tally) -> String {
        let word = match self.kind {
            MetricKind::SuccessRate => " failed",
            _ => "",
        };
        let (bad, total) = (crate::format::count(t.bad), crate::format::count(t.total));
        format!("{bad}{word} of {total}")
    }

    /// How the operator says it: "error rate", "p95".
    pub fn label(&self) -> String {
        match self.kind {
            MetricKind::ErrorRate => "error rate".into(),
            MetricKind::LatencyP95 => "p95".into(),
            MetricKind::SuccessRate => "success rate".into(),
            MetricKind::DbErrors => "DB errors".into(),
            MetricKind::SecurityAlerts => "security alerts".into(),
            _ => self.name.replace('_', " "),
        }
    }

    pub fn show(&self, v: f64) -> String {
        with_unit(v, &self.unit)
    }

    /// `show` rounded to fit `width` columns, for tables.
    pub fn show_within(&self, v: f64, width: u16) -> String {
        with_unit_within(v, &self.unit, width as usize)
    }

    /// Whether `v` is past `line` in the bad direction.
    pub fn beyond(&self, v: f64, line: f64) -> bool {
        match self.direction {
            Direction::HigherIsWorse => v > line,
            Direction::LowerIsWorse => v < line,
        }
    }

    fn sign(&self) -> &'static str {
        match self.direction {
            Direction::HigherIsWorse => ">",
            Direction::LowerIsWorse => "<",
        }
    }

    /// The instantaneous verdict; how long it has held is tracked elsewhere.
    pub fn judge(&self, canary: &Reading, baseline: Option<&Reading>) -> Verdict {
        let (value, requests, detail) = match canary {
            Reading::NoData { reason, .. } => {
                return Verdict::new(
                    Level::NoData,
                    format!("{}: no data ({reason})", self.label()),
                );
            }
            Reading::Value {
                value,
                requests,
                detail,
            } => (*value, *requests, detail.as_deref()),
        };
        if let (Some(min), Some(n)) = (self.min_requests, requests)
            && n < min
        {
            return Verdict::new(
                Level::LowEvidence,
                format!(
                    "{}: not enough evidence ({} requests < {} needed)",
                    self.label(),
                    n.round(),
                    min
                ),
            );
        }
        let label = self.label();
        for (level, line, word) in [
            (Level::Critical, self.critical, "critical"),
            (Level::Warning, self.warning, "warning"),
        ] {
            if self.beyond(value, line) {
                let cause = match detail.filter(|_| self.names_cause) {
                    Some(d) => format!(": {d}"),
                    None => String::new(),
                };
                let reason = format!(
                    "{label} {} {} {} {word}{cause}",
                    self.show(value),
                    self.sign(),
                    self.show(line)
                );
                return Verdict::new(level, reason).with_value(value);
            }
        }
        if let Some(v) = self.baseline_breach(value, baseline) {
            return v;
        }
        Verdict::new(Level::Ok, format!("{label} {} ok", self.show(value))).with_value(value)
    }

    /// Seed 000: the canary may not exceed the stable version by more than N x.
    fn baseline_breach(&self, value: f64, baseline: Option<&Reading>) -> Option<Verdict> {
        let ratio = self.baseline_ratio?;
        let Some(Reading::Value { value: base, .. }) = baseline else {
            return None;
        };
        if value < self.baseline_floor.unwrap_or(0.0) || *base <= 0.0 {
            return None;
        }
        let actual = value / base;
        (actual > ratio).then(|| {
            let reason = format!(
                "{} {} is {:.1}x baseline {} (limit {}x)",
                self.label(),
                self.show(value),
                actual,
                self.show(*base),
                crate::format::number(ratio)
            );
            Verdict::new(Level::Critical, reason).with_value(value)
        })
    }

    /// Past the line where a breach counts at once (seed 004: 5% errors).
    pub fn is_immediate(&self, reading: &Reading) -> bool {
        match (self.immediate, reading) {
            (Some(line), Reading::Value { value, .. }) => self.beyond(*value, line),
            _ => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub level: Level,
    pub reason: String,
    pub value: Option<f64>,
    /// Decided by the evidence judge: a breach counts at once, no `for`.
    #[serde(default)]
    pub evidence: bool,
    /// Past the immediate line (seed 004: 5% errors).
    #[serde(default)]
    pub immediate: bool,
}

impl Verdict {
    pub fn new(level: Level, reason: String) -> Verdict {
        Verdict {
            level,
            reason,
            value: None,
            evidence: false,
            immediate: false,
        }
    }

    fn with_value(mut self, v: f64) -> Verdict {
        self.value = Some(v);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::defaults::bare_metric;

    fn error_rate() -> Rule {
        let mut spec = bare_metric("error_rate", MetricKind::ErrorRate);
        let d = crate::config::defaults::kind_defaults(MetricKind::ErrorRate).unwrap();
        spec.unit = Some(d.unit.into());
        spec.direction = Some(d.direction);
        spec.warning = Some(d.warning);
        spec.critical = Some(d.critical);
        spec.baseline_ratio = d.baseline_ratio;
        spec.baseline_floor = d.baseline_floor;
        spec.min_requests = d.min_requests;
        Rule::new(&spec, None)
    }

    #[test]
    fn thresholds_in_words() {
        let r = error_rate();
        let v = r.judge(&Reading::value(0.8, Some(1000.0)), None);
        assert_eq!(
            (v.level, v.reason.as_str()),
            (Level::Critical, "error rate 0.8% > 0.5% critical")
        );
        assert_eq!(
            r.judge(&Reading::value(0.3, Some(1000.0)), None).level,
            Level::Warning
        );
        assert_eq!(
            r.judge(&Reading::value(0.1, Some(1000.0)), None).level,
            Level::Ok
        );
    }

    #[test]
    fn no_evidence_is_never_ok() {
        let r = error_rate();
        assert_eq!(
            r.judge(&Reading::value(0.0, Some(3.0)), None).level,
            Level::LowEvidence
        );
        assert_eq!(
            r.judge(&Reading::no_data("timeout after 5s"), None).level,
            Level::NoData
        );
        assert_eq!(
            r.judge(&Reading::value(f64::NAN, None), None).level,
            Level::NoData
        );
    }

    #[test]
    fn twice_the_baseline_is_critical_above_the_noise_floor() {
        let r = error_rate();
        let base = Reading::value(0.06, Some(1000.0));
        let v = r.judge(&Reading::value(0.15, Some(1000.0)), Some(&base));
        assert_eq!(v.level, Level::Critical, "{}", v.reason);
        assert!(v.reason.contains("2.5x baseline"), "{}", v.reason);
        // 0.02% vs 0.005% is 4x but under the 0.05% floor: noise.
        let tiny = Reading::value(0.005, Some(1000.0));
        assert_eq!(
            r.judge(&Reading::value(0.02, Some(1000.0)), Some(&tiny))
                .level,
            Level::Ok
        );
    }
}
