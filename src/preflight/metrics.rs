//! The metric lines of the pre-flight: every query (or scrape) run once
//! for each group, and what an answer without a value means before stage 1.

use std::collections::BTreeSet;
use std::time::Duration;

use super::{Item, Kind, Status};
use crate::config::Config;
use crate::metrics::Sources;
use crate::rollout::{Group, Reading};
use crate::secrets::Secrets;

/// Every metric read once for each group, canary after baseline.
pub(super) async fn read(config: &Config, sources: &mut Sources, secrets: &Secrets) -> Vec<Item> {
    let mut readings = sources.poll().await;
    // A direct scrape reads rates between two scrapes.
    let waiting = |rs: &[(usize, Group, Reading)]| {
        rs.iter().any(|(_, _, r)| {
            matches!(r, Reading::NoData { reason, .. } if reason.contains("waiting for a second scrape"))
        })
    };
    if waiting(&readings) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        readings = sources.poll().await;
    }
    let _ = sources.take_warnings();
    readings.sort_by_key(|(m, g, _)| (*m, *g == Group::Canary));
    let _ = sources.take_warnings();
    readings.sort_by_key(|(m, g, _)| (*m, *g == Group::Canary));
    let mut items = Vec::new();
    for (metric, group, reading) in readings {
        items.push(item(config, sources, secrets, (metric, group), reading).await);
    }
    items
}

/// One metric's line for one group: the value, or why there is none and
/// whether that keeps stage 1 from starting.
async fn item(
    config: &Config,
    sources: &Sources,
    secrets: &Secrets,
    (metric, group): (usize, Group),
    reading: Reading,
) -> Item {
    let spec = &config.metrics[metric];
    let probe = spec.probe.is_some();
    let target = secrets.redact(&sent(config, sources, metric, group));
    let unit = spec.unit.as_deref().unwrap_or_default();
    let (value, requests, status, blocks) = match reading {
        // A probe reads 1 (ready) or 0, with what the endpoint says.
        Reading::Value { value, detail, .. } if probe => {
            let said = detail.map(|d| format!(" ({d})")).unwrap_or_default();
            let status = if value < 1.0 {
                Status::Failed(format!("{target} is not ready{said}"))
            } else {
                Status::Ok
            };
            let word = if value < 1.0 { "not ready" } else { "ready" };
            (Some(format!("{word}{said}")), None, status, false)
        }
        Reading::Value {
            value, requests, ..
        } => (
            Some(crate::format::with_unit(value, unit)),
            requests,
            Status::Ok,
            false,
        ),
        Reading::NoData { reason, .. } => {
            let reason = if reason.contains(crate::metrics::prom::NO_SERIES) {
                secrets.redact(&hint(sources, &target, &reason).await)
            } else {
                reason
            };
            let (status, blocks) = judge_no_data(&reason, group, probe);
            (None, None, status, blocks)
        }
    };
    Item {
        kind: if probe { Kind::Probe } else { Kind::Metric },
        name: spec.name.clone(),
        group: (!probe).then_some(group),
        target,
        value,
        requests,
        status,
        blocks_start: blocks,
    }
}

/// A reason that says the query answered, but with nothing in it.
fn is_empty(reason: &str) -> bool {
    [
        "no series",
        "NaN",
        "no requests",
        "waiting for a second scrape",
    ]
    .iter()
    .any(|w| reason.contains(w))
}

/// A query Prometheus refuses is broken for good; anything else may be
/// the world not being there yet.
fn is_broken_query(reason: &str) -> bool {
    reason.contains("bad_data")
        || reason.contains("HTTP 400")
        || reason.contains("HTTP 422")
        || reason.contains("expected one: aggregate")
        || reason.contains("range vector")
}

/// What a reading without a value means before stage 1, and whether it
/// keeps stage 1 from starting: the baseline must answer (it is what the
/// canary is judged against), a broken query never will; a canary with
/// no traffic yet is expected.
fn judge_no_data(reason: &str, group: Group, probe: bool) -> (Status, bool) {
    if probe {
        return (Status::Failed(reason.to_string()), false);
    }
    if is_broken_query(reason) {
        return (Status::Failed(reason.to_string()), true);
    }
    match group {
        Group::Baseline => (Status::Failed(reason.to_string()), true),
        Group::Canary if is_empty(reason) => (
            Status::Expected(format!("{reason}: expected before the canary gets traffic")),
            false,
        ),
        Group::Canary => (Status::Failed(reason.to_string()), false),
    }
}

/// What was sent for a metric and group: the PromQL as sent, the scraped
/// URLs, or the probe's URL.
fn sent(config: &Config, sources: &Sources, metric: usize, group: Group) -> String {
    let spec = &config.metrics[metric];
    if let Some(url) = &spec.probe {
        return format!("GET {url}");
    }
    if let Some(q) = sources.prometheus().and_then(|a| a.sent(metric, group)) {
        return q.to_string();
    }
    match (&config.scrape, &spec.scrape) {
        (Some(s), Some(sel)) => {
            let urls = match group {
                Group::Canary => &s.canary,
                Group::Baseline => &s.baseline,
            };
            format!(
                "{} from {}",
                crate::metrics::scrape::plan_source(spec, sel),
                urls.join(", ")
            )
        }
        _ => String::new(),
    }
}

/// For a Prometheus query that found no series: what series of that name
/// exist, and which of the query's labels none of them has.
async fn hint(sources: &Sources, query: &str, reason: &str) -> String {
    let Some(api) = sources.prometheus() else {
        return reason.to_string();
    };
    let Some((name, matchers)) = first_selector(query) else {
        return reason.to_string();
    };
    let series = match api.series(&name).await {
        Ok(s) => s,
        Err(e) => return format!("{reason} (and listing the series failed: {e})"),
    };
    if series.is_empty() {
        return format!(
            "no series: Prometheus has no series named {name} at all: is its target scraped (see `up`)?"
        );
    }
    let label = |s: &serde_json::Map<String, serde_json::Value>, k: &str| {
        s.get(k).and_then(|v| v.as_str()).map(str::to_string)
    };
    let names: BTreeSet<&str> = series
        .iter()
        .flat_map(|s| s.keys().map(String::as_str))
        .filter(|k| *k != "__name__")
        .collect();
    let sample = series[0]
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| format!("{k}={}", v))
        .collect::<Vec<_>>()
        .join(", ");
    let missing = matchers
        .iter()
        .find(|(k, v)| !series.iter().any(|s| label(s, k).as_deref() == Some(v)));
    let guess = match missing {
        Some((k, v)) => {
            let seen: BTreeSet<String> = series.iter().filter_map(|s| label(s, k)).collect();
            match seen.iter().next() {
                Some(first) => format!("did you mean {k}=\"{first}\" instead of {k}=\"{v}\""),
                None => format!("no series of {name} has a label {k} (wanted \"{v}\")"),
            }
        }
        None => "every label matches some series, but not all at once".to_string(),
    };
    format!(
        "no series: {guess}? (series named {name} have labels {}, e.g. {{{sample}}})",
        names.into_iter().collect::<Vec<_>>().join(", ")
    )
}

/// The first `name{...}` of a query and its `label="value"` matchers.
fn first_selector(query: &str) -> Option<(String, Vec<(String, String)>)> {
    let open = query.find('{')?;
    let before = &query[..open];
    let start = before
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .map_or(0, |i| i + 1);
    let name = before[start..].to_string();
    if name.is_empty() {
        return None;
    }
    let body = &query[open + 1..];
    let (mut matchers, mut part, mut quoted, mut escaped) =
        (Vec::new(), String::new(), false, false);
    for c in body.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' | '}' if !quoted => {
                matchers.extend(equality(&part));
                part.clear();
                if c == '}' {
                    break;
                }
                continue;
            }
            _ => {}
        }
        part.push(c);
    }
    Some((name, matchers))
}

/// `job="shop"` as a pair; other matchers (`!=`, `=~`, `!~`) are skipped.
fn equality(matcher: &str) -> Option<(String, String)> {
    let (k, v) = matcher.split_once('=')?;
    let k = k.trim();
    if k.ends_with('!') || v.starts_with('~') || k.is_empty() {
        return None;
    }
    let v = v.trim().strip_prefix('"')?.strip_suffix('"')?;
    Some((k.to_string(), v.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_selector_of_a_query_gives_its_equality_matchers() {
        let (name, m) = first_selector(
            r#"100 * (sum(rate(http_requests_total{service="shop",version="2.0",code=~"5.."}[1m])))"#,
        )
        .unwrap();
        assert_eq!(name, "http_requests_total");
        assert_eq!(
            m,
            vec![
                ("service".to_string(), "shop".to_string()),
                ("version".to_string(), "2.0".to_string())
            ]
        );
        assert_eq!(first_selector("vector(1)"), None);
    }

    #[test]
    fn an_empty_canary_is_expected_and_an_empty_baseline_blocks() {
        let (s, b) = judge_no_data("query returned no series", Group::Canary, false);
        assert!(matches!(s, Status::Expected(_)) && !b);
        let (s, b) = judge_no_data("query returned no series", Group::Baseline, false);
        assert!(matches!(s, Status::Failed(_)) && b);
        let broken = "HTTP 400 from http://p/api/v1/query: bad_data: parse error";
        assert!(judge_no_data(broken, Group::Canary, false).1);
    }
}
