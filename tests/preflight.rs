//! The pre-flight against the real world: `check --live` reads a real
//! Prometheus (answers, parse errors, empty selectors with a suggestion,
//! a dead server), finds hook programs and connects to hook hosts; `run
//! --headless` refuses stage 1 on what blocks it (no enter hook runs) and
//! starts with `--force-start REASON`, journalled.

mod metrics_support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use assert_cmd::Command;
use metrics_support::{Prometheus, ROLLOUT, custom_metric, free_port};

/// A `/metrics` page: the stable version (1.0.0) serves 100 requests a
/// tick (one in a hundred a 500), the canary (2.0.0) is deployed but has no
/// traffic yet. Ticks every 100 ms until the runtime is dropped.
fn shop_page() -> (std::net::SocketAddr, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let started = std::time::Instant::now();
    let ticks = Arc::new(AtomicU64::new(0));
    let (addr, _) = rt
        .block_on(cockpit::httpd::serve(0, move |_req| {
            let n = (started.elapsed().as_millis() / 100) as u64 + 1;
            ticks.store(n, Ordering::SeqCst);
            async move {
                let mut page = String::from("# TYPE http_requests_total counter\n");
                for (version, ok, bad) in [("1.0.0", 99 * n, n), ("2.0.0", 0, 0)] {
                    let labels = format!("service=\"shop\",version=\"{version}\"");
                    page.push_str(&format!(
                        "http_requests_total{{{labels},code=\"200\"}} {ok}\n\
                         http_requests_total{{{labels},code=\"500\"}} {bad}\n"
                    ));
                }
                page.push_str("# TYPE http_request_duration_seconds histogram\n");
                for (version, count) in [("1.0.0", 100 * n), ("2.0.0", 0)] {
                    let labels = format!("service=\"shop\",version=\"{version}\"");
                    page.push_str(&format!(
                        "http_request_duration_seconds_bucket{{{labels},le=\"0.1\"}} {count}\n\
                         http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}\n\
                         http_request_duration_seconds_sum{{{labels}}} {}\n\
                         http_request_duration_seconds_count{{{labels}}} {count}\n",
                        count as f64 * 0.05
                    ));
                }
                cockpit::httpd::Response::text(200, page)
            }
        }))
        .unwrap();
    (addr, rt)
}

/// A one-stage config reading `source` (a `[prometheus]` or `[scrape]`
/// table): the stage's `hooks` (its `enter`, maybe `undo`), then `extra`
/// (more source keys, metrics).
fn config(dir: &Path, name: &str, source: &str, hooks: &str, extra: &str) -> PathBuf {
    let text = format!(
        r#"{ROLLOUT}
[[stage]]
name = "all"
weight = 100
wait = "1m"
{hooks}

[checklist]
items = []

[journal]
dir = "{journal}"

{source}
{extra}
"#,
        journal = dir.join("journal").display()
    );
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A `[prometheus]` table for `url`.
fn prometheus(url: &str) -> String {
    format!("[prometheus]\nurl = \"{url}\"\ntimeout = \"3s\"\n")
}

/// Stage 1's hook: a marker file says whether it ran.
const ENTER: &str = r#"enter = { exec = ["touch", "entered"] }"#;

fn check_live(cfg: &Path) -> (Option<i32>, String) {
    let out = Command::cargo_bin("cockpit")
        .unwrap()
        .args(["check", "--live", "--config"])
        .arg(cfg)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), text)
}

#[test]
fn check_live_reads_every_query_once_and_says_what_failed() {
    let (page, _server) = shop_page();
    let Some(prom) = Prometheus::start("shop", &[page]) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Two scrapes: `rate` has an answer.
    rt.block_on(prom.value(r#"sum(rate(http_requests_total{version="1.0.0"}[1m]))"#));
    let dir = tempfile::tempdir().unwrap();
    let url = prom.url();

    let good = config(dir.path(), "good.toml", &prometheus(&url), ENTER, "");
    let (code, out) = check_live(&good);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("ok   error_rate (baseline)"), "{out}");
    assert!(out.contains("% ("), "value with its evidence: {out}");
    assert!(
        out.contains(r#"sent: 100 * (sum(rate(http_requests_total{service="shop",version="1.0.0",code=~"5.."}[1m]))"#),
        "the query exactly as sent: {out}"
    );
    assert!(
        out.contains("expected before the canary gets traffic"),
        "{out}"
    );
    assert!(out.contains("program: touch -> "), "{out}");
    assert!(out.contains("pre-flight: all 8 checks passed"), "{out}");

    // A query Prometheus cannot parse: its message, verbatim.
    let broken = config(
        dir.path(),
        "broken.toml",
        &prometheus(&url),
        ENTER,
        &custom_metric("queue", "sum(rate(http_requests_total{ {selector} }[1m]"),
    );
    let (code, out) = check_live(&broken);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains(r#"sent: sum(rate(http_requests_total{ service="shop",version="1.0.0" }[1m]"#),
        "{out}"
    );
    assert!(
        out.contains("bad_data: invalid parameter \"query\"") && out.contains("parse error"),
        "{out}"
    );
    assert!(out.contains("FAIL queue (baseline)"), "{out}");

    // A selector that matches nothing: which label to change, and to what.
    let empty = config(
        dir.path(),
        "empty.toml",
        &prometheus(&url),
        ENTER,
        "baseline_selector = 'service=\"shopp\",version=\"{old_version}\"'",
    );
    let (code, out) = check_live(&empty);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains(r#"no series: did you mean service="shop" instead of service="shopp"?"#),
        "{out}"
    );
    assert!(
        out.contains(
            "series named http_requests_total have labels code, instance, job, service, version"
        ),
        "{out}"
    );

    // A hook program that is not installed; a hook host nobody listens on.
    let dead_port = free_port();
    let hooks = config(
        dir.path(),
        "hooks.toml",
        &prometheus(&url),
        &format!(
            r#"enter = {{ exec = ["no-such-deploy-tool", "{{weight}}"] }}
undo = {{ http = "http://127.0.0.1:{dead_port}/undo" }}"#
        ),
        "",
    );
    let (code, out) = check_live(&hooks);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("program `no-such-deploy-tool` not found on PATH"),
        "{out}"
    );
    assert!(
        out.contains(&format!("host: 127.0.0.1:{dead_port}")) && out.contains("cannot connect to"),
        "{out}"
    );
}

#[test]
fn check_live_against_a_dead_prometheus_fails_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{}", free_port());
    let cfg = config(dir.path(), "dead.toml", &prometheus(&url), ENTER, "");
    let (code, out) = check_live(&cfg);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains(&format!("cannot connect to {url}/api/v1/query")),
        "{out}"
    );
    assert!(
        out.contains("`run` will not start stage 1 until they are fixed"),
        "{out}"
    );
}

/// `run --headless` with `args`, bounded; exit code and stdout.
fn headless(dir: &Path, cfg: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::cargo_bin("cockpit")
        .unwrap()
        .current_dir(dir)
        .args(["run", "--headless", "--auto-advance", "--config"])
        .arg(cfg)
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code(), text)
}

fn events(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn a_dead_prometheus_keeps_stage_one_from_starting() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{}", free_port());
    let cfg = config(dir.path(), "cockpit.toml", &prometheus(&url), ENTER, "");
    let (code, out) = headless(dir.path(), &cfg, &[]);
    assert_eq!(code, Some(5), "{out}");
    let lines = events(&out);
    assert_eq!(lines[0]["event"], "policy", "{out}");
    assert_eq!(lines[0]["auto_advance_from"], "--auto-advance", "{out}");
    let baseline = lines
        .iter()
        .find(|l| l["event"] == "preflight" && l["group"] == "baseline")
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(baseline["status"], "failed");
    assert!(
        baseline["why"].as_str().unwrap().contains("cannot connect"),
        "{out}"
    );
    let last = lines.last().unwrap();
    assert_eq!(last["event"], "stopped", "{out}");
    assert!(
        last["reason"].as_str().unwrap().contains("--force-start"),
        "{out}"
    );
    assert!(!out.contains("\"started\""), "{out}");
    assert!(!dir.path().join("entered").exists(), "an enter hook ran");
}

/// Direct scrape of a page whose stable traffic grows: the metrics pass,
/// so only the hook program decides.
fn scraped(dir: &Path, page: std::net::SocketAddr, enter: &str) -> PathBuf {
    let source = format!(
        "[scrape]\ncanary = [\"http://{page}/metrics\"]\nbaseline = [\"http://{page}/metrics\"]\nevery = \"300ms\"\n"
    );
    config(
        dir,
        "cockpit.toml",
        &source,
        &format!("enter = {enter}"),
        "",
    )
}

#[test]
fn a_missing_hook_program_keeps_stage_one_from_starting_unless_forced() {
    let (page, _server) = shop_page();
    let dir = tempfile::tempdir().unwrap();
    let cfg = scraped(
        dir.path(),
        page,
        r#"[{ exec = ["no-such-deploy-tool"] }, { exec = ["touch", "entered"] }]"#,
    );
    let (code, out) = headless(dir.path(), &cfg, &[]);
    assert_eq!(code, Some(5), "{out}");
    let lines = events(&out);
    let program = lines
        .iter()
        .find(|l| l["event"] == "preflight" && l["kind"] == "program" && l["status"] == "failed")
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(
        program["why"],
        "program `no-such-deploy-tool` not found on PATH"
    );
    let baseline = lines
        .iter()
        .find(|l| l["event"] == "preflight" && l["group"] == "baseline")
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(baseline["status"], "ok", "{out}");
    assert!(!out.contains("\"started\""), "{out}");
    assert!(!dir.path().join("entered").exists(), "an enter hook ran");

    // Forced: the reason is journalled before the start, and stage 1's
    // hook then fails as the pre-flight said it would.
    let (code, out) = headless(
        dir.path(),
        &cfg,
        &["--force-start", "the tool is installed by the enter hook"],
    );
    assert_eq!(code, Some(5), "{out}");
    let lines = events(&out);
    let note = lines
        .iter()
        .position(|l| l["event"] == "note")
        .unwrap_or_else(|| panic!("{out}"));
    let started = lines
        .iter()
        .position(|l| l["event"] == "started")
        .unwrap_or_else(|| panic!("{out}"));
    assert!(note < started, "{out}");
    let text = lines[note]["text"].as_str().unwrap();
    assert!(
        text.starts_with("FORCED START: the tool is installed by the enter hook")
            && text.contains("no-such-deploy-tool"),
        "{text}"
    );
    assert!(out.contains("\"hook_finished\""), "{out}");
    let journal = std::fs::read_dir(dir.path().join("journal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .unwrap();
    let text = std::fs::read_to_string(journal).unwrap();
    assert!(
        text.contains("FORCED START: the tool is installed"),
        "{text}"
    );
}

/// Kills the child it holds when the test ends, pass or fail.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_quickstart_simulate_on_fixed_ports_then_init_passes_check_live() {
    if metrics_support::Backend::Prometheus.binary().is_none() {
        return;
    }
    let (canary, stable, control) = (free_port(), free_port(), free_port());
    let sim = Reaped(
        std::process::Command::new(env!("CARGO_BIN_EXE_cockpit"))
            .args([
                "simulate",
                "--ports",
                &format!("{canary},{stable},{control}"),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let at = |port: u16| std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let Some(prom) = Prometheus::start("sim", &[at(canary), at(stable)]) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(prom.value(r#"sum(rate(http_requests_total{job="sim",version="1.9.3"}[1m]))"#));
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("cockpit.toml");
    let init = Command::cargo_bin("cockpit")
        .unwrap()
        .args(["init", "--prometheus", &prom.url(), "--job", "sim"])
        .args(["--canary", r#"job="sim",version="2.0.0""#])
        .args(["--baseline", r#"job="sim",version="1.9.3""#])
        .arg("--path")
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(init.status.code(), Some(0), "{init:?}");
    let (code, out) = check_live(&cfg);
    assert_eq!(code, Some(0), "{out}");
    // Three metrics for two versions, and `echo` (the starter's hooks).
    assert!(out.contains("pre-flight: all 7 checks passed"), "{out}");
    assert!(
        out.contains(r#"sent: 100 * (sum(rate(http_requests_total{job="sim",version="1.9.3",code=~"5.."}[1m]))"#),
        "{out}"
    );
    drop(sim);
}
