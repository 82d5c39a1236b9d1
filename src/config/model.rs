//! The config file's shape. Field names are the TOML keys; every struct
//! refuses unknown keys so a typo is an error, not a silently ignored line.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::duration::Span;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub rollout: RolloutSpec,
    #[serde(default, rename = "stage")]
    pub stages: Vec<Stage>,
    #[serde(default, rename = "metric")]
    pub metrics: Vec<MetricSpec>,
    #[serde(default)]
    pub policy: Policy,
    #[serde(default)]
    pub window: WindowSpec,
    #[serde(default)]
    pub checklist: Checklist,
    #[serde(default)]
    pub hooks: GlobalHooks,
    pub prometheus: Option<PrometheusSpec>,
    pub scrape: Option<ScrapeSpec>,
    pub alertmanager: Option<AlertmanagerSpec>,
    #[serde(default)]
    pub journal: JournalSpec,
    #[serde(default)]
    pub ui: UiSpec,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutSpec {
    pub name: String,
    pub service: String,
    #[serde(default = "default_environment")]
    pub environment: String,
    pub old_version: String,
    pub new_version: String,
    #[serde(default)]
    pub strategy: Strategy,
    /// Seed 003's risk levels; expands to stages when no `[[stage]]` is given.
    pub preset: Option<Preset>,
    /// Security hotfixes may ship outside the deploy window (seed 003).
    #[serde(default)]
    pub security_hotfix: bool,
    /// Requests per second both versions serve together, as a hint for
    /// `check`: how long each stage needs to gather enough evidence.
    pub traffic: Option<f64>,
}

fn default_environment() -> String {
    "production".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    #[default]
    Canary,
    BlueGreen,
    Rolling,
    Phased,
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Strategy::Canary => "canary",
            Strategy::BlueGreen => "blue-green",
            Strategy::Rolling => "rolling",
            Strategy::Phased => "phased",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    Zero,
    Low,
    Medium,
    High,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    pub name: String,
    /// Share of traffic on the new version, in percent (canary, blue-green).
    pub weight: Option<f64>,
    /// Instances running the new version (rolling).
    pub instances: Option<u32>,
    pub region: Option<String>,
    /// Feature-flag cohort (phased): "internal", "beta", "all"...
    pub cohort: Option<String>,
    /// Minimum observation time before the stage may advance.
    #[serde(default = "default_wait")]
    pub wait: Span,
    /// Per-stage threshold overrides, keyed by metric name.
    #[serde(default)]
    pub thresholds: BTreeMap<String, ThresholdOverride>,
    #[serde(default)]
    pub enter: Hooks,
    #[serde(default)]
    pub undo: Hooks,
    pub smoke: Option<Hook>,
    pub verify: Option<Hook>,
    /// A stage that cannot be undone must say so (seed 001).
    #[serde(default)]
    pub irreversible: bool,
    pub gate: Option<Gate>,
}

pub fn default_wait() -> Span {
    Span::mins(15)
}

impl Stage {
    /// A short label for the stage's exposure: "25%", "3 instances", "eu-west-1".
    pub fn exposure(&self) -> String {
        if let Some(w) = self.weight {
            format!("{}%", crate::format::number(w))
        } else if let Some(n) = self.instances {
            format!("{n} instance{}", if n == 1 { "" } else { "s" })
        } else if let Some(r) = &self.region {
            r.clone()
        } else if let Some(c) = &self.cohort {
            c.clone()
        } else {
            "-".into()
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ThresholdOverride {
    pub warning: Option<f64>,
    pub critical: Option<f64>,
    #[serde(rename = "for")]
    pub for_: Option<Span>,
}

/// Wait before entering a stage: for a keypress, or for a URL to return 200.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    #[serde(default)]
    pub manual: bool,
    pub url: Option<String>,
    #[serde(default = "default_gate_every")]
    pub every: Span,
}

fn default_gate_every() -> Span {
    Span::secs(10)
}

/// One action: a process (`exec`) or an HTTP request (`http`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Hook {
    pub name: Option<String>,
    /// argv; placeholders such as `{weight}` are replaced inside arguments.
    pub exec: Option<Vec<String>>,
    /// Run `exec[0]` through `sh -c`. Placeholders are refused there; use
    /// the `COCKPIT_*` environment variables instead.
    #[serde(default)]
    pub shell: bool,
    pub cwd: Option<PathBuf>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    pub http: Option<String>,
    pub method: Option<String>,
    /// Values of the form `env:NAME` are read from the environment at run
    /// time and redacted wherever shown.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub timeout: Option<Span>,
    pub retries: Option<u32>,
    /// What an `http` hook's body looks like to the service receiving it.
    pub format: Option<HookFormat>,
    /// A body template with the hook placeholders (instead of `format`).
    pub body: Option<String>,
    /// PagerDuty's integration key, always `env:NAME`.
    pub routing_key: Option<String>,
}

/// The body an `http` hook sends: the cockpit's own JSON, or a message in
/// the shape a chat or paging service accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HookFormat {
    #[default]
    Json,
    Slack,
    Teams,
    Pagerduty,
}

impl Hook {
    /// What the operator sees for this hook: its name or its command line.
    pub fn label(&self) -> String {
        self.label_filled(&crate::placeholder::Vars::new())
    }

    /// The label with the placeholders filled as a run fills them: what
    /// really ran (`set-weight 25`, not `set-weight {weight}`).
    pub fn label_filled(&self, vars: &crate::placeholder::Vars) -> String {
        use crate::placeholder::{fill, fill_url};
        if let Some(name) = &self.name {
            return fill(name, vars);
        }
        if let Some(argv) = &self.exec {
            let argv: Vec<String> = argv.iter().map(|a| fill(a, vars)).collect();
            return argv.join(" ");
        }
        if let Some(url) = &self.http {
            // Journalled and shown: no credentials written into the URL.
            let url = crate::secrets::url_for_labels(&fill_url(url, vars));
            return format!("{} {url}", self.method.as_deref().unwrap_or("POST"));
        }
        "(empty hook)".into()
    }

    /// A `body` template is JSON when the `Content-Type` header says so,
    /// or, without that header, when it starts like a JSON document: `[`,
    /// or `{` and then `"` or `}` (so `{rollout} failed` is text).
    pub fn body_is_json(&self) -> bool {
        let content_type = self
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.to_ascii_lowercase());
        match (content_type, &self.body) {
            (Some(ct), _) => ct.contains("json"),
            (None, Some(body)) => {
                let body = body.trim_start();
                body.starts_with('[')
                    || body
                        .strip_prefix('{')
                        .is_some_and(|rest| rest.trim_start().starts_with(['"', '}']))
            }
            (None, None) => false,
        }
    }
}

/// One hook or a list of them: `enter = { exec = [...] }` or `enter = [{...}, {...}]`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Hooks(pub Vec<Hook>);

impl<'de> Deserialize<'de> for Hooks {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct OneOrMany;
        impl<'de> Visitor<'de> for OneOrMany {
            type Value = Hooks;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a hook table or an array of hook tables")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Hooks, A::Error> {
                Vec::<Hook>::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Hooks)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Hooks, A::Error> {
                Hook::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|h| Hooks(vec![h]))
            }
        }
        d.deserialize_any(OneOrMany)
    }
}

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnCritical {
    /// Roll back as soon as a critical breach is sustained.
    Rollback,
    /// Count down `countdown`; the operator can hold or cancel.
    #[default]
    Countdown,
    /// Show and notify, never act.
    Alert,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnNoData {
    #[default]
    Hold,
    /// Roll back once data has been missing for `no_data_rollback_after`.
    Rollback,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    pub on_critical: OnCritical,
    pub countdown: Span,
    pub on_no_data: OnNoData,
    pub no_data_rollback_after: Span,
    /// A green stage whose wait has passed advances without a keypress.
    pub auto_advance: bool,
    /// Whether pausing also stops a policy rollback.
    pub pause_stops_rollback: bool,
    /// The rollback is verified when error rates are back under warning within this.
    pub rollback_verify_within: Span,
    /// A reading older than this is no data.
    pub stale_after: Span,
    /// How rates with request counts are judged.
    pub judge: Judge,
    /// How sure the evidence judge must be before it calls a breach or OK.
    pub confidence: f64,
    /// How far (in percentage points) the canary's seen share of requests
    /// may be from the weight its stage set; under 10% set, seeing less
    /// than half the weight is off too.
    pub traffic_margin: f64,
    /// How long the seen share may stay off after the enter hook succeeded
    /// before "traffic did not move" (request windows straddle the change).
    pub traffic_grace: Span,
}

/// `evidence` judges error and success rates by their counts (a sequential
/// test, no `for` needed); `thresholds` compares each poll's value with the
/// lines and waits for `for`, as the first version did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Judge {
    #[default]
    Evidence,
    Thresholds,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            on_critical: OnCritical::Countdown,
            countdown: Span::secs(30),
            on_no_data: OnNoData::Hold,
            no_data_rollback_after: Span::mins(5),
            auto_advance: false,
            pause_stops_rollback: false,
            rollback_verify_within: Span::mins(5),
            stale_after: Span::secs(30),
            judge: Judge::Evidence,
            confidence: 0.99,
            traffic_margin: 5.0,
            traffic_grace: Span::mins(1),
        }
    }
}

/// Deploy windows as `"Tue-Thu 10:00-14:00"`; freezes as dates.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WindowSpec {
    pub enabled: bool,
    pub best: Vec<String>,
    pub acceptable: Vec<String>,
    pub never: Vec<String>,
    /// `YYYY-MM-DD` or `YYYY-MM-DD..YYYY-MM-DD` (holidays, freezes).
    pub freeze: Vec<String>,
}

impl Default for WindowSpec {
    /// Seed 003: best Tue-Thu 10-14, acceptable Mon 11-14, never Friday
    /// afternoon or after 16:00.
    fn default() -> Self {
        WindowSpec {
            enabled: true,
            best: vec!["Tue-Thu 10:00-14:00".into()],
            acceptable: vec!["Mon 11:00-14:00".into()],
            never: vec!["Fri 12:00-24:00".into(), "Mon-Sun 16:00-24:00".into()],
            freeze: vec![],
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Checklist {
    pub items: Vec<String>,
}

impl Default for Checklist {
    /// Seeds 003 and 004's pre-deploy checklist.
    fn default() -> Self {
        Checklist {
            items: [
                "All tests green",
                "Code review done",
                "Rollback strategy documented",
                "Dashboards and alert thresholds configured",
                "On-call engineer assigned",
                "Migrations backward compatible",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalHooks {
    /// Used by every stage that has no `enter` of its own.
    #[serde(default)]
    pub enter: Hooks,
    /// Used by every stage that has no `undo` of its own.
    #[serde(default)]
    pub undo: Hooks,
    #[serde(default)]
    pub on_pause: Hooks,
    #[serde(default)]
    pub on_resume: Hooks,
    #[serde(default)]
    pub on_promote: Hooks,
    #[serde(default)]
    pub on_rollback: Hooks,
    #[serde(default)]
    pub on_breach: Hooks,
    #[serde(default)]
    pub on_event: Hooks,
}

impl GlobalHooks {
    /// Every list with its key, in the order the docs give them.
    pub fn by_key(&self) -> [(&'static str, &Hooks); 8] {
        [
            ("enter", &self.enter),
            ("undo", &self.undo),
            ("on_pause", &self.on_pause),
            ("on_resume", &self.on_resume),
            ("on_promote", &self.on_promote),
            ("on_rollback", &self.on_rollback),
            ("on_breach", &self.on_breach),
            ("on_event", &self.on_event),
        ]
    }
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

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct JournalSpec {
    /// Where run journals go; the user's data dir when unset.
    pub dir: Option<PathBuf>,
    pub snapshot_every: Span,
    /// A group that may read the journals and follow the live feed
    /// (dirs 0750, files 0640); owner-only when unset.
    pub group: Option<String>,
}

impl Default for JournalSpec {
    fn default() -> Self {
        JournalSpec {
            dir: None,
            snapshot_every: Span::secs(60),
            group: None,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UiSpec {
    pub theme: Option<String>,
    /// Action name -> key, overriding only what it names.
    #[serde(default)]
    pub keys: BTreeMap<String, String>,
}

impl Config {
    /// The span one reading of `m` covers, in milliseconds: the scrape
    /// window or the PromQL rate window; 0 when a reading is a point.
    pub fn counts_window_ms(&self, m: &MetricSpec) -> u64 {
        if m.scrape.is_some()
            && let Some(s) = &self.scrape
        {
            return s.window_intervals() as u64 * s.every.as_millis();
        }
        match &self.prometheus {
            Some(p) if m.query.is_some() || m.template.is_some() => p.rate_window.as_millis(),
            _ => 0,
        }
    }
}
