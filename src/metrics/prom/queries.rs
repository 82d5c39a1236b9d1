//! The PromQL a config asks for: placeholders filled, templates expanded.

use super::fresh::watched_in;
use crate::config::Config;
use crate::config::model::{MetricSpec, PrometheusSpec};
use crate::metrics::templates::{self, Promql};
use crate::rollout::Group;

/// Placeholders a query or selector may use, filled from `[rollout]`.
pub fn fill(text: &str, config: &Config, group: Group, selector: &str, window: &str) -> String {
    let r = &config.rollout;
    let version = match group {
        Group::Canary => &r.new_version,
        Group::Baseline => &r.old_version,
    };
    text.replace("{selector}", selector)
        .replace("{service}", &r.service)
        .replace("{new_version}", &r.new_version)
        .replace("{old_version}", &r.old_version)
        .replace("{version}", version)
        .replace("{environment}", &r.environment)
        .replace("{rate_window}", window)
}

/// The canary and baseline queries of one metric, or none when the metric
/// reads another source; with the series the value is computed from, when
/// known, for the freshness checks.
pub(super) fn metric_queries(
    config: &Config,
    spec: &PrometheusSpec,
    m: &MetricSpec,
) -> Result<Vec<(Group, Promql, Option<String>)>, String> {
    let window = spec.rate_window.to_string();
    let selector = |group: Group, template: Option<&str>| {
        let (mut canary, mut baseline) = (
            spec.canary_selector.as_str(),
            spec.baseline_selector.as_str(),
        );
        if let Some((c, b)) = template.and_then(templates::default_selectors) {
            // Only the generic defaults are swapped: a selector the team wrote wins.
            if canary == r#"service="{service}",version="{new_version}""# {
                canary = c;
            }
            if baseline == r#"service="{service}",version="{old_version}""# {
                baseline = b;
            }
        }
        let raw = if group == Group::Canary {
            canary
        } else {
            baseline
        };
        fill(raw, config, group, "", &window)
    };
    let mut out = Vec::new();
    if let Some(query) = &m.query {
        // Only a query that reads a series through the selector can be
        // checked through it.
        let plain = |q: &str, g| {
            let sel = selector(g, None);
            let promql = Promql {
                value: fill(q, config, g, &sel, &window),
                requests: None,
                buckets: None,
            };
            let watched = watched_in(q).map(|w| fill(&w, config, g, &sel, &window));
            (g, promql, watched)
        };
        out.push(plain(query, Group::Canary));
        if let Some(b) = &m.baseline_query {
            out.push(plain(b, Group::Baseline));
        }
    } else if let Some(t) = &m.template {
        for g in [Group::Canary, Group::Baseline] {
            let sel = selector(g, Some(t));
            let q = templates::queries(t, m.kind, &sel, &window).ok_or_else(|| {
                format!(
                    "metric \"{}\": template \"{t}\" has no query for kind {:?}; set `query` instead",
                    m.name, m.kind
                )
            })?;
            out.push((g, q, templates::watched(t, m.kind, &sel)));
        }
    }
    Ok(out)
}
