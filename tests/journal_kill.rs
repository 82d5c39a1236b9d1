//! SIGKILL the real binary at many points of a headless rollout (before,
//! during and after its hooks), resume it, and check that it ends as an
//! uninterrupted run does, with no decision lost or written twice.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use cockpit::journal;
use cockpit::rollout::{Event, Move};

mod journal_support;
#[path = "support/scrape_page.rs"]
mod scrape_page;
use journal_support::{bin, journal_files};

/// Two stages; every enter hook logs itself then takes 400 ms, so kills
/// land before, during and after hooks.
fn config(dir: &Path, url: &str) -> PathBuf {
    let log = dir.join("hooks.log");
    let text = format!(
        r#"
[rollout]
name = "checkout 2.0"
service = "checkout"
old_version = "1.9"
new_version = "2.0"

[hooks]
enter = {{ exec = ["sh", "-c", "echo enter $COCKPIT_STAGE >> '{log}'; sleep 0.4"] }}
undo = {{ exec = ["sh", "-c", "echo undo $COCKPIT_STAGE >> '{log}'"] }}

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

[checklist]
items = []

[window]
enabled = false

[journal]
dir = "{journal}"
"#,
        log = log.display(),
        journal = dir.join("journal").display()
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
        "--operator",
        "ci@runner",
        "--config",
    ])
    .arg(config)
    .args(extra)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    c
}

/// Kills the cockpit it started when dropped, pass or fail.
struct Run(Option<Child>);

impl Drop for Run {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Run {
    /// Waits (bounded: 2 minutes) for the run to end by itself.
    fn finish(mut self) -> Output {
        let mut child = self.0.take().unwrap();
        for _ in 0..1200 {
            if child.try_wait().unwrap().is_some() {
                return child.wait_with_output().unwrap();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        panic!(
            "the run did not end: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// What "ended as an uninterrupted run would" means, read from the journal
/// as readers see it (voided lines skipped).
#[derive(Debug, PartialEq)]
struct Ending {
    decisions: Vec<(Move, usize)>,
    /// The operator's answers about a hook cut off by the kill (retry or
    /// skip): decisions of their own, made on resume.
    answers: usize,
    stages_entered: Vec<usize>,
    finished: usize,
    status: String,
}

fn ending(path: &Path) -> Ending {
    let read = journal::read(path).unwrap_or_else(|e| panic!("{e}"));
    let mut e = Ending {
        decisions: vec![],
        answers: 0,
        stages_entered: vec![],
        finished: 0,
        status: read.status().to_string(),
    };
    for (_, event) in read.events() {
        match event {
            Event::Decision {
                action: Move::Retry | Move::Skip,
                ..
            } => e.answers += 1,
            Event::Decision { action, stage, .. } => e.decisions.push((*action, *stage)),
            Event::StageEntering { stage, .. } => e.stages_entered.push(*stage),
            Event::Finished { .. } => e.finished += 1,
            _ => {}
        }
    }
    e
}

fn journal_of(dir: &Path) -> PathBuf {
    let files = journal_files(&dir.join("journal"));
    assert_eq!(files.len(), 1, "one run, one journal: {files:?}");
    files[0].clone()
}

/// Waits until the journal holds `lines` lines, then SIGKILLs the run.
/// Returns false when the run ended first.
fn kill_after(dir: &Path, run: &mut Run, lines: usize) -> bool {
    let child = run.0.as_mut().unwrap();
    // Bounded by a generous deadline, not a count of polls: on a loaded
    // machine a 5-second rollout can take much longer.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while std::time::Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        let written = journal_files(&dir.join("journal")).first().map_or(0, |p| {
            std::fs::read(p)
                .unwrap_or_default()
                .iter()
                .filter(|b| **b == b'\n')
                .count()
        });
        if written >= lines {
            child.kill().unwrap();
            child.wait().unwrap();
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("the journal never reached {lines} lines");
}

#[test]
fn a_run_killed_anywhere_and_resumed_ends_like_an_uninterrupted_one() {
    let (url, _server) = scrape_page::healthy();

    let clean = tempfile::tempdir().unwrap();
    let cfg = config(clean.path(), &url);
    let out = Run(Some(cockpit(&cfg, &[]).spawn().unwrap())).finish();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let path = journal_of(clean.path());
    let want = ending(&path);
    assert_eq!(want.decisions, vec![(Move::Advance, 0), (Move::Promote, 1)]);
    assert_eq!(want.status, "promoted");
    let total = journal::read(&path).unwrap().entries.len();

    // Kill after every few lines of the clean run's journal: header, start,
    // each hook's start (its 400 ms run), its end, observing, advancing.
    let mut killed = 0;
    for (i, lines) in (1..total).step_by(2).enumerate() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = config(tmp.path(), &url);
        let mut run = Run(Some(cockpit(&cfg, &[]).spawn().unwrap()));
        if !kill_after(tmp.path(), &mut run, lines) {
            continue;
        }
        killed += 1;
        let path = journal_of(tmp.path());
        let finished = journal::read(&path).is_ok_and(|r| r.status().to_string() == "promoted");
        if !finished {
            // A hook cut off mid-run: alternate the operator's two answers.
            let answer = if i % 2 == 0 { "rerun" } else { "done" };
            let mut resumed = cockpit(&cfg, &["--resume", "--unknown-hook", answer]);
            let out = Run(Some(resumed.spawn().unwrap())).finish();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(0),
                "killed after {lines} lines: {stderr}"
            );
        }
        let mut got = ending(&journal_of(tmp.path()));
        assert!(got.answers <= 1, "one answer per resume at most: {got:?}");
        got.answers = 0;
        assert_eq!(got, want, "killed after {lines} lines");
    }
    eprintln!("{killed} kills landed in a {total}-line run");
    assert!(killed >= 5, "only {killed} kills landed before the end");
}

#[test]
fn a_hook_cut_off_by_a_kill_is_never_rerun_without_a_word() {
    let (url, _server) = scrape_page::healthy();
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), &url);
    // The enter hook waits (bounded: 60 s) for the test to let it go, so
    // the kill lands inside it however slowly a loaded machine runs.
    let release = tmp.path().join("release");
    let wait = format!(
        "i=0; while [ ! -e '{}' ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done",
        release.display()
    );
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text.replacen("sleep 0.4", &wait, 1)).unwrap();
    let mut run = Run(Some(cockpit(&cfg, &[]).spawn().unwrap()));
    let child = run.0.as_mut().unwrap();
    let mut in_hook = false;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        let log = std::fs::read_to_string(tmp.path().join("hooks.log")).unwrap_or_default();
        if !log.is_empty() {
            let text = std::fs::read_to_string(journal_of(tmp.path())).unwrap();
            in_hook = !text.contains("\"event\":\"hook_finished\"");
            child.kill().unwrap();
            child.wait().unwrap();
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // The orphaned hook ends now; the resumed run must not start it again.
    std::fs::write(&release, "").unwrap();
    assert!(in_hook, "the kill did not land during the first hook");
    let out = cockpit(&cfg, &["--resume"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(5), "{stderr}{stdout}");
    assert!(
        stderr.contains("the cockpit stopped while `sh -c echo enter $COCKPIT_STAGE"),
        "names the command: {stderr}"
    );
    assert!(
        stdout.contains("resume with --unknown-hook rerun|done"),
        "{stdout}"
    );
    let log = std::fs::read_to_string(tmp.path().join("hooks.log")).unwrap_or_default();
    assert_eq!(log, "enter 10%\n", "ran once, not again");
}

#[test]
fn a_run_killed_at_a_url_gate_watches_the_gate_again_on_resume() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let (url, _server) = scrape_page::healthy();
    let open = Arc::new(AtomicBool::new(false));
    let gate_rt = tokio::runtime::Runtime::new().unwrap();
    let flag = open.clone();
    let (gate, _task) = gate_rt
        .block_on(cockpit::httpd::serve(0, move |_req| {
            let status = if flag.load(Ordering::SeqCst) {
                200
            } else {
                503
            };
            async move { cockpit::httpd::Response::text(status, "gate") }
        }))
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), &url);
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "name = \"100%\"\n",
        &format!("name = \"100%\"\ngate = {{ url = \"http://{gate}/open\", every = \"200ms\" }}\n"),
    );
    std::fs::write(&cfg, text).unwrap();

    let mut run = Run(Some(cockpit(&cfg, &[]).spawn().unwrap()));
    let child = run.0.as_mut().unwrap();
    let mut at_gate = false;
    for _ in 0..2400 {
        let journal = journal_files(&tmp.path().join("journal"));
        let text = journal
            .first()
            .map(|p| std::fs::read_to_string(p).unwrap_or_default());
        if text.is_some_and(|t| t.contains("\"event\":\"waiting_for_gate\"")) {
            at_gate = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(at_gate, "the run never reached the gate");
    child.kill().unwrap();
    child.wait().unwrap();

    open.store(true, Ordering::SeqCst);
    let out = Run(Some(cockpit(&cfg, &["--resume"]).spawn().unwrap())).finish();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let ending = ending(&journal_of(tmp.path()));
    assert_eq!(ending.status, "promoted");
    assert_eq!(ending.stages_entered, vec![0, 1]);
}
