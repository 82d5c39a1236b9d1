//! Metrics and where they are read: Prometheus, Alertmanager, `/metrics`
//! pages.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Config;
use crate::duration::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    ErrorRate,
    LatencyP95,
    SuccessRate,
    DbErrors,
    SecurityAlerts,
    /// 1 when the canary's readiness probe passes, 0 when it fails.
    Readiness,
    Custom,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    HigherIsWorse,
    LowerIsWorse,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetricSpec {
    pub name: String,
    pub kind: MetricKind,
    /// Required for custom metrics; the built-in kinds have their own.
    pub unit: Option<String>,
    /// PromQL for the canary group.
    pub query: Option<String>,
    /// PromQL for the baseline (stable) group.
    pub baseline_query: Option<String>,
    /// A ready-made query set: prometheus-client, istio, nginx-ingress.
    pub template: Option<String>,
    /// Read straight from the targets in `[scrape]`.
    pub scrape: Option<ScrapeSelector>,
    /// A `/ready`-style URL (kind = "readiness").
    pub probe: Option<String>,
    /// Firing alerts in `[alertmanager]` matching each group's labels.
    pub alerts: Option<AlertSelector>,
    /// Multiplies what the source returns (e.g. 100 for a ratio shown in %).
    pub scale: Option<f64>,
    pub direction: Option<Direction>,
    pub warning: Option<f64>,
    pub critical: Option<f64>,
    /// How long a breach must hold before it counts.
    #[serde(rename = "for")]
    pub for_: Option<Span>,
    /// Past this value a breach counts at once (seed 004: 5% errors).
    pub immediate: Option<f64>,
    /// Canary may not exceed baseline by more than this factor (seed 000: 2).
    pub baseline_ratio: Option<f64>,
    /// Below this canary value the baseline ratio is noise and is not judged.
    pub baseline_floor: Option<f64>,
    /// Requests in the window below which the value is not judged at all.
    pub min_requests: Option<f64>,
}

/// Which series of a scraped `/metrics` page feed a metric.
#[derive(Debug, Clone, Deserialize, Serialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScrapeSelector {
    /// Counter (`http_requests_total`) or histogram base name
    /// (`http_request_duration_seconds`).
    pub family: String,
    /// Label matchers every series must satisfy: value, or `~regex`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// For rates: matchers that make a request an error (e.g. code = "~5..").
    #[serde(default)]
    pub errors: BTreeMap<String, String>,
    /// For histograms: which quantile (0.95 for p95).
    pub quantile: Option<f64>,
}

/// Which alerts count for each group: label matchers as in `scrape.labels`
/// (`value`, `~regex`, `!value`, `!~regex`).
#[derive(Debug, Clone, Deserialize, Serialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertSelector {
    pub canary: BTreeMap<String, String>,
    #[serde(default)]
    pub baseline: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusSpec {
    /// Base URL, path prefix included (Thanos, Mimir, VictoriaMetrics work).
    pub url: String,
    /// Name of the environment variable holding a bearer token.
    pub token_env: Option<String>,
    /// Name of the environment variable holding `user:password`.
    pub basic_auth_env: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default = "default_source_timeout")]
    pub timeout: Span,
    pub ca_file: Option<PathBuf>,
    #[serde(default = "default_poll_every")]
    pub every: Span,
    /// Label matchers selecting each group, with `{new_version}` etc. filled in.
    #[serde(default = "default_canary_selector")]
    pub canary_selector: String,
    #[serde(default = "default_baseline_selector")]
    pub baseline_selector: String,
    /// Range of `rate()` in the templates.
    #[serde(default = "default_rate_window")]
    pub rate_window: Span,
}

/// Alertmanager's API v2, for metrics that count firing alerts. Auth as
/// for Prometheus; polled with the other sources.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerSpec {
    pub url: String,
    pub token_env: Option<String>,
    pub basic_auth_env: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default = "default_source_timeout")]
    pub timeout: Span,
    pub ca_file: Option<PathBuf>,
}

/// What `[prometheus]` and `[alertmanager]` share: a server, how to
/// authenticate to it, how long to wait.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint<'a> {
    /// The table's name, for messages: "prometheus".
    pub table: &'static str,
    pub url: &'a str,
    pub token_env: Option<&'a str>,
    pub basic_auth_env: Option<&'a str>,
    pub headers: &'a BTreeMap<String, String>,
    pub timeout: Span,
    pub ca_file: Option<&'a std::path::Path>,
}

/// `[prometheus]` and `[alertmanager]` spell their shared keys alike.
macro_rules! endpoint_of {
    ($spec:ty, $table:literal) => {
        impl $spec {
            pub fn endpoint(&self) -> Endpoint<'_> {
                Endpoint {
                    table: $table,
                    url: &self.url,
                    token_env: self.token_env.as_deref(),
                    basic_auth_env: self.basic_auth_env.as_deref(),
                    headers: &self.headers,
                    timeout: self.timeout,
                    ca_file: self.ca_file.as_deref(),
                }
            }
        }
    };
}
endpoint_of!(PrometheusSpec, "prometheus");
endpoint_of!(AlertmanagerSpec, "alertmanager");

impl Config {
    /// The servers the sources authenticate to.
    pub fn endpoints(&self) -> Vec<Endpoint<'_>> {
        let prom = self.prometheus.as_ref().map(PrometheusSpec::endpoint);
        let am = self.alertmanager.as_ref().map(AlertmanagerSpec::endpoint);
        prom.into_iter().chain(am).collect()
    }
}

fn default_source_timeout() -> Span {
    Span::secs(5)
}
fn default_poll_every() -> Span {
    Span::secs(10)
}
fn default_canary_selector() -> String {
    r#"service="{service}",version="{new_version}""#.into()
}
fn default_baseline_selector() -> String {
    r#"service="{service}",version="{old_version}""#.into()
}
fn default_rate_window() -> Span {
    Span::mins(1)
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScrapeSpec {
    /// `/metrics` URLs serving the new version.
    pub canary: Vec<String>,
    /// `/metrics` URLs serving the old version.
    #[serde(default)]
    pub baseline: Vec<String>,
    #[serde(default = "default_scrape_every")]
    pub every: Span,
    #[serde(default = "default_source_timeout")]
    pub timeout: Span,
    /// How far back rates and quantiles look; one interval when unset.
    #[serde(default)]
    pub window: Option<Span>,
}

impl ScrapeSpec {
    /// Scrape intervals a window covers, whole: `1m` at `5s` is 12, `7s`
    /// at `5s` is 1. Unset, one.
    pub fn window_intervals(&self) -> usize {
        self.window.map_or(1, |w| {
            let n = w.as_millis() as f64 / self.every.as_millis().max(1) as f64;
            (n.round() as usize).max(1)
        })
    }
}

fn default_scrape_every() -> Span {
    Span::secs(5)
}
