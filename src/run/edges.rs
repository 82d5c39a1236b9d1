//! The tokio tasks at the edges: metric polling, hooks, gates, signals.
//! Each turns what it learns into a `Msg` for the loop; none decides.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::sync::mpsc::{self, UnboundedSender};
use tokio::task::JoinHandle;

use super::Msg;
use crate::actions;
use crate::clock::Clock;
use crate::config::model::Hook;
use crate::metrics::Sources;

/// Polls every source on the source's own interval (compressed by the
/// clock's speed) until aborted: each metric on its own schedule, one
/// message per metric per poll carrying its canary and baseline together.
pub fn spawn_metrics(
    mut sources: Sources,
    clock: Clock,
    tx: UnboundedSender<Msg>,
) -> JoinHandle<()> {
    sources.set_speed(clock.speed());
    tokio::spawn(async move {
        let history = sources.backfill(clock.now()).await;
        if !history.is_empty() && tx.send(Msg::History(history)).is_err() {
            return;
        }
        let every = sources.every();
        let deliver = move |batch, warnings: Vec<_>| {
            (warnings.is_empty() || tx.send(Msg::Warnings(warnings)).is_ok())
                && tx.send(Msg::Samples(batch)).is_ok()
        };
        // Asked before each poll: a drill's clock changes pace.
        sources.run_paced(move || clock.real(every), deliver).await;
    })
}

/// Forwards a hook's output lines to the loop as they arrive; the task
/// ends once every sender is gone and every line is forwarded.
fn line_forwarder(tx: UnboundedSender<Msg>) -> (actions::Lines, JoinHandle<()>) {
    let (lines_tx, mut lines_rx) = mpsc::unbounded_channel::<String>();
    let task = tokio::spawn(async move {
        while let Some(line) = lines_rx.recv().await {
            if tx.send(Msg::Line(line)).is_err() {
                return;
            }
        }
    });
    (lines_tx, task)
}

/// How long a hook's last lines may take to reach the loop after it ended.
const LAST_LINES: Duration = Duration::from_secs(2);

pub fn spawn_hook(
    tx: UnboundedSender<Msg>,
    id: u64,
    hook: Hook,
    vars: BTreeMap<String, String>,
    context: serde_json::Value,
) {
    tokio::spawn(async move {
        let (lines, forwarded) = line_forwarder(tx.clone());
        let run = actions::run_hook(&hook, &vars, &context, lines).await;
        // Its output before its end: the log reads in the order things ran.
        let _ = tokio::time::timeout(LAST_LINES, forwarded).await;
        let _ = tx.send(Msg::HookDone {
            id,
            ok: run.ok,
            summary: run.summary,
            label: hook.label_filled(&vars),
            tail: run.tail,
        });
    });
}

pub fn spawn_notify(
    tasks: &mut tokio::task::JoinSet<()>,
    tx: UnboundedSender<Msg>,
    hooks: Vec<Hook>,
    vars: BTreeMap<String, String>,
    event: String,
    context: serde_json::Value,
) {
    tasks.spawn(async move {
        let (lines, _) = line_forwarder(tx);
        actions::notify(&hooks, &vars, &event, &context, lines).await;
    });
}

/// Polls a gate URL until it answers 200; the engine enters the stage then.
pub fn spawn_gate(
    tx: UnboundedSender<Msg>,
    clock: Clock,
    stage: usize,
    url: String,
    every_ms: u64,
) {
    tokio::spawn(async move {
        let every = clock.real(Duration::from_millis(every_ms));
        loop {
            if actions::gate_open(&url, Duration::from_secs(5)).await {
                let _ = tx.send(Msg::GateOpen(stage));
                return;
            }
            if tx.is_closed() {
                return;
            }
            tokio::time::sleep(every).await;
        }
    });
}

/// SIGTERM, SIGHUP (a dropped SSH connection) and SIGINT stop the session
/// cleanly: the journal is already on disk, so the rollout can be resumed.
pub fn spawn_signals(tx: UnboundedSender<Msg>) {
    use tokio::signal::unix::{SignalKind, signal};
    for (kind, name) in [
        (SignalKind::terminate(), "SIGTERM"),
        (SignalKind::hangup(), "SIGHUP"),
        (SignalKind::interrupt(), "SIGINT"),
    ] {
        let Ok(mut stream) = signal(kind) else {
            continue;
        };
        let tx = tx.clone();
        tokio::spawn(async move {
            if stream.recv().await.is_some() {
                let _ = tx.send(Msg::Stop(format!(
                    "{name} received: stopping; the journal can resume this rollout"
                )));
            }
        });
    }
}
