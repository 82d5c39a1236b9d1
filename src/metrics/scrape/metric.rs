//! What one metric reads from the pages, and how `check` names it.

use crate::config::expand::histogram_unit;
use crate::config::model::{MetricKind, MetricSpec, ScrapeSelector};
use crate::metrics::matcher::Matchers;

/// What one metric reads from the pages, with its matchers compiled.
#[derive(Debug, Clone)]
pub struct ScrapeMetric {
    pub kind: MetricKind,
    pub family: String,
    pub labels: Matchers,
    pub errors: Matchers,
    pub quantile: Option<f64>,
    pub scale: f64,
}

impl ScrapeMetric {
    pub fn from_spec(m: &MetricSpec) -> Result<Option<ScrapeMetric>, String> {
        let Some(sel) = &m.scrape else {
            return Ok(None);
        };
        let what = format!("metric \"{}\" scrape", m.name);
        let errors = Matchers::from_config(&sel.errors, &format!("{what}.errors"))?;
        let needs_errors = matches!(m.kind, MetricKind::ErrorRate | MetricKind::SuccessRate);
        if needs_errors && errors.is_empty() {
            return Err(format!(
                "{what}: an error or success rate needs `errors`, e.g. errors = {{ code = \"~5..\" }}"
            ));
        }
        let quantile = sel
            .quantile
            .or((m.kind == MetricKind::LatencyP95).then_some(0.95));
        Ok(Some(ScrapeMetric {
            kind: m.kind,
            family: sel.family.clone(),
            labels: Matchers::from_config(&sel.labels, &format!("{what}.labels"))?,
            errors,
            quantile,
            scale: m.scale.unwrap_or(1.0),
        }))
    }
}

/// How `check` names a scraped metric's source: the family and, for a
/// histogram, the unit it counts in and the scale that makes it the metric's.
pub fn plan_source(m: &MetricSpec, sel: &ScrapeSelector) -> String {
    let histogram = sel.quantile.is_some() || m.kind == MetricKind::LatencyP95;
    let read = histogram_unit(&sel.family).filter(|_| histogram);
    let scale = m.scale.map(crate::format::number);
    let unit = m.unit.as_deref().unwrap_or_default();
    match (read, scale) {
        (Some(read), Some(x)) => format!("scrape {} in {read}, x{x} to {unit}", sel.family),
        (Some(read), None) => format!("scrape {} in {read}", sel.family),
        (None, Some(x)) => format!("scrape {}, x{x}", sel.family),
        (None, None) => format!("scrape {}", sel.family),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(metric: &str) -> crate::config::Config {
        let text = format!(
            "[rollout]\nname = \"r\"\nservice = \"s\"\nold_version = \"1\"\nnew_version = \"2\"\n\
             [hooks]\nundo = {{ exec = [\"true\"] }}\n[window]\nenabled = false\n\
             [scrape]\ncanary = [\"http://127.0.0.1:9/metrics\"]\n{metric}"
        );
        crate::config::parse(std::path::Path::new("t.toml"), &text)
            .unwrap_or_else(|e| panic!("{}", e[0]))
    }

    /// The same histogram in seconds is scaled to ms whether its family is
    /// written out or defaulted, and `check` says so.
    #[test]
    fn metrics_from_a_seconds_histogram_are_scaled_to_ms_written_out_or_defaulted() {
        let written = resolved(
            "[[metric]]\nname = \"p95\"\nkind = \"latency_p95\"\n\
             scrape = { family = \"http_request_duration_seconds\" }\n",
        );
        let defaulted = resolved("");
        let in_ms = resolved(
            "[[metric]]\nname = \"p95\"\nkind = \"latency_p95\"\n\
             scrape = { family = \"rpc_latency_milliseconds\" }\n",
        );
        let p95 = |c: &crate::config::Config| {
            let m = c
                .metrics
                .iter()
                .find(|m| m.kind == MetricKind::LatencyP95)
                .unwrap();
            (m.scale, plan_source(m, m.scrape.as_ref().unwrap()))
        };
        let seconds = "scrape http_request_duration_seconds in s, x1000 to ms".to_string();
        assert_eq!(p95(&written), (Some(1000.0), seconds.clone()));
        assert_eq!(p95(&defaulted), (Some(1000.0), seconds));
        assert_eq!(
            p95(&in_ms),
            (None, "scrape rpc_latency_milliseconds in ms".to_string())
        );
    }
}
