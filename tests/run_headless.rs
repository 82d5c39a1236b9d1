//! `cockpit run` as a pipeline or a script sees it: JSON lines on stdout,
//! the outcome in the exit code, and no screen without a terminal.

use std::path::Path;

use assert_cmd::Command;

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
        .args(["run", "--headless", "--checklist-done", "--config"])
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
    // The source is down, so the stage holds on "no data"; stop it after a moment.
    let out = cockpit()
        .args([
            "run",
            "--headless",
            "--override-window",
            "hotfix for INC-42",
            "--config",
        ])
        .arg(&cfg)
        .timeout(std::time::Duration::from_secs(3))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("\"action\":\"override_window\""),
        "{stdout}"
    );
    assert!(stdout.contains("hotfix for INC-42"), "{stdout}");
    assert!(stdout.contains("\"event\":\"stage_observing\""), "{stdout}");
    let journals: Vec<_> = std::fs::read_dir(dir.path().join("journal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(journals.len(), 1, "{journals:?}");
    let text = std::fs::read_to_string(&journals[0]).unwrap();
    assert!(text.contains("hotfix for INC-42"), "{text}");
}
