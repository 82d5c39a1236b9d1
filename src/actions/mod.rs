//! Actions: the hooks that move real traffic (`exec` processes, `http`
//! requests), notifications and HTTP gates.
//!
//! The runtime's edges call only these, so a hook kind is added here
//! without touching the loop:
//! - `run_hook(&Hook, &Vars, &serde_json::Value, Lines) -> HookRun`
//! - `notify(&[Hook], &Vars, event: &str, &serde_json::Value, Lines)`
//! - `gate_open(url: &str, timeout: Duration) -> bool` (one poll: 200?)
//!
//! `context` is the JSON the runtime builds for the event (rollout, stage,
//! weight, metric snapshot, operator, reason): the body of `http` hooks.
//! Output lines go to `Lines` as they arrive, for the log pane.

pub mod body;
mod descendants;
mod exec;
mod http;
pub mod notice;
pub mod output;
/// Placeholders are filled below the actions too (hook labels); one module.
pub use crate::placeholder;

use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use crate::config::model::Hook;

pub type Vars = crate::placeholder::Vars;
pub type Lines = UnboundedSender<String>;

/// How long an `exec` hook may run before it is killed with all it started.
pub const EXEC_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one `http` attempt may take.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// Further attempts of an `http` hook after a 5xx or a connection error.
pub const HTTP_RETRIES: u32 = 3;

/// How a hook ended: `summary` is one line for the screen, `tail` the last
/// lines it printed, for the journal.
#[derive(Debug, Clone, PartialEq)]
pub struct HookRun {
    pub ok: bool,
    pub summary: String,
    pub tail: Vec<String>,
}

impl HookRun {
    fn failed(summary: impl Into<String>) -> HookRun {
        HookRun {
            ok: false,
            summary: summary.into(),
            tail: Vec::new(),
        }
    }
}

/// Runs one hook to its end; never panics, never returns early on error:
/// every way it can go wrong becomes a failed `HookRun` that says why.
pub async fn run_hook(
    hook: &Hook,
    vars: &Vars,
    context: &serde_json::Value,
    lines: Lines,
) -> HookRun {
    let prefix = prefix(hook, vars);
    match (&hook.exec, &hook.http) {
        (Some(argv), None) => exec::run(hook, argv, vars, &prefix, &lines).await,
        (None, Some(url)) => http::run(hook, url, vars, context, &prefix, &lines).await,
        _ => HookRun::failed(format!(
            "`{}` needs exactly one of `exec` or `http`",
            hook.label()
        )),
    }
}

/// Runs every notification hook at once; each result becomes a line. A
/// failing chat or paging webhook never holds up the rollout.
pub async fn notify(
    hooks: &[Hook],
    vars: &Vars,
    event: &str,
    context: &serde_json::Value,
    lines: Lines,
) {
    let runs = hooks
        .iter()
        .map(|hook| run_hook(hook, vars, context, lines.clone()));
    for (hook, run) in hooks.iter().zip(futures::future::join_all(runs).await) {
        let verdict = match (run.ok, run.summary.starts_with(body::NOT_SENT)) {
            (false, _) => "FAILED",
            (true, true) => "skipped",
            (true, false) => "sent",
        };
        let _ = lines.send(format!(
            "{} notify {event}: {verdict}: {}",
            prefix(hook, vars),
            run.summary
        ));
    }
}

/// One poll of a gate: open when the URL answers 200 within `timeout`.
pub async fn gate_open(url: &str, timeout: Duration) -> bool {
    let client = crate::net::client_builder(&reqwest::Method::GET).timeout(timeout);
    let Ok(client) = client.build() else {
        return false;
    };
    matches!(client.get(url).send().await, Ok(r) if r.status().as_u16() == 200)
}

/// `[label]` in front of every line a hook prints, placeholders filled,
/// cut to stay readable on an 80-column screen.
fn prefix(hook: &Hook, vars: &Vars) -> String {
    let label = hook.label_filled(vars);
    let short: String = label.chars().take(32).collect();
    if short.len() < label.len() {
        format!("[{short}...]")
    } else {
        format!("[{short}]")
    }
}

/// `60s`, `1500ms`: a time limit as the config would write it.
fn limit_text(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}
