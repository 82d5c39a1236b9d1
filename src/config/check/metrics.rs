//! Metrics: one source each, and the source's table present.

use super::problem;
use crate::at;
use crate::config::error::{Problem, did_you_mean};
use std::collections::HashSet;

use super::stages::check_order;
use crate::config::defaults::TEMPLATES;
use crate::config::model::{AlertSelector, Config, MetricKind, MetricSpec};

pub(super) fn check_metrics(config: &Config, out: &mut Vec<Problem>) {
    let mut names = HashSet::new();
    for (i, m) in config.metrics.iter().enumerate() {
        if !names.insert(m.name.as_str()) {
            out.push(problem(
                at!["metric", i, "name"],
                format!("duplicate metric name \"{}\"", m.name),
                "give every metric its own name",
            ));
        }
        if m.kind == MetricKind::Custom {
            for (key, missing) in [
                ("unit", m.unit.is_none()),
                ("direction", m.direction.is_none()),
                ("warning", m.warning.is_none()),
                ("critical", m.critical.is_none()),
            ] {
                if missing {
                    out.push(problem(
                        at!["metric", i, "kind"],
                        format!("custom metric \"{}\" needs `{key}`", m.name),
                        format!("add `{key} = ...`: a custom metric has no defaults"),
                    ));
                }
            }
        }
        if let (Some(w), Some(c), Some(dir)) = (m.warning, m.critical, m.direction) {
            let percent = m.unit.as_deref() == Some("%");
            check_order(
                at!["metric", i, "warning"],
                &m.name,
                w,
                c,
                dir,
                percent,
                out,
            );
        }
        check_metric_source(config, i, m, out);
    }
}

fn check_metric_source(config: &Config, i: usize, m: &MetricSpec, out: &mut Vec<Problem>) {
    if let Some(t) = &m.template
        && !TEMPLATES.contains(&t.as_str())
    {
        let hint = did_you_mean(t, TEMPLATES)
            .map(|n| format!("did you mean \"{n}\"? "))
            .unwrap_or_default();
        out.push(problem(
            at!["metric", i, "template"],
            format!("unknown template \"{t}\""),
            format!("{hint}templates: {}", TEMPLATES.join(", ")),
        ));
    }
    if (m.query.is_some() || m.template.is_some()) && config.prometheus.is_none() {
        out.push(problem(
            at!["metric", i, "name"],
            format!(
                "metric \"{}\" queries Prometheus but there is no [prometheus] table",
                m.name
            ),
            "add [prometheus] with `url = \"http://...\"`",
        ));
    }
    if m.scrape.is_some() && config.scrape.is_none() {
        out.push(problem(
            at!["metric", i, "scrape"],
            format!(
                "metric \"{}\" reads scraped targets but there is no [scrape] table",
                m.name
            ),
            "add [scrape] with `canary = [\"http://host:port/metrics\"]`",
        ));
    }
    if let Some(q) = m.scrape.as_ref().and_then(|s| s.quantile)
        && q.is_finite()
        && !(0.0..=1.0).contains(&q)
    {
        out.push(problem(
            at!["metric", i, "scrape", "quantile"],
            format!("quantile {q} is outside 0..1"),
            "p95 is quantile = 0.95",
        ));
    }
    if let Some(sel) = &m.alerts {
        check_alert_source(config, i, m, sel, out);
    }
    if m.kind == MetricKind::Readiness && m.probe.is_none() {
        out.push(problem(
            at!["metric", i, "kind"],
            format!("readiness metric \"{}\" needs `probe`", m.name),
            "set `probe = \"http://host:port/ready\"`",
        ));
    }
}

/// A count of firing alerts: from `[alertmanager]`, for a kind that counts.
fn check_alert_source(
    config: &Config,
    i: usize,
    m: &MetricSpec,
    sel: &AlertSelector,
    out: &mut Vec<Problem>,
) {
    if config.alertmanager.is_none() {
        out.push(problem(
            at!["metric", i, "alerts"],
            format!(
                "metric \"{}\" counts alerts but there is no [alertmanager] table",
                m.name
            ),
            "add [alertmanager] with `url = \"http://alertmanager:9093\"`",
        ));
    }
    if !matches!(m.kind, MetricKind::SecurityAlerts | MetricKind::Custom) {
        out.push(problem(
            at!["metric", i, "kind"],
            format!(
                "metric \"{}\" counts alerts, which a {} metric cannot be",
                m.name,
                serde_json::to_value(m.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            ),
            "use kind = \"security_alerts\" (any alert is critical at once), or \"custom\" with your own lines",
        ));
    }
    if sel.canary.is_empty() {
        out.push(problem(
            at!["metric", i, "alerts", "canary"],
            "no canary matchers: every firing alert would count against the canary",
            "name the new version's alerts, e.g. canary = { service = \"checkout\", version = \"2.0\" }",
        ));
    }
}
