//! Actions: the hooks that move real traffic (`exec` processes, `http`
//! requests), notifications and HTTP gates.
//!
//! INTERFACE (used by `run::edges`; keep these signatures):
//! - `run_hook(&Hook, &Vars, &serde_json::Value, Lines) -> HookRun`
//! - `notify(&[Hook], &Vars, event: &str, &serde_json::Value, Lines)`
//! - `gate_open(url: &str, timeout: Duration) -> bool` (one poll: 200?)
//!
//! `context` is the JSON the runtime builds for the event (rollout, stage,
//! weight, metric snapshot, operator, reason): the body of `http` hooks.
//! Output lines go to `Lines` as they arrive, for the log pane.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use crate::config::model::Hook;

pub type Vars = BTreeMap<String, String>;
pub type Lines = UnboundedSender<String>;

/// How a hook ended: `summary` is one line for the screen, `tail` the last
/// lines it printed, for the journal.
#[derive(Debug, Clone, PartialEq)]
pub struct HookRun {
    pub ok: bool,
    pub summary: String,
    pub tail: Vec<String>,
}

pub async fn run_hook(
    hook: &Hook,
    _vars: &Vars,
    _context: &serde_json::Value,
    _lines: Lines,
) -> HookRun {
    HookRun {
        ok: false,
        summary: format!("`{}`: hooks not built yet", hook.label()),
        tail: Vec::new(),
    }
}

pub async fn notify(
    hooks: &[Hook],
    vars: &Vars,
    _event: &str,
    context: &serde_json::Value,
    lines: Lines,
) {
    for hook in hooks {
        let _ = run_hook(hook, vars, context, lines.clone()).await;
    }
}

pub async fn gate_open(_url: &str, _timeout: Duration) -> bool {
    false
}
