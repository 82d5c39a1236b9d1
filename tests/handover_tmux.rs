//! Two engineers, two terminals: alice drives a rollout in one tmux window,
//! bob follows it with `cockpit watch` in another, as two Unix sessions of
//! one machine would. Bob leaves a note; alice hands him the wheel
//! mid-stage; a breach follows, which bob's cockpit rolls back while
//! alice's, a follower now, shows it. The journal and the report say who
//! drove when.
//!
//! Every wait polls with a generous deadline (the machine may be busy) and
//! fails with what was on the screen.

mod journal_support;
#[path = "support/scrape_page.rs"]
mod scrape_page;
#[path = "support/tmux.rs"]
mod tmux;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tmux::{Tmux, poll, quoted};

/// `cockpit ARGS` in `dir` as Unix user `user` (its `USER`, the name a
/// cockpit goes by) in a new window of `t` named `user`.
fn open(t: &Tmux, dir: &Path, user: &str, args: &[&str]) -> Tmux {
    let command = format!(
        "cd '{}' && USER={user} '{}' {}; exec sleep 600",
        dir.display(),
        journal_support::bin().display(),
        quoted(args)
    );
    t.open(user, &command)
}

/// A canary healthy until `failing` is set, then one request in two fails.
fn fixture(failing: Arc<AtomicBool>) -> (String, tokio::runtime::Runtime) {
    scrape_page::serve(move || {
        let errors = if failing.load(Ordering::SeqCst) {
            50
        } else {
            0
        };
        (100, errors)
    })
}

/// A first stage long enough to hand over in, hooks that log the weight.
fn config(dir: &Path, url: &str) {
    let text = format!(
        r#"
[rollout]
name = "checkout 2.0"
service = "checkout"
old_version = "1.9"
new_version = "2.0"

[hooks]
enter = {{ exec = ["sh", "-c", "echo $0 >> weights.log", "{{weight}}"] }}
undo = {{ exec = ["sh", "-c", "echo undo $0 >> weights.log", "{{previous_weight}}"] }}

[[stage]]
name = "canary"
weight = 10
wait = "30m"

[[stage]]
name = "all"
weight = 100
wait = "2s"

[scrape]
canary = ["{url}"]
every = "200ms"

[[metric]]
name = "error_rate"
kind = "error_rate"
for = "1s"

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
        journal = dir.join("journal").display()
    );
    std::fs::write(dir.join("cockpit.toml"), text).unwrap();
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

fn journal_of(dir: &Path) -> PathBuf {
    let files = journal_support::journal_files(&dir.join("journal"));
    files.into_iter().next().expect("a journal")
}

fn journal_lines(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(journal_of(dir))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Two engineers' windows of one private tmux server.
struct Pair {
    alice: Tmux,
    bob: Tmux,
}

/// Alice drives stage 1; bob follows.
fn alice_drives_bob_follows(dir: &Path) -> Pair {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let t = Tmux::start_sized(&name, (100, 30), "exec sleep 600");
    let alice = open(&t, dir, "alice", &["run", "--config", "cockpit.toml"]);
    alice.wait_for("s starts the rollout");
    alice.keys(&["s"]);
    poll(|| {
        let log = std::fs::read_to_string(dir.join("weights.log")).ok()?;
        log.contains("10").then_some(())
    })
    .expect("stage 1's enter hook ran");
    let bob = open(&t, dir, "bob", &["watch", "--config", "cockpit.toml"]);
    bob.wait_for(&format!("driver alice@{}", host()));
    Pair { alice, bob }
}

#[test]
fn a_followers_note_reaches_the_journal_under_the_followers_name() {
    if !tmux::installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (url, _server) = fixture(Arc::default());
    config(dir.path(), &url);
    let t = alice_drives_bob_follows(dir.path());
    t.bob.keys(&["n"]);
    t.bob.wait_for("Note for the incident log");
    t.bob.type_text("canary p95 looks odd");
    t.bob.keys(&["Enter"]);
    // Journalled by alice's cockpit, so on both screens.
    let bob = format!("bob@{}", host());
    t.alice
        .wait_for(&format!("note by {bob}: canary p95 looks odd"));
    t.bob
        .wait_for(&format!("note by {bob}: canary p95 looks odd"));
    let lines = journal_lines(dir.path());
    let note = lines
        .iter()
        .find(|l| l["event"]["event"] == "note")
        .unwrap_or_else(|| panic!("no note in the journal: {lines:#?}"));
    assert!(note.to_string().contains(&bob), "{note}");
    assert!(note.to_string().contains("canary p95 looks odd"), "{note}");
    // A follower still cannot steer.
    t.bob.keys(&["r"]);
    t.bob.wait_for("read-only");
}

#[test]
fn alice_hands_bob_the_wheel_mid_stage_and_his_cockpit_rolls_back_the_breach() {
    if !tmux::installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let failing = Arc::new(AtomicBool::new(false));
    let (url, _server) = fixture(failing.clone());
    config(dir.path(), &url);
    let t = alice_drives_bob_follows(dir.path());
    let (alice, bob) = (format!("alice@{}", host()), format!("bob@{}", host()));
    t.alice.keys(&["H"]);
    t.alice.wait_for("· wheel offered");
    t.bob.wait_for("offers you the wheel: T takes it");
    t.bob.keys(&["T"]);
    // Bob drives (his screen leads with his name and steers), alice follows.
    t.bob.wait_for(&format!("driver {bob}"));
    t.alice.wait_for(&format!("driver {bob}"));
    t.alice.keys(&["r"]);
    t.alice.wait_for("read-only");

    failing.store(true, Ordering::SeqCst);
    poll(|| {
        let log = std::fs::read_to_string(dir.path().join("weights.log")).ok()?;
        log.contains("undo").then_some(())
    })
    .unwrap_or_else(|| panic!("no rollback; bob's screen:\n{}", t.bob.screen()));
    t.bob.wait_for("rolled back");
    t.alice.wait_for("rolled back");

    let lines = journal_lines(dir.path());
    let change = lines
        .iter()
        .find(|l| l["type"] == "driver")
        .unwrap_or_else(|| panic!("no change of driver journalled: {lines:#?}"));
    assert_eq!(change["from"], alice.as_str());
    assert_eq!(change["to"], bob.as_str());
    assert!(
        change["why"].as_str().unwrap().contains("took it"),
        "{change}"
    );
    let resumed = lines
        .iter()
        .find(|l| l["type"] == "resumed")
        .expect("bob resumed");
    assert_eq!(resumed["by"], bob.as_str());
    // Not asserted (the machine may be busy): how long nobody polled.
    let gap = resumed["at"].as_u64().unwrap() - change["at"].as_u64().unwrap();
    eprintln!("hand-over: the journal's change of driver to bob's resume took {gap} ms");
    // The one hook of stage 1 ran once: nothing decided twice.
    let weights = std::fs::read_to_string(dir.path().join("weights.log")).unwrap();
    assert_eq!(
        weights.lines().filter(|l| *l == "10").count(),
        1,
        "{weights}"
    );

    let report = Command::new(journal_support::bin())
        .arg("report")
        .arg(journal_of(dir.path()))
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&report.stdout);
    let drove = report
        .split("## Who drove")
        .nth(1)
        .unwrap_or_else(|| panic!("no \"Who drove\" in the report:\n{report}"));
    let alice_at = drove.find(&alice).expect("alice in Who drove");
    let bob_at = drove.find(&bob).expect("bob in Who drove");
    assert!(alice_at < bob_at, "{drove}");
}
