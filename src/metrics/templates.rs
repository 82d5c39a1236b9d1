//! Ready-made PromQL for the common exporters, selectable by name. Each
//! answers in the metric's unit (% for rates, ms for latency) and comes
//! with a request-count query, the evidence `min_requests` judges.

use crate::config::model::MetricKind;

/// The PromQL for one group: the value, and how many requests it stands on.
#[derive(Debug, Clone, PartialEq)]
pub struct Promql {
    pub value: String,
    pub requests: Option<String>,
    /// For a latency, the histogram's bucket increases by `le`, and the
    /// factor that turns a bound into the metric's unit: the judge counts
    /// the requests slower than each line from them.
    pub buckets: Option<(String, f64)>,
}

/// Per-exporter names: request counter, its status label, the latency
/// histogram and the factor that turns its unit into milliseconds.
struct Exporter {
    requests: &'static str,
    status_label: &'static str,
    duration_buckets: &'static str,
    duration_count: &'static str,
    to_ms: f64,
}

fn exporter(template: &str) -> Option<Exporter> {
    Some(match template {
        "prometheus-client" => Exporter {
            requests: "http_requests_total",
            status_label: "code",
            duration_buckets: "http_request_duration_seconds_bucket",
            duration_count: "http_request_duration_seconds_count",
            to_ms: 1000.0,
        },
        "istio" => Exporter {
            requests: "istio_requests_total",
            status_label: "response_code",
            duration_buckets: "istio_request_duration_milliseconds_bucket",
            duration_count: "istio_request_duration_milliseconds_count",
            to_ms: 1.0,
        },
        "nginx-ingress" => Exporter {
            requests: "nginx_ingress_controller_requests",
            status_label: "status",
            duration_buckets: "nginx_ingress_controller_request_duration_seconds_bucket",
            duration_count: "nginx_ingress_controller_request_duration_seconds_count",
            to_ms: 1000.0,
        },
        _ => return None,
    })
}

/// The label matchers a template uses when `[prometheus]` keeps the
/// generic `service`/`version` selectors, which these exporters do not
/// write: Istio labels the destination workload; ingress-nginx names the
/// canary backend in `canary` and leaves it empty for the primary.
pub fn default_selectors(template: &str) -> Option<(&'static str, &'static str)> {
    match template {
        "istio" => Some((
            r#"reporter="destination",destination_service_name="{service}",destination_version="{new_version}""#,
            r#"reporter="destination",destination_service_name="{service}",destination_version="{old_version}""#,
        )),
        "nginx-ingress" => Some((
            r#"ingress="{service}",canary!="""#,
            r#"ingress="{service}",canary="""#,
        )),
        _ => None,
    }
}

/// The queries for `kind` under `template`, `selector` being the group's
/// label matchers (no braces) and `window` a PromQL range like `1m`.
pub fn queries(template: &str, kind: MetricKind, selector: &str, window: &str) -> Option<Promql> {
    let e = exporter(template)?;
    let all = format!("{}{{{selector}}}", e.requests);
    let errors = format!("{}{{{selector},{}=~\"5..\"}}", e.requests, e.status_label);
    // `or vector(0)`: no 5xx series at all means no errors, not no data.
    let error_ratio =
        format!("(sum(rate({errors}[{window}])) or vector(0)) / sum(rate({all}[{window}]))");
    let request_count = Some(format!("sum(increase({all}[{window}]))"));
    Some(match kind {
        MetricKind::ErrorRate => Promql {
            value: format!("100 * {error_ratio}"),
            requests: request_count,
            buckets: None,
        },
        MetricKind::SuccessRate => Promql {
            value: format!("100 * (1 - {error_ratio})"),
            requests: request_count,
            buckets: None,
        },
        MetricKind::LatencyP95 => Promql {
            value: format!(
                "{} * histogram_quantile(0.95, sum by (le) (rate({}{{{selector}}}[{window}])))",
                crate::format::number(e.to_ms),
                e.duration_buckets
            ),
            requests: Some(format!(
                "sum(increase({}{{{selector}}}[{window}]))",
                e.duration_count
            )),
            buckets: Some((
                format!(
                    "sum by (le) (increase({}{{{selector}}}[{window}]))",
                    e.duration_buckets
                ),
                e.to_ms,
            )),
        },
        _ => return None,
    })
}

/// The series a templated value of `kind` is computed from, with the
/// group's selector: the one whose freshness says whether it is current.
pub fn watched(template: &str, kind: MetricKind, selector: &str) -> Option<String> {
    let e = exporter(template)?;
    let name = match kind {
        MetricKind::LatencyP95 => e.duration_count,
        _ => e.requests,
    };
    Some(format!("{name}{{{selector}}}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_answers_the_three_default_kinds() {
        for t in crate::config::defaults::TEMPLATES {
            for kind in [
                MetricKind::ErrorRate,
                MetricKind::SuccessRate,
                MetricKind::LatencyP95,
            ] {
                let q = queries(t, kind, r#"service="a""#, "1m").unwrap();
                assert!(
                    q.value.contains(r#"service="a""#),
                    "{t} {kind:?}: {}",
                    q.value
                );
                assert!(q.requests.is_some());
            }
            assert!(queries(t, MetricKind::DbErrors, "", "1m").is_none());
        }
    }
}
