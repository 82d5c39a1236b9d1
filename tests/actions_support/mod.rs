//! Helpers shared by the `actions_*` tests.

use cockpit::actions::{self, HookRun, Vars};
use cockpit::config::model::Hook;
use tokio::sync::mpsc;

/// Placeholder values as the engine gives them, with `pairs` overriding.
pub fn vars(pairs: &[(&str, &str)]) -> Vars {
    let mut v: Vars = [
        ("rollout", "checkout 2.0"),
        ("service", "checkout"),
        ("stage", "canary"),
        ("weight", "25"),
        ("previous_weight", "5"),
        ("version", "2.0"),
        ("operator", "alice"),
        ("reason", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, val) in pairs {
        v.insert(k.to_string(), val.to_string());
    }
    v
}

/// Runs a hook; returns its result and every line it streamed.
pub async fn run(hook: &Hook, vars: &Vars, context: &serde_json::Value) -> (HookRun, Vec<String>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let run = actions::run_hook(hook, vars, context, tx).await;
    let mut lines = Vec::new();
    while let Ok(l) = rx.try_recv() {
        lines.push(l);
    }
    (run, lines)
}
