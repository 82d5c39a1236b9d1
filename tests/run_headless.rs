//! `cockpit run` as a pipeline or a script sees it: JSON lines on stdout,
//! the outcome in the exit code, and no screen without a terminal.

use std::path::Path;

use assert_cmd::Command;

#[path = "support/scrape_page.rs"]
mod scrape_page;

/// A config whose journal goes to `dir`, with the rest appended.
fn config(dir: &Path, extra: &str) -> std::path::PathBuf {
    let text = format!(
        r#"
[rollout]
name = "checkout 2.0"
service = "checkout"
old_version = "1.9"
new_version = "2.0"

[[stage]]
name = "all"
weight = 100
wait = "1m"
irreversible = true

[scrape]
canary = ["http://127.0.0.1:9/metrics"]

[journal]
dir = "{}"
{extra}
"#,
        dir.join("journal").display()
    );
    let path = dir.join("cockpit.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn cockpit() -> Command {
    Command::cargo_bin("cockpit").unwrap()
}

#[test]
fn without_a_terminal_the_screen_points_at_headless() {
    let dir = tempfile::tempdir().unwrap();
    let out = cockpit()
        .args(["run", "--config"])
        .arg(config(dir.path(), ""))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("not a terminal") && err.contains("--headless"),
        "{err}"
    );
}

#[test]
fn a_closed_window_stops_a_headless_run_before_stage_one() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        "[window]\nbest = []\nacceptable = []\nnever = [\"Mon-Sun 00:00-24:00\"]",
    );
    let out = cockpit()
        .args([
            "run",
            "--headless",
            "--auto-advance",
            "--checklist-done",
            "--config",
        ])
        .arg(&cfg)
        .timeout(std::time::Duration::from_secs(30))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(5), "{stdout}");
    let last: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "stopped");
    let reason = last["reason"].as_str().unwrap();
    assert!(reason.contains("--override-window"), "{reason}");
    assert!(!stdout.contains("stage_entering"), "{stdout}");
}

#[test]
fn an_override_reason_is_journalled_and_the_rollout_starts() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        "[window]\nbest = []\nacceptable = []\nnever = [\"Mon-Sun 00:00-24:00\"]\n[checklist]\nitems = []",
    );
    // The source is down, so the stage holds on "no data": stop it once it
    // is observed, however long a loaded machine takes to get there.
    let stdout = run_until(
        &[
            "run",
            "--headless",
            "--auto-advance",
            "--override-window",
            "hotfix for INC-42",
            "--config",
        ],
        &cfg,
        "\"event\":\"stage_observing\"",
    );
    assert!(
        stdout.contains("\"action\":\"override_window\""),
        "{stdout}"
    );
    assert!(stdout.contains("hotfix for INC-42"), "{stdout}");
    assert!(stdout.contains("\"event\":\"stage_observing\""), "{stdout}");
    let journals: Vec<_> = std::fs::read_dir(dir.path().join("journal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    assert_eq!(journals.len(), 1, "{journals:?}");
    let text = std::fs::read_to_string(&journals[0]).unwrap();
    assert!(text.contains("hotfix for INC-42"), "{text}");
}

/// Runs the binary until a stdout line contains `wanted` (bounded: 60 s),
/// then stops it with SIGTERM as an operator's Ctrl-C would; its stdout.
fn run_until(args: &[&str], cfg: &Path, wanted: &str) -> String {
    run_until_with(args, cfg, &[], wanted).0
}

/// `run_until` with extra environment variables; stdout and stderr.
/// Fails when `wanted` never came.
fn run_until_with(
    args: &[&str],
    cfg: &Path,
    envs: &[(&str, &str)],
    wanted: &str,
) -> (String, String) {
    use std::io::{BufRead, Read};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cockpit"))
        .args(args)
        .arg(cfg)
        .envs(envs.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let needle = wanted.to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut seen = String::new();
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            seen.push_str(&line);
            seen.push('\n');
            if line.contains(&needle) {
                let _ = tx.send(());
            }
        }
        seen
    });
    let found = rx.recv_timeout(std::time::Duration::from_secs(60)).is_ok();
    let pid = child.id().to_string();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
    let _ = child.wait();
    let mut stderr = String::new();
    let _ = err.read_to_string(&mut stderr);
    let stdout = reader.join().unwrap();
    assert!(found, "never saw {wanted}: {stdout}{stderr}");
    (stdout, stderr)
}

/// Two stages whose hooks append to `hooks.log`, fast enough for a test.
fn live_config(dir: &Path, url: &str) -> std::path::PathBuf {
    let log = dir.join("hooks.log");
    let hook = |what: &str| {
        format!(
            "{{ exec = [\"sh\", \"-c\", \"echo {what} $COCKPIT_STAGE >> '{}'\"] }}",
            log.display()
        )
    };
    let text = format!(
        r#"
[rollout]
name = "checkout 2.0"
service = "checkout"
old_version = "1.9"
new_version = "2.0"

[hooks]
enter = {enter}
undo = {undo}

[[stage]]
name = "10%"
weight = 10
wait = "2s"

[[stage]]
name = "100%"
weight = 100
wait = "2s"

[scrape]
canary = ["{url}"]
every = "200ms"

[[metric]]
name = "error_rate"
kind = "error_rate"
for = "1s"
baseline_ratio = 1000

[policy]
on_critical = "rollback"
rollback_verify_within = "2s"

[checklist]
items = []

[window]
enabled = false

[journal]
dir = "{journal}"
"#,
        enter = hook("enter"),
        undo = hook("undo"),
        journal = dir.join("journal").display()
    );
    let path = dir.join("cockpit.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_healthy_canary_is_promoted_through_real_hooks_and_scrapes() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _server) = scrape_page::healthy();
    let out = cockpit()
        .args(["run", "--headless", "--auto-advance", "--config"])
        .arg(live_config(dir.path(), &url))
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("\"outcome\":\"promoted\""), "{stdout}");
    let hooks = std::fs::read_to_string(dir.path().join("hooks.log")).unwrap();
    assert_eq!(hooks, "enter 10%\nenter 100%\n");
    // What it does, from the first line: the policy, the pre-flight, then
    // every metric's level at each poll.
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["event"], "policy", "{stdout}");
    assert_eq!(lines[0]["auto_advance"], true);
    assert_eq!(lines[0]["auto_advance_from"], "--auto-advance");
    assert_eq!(lines[1]["event"], "preflight", "{stdout}");
    let done = lines
        .iter()
        .find(|l| l["event"] == "preflight_done")
        .unwrap();
    assert_eq!(done["ok"], true, "{stdout}");
    let polls: Vec<_> = lines.iter().filter(|l| l["event"] == "poll").collect();
    assert!(polls.len() >= 2, "{stdout}");
    assert!(
        polls
            .iter()
            .any(|p| p["metrics"][0]["level"] == "ok" && p["metrics"][0]["canary"].is_number()),
        "{stdout}"
    );
}

#[test]
fn headless_never_turns_auto_advance_on_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "[checklist]\nitems = []");
    let out = cockpit()
        .args(["run", "--headless", "--config"])
        .arg(&cfg)
        .timeout(std::time::Duration::from_secs(30))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stdout}{stderr}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["event"], "policy", "{stdout}");
    assert_eq!(lines[0]["auto_advance"], false, "{stdout}");
    assert_eq!(lines[1]["event"], "stopped", "{stdout}");
    assert!(
        lines[1]["reason"]
            .as_str()
            .unwrap()
            .contains("pass --auto-advance"),
        "{stdout}"
    );
    assert!(stderr.contains("policy.auto_advance = false"), "{stderr}");
    assert!(!dir.path().join("journal").exists(), "nothing was started");
}

#[test]
fn an_erroring_canary_is_rolled_back_and_its_stage_undone() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _server) = scrape_page::serve(|| (100, 10));
    let out = cockpit()
        .args(["run", "--headless", "--auto-advance", "--config"])
        .arg(live_config(dir.path(), &url))
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The same page stays at 10% errors after the undo: not recovered.
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    assert!(stdout.contains("\"action\":\"rollback\""), "{stdout}");
    assert!(stdout.contains("\"by\":\"policy\""), "{stdout}");
    let hooks = std::fs::read_to_string(dir.path().join("hooks.log")).unwrap();
    assert_eq!(hooks, "enter 10%\nundo 10%\n");
}

/// A Prometheus on loopback that answers every query with `answer(request)`,
/// on a runtime of its own; its base URL.
fn prometheus(
    answer: impl Fn(&cockpit::httpd::Request) -> cockpit::httpd::Response + Send + Sync + 'static,
) -> (String, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (addr, _task) = rt
        .block_on(cockpit::httpd::serve(0, move |req| {
            let resp = answer(&req);
            async move { resp }
        }))
        .unwrap();
    (format!("http://{addr}"), rt)
}

/// `config`'s stage read from `[prometheus]` at `url` with `auth` (a line
/// such as `token_env = "X"`) and a tenant header from the environment;
/// snapshots every second, so a NO DATA reason reaches the journal soon.
fn prometheus_config(dir: &Path, url: &str, auth: &str, tenant_env: &str) -> std::path::PathBuf {
    config(
        dir,
        &format!(
            r#"snapshot_every = "1s"

[prometheus]
url = "{url}"
{auth}
headers = {{ "X-Scope-OrgID" = "env:{tenant_env}" }}
every = "200ms"
timeout = "2s"

[[metric]]
name = "error_rate"
kind = "error_rate"
query = "sum(rate(errors[1m]))"

[checklist]
items = []

[window]
enabled = false
"#
        ),
    )
}

/// Everything a run left for people to read: its stdout and stderr, the
/// journal and the live feed beside it.
fn everything_shown(dir: &Path, stdout: &str) -> String {
    let mut all = stdout.to_string();
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir.join("journal")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            all.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
            names.push(path.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    for ending in [".jsonl", ".live.json"] {
        assert!(names.iter().any(|n| n.ends_with(ending)), "{names:?}");
    }
    all
}

/// A headless run until `wanted`; stdout and stderr together.
fn run_headless_until(cfg: &Path, envs: &[(&str, &str)], wanted: &str) -> String {
    let (out, err) = run_until_with(
        &["run", "--headless", "--auto-advance", "--config"],
        cfg,
        envs,
        wanted,
    );
    out + &err
}

/// What a careless server does: refuse, and echo the credentials it got.
fn echo_401(req: &cockpit::httpd::Request) -> cockpit::httpd::Response {
    let body = serde_json::json!({
        "status": "error",
        "errorType": "unauthorized",
        "error": format!(
            "bad credentials {} for tenant {}",
            req.header("authorization").unwrap_or("-"),
            req.header("x-scope-orgid").unwrap_or("-"),
        ),
    });
    cockpit::httpd::Response::json(401, body.to_string())
}

#[test]
fn credentials_a_server_echoes_never_reach_the_journal_the_feed_or_stdout() {
    let (url, _server) = prometheus(echo_401);
    let token = "tok-echo-401-bearer-5c1d";
    let tenant = "tenant-echo-401-77e2";
    let dir = tempfile::tempdir().unwrap();
    let cfg = prometheus_config(dir.path(), &url, "token_env = \"RH_TOKEN\"", "RH_TENANT");
    let envs = [("RH_TOKEN", token), ("RH_TENANT", tenant)];
    let out = run_headless_until(&cfg, &envs, "\"event\":\"snapshot\"");
    let all = everything_shown(dir.path(), &out);
    assert!(all.contains("HTTP 401"), "the reason is not shown: {all}");
    assert!(all.contains("bad credentials Bearer [redacted]"), "{all}");
    for secret in [token, tenant] {
        assert!(!all.contains(secret), "{secret} leaked: {all}");
    }

    let pair = "ana:pw-echo-401-basic-9f3a";
    let base64 = "YW5hOnB3LWVjaG8tNDAxLWJhc2ljLTlmM2E=";
    let dir = tempfile::tempdir().unwrap();
    let cfg = prometheus_config(
        dir.path(),
        &url,
        "basic_auth_env = \"RH_BASIC\"",
        "RH_TENANT",
    );
    let envs = [("RH_BASIC", pair), ("RH_TENANT", tenant)];
    let out = run_headless_until(&cfg, &envs, "\"event\":\"snapshot\"");
    let all = everything_shown(dir.path(), &out);
    assert!(all.contains("bad credentials Basic [redacted]"), "{all}");
    for secret in [pair, "pw-echo-401-basic-9f3a", base64, tenant] {
        assert!(!all.contains(secret), "{secret} leaked: {all}");
    }
}

#[test]
fn prometheus_warnings_are_journalled_and_printed_redacted() {
    let token = "tok-warn-echo-3b8e";
    let (url, _server) = prometheus(|req| {
        let body = serde_json::json!({
            "status": "success",
            "data": {"resultType": "scalar", "result": [1.0, "0.001"]},
            "warnings": [format!(
                "partial response: store down; asked with {}",
                req.header("authorization").unwrap_or("-")
            )],
        });
        cockpit::httpd::Response::json(200, body.to_string())
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = prometheus_config(
        dir.path(),
        &url,
        "token_env = \"RH_WARN_TOKEN\"",
        "RH_WARN_T",
    );
    let envs = [("RH_WARN_TOKEN", token), ("RH_WARN_T", "tenant-warn-1")];
    let out = run_headless_until(&cfg, &envs, "\"event\":\"source_warning\"");
    let warning = out
        .lines()
        .find(|l| l.contains("\"event\":\"source_warning\""))
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(warning).unwrap();
    assert_eq!(v["metric"], "error_rate");
    assert_eq!(
        v["text"],
        "partial response: store down; asked with Bearer [redacted]"
    );
    // Journalled when it starts, not on every poll.
    assert_eq!(
        out.matches("\"event\":\"source_warning\"").count(),
        1,
        "{out}"
    );
    let all = everything_shown(dir.path(), &out);
    assert!(
        all.contains("\"event\":\"source_warning\""),
        "not journalled"
    );
    assert!(!all.contains(token), "leaked: {all}");
}

#[test]
fn a_weight_the_traffic_does_not_follow_is_said_loudly() {
    let dir = tempfile::tempdir().unwrap();
    // The hook sets 10%, but the canary gets 2 requests of every 100.
    let (canary, _c) = scrape_page::serve(|| (2, 0));
    let (baseline, _b) = scrape_page::serve(|| (98, 0));
    let cfg = live_config(dir.path(), &canary);
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace(
            &format!("canary = [\"{canary}\"]"),
            &format!("canary = [\"{canary}\"]\nbaseline = [\"{baseline}\"]"),
        )
        .replace("[policy]\n", "[policy]\ntraffic_grace = \"1s\"\n");
    std::fs::write(&cfg, text).unwrap();
    let stdout = run_until(
        &["run", "--headless", "--auto-advance", "--config"],
        &cfg,
        "traffic_off",
    );
    let off: serde_json::Value = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|e| e["event"] == "traffic_off")
        .unwrap();
    assert_eq!(
        (off["set"].as_f64(), off["seen"].as_f64()),
        (Some(10.0), Some(2.0))
    );
    let text = off["text"].as_str().unwrap();
    assert!(
        text.starts_with("traffic did not move: set 10%, seen 2% for ")
            && text.ends_with("; the hook said OK"),
        "{text}"
    );
}

/// The pre-flight is the run's first record, so the report, a replay and
/// followers read what was checked and what failed before anything moved.
#[test]
fn the_pre_flight_is_journalled_before_the_start_with_its_failures() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _server) = scrape_page::healthy();
    let cfg = live_config(dir.path(), &url);
    // The undo hook's program is not installed: stage 1 waits unless forced.
    let text = std::fs::read_to_string(&cfg).unwrap();
    let text = text.replacen(
        "undo = { exec = [\"sh\"",
        "undo = { exec = [\"cockpit-no-such-program\"",
        1,
    );
    std::fs::write(&cfg, text).unwrap();
    let out = cockpit()
        .args(["run", "--headless", "--auto-advance"])
        .args(["--force-start", "the undo tool ships tomorrow", "--config"])
        .arg(&cfg)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    // Headless said it from its first lines, before any stage.
    let first: Vec<&str> = stdout.lines().take(3).collect();
    assert!(first[1].contains("\"event\":\"preflight\""), "{stdout}");
    let journal = std::fs::read_dir(dir.path().join("journal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .unwrap();
    let text = std::fs::read_to_string(&journal).unwrap();
    let records: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let named = |what: &str| {
        records
            .iter()
            .position(|r| r.to_string().contains(&format!("\"event\":\"{what}\"")))
    };
    let (preflight, started) = (named("preflight"), named("started"));
    assert!(preflight.is_some() && preflight < started, "{text}");
    let record = records[preflight.unwrap()].to_string();
    assert!(
        record.contains("cockpit-no-such-program") && record.contains("\"ok\":false"),
        "{record}"
    );
    assert!(
        record.contains("\"ok\":true"),
        "the metric checks: {record}"
    );
    // Followers read it in the live feed's log.
    let feed = std::fs::read_to_string(journal.with_extension("live.json")).unwrap();
    assert!(feed.contains("pre-flight: 1 of"), "{feed}");
    let report = cockpit().arg("report").arg(&journal).output().unwrap();
    let report = String::from_utf8_lossy(&report.stdout);
    assert!(
        report.contains("pre-flight: 1 of") && report.contains("cockpit-no-such-program"),
        "{report}"
    );
}
