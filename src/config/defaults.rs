//! Defaults from the seeds: PRODUCT.md's threshold table, seed 000's canary
//! stages, seed 003's risk presets.

use super::model::{Direction, MetricKind, MetricSpec, Preset, Stage, Strategy};
use crate::duration::Span;

/// Query sets a metric can name with `template = "..."`.
pub const TEMPLATES: [&str; 3] = ["prometheus-client", "istio", "nginx-ingress"];

/// Placeholders a hook argument may use.
pub const PLACEHOLDERS: [&str; 8] = [
    "rollout",
    "service",
    "stage",
    "weight",
    "previous_weight",
    "version",
    "operator",
    "reason",
];

/// What a metric kind means when the config does not say.
pub struct KindDefaults {
    pub unit: &'static str,
    pub direction: Direction,
    pub warning: f64,
    pub critical: f64,
    pub for_: Span,
    pub immediate: Option<f64>,
    pub baseline_ratio: Option<f64>,
    pub baseline_floor: Option<f64>,
    pub min_requests: Option<f64>,
}

pub fn kind_defaults(kind: MetricKind) -> Option<KindDefaults> {
    use Direction::*;
    let d = |unit, direction, warning, critical, for_| KindDefaults {
        unit,
        direction,
        warning,
        critical,
        for_,
        immediate: None,
        baseline_ratio: None,
        baseline_floor: None,
        min_requests: None,
    };
    Some(match kind {
        // < 0.05% baseline, > 0.2% warning, > 0.5% critical; 2x stable (000); 5% at once (004).
        MetricKind::ErrorRate => KindDefaults {
            immediate: Some(5.0),
            baseline_ratio: Some(2.0),
            baseline_floor: Some(0.05),
            min_requests: Some(50.0),
            ..d("%", HigherIsWorse, 0.2, 0.5, Span::mins(1))
        },
        MetricKind::LatencyP95 => KindDefaults {
            min_requests: Some(50.0),
            ..d("ms", HigherIsWorse, 300.0, 500.0, Span::mins(2))
        },
        MetricKind::SuccessRate => KindDefaults {
            min_requests: Some(50.0),
            ..d("%", LowerIsWorse, 99.8, 99.5, Span::mins(1))
        },
        MetricKind::DbErrors => d("/min", HigherIsWorse, 10.0, 50.0, Span::mins(1)),
        // Any security alert: roll back at once. `immediate` makes it
        // count at once; `for` is never reached (and 0s is refused).
        MetricKind::SecurityAlerts => KindDefaults {
            immediate: Some(0.0),
            ..d("alerts", HigherIsWorse, 0.0, 0.0, Span::mins(1))
        },
        MetricKind::Readiness => d("ready", LowerIsWorse, 1.0, 1.0, Span::secs(30)),
        MetricKind::Custom => return None,
    })
}

/// The metrics a config gets when it lists none.
pub fn default_metrics(preset: Option<Preset>) -> Vec<MetricSpec> {
    let kinds: &[(&str, MetricKind)] = if preset == Some(Preset::Zero) {
        // Seed 003: a zero-risk deploy watches deploy success only.
        &[("success_rate", MetricKind::SuccessRate)]
    } else {
        &[
            ("error_rate", MetricKind::ErrorRate),
            ("latency_p95", MetricKind::LatencyP95),
            ("success_rate", MetricKind::SuccessRate),
        ]
    };
    kinds
        .iter()
        .map(|(name, kind)| bare_metric(name, *kind))
        .collect()
}

pub fn bare_metric(name: &str, kind: MetricKind) -> MetricSpec {
    MetricSpec {
        name: name.into(),
        kind,
        unit: None,
        query: None,
        baseline_query: None,
        template: None,
        scrape: None,
        probe: None,
        alerts: None,
        scale: None,
        direction: None,
        warning: None,
        critical: None,
        for_: None,
        immediate: None,
        baseline_ratio: None,
        baseline_floor: None,
        min_requests: None,
    }
}

fn stage(name: &str, weight: f64, wait: Span) -> Stage {
    Stage {
        name: name.into(),
        weight: Some(weight),
        instances: None,
        region: None,
        cohort: None,
        wait,
        thresholds: Default::default(),
        enter: Default::default(),
        undo: Default::default(),
        smoke: None,
        verify: None,
        irreversible: false,
        gate: None,
    }
}

/// Seed 003's risk levels, taking the short end of each range.
pub fn preset_stages(preset: Preset) -> Vec<Stage> {
    let (m, h) = (Span::mins, Span::hours);
    match preset {
        Preset::Zero => vec![stage("deploy", 100.0, m(15))],
        Preset::Low => vec![stage("flag off", 0.0, h(1)), stage("flag on", 100.0, m(15))],
        Preset::Medium => vec![
            stage("10%", 10.0, h(2)),
            stage("50%", 50.0, h(4)),
            stage("100%", 100.0, h(1)),
        ],
        Preset::High => vec![
            stage("1%", 1.0, h(8)),
            stage("10%", 10.0, h(4)),
            stage("25%", 25.0, h(4)),
            stage("50%", 50.0, h(4)),
            stage("75%", 75.0, h(4)),
            stage("100%", 100.0, h(24)),
        ],
    }
}

/// Stages a strategy implies when none are written; rolling has no default
/// because only the team knows its instance count.
pub fn strategy_stages(strategy: Strategy) -> Option<Vec<Stage>> {
    let m = Span::mins;
    match strategy {
        // Seed 000: 5% -> 25% -> 50% -> 100%, 15 minutes each.
        Strategy::Canary => Some(
            [5.0, 25.0, 50.0, 100.0]
                .iter()
                .map(|w| stage(&format!("{w}%"), *w, m(15)))
                .collect(),
        ),
        // Seeds 000/001/004: idle colour smoke-tested at 0%, switch, confidence hour.
        Strategy::BlueGreen => Some(vec![
            stage("green idle", 0.0, m(5)),
            stage("switch", 100.0, Span::hours(1)),
        ]),
        Strategy::Phased => Some(
            ["internal", "beta", "all"]
                .iter()
                .map(|c| Stage {
                    weight: None,
                    cohort: Some((*c).into()),
                    ..stage(c, 0.0, m(15))
                })
                .collect(),
        ),
        Strategy::Rolling => None,
    }
}
