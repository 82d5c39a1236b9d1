//! The real binary: one driver per rollout, the unfinished-run question,
//! `--fresh`, and `cockpit report --list`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

mod journal_support;
use journal_support::{bin, journal_files};

/// A rollout whose first stage's hook takes a few seconds and whose metric
/// source is down (no data holds the stage): a headless run of it keeps
/// running, and holding the lock, until killed.
fn config(dir: &Path) -> PathBuf {
    let text = format!(
        r#"
[rollout]
name = "checkout 2.0"
service = "checkout"
old_version = "1.9"
new_version = "2.0"

[[stage]]
name = "5%"
weight = 5
enter = {{ exec = ["sleep", "3"] }}
undo = {{ exec = ["true"] }}

[window]
enabled = false

[journal]
dir = "{}"

[scrape]
canary = ["http://127.0.0.1:9/metrics"]
"#,
        dir.join("journal").display()
    );
    let path = dir.join("cockpit.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn cockpit(config: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.args([
        "run",
        "--headless",
        "--auto-advance",
        "--checklist-done",
        "--operator",
        "alice@ops-1",
        "--config",
    ])
    .arg(config)
    .args(extra)
    .stdin(Stdio::null());
    c
}

/// Kills the driver it started when the test ends, pass or fail.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Driver {
    /// Starts a driver and waits (bounded) until it holds the lock and the
    /// journals hold `marks` copies of `mark`.
    fn start(config: &Path, extra: &[&str], mark: &str, marks: usize) -> Driver {
        let child = cockpit(config, extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let d = Driver(child);
        let dir = config.parent().unwrap().join("journal");
        let mine = format!("\"pid\":{},", d.0.id());
        for _ in 0..600 {
            let lock = std::fs::read_to_string(dir.join("checkout-2-0.lock")).unwrap_or_default();
            let seen: usize = journal_files(&dir)
                .iter()
                .map(|p| {
                    std::fs::read_to_string(p)
                        .unwrap_or_default()
                        .matches(mark)
                        .count()
                })
                .sum();
            if lock.contains(&mine) && seen >= marks {
                return d;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("cockpit {extra:?} never wrote {mark} x{marks}");
    }

    fn sigkill(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const HOOK: &str = "\"event\":\"hook_started\"";

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_second_cockpit_on_the_same_rollout_is_told_who_drives() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config(tmp.path());
    let first = Driver::start(&config, &[], HOOK, 1);
    let out = cockpit(&config, &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let err = stderr(&out);
    let want = format!(
        "error: rollout checkout 2.0 is driven by alice@ops-1 (pid {}) since ",
        first.0.id()
    );
    assert!(err.starts_with(&want), "{err}");
    assert!(err.contains("one driver per rollout"), "{err}");
    assert_eq!(
        journal_files(&tmp.path().join("journal")).len(),
        1,
        "no second journal"
    );
}

#[test]
fn after_a_kill_the_stale_lock_is_taken_over_and_the_unfinished_run_offered() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config(tmp.path());
    Driver::start(&config, &[], HOOK, 1).sigkill();
    let dir = tmp.path().join("journal");
    let old = journal_files(&dir).pop().unwrap();

    // Headless without --resume or --fresh: stop and say how to go on.
    let out = cockpit(&config, &[]).output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(err.contains("warning: took over the stale lock"), "{err}");
    assert!(
        err.contains("error: rollout checkout 2.0 has an unfinished run started "),
        "{err}"
    );
    assert!(
        err.contains("--resume carries it on, --fresh starts over"),
        "{err}"
    );
    assert_eq!(journal_files(&dir), vec![old.clone()], "nothing written");

    // --resume carries the same journal on, at the gate where it was.
    let resumed = Driver::start(&config, &["--resume", "--unknown-hook", "rerun"], HOOK, 2);
    drop(resumed);
    assert_eq!(journal_files(&dir), vec![old.clone()], "same journal");
    let text = std::fs::read_to_string(&old).unwrap();
    assert_eq!(text.matches("\"type\":\"resumed\"").count(), 1, "{text}");
    assert_eq!(text.matches("\"event\":\"started\"").count(), 1, "{text}");

    // --fresh leaves the old journal, marked abandoned, and starts another.
    let fresh = Driver::start(&config, &["--fresh"], HOOK, 3);
    drop(fresh);
    let files = journal_files(&dir);
    assert_eq!(files.len(), 2, "{files:?}");
    let text = std::fs::read_to_string(&old).unwrap();
    assert!(text.contains("\"type\":\"abandoned\""), "{text}");

    let list = Command::new(bin())
        .args(["report", "--list", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&list.stdout);
    let rows: Vec<&str> = stdout.lines().collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    assert!(
        rows[0].contains("unfinished") && rows[1].contains("abandoned"),
        "newest first:\n{stdout}"
    );
    assert!(rows[1].ends_with(&old.display().to_string()), "{stdout}");
}

#[test]
fn resume_with_nothing_to_resume_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config(tmp.path());
    // An unfinished drill of the same rollout is no run to resume.
    let drill = cockpit::journal::Header {
        rollout: "checkout 2.0".into(),
        config_path: "cockpit.toml".into(),
        config_hash: "sha256:0".into(),
        operator: "alice@ops-1".into(),
        ssh_connection: None,
        drill: true,
        started_at: 1_795_516_200_000,
    };
    cockpit::journal::Journal::create(&tmp.path().join("journal"), drill).unwrap();
    let out = cockpit(&config, &["--resume"]).output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(
        err.contains("nothing to resume: no unfinished run of rollout checkout 2.0"),
        "{err}"
    );
}
