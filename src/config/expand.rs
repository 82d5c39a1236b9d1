//! Presets and seed defaults filled in where the config leaves them out:
//! a preset's or strategy's stages, `[hooks]` copied into stages, the
//! default metrics and what each metric kind means. What cannot be filled
//! (no metric source at all) is a problem, said here.

use super::defaults::{self, TEMPLATES};
use super::error::Problem;
use super::model::{Config, MetricKind, ScrapeSelector};
use super::problem;
use crate::at;

pub(super) fn stages(config: &mut Config, out: &mut Vec<Problem>) {
    let strategy = config.rollout.strategy;
    match (config.rollout.preset, config.stages.is_empty()) {
        (Some(_), false) => out.push(problem(
            at!["rollout", "preset"],
            "both a preset and [[stage]] tables are given",
            "remove `preset` to use your own stages, or remove the [[stage]] tables to use the preset's",
        )),
        (Some(preset), true) => config.stages = defaults::preset_stages(preset),
        (None, true) => match defaults::strategy_stages(strategy) {
            Some(stages) => config.stages = stages,
            None => out.push(problem(
                at!["rollout", "strategy"],
                format!("strategy \"{strategy}\" needs [[stage]] tables (only you know how many instances there are)"),
                "add [[stage]] tables with `instances = N`, or set `preset`",
            )),
        },
        (None, false) => {}
    }
    let hooks = &config.hooks;
    for stage in &mut config.stages {
        if stage.enter.0.is_empty() {
            stage.enter = hooks.enter.clone();
        }
        if stage.undo.0.is_empty() {
            stage.undo = hooks.undo.clone();
        }
    }
}

pub(super) fn metrics(config: &mut Config, out: &mut Vec<Problem>) {
    let (has_prom, has_scrape) = (config.prometheus.is_some(), config.scrape.is_some());
    if config.metrics.is_empty() {
        if !has_prom && !has_scrape {
            out.push(problem(
                at!["rollout"],
                "no metric source: the default metrics (error rate, p95, success rate) need [prometheus] or [scrape]",
                "add [scrape] with `canary = [\"http://host:port/metrics\"]`, or [prometheus] with `url = \"http://...\"`",
            ));
            return;
        }
        config.metrics = defaults::default_metrics(config.rollout.preset);
    }
    for (i, m) in config.metrics.iter_mut().enumerate() {
        if let Some(d) = defaults::kind_defaults(m.kind) {
            m.unit.get_or_insert_with(|| d.unit.to_string());
            m.direction.get_or_insert(d.direction);
            m.warning.get_or_insert(d.warning);
            m.critical.get_or_insert(d.critical);
            m.for_.get_or_insert(d.for_);
            m.immediate = m.immediate.or(d.immediate);
            m.baseline_ratio = m.baseline_ratio.or(d.baseline_ratio);
            m.baseline_floor = m.baseline_floor.or(d.baseline_floor);
            m.min_requests = m.min_requests.or(d.min_requests);
        }
        m.for_.get_or_insert(crate::duration::Span::mins(1));
        let has_source = m.query.is_some()
            || m.template.is_some()
            || m.scrape.is_some()
            || m.probe.is_some()
            || m.alerts.is_some();
        if !has_source {
            if has_prom && default_scrape(m.kind).is_some() {
                m.template = Some(TEMPLATES[0].into());
            } else if has_scrape && let Some(sel) = default_scrape(m.kind) {
                m.scrape = Some(sel);
            } else {
                out.push(problem(
                    at!["metric", i, "name"],
                    format!("metric \"{}\" has no source", m.name),
                    "set `query` (with [prometheus]), `template`, `scrape` (with [scrape]), `probe`, or `alerts` (with [alertmanager])",
                ));
            }
        }
        // One rule whether the family was written out or defaulted: a
        // histogram in seconds feeding a metric in ms is scaled by 1000.
        if let Some(sel) = &m.scrape
            && (sel.quantile.is_some() || m.kind == MetricKind::LatencyP95)
        {
            let unit = m.unit.as_deref().unwrap_or_default();
            m.scale = m.scale.or(histogram_scale(&sel.family, unit));
        }
    }
}

/// The time unit a histogram's name says it counts in, by Prometheus'
/// naming convention (`_seconds`, `_milliseconds`, `_microseconds`).
pub fn histogram_unit(family: &str) -> Option<&'static str> {
    let base = family.strip_suffix("_bucket").unwrap_or(family);
    [
        ("_seconds", "s"),
        ("_milliseconds", "ms"),
        ("_microseconds", "us"),
    ]
    .into_iter()
    .find(|(suffix, _)| base.ends_with(suffix))
    .map(|(_, unit)| unit)
}

/// What turns a histogram's unit into the metric's, when they differ.
fn histogram_scale(family: &str, unit: &str) -> Option<f64> {
    let power = |u: &str| match u {
        "s" => Some(0),
        "ms" => Some(-3),
        "us" => Some(-6),
        _ => None,
    };
    let (from, to) = (power(histogram_unit(family)?)?, power(unit)?);
    (from != to).then(|| 10f64.powi(from - to))
}

/// What a metric kind reads from a plain `/metrics` page.
fn default_scrape(kind: MetricKind) -> Option<ScrapeSelector> {
    match kind {
        MetricKind::ErrorRate | MetricKind::SuccessRate => Some(ScrapeSelector {
            family: "http_requests_total".into(),
            errors: [("code".to_string(), "~5..".to_string())].into(),
            ..Default::default()
        }),
        MetricKind::LatencyP95 => Some(ScrapeSelector {
            family: "http_request_duration_seconds".into(),
            quantile: Some(0.95),
            ..Default::default()
        }),
        _ => None,
    }
}
