//! `cockpit replay` against a real Prometheus (and VictoriaMetrics) fed a
//! known history: a fixture target whose canary starts failing on a
//! schedule, scraped every second. A live headless run watches it as it
//! happens; replaying the same span afterwards must reach the same outcome
//! with the same decisions, each within a couple of polls of the live one.

mod metrics_support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cockpit::rollout::At;
use metrics_support::{Backend, Page, Prometheus, ROLLOUT, Tasks};
use serde_json::Value;

/// Requests per 100 ms tick, and the canary's errors per tick while bad
/// (5 of 105: 4.8%, critical but under the 5% immediate line).
const PER_TICK: u64 = 100;
const BAD_ERRORS: u64 = 5;

/// A shop's `http_requests_total` for `version`, its counters after the
/// ticks so far.
fn page(version: &str, ok: u64, errors: u64) -> String {
    let labels = format!("service=\"shop\",version=\"{version}\"");
    format!(
        "# TYPE http_requests_total counter\n\
         http_requests_total{{{labels},code=\"200\"}} {ok}\n\
         http_requests_total{{{labels},code=\"500\"}} {errors}\n"
    )
}

/// Serves `version`'s page, ticking every 100 ms; errors while `bad` is
/// set; no more requests once the file `drained` exists (the rollback's
/// undo hook makes it: the canary gets no traffic after a rollback).
async fn serve(
    version: &'static str,
    bad: Arc<AtomicBool>,
    drained: Option<std::path::PathBuf>,
) -> (std::net::SocketAddr, Tasks) {
    let target = Page::default();
    target.set(200, page(version, 0, 0));
    let (addr, server) = target.serve().await;
    let ticker = tokio::spawn(async move {
        let (mut ok, mut errors) = (0, 0);
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if drained.as_ref().is_some_and(|d| d.exists()) {
                continue;
            }
            ok += PER_TICK;
            if bad.load(Ordering::SeqCst) {
                errors += BAD_ERRORS;
            }
            target.set(200, page(version, ok, errors));
        }
    });
    (addr, Tasks(vec![server, ticker]))
}

fn write_config(dir: &Path, url: &str) -> std::path::PathBuf {
    let text = format!(
        r#"{ROLLOUT}
[[stage]]
name = "5%"
weight = 5
wait = "8s"
undo = {{ exec = ["touch", "{drained}"] }}

[[stage]]
name = "50%"
weight = 50
wait = "2m"
undo = {{ exec = ["touch", "{drained}"] }}

[prometheus]
url = "{url}"
every = "1s"
timeout = "2s"
rate_window = "5s"

[[metric]]
name = "error_rate"
kind = "error_rate"
template = "prometheus-client"
warning = 0.2
critical = 0.5
for = "3s"
min_requests = 10

[policy]
on_critical = "rollback"

[checklist]
items = []

[journal]
dir = "{}"
"#,
        dir.join("journal").display(),
        drained = dir.join("drained").display(),
    );
    let path = dir.join("cockpit.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// (time, action, by) of every decision in a run's JSON lines or events.
fn decisions(events: &[Value]) -> Vec<(At, String, String)> {
    events
        .iter()
        .filter(|e| e["event"] == "decision")
        .map(|e| {
            (
                e["at"].as_u64().unwrap(),
                e["action"].as_str().unwrap().to_string(),
                e["by"].to_string(),
            )
        })
        .collect()
}

fn rfc3339(at: At) -> String {
    chrono::DateTime::from_timestamp_millis(at as i64)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn replay(config: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cockpit"))
        .arg("replay")
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_makes_the_live_runs_decisions_at_the_live_runs_times() {
    replay_agrees_with_a_live_run_on(Backend::Prometheus).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_on_victoria_metrics_makes_the_live_runs_decisions() {
    replay_agrees_with_a_live_run_on(Backend::VictoriaMetrics).await;
}

async fn replay_agrees_with_a_live_run_on(backend: Backend) {
    let bad = Arc::new(AtomicBool::new(false));
    let dir = tempfile::tempdir().unwrap();
    let drained = dir.path().join("drained");
    let (canary, _canary_tasks) = serve("2.0.0", bad.clone(), Some(drained)).await;
    let (baseline, _baseline_tasks) = serve("1.0.0", Arc::new(AtomicBool::new(false)), None).await;
    let Some(prom) = Prometheus::start_on(backend, "shop", &[canary, baseline]) else {
        return;
    };
    // A 5 s rate needs a few scrapes of both versions.
    for v in ["2.0.0", "1.0.0"] {
        prom.value(&format!(
            "sum(rate(http_requests_total{{version=\"{v}\"}}[5s]))"
        ))
        .await;
    }
    let config = write_config(dir.path(), &prom.url());

    // The live run: healthy through stage 1 (8 s), then at 50% the canary
    // starts failing; the policy rolls back once 3 s of critical held.
    let live = Command::new(env!("CARGO_BIN_EXE_cockpit"))
        .args(["run", "--headless", "--auto-advance", "--config"])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(15)).await;
    bad.store(true, Ordering::SeqCst);
    let waited = Instant::now();
    let out = tokio::task::spawn_blocking(move || live.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(waited.elapsed() < Duration::from_secs(60));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(3),
        "the live run rolls back: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let at_of = |name: &str| {
        events
            .iter()
            .find(|e| e["event"] == name)
            .and_then(|e| e["at"].as_u64())
            .unwrap_or_else(|| panic!("no {name} in {stdout}"))
    };
    let (started, finished) = (at_of("started"), at_of("finished"));
    let live_decisions = decisions(&events);
    let actions: Vec<&str> = live_decisions.iter().map(|d| d.1.as_str()).collect();
    assert_eq!(actions, ["advance", "rollback"], "{stdout}");

    // Prometheus has every scrape of the span in its TSDB by now.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (from, to) = (rfc3339(started), rfc3339(finished + 2000));
    let out = replay(&config, &["--from", &from, "--to", &to, "--json"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let replayed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(replayed["outcome"], "rolled_back", "{text}");
    assert_eq!(replayed["hooks_run"], false);
    // undo 50%, undo 5%: answered, never run.
    assert_eq!(replayed["hooks_answered"], 2, "{text}");
    let replay_decisions = decisions(replayed["events"].as_array().unwrap());
    let poll = 1000;
    assert_eq!(
        replay_decisions.len(),
        live_decisions.len(),
        "replay {replay_decisions:?} vs live {live_decisions:?}"
    );
    for (r, l) in replay_decisions.iter().zip(&live_decisions) {
        assert_eq!((&r.1, &r.2), (&l.1, &l.2), "replay {r:?} vs live {l:?}");
        assert!(
            r.0.abs_diff(l.0) <= 2 * poll + 500,
            "{} at {} in the replay, {} live: more than two polls apart",
            r.1,
            r.0,
            l.0
        );
    }

    // In words, with the stage the history says 50% began at: the same
    // rollback, said as the cockpit would have said it.
    let stage_2 = rfc3339(live_decisions[0].0);
    let out = replay(
        &config,
        &[
            "--from",
            &from,
            "--to",
            &to,
            "--stage-at",
            &format!("{stage_2}=50%"),
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("no hook was run"), "{text}");
    assert!(
        text.contains("the history leaves 5% (--stage-at)"),
        "{text}"
    );
    let rollback = text
        .lines()
        .find(|l| l.contains("the cockpit would have rolled back: error rate"))
        .unwrap_or_else(|| panic!("no rollback line in:\n{text}"));
    assert!(rollback.starts_with("at "), "{rollback}");
    assert!(text.ends_with("outcome: rolled back\n"), "{text}");

    // Only the healthy part: no rollback, and it says where it stood.
    let healthy_to = rfc3339(started + 12_000);
    let out = replay(&config, &["--from", &from, "--to", &healthy_to]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("rolled back"), "{text}");
    assert!(text.contains("no outcome by "), "{text}");
}
