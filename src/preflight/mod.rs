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

mod hooks;
mod metrics;

use serde::Serialize;

use crate::config::Config;
use crate::metrics::Sources;
use crate::rollout::Group;
use crate::secrets::Secrets;

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
    let secrets = Secrets::from_config(config);
    let mut items = metrics::read(config, sources, &secrets).await;
    items.extend(hooks::programs(config));
    items.extend(hooks::hosts(config, &secrets).await);
    Preflight { items }
}
