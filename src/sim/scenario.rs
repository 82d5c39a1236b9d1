//! Drill scenarios: the traffic a simulated service sees, the faults that
//! hit it, and what a good operator does about them. Shipped scenarios live
//! in `scenarios/*.toml` and are embedded, so `--scenario NAME` works from
//! any directory; `--scenario FILE` reads a team's own.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::model::OnCritical;
use crate::duration::Span;
use crate::rollout::Outcome;

/// The scenarios shipped with the cockpit, by name, in teaching order.
pub const BUILT_IN: [(&str, &str); 15] = [
    ("healthy", include_str!("../../scenarios/healthy.toml")),
    (
        "error-burst",
        include_str!("../../scenarios/error-burst.toml"),
    ),
    (
        "latency-creep",
        include_str!("../../scenarios/latency-creep.toml"),
    ),
    (
        "fails-under-load",
        include_str!("../../scenarios/fails-under-load.toml"),
    ),
    (
        "noisy-healthy",
        include_str!("../../scenarios/noisy-healthy.toml"),
    ),
    (
        "metrics-outage",
        include_str!("../../scenarios/metrics-outage.toml"),
    ),
    (
        "counter-reset",
        include_str!("../../scenarios/counter-reset.toml"),
    ),
    (
        "low-traffic",
        include_str!("../../scenarios/low-traffic.toml"),
    ),
    (
        "readiness-failing",
        include_str!("../../scenarios/readiness-failing.toml"),
    ),
    (
        "shared-dependency",
        include_str!("../../scenarios/shared-dependency.toml"),
    ),
    (
        "plain-healthy",
        include_str!("../../scenarios/plain-healthy.toml"),
    ),
    (
        "errors-at-five",
        include_str!("../../scenarios/errors-at-five.toml"),
    ),
    ("steady-4x", include_str!("../../scenarios/steady-4x.toml")),
    (
        "quiet-healthy",
        include_str!("../../scenarios/quiet-healthy.toml"),
    ),
    (
        "flaky-dependency",
        include_str!("../../scenarios/flaky-dependency.toml"),
    ),
];

pub const DEFAULT: &str = "healthy";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    /// One line: what happens to the service.
    pub summary: String,
    /// What a good operator does, and by when.
    pub good_operator: String,
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Simulated time after which a drill with no outcome ends as "held".
    pub duration: Span,
    pub traffic: Traffic,
    #[serde(default)]
    pub rollout: DrillRollout,
    #[serde(default)]
    pub policy: DrillPolicy,
    pub expect: Expect,
    #[serde(default, rename = "fault")]
    pub faults: Vec<Fault>,
}

fn default_seed() -> u64 {
    1
}

/// The service's normal behaviour, shared by both versions.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Traffic {
    /// Requests per second over both versions together.
    pub rps: f64,
    /// Percent of requests answered 5xx.
    pub error_rate: f64,
    /// p95 latency in milliseconds.
    pub p95_ms: f64,
    /// Random jitter per step, relative (0.1 = up to ±10%).
    #[serde(default)]
    pub jitter: f64,
    /// A slow swing of error rate and latency, relative (0.3 = ±30%), that
    /// both versions share: a noisy service, not a bad release.
    #[serde(default)]
    pub wobble: f64,
    #[serde(default = "default_wobble_period")]
    pub wobble_period: Span,
}

fn default_wobble_period() -> Span {
    Span::secs(90)
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DrillRollout {
    /// Canary weights in percent, one stage each.
    pub stages: Vec<f64>,
    /// Observation time per stage.
    pub wait: Span,
    /// Watch the canary's `/ready` as a metric too.
    pub readiness_probe: bool,
}

impl Default for DrillRollout {
    fn default() -> Self {
        DrillRollout {
            stages: vec![5.0, 25.0, 50.0, 100.0],
            wait: Span::mins(3),
            readiness_probe: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DrillPolicy {
    pub on_critical: OnCritical,
    pub countdown: Span,
    pub rollback_verify_within: Span,
    /// How long a breach must last (every metric's `for`; default: each
    /// kind's own), for a short drill whose `for` a trainee races.
    #[serde(rename = "for", default, skip_serializing_if = "Option::is_none")]
    pub breach_for: Option<Span>,
}

impl Default for DrillPolicy {
    fn default() -> Self {
        DrillPolicy {
            on_critical: OnCritical::Countdown,
            countdown: Span::secs(30),
            rollback_verify_within: Span::mins(2),
            breach_for: None,
        }
    }
}

/// How a drill ends, as a scenario expects it and as scored: the rollout's
/// outcome, or held (not `rollout::Verdict`, which judges a metric).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    Promoted,
    RolledBack,
    RolledBackUnrecovered,
    /// Neither advanced nor rolled back: not enough evidence to decide.
    Held,
}

impl Ending {
    pub fn of(outcome: Option<Outcome>) -> Ending {
        match outcome {
            Some(Outcome::Promoted) => Ending::Promoted,
            Some(Outcome::RolledBack) => Ending::RolledBack,
            Some(Outcome::RolledBackUnrecovered) => Ending::RolledBackUnrecovered,
            None => Ending::Held,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Ending::Promoted => "promoted",
            Ending::RolledBack => "rolled back",
            Ending::RolledBackUnrecovered => "rolled back, not recovered",
            Ending::Held => "held",
        }
    }

    /// The rollout outcome this verdict stands for (held: none).
    pub fn outcome(self) -> Option<Outcome> {
        match self {
            Ending::Promoted => Some(Outcome::Promoted),
            Ending::RolledBack => Some(Outcome::RolledBack),
            Ending::RolledBackUnrecovered => Some(Outcome::RolledBackUnrecovered),
            Ending::Held => None,
        }
    }

    /// The exit code a headless drill ends with: the code a run with the
    /// same outcome ends with (see `exit::of_outcome`).
    pub fn exit_code(self) -> i32 {
        crate::exit::of_outcome(self.outcome())
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub outcome: Ending,
    /// The stage (by name, e.g. "25%") where the call is made.
    pub stage: String,
    /// Simulated time from start by which the outcome should be reached.
    pub within: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    #[default]
    Canary,
    Stable,
    /// A shared dependency: both versions suffer, so rolling back cannot help.
    Both,
}

/// A scripted fault. It triggers at start, or once the canary first has
/// `min_weight` percent of traffic; it begins `after` that and lasts
/// `lasts` (for ever when unset).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// Words for the journal: "canary answers 2% of requests with 500".
    pub what: String,
    #[serde(default)]
    pub target: Target,
    pub min_weight: Option<f64>,
    #[serde(default)]
    pub after: Span,
    pub lasts: Option<Span>,
    /// Percent of 5xx while active.
    pub error_rate: Option<f64>,
    /// p95 in ms while active; with `ramp`, reached gradually.
    pub p95_ms: Option<f64>,
    pub ramp: Option<Span>,
    /// `/metrics` answers 503.
    #[serde(default)]
    pub outage: bool,
    /// The process restarts: counters start again from zero.
    #[serde(default)]
    pub restart: bool,
    /// `/ready` answers 503: the database is unreachable.
    #[serde(default)]
    pub not_ready: bool,
}

impl Scenario {
    /// A built-in name, or a path to a scenario file.
    pub fn load(name_or_file: &str) -> Result<Scenario, String> {
        if let Some((_, text)) = BUILT_IN.iter().find(|(n, _)| *n == name_or_file) {
            return Scenario::parse(name_or_file, text);
        }
        let path = Path::new(name_or_file);
        if path.exists() {
            let text = crate::files::read_text(path)
                .map_err(|e| format!("cannot read scenario {}: {e}", path.display()))?;
            return Scenario::parse(&path.display().to_string(), &text);
        }
        let names: Vec<&str> = BUILT_IN.iter().map(|(n, _)| *n).collect();
        let hint = crate::config::error::did_you_mean(name_or_file, names.iter().copied())
            .map(|n| format!("did you mean \"{n}\"? "))
            .unwrap_or_default();
        Err(format!(
            "no scenario \"{name_or_file}\": not a built-in name and no such file; {hint}built-in: {}",
            names.join(", ")
        ))
    }

    pub fn parse(origin: &str, text: &str) -> Result<Scenario, String> {
        let scenario: Scenario = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map_or(0, |s| text[..s.start].matches('\n').count() + 1);
            format!(
                "{origin}:{line}: {}; see scenarios/healthy.toml for the format",
                e.message().trim()
            )
        })?;
        scenario.check().map_err(|e| format!("{origin}: {e}"))?;
        Ok(scenario)
    }

    /// Rules serde cannot say; each message names the key and the fix.
    fn check(&self) -> Result<(), String> {
        let t = &self.traffic;
        if !(t.rps > 0.0 && t.p95_ms > 0.0) {
            return Err("traffic.rps and traffic.p95_ms must be above 0".into());
        }
        if !(0.0..=100.0).contains(&t.error_rate) {
            return Err("traffic.error_rate is a percentage: 0 to 100".into());
        }
        if !(0.0..1.0).contains(&t.jitter) || !(0.0..1.0).contains(&t.wobble) {
            return Err(
                "traffic.jitter and traffic.wobble are fractions below 1 (0.1 = ±10%)".into(),
            );
        }
        if self.rollout.stages.is_empty() {
            return Err(
                "rollout.stages is empty: give canary weights such as [5, 25, 50, 100]".into(),
            );
        }
        if self.expect.outcome != Ending::Held && !self.stage_names().contains(&self.expect.stage) {
            return Err(format!(
                "expect.stage \"{}\" is not one of the stages: {}",
                self.expect.stage,
                self.stage_names().join(", ")
            ));
        }
        for (i, f) in self.faults.iter().enumerate() {
            if f.error_rate.is_some_and(|e| !(0.0..=100.0).contains(&e)) {
                return Err(format!("fault {} error_rate must be 0 to 100", i + 1));
            }
            if f.ramp.is_some() && f.p95_ms.is_none() {
                return Err(format!(
                    "fault {}: `ramp` needs `p95_ms` (where the ramp ends)",
                    i + 1
                ));
            }
        }
        Ok(())
    }

    /// Stage names as the drill config gives them: "5%", "25%".
    pub fn stage_names(&self) -> Vec<String> {
        self.rollout
            .stages
            .iter()
            .map(|w| format!("{}%", crate::format::number(*w)))
            .collect()
    }

    /// The scenario's text for the journal header's hash.
    pub fn text(name_or_file: &str) -> String {
        BUILT_IN
            .iter()
            .find(|(n, _)| *n == name_or_file)
            .map(|(_, t)| t.to_string())
            .or_else(|| crate::files::read_text(Path::new(name_or_file)).ok())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_scenario_parses_and_is_named_after_itself() {
        for (name, text) in BUILT_IN {
            let s = Scenario::parse(name, text).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(s.name, name);
            assert!(!s.good_operator.is_empty());
        }
    }

    #[test]
    fn unknown_name_suggests_the_closest() {
        let e = Scenario::load("error-bust").unwrap_err();
        assert!(e.contains("did you mean \"error-burst\""), "{e}");
    }

    #[test]
    fn a_typo_in_a_file_says_where() {
        let text = BUILT_IN[0].1.replace("rps =", "rsp =");
        let e = Scenario::parse("mine.toml", &text).unwrap_err();
        assert!(e.starts_with("mine.toml:"), "{e}");
        assert!(e.contains("rsp"), "{e}");
    }
}
