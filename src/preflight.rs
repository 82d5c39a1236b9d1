//! Pre-flight: before any traffic moves, touch the real world once without
//! changing it. Every metric's query (or scrape) is run for canary and
//! baseline, every `exec` hook program is looked up on PATH, every http
//! hook's and gate's host gets a TCP connect (no request), every readiness
//! probe is read. The result is data (`Preflight`): `check --live` prints
//! it, headless prints it as JSON lines, the screen draws it, and `run`
//! refuses to start stage 1 while it says something blocks.
//!
//! It sits below `cli` and beside `run`: it reads the metric sources and
//! the config, and decides nothing about the rollout itself.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::config::Config;
use crate::config::model::Hook;
use crate::config::values::written_hooks;
use crate::metrics::Sources;
use crate::rollout::{Group, Reading};
use crate::secrets::Secrets;

/// How long a host may take to accept a TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// What one pre-flight line checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A metric's query or scrape, for one group.
    Metric,
    /// A readiness probe (`/ready`).
    Probe,
    /// An `exec` hook's program.
    Program,
    /// An http hook's or gate's host.
    Host,
}

/// How one check went.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", content = "why", rename_all = "snake_case")]
pub enum Status {
    Ok,
    /// Not a value, and that is expected now: a canary before traffic.
    Expected(String),
    Failed(String),
}

/// One line of the pre-flight table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    pub kind: Kind,
    /// The metric's name, or the hook's label.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<Group>,
    /// The query exactly as sent, the URLs scraped, the program or host.
    pub target: String,
    /// The value read, in the metric's unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The requests the value stands on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests: Option<f64>,
    #[serde(flatten)]
    pub status: Status,
    /// Whether stage 1 waits for this to be fixed (or a forced start).
    pub blocks_start: bool,
}

/// The whole pre-flight: every check, in the order the config names them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Preflight {
    pub items: Vec<Item>,
}

impl Preflight {
    /// Every check worked (an empty canary before traffic counts as working).
    pub fn ok(&self) -> bool {
        !self.items.iter().any(|i| i.failed())
    }

    pub fn failures(&self) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(|i| i.failed())
    }

    /// Why stage 1 may not start, in one sentence, or None when it may.
    pub fn blocker(&self) -> Option<String> {
        let blocking: Vec<String> = self
            .items
            .iter()
            .filter(|i| i.failed() && i.blocks_start)
            .map(Item::short)
            .collect();
        (!blocking.is_empty()).then(|| format!("pre-flight failed: {}", blocking.join("; ")))
    }

    /// The table `check --live` prints: one line per check, then what was
    /// sent and what went wrong, each on its own line.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let wn = self
            .items
            .iter()
            .map(|i| i.label().chars().count())
            .max()
            .unwrap_or(0);
        for i in &self.items {
            let mark = match &i.status {
                Status::Ok => "ok  ",
                Status::Expected(_) => "--  ",
                Status::Failed(_) if i.blocks_start => "FAIL",
                Status::Failed(_) => "fail",
            };
            out.push_str(&format!(
                "{mark} {:wn$}  {}
",
                i.label(),
                i.value_text()
            ));
            let sent = match i.kind {
                Kind::Metric | Kind::Probe => "sent",
                Kind::Program => "program",
                Kind::Host => "host",
            };
            out.push_str(&format!(
                "       {sent}: {}
",
                i.target
            ));
            match &i.status {
                Status::Ok => {}
                Status::Expected(why) => out.push_str(&format!(
                    "       note: {why}
"
                )),
                Status::Failed(why) => out.push_str(&format!(
                    "       error: {why}
"
                )),
            }
        }
        let failed = self.failures().count();
        out.push_str(&match (failed, self.blocker()) {
            (0, _) => format!("pre-flight: all {} checks passed\n", self.items.len()),
            (n, Some(_)) => format!(
                "pre-flight: {n} of {} checks failed; `run` will not start stage 1 until they are fixed (or --force-start REASON)\n",
                self.items.len()
            ),
            (n, None) => format!(
                "pre-flight: {n} of {} checks failed (none keeps `run` from starting)\n",
                self.items.len()
            ),
        });
        out
    }

    /// One JSON object per check, then a summary, for headless.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        let mut lines: Vec<serde_json::Value> = self
            .items
            .iter()
            .map(|i| {
                let mut v = serde_json::to_value(i).unwrap_or_default();
                v["event"] = "preflight".into();
                v
            })
            .collect();
        lines.push(serde_json::json!({
            "event": "preflight_done",
            "ok": self.ok(),
            "checks": self.items.len(),
            "failed": self.failures().count(),
            "blocker": self.blocker(),
        }));
        lines
    }
}

impl Item {
    pub fn failed(&self) -> bool {
        matches!(self.status, Status::Failed(_))
    }

    /// `error_rate (baseline)`, `hook deploy`.
    pub fn label(&self) -> String {
        match (self.kind, self.group) {
            (Kind::Metric, Some(g)) => format!("{} ({})", self.name, group_word(g)),
            (Kind::Probe, _) => format!("{} (probe)", self.name),
            (Kind::Program, _) => format!("hook {} (program)", self.name),
            (Kind::Host, _) => format!("{} (host)", self.name),
            (Kind::Metric, None) => self.name.clone(),
        }
    }

    /// The value with its evidence, or a dash.
    pub fn value_text(&self) -> String {
        match (&self.value, self.requests) {
            (Some(v), Some(n)) => format!("{v} ({} req)", crate::format::count(n)),
            (Some(v), None) => v.clone(),
            (None, _) => "-".into(),
        }
    }

    fn short(&self) -> String {
        match &self.status {
            Status::Failed(why) => format!("{}: {why}", self.label()),
            _ => self.label(),
        }
    }
}

fn group_word(g: Group) -> &'static str {
    match g {
        Group::Canary => "canary",
        Group::Baseline => "baseline",
    }
}

/// Runs every check once, all bounded by the sources' timeouts and
/// `CONNECT_TIMEOUT`. Nothing is changed anywhere: no hook runs, no
/// request reaches a hook's or gate's server.
pub async fn run(config: &Config, sources: &mut Sources) -> Preflight {
    run_reading(config, sources).await.0
}

/// `run`, with what the metrics read: `check --live` words the judge's
/// needs from them (the measured traffic, the histogram's buckets).
pub async fn run_reading(
    config: &Config,
    sources: &mut Sources,
) -> (Preflight, Vec<(usize, Group, Reading)>) {
    let secrets = Secrets::from_config(config);
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
    let read = readings.clone();
    let mut items = Vec::new();
    for (metric, group, reading) in readings {
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
        items.push(Item {
            kind: if probe { Kind::Probe } else { Kind::Metric },
            name: spec.name.clone(),
            group: (!probe).then_some(group),
            target,
            value,
            requests,
            status,
            blocks_start: blocks,
        });
    }
    items.extend(programs(config));
    items.extend(hosts(config, &secrets).await);
    (Preflight { items }, read)
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

/// Every distinct `exec` hook program, found on PATH (or at its path).
fn programs(config: &Config) -> Vec<Item> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (_, hook) in written_hooks(config) {
        let Some(argv) = &hook.exec else { continue };
        let program = if hook.shell {
            "sh".to_string()
        } else {
            match argv.first() {
                Some(p) => p.clone(),
                None => continue,
            }
        };
        if !seen.insert(program.clone()) {
            continue;
        }
        let (status, found) = match find_program(&program, hook.cwd.as_deref()) {
            Ok(path) => (Status::Ok, format!("{program} -> {}", path.display())),
            Err(why) => (Status::Failed(why), program.clone()),
        };
        out.push(Item {
            kind: Kind::Program,
            name: hook.label(),
            group: None,
            target: found,
            value: None,
            requests: None,
            status,
            blocks_start: true,
        });
    }
    out
}

/// Where `program` is: a path (relative to the hook's `cwd`) or a name on
/// PATH; Err with why not.
fn find_program(program: &str, cwd: Option<&Path>) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let runnable = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let path = cwd.unwrap_or(Path::new(".")).join(program);
        return if runnable(&path) {
            Ok(path)
        } else if path.exists() {
            Err(format!("{} is not an executable file", path.display()))
        } else {
            Err(format!("{} does not exist", path.display()))
        };
    }
    let paths = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&paths)
        .map(|dir| dir.join(program))
        .find(|p| runnable(p))
        .ok_or_else(|| format!("program `{program}` not found on PATH"))
}

/// Every distinct host an http hook or a gate will talk to, TCP-connected.
async fn hosts(config: &Config, secrets: &Secrets) -> Vec<Item> {
    let mut wanted: Vec<(String, String)> = Vec::new();
    for (_, hook) in written_hooks(config) {
        if let Some(url) = hook_url(hook) {
            wanted.push((format!("hook {}", hook.label()), url));
        }
    }
    for s in &config.stages {
        if let Some(url) = s.gate.as_ref().and_then(|g| g.url.clone()) {
            wanted.push((format!("gate of {}", s.name), url));
        }
    }
    let mut seen = BTreeSet::new();
    let mut checks = Vec::new();
    for (name, url) in wanted {
        let address = match host_port(&url) {
            Ok(a) => a,
            Err(why) => {
                checks.push((name, secrets.redact(&url), Err(why)));
                continue;
            }
        };
        if seen.insert(address.clone()) {
            checks.push((name, secrets.redact(&address), Ok(address)));
        }
    }
    let connects = checks.into_iter().map(|(name, shown, address)| async move {
        let status = match address {
            Ok(a) => match connect(&a).await {
                Ok(()) => Status::Ok,
                Err(why) => Status::Failed(why),
            },
            Err(why) => Status::Failed(why),
        };
        Item {
            kind: Kind::Host,
            name,
            group: None,
            target: shown,
            value: None,
            requests: None,
            status,
            blocks_start: false,
        }
    });
    futures::future::join_all(connects)
        .await
        .into_iter()
        .map(|mut i| {
            if let Status::Failed(why) = &i.status {
                i.status = Status::Failed(secrets.redact(why));
            }
            i
        })
        .collect()
}

/// The URL an http hook sends to, read from the environment when written
/// `env:NAME` (an unset one is refused by the plan already).
fn hook_url(hook: &Hook) -> Option<String> {
    let url = hook.http.as_ref()?;
    match url.strip_prefix("env:") {
        Some(var) => std::env::var(var).ok(),
        None => Some(url.clone()),
    }
}

fn host_port(url: &str) -> Result<String, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    let host = parsed.host_str().ok_or("the URL has no host")?;
    let port = parsed
        .port_or_known_default()
        .ok_or("the URL has no port")?;
    Ok(if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    })
}

/// Resolves and TCP-connects; sends nothing.
async fn connect(address: &str) -> Result<(), String> {
    let attempt = async {
        let addrs: Vec<_> = tokio::net::lookup_host(address)
            .await
            .map_err(|e| format!("cannot resolve {address}: {e}"))?
            .collect();
        let mut last = format!("{address} resolves to no address");
        for a in addrs {
            match tokio::net::TcpStream::connect(a).await {
                Ok(_) => return Ok(()),
                Err(e) => last = format!("cannot connect to {a}: {e}"),
            }
        }
        Err(last)
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "no TCP connection to {address} within {}s",
            CONNECT_TIMEOUT.as_secs()
        )),
    }
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

    #[test]
    fn a_missing_program_is_named() {
        let e = find_program("surely-not-a-program-here", None).unwrap_err();
        assert_eq!(e, "program `surely-not-a-program-here` not found on PATH");
        assert!(find_program("sh", None).is_ok());
    }
}
