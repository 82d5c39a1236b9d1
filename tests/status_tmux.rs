//! An incident commander with two rollouts in flight: two headless drills
//! drive in the background, sharing one journal dir; `cockpit watch` in a
//! real terminal (tmux, 80x24) opens the list of both instead of asking,
//! `enter` watches the selected one, `q` comes back to the list, and `q`
//! again quits.
//!
//! Every wait is bounded (a minute) and fails with what was on the screen.

mod drill_support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use drill_support::{Tmux, tmux_installed};

const BIN: &str = env!("CARGO_BIN_EXE_cockpit");

/// A drill driving headless at real speed (it outlasts the test), ended
/// when dropped.
struct Drill(Child);

impl Drill {
    fn start(data: &Path, scenario: &str) -> Drill {
        let child = Command::new(BIN)
            .args([
                "drill",
                "--headless",
                "--speed",
                "1",
                "--scenario",
                scenario,
            ])
            .env("XDG_DATA_HOME", data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Drill(child)
    }
}

impl Drop for Drill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// How many rollouts `cockpit status --json` counts as live in `data`.
fn live(data: &Path) -> usize {
    let out = Command::new(BIN)
        .args(["status", "--json"])
        .env("XDG_DATA_HOME", data)
        .output()
        .unwrap();
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap_or_default();
    rows.iter().filter(|r| r["ended"].is_null()).count()
}

#[test]
fn watch_with_two_live_rollouts_lists_them_enter_watches_one_and_q_comes_back() {
    if !tmux_installed() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let _healthy = Drill::start(data.path(), "healthy");
    let _creep = Drill::start(data.path(), "latency-creep");
    let begun = Instant::now();
    while live(data.path()) < 2 {
        assert!(
            begun.elapsed() < Duration::from_secs(60),
            "both drills publish their live feeds"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let command = format!(
        "XDG_DATA_HOME='{}' '{BIN}' watch; echo EXIT=$?; sleep 60",
        data.path().display()
    );
    let t = Tmux::start("list", &command);
    let list = t.wait_for("2 live rollouts here");
    assert!(!list.contains("name the one to follow"), "{list}");
    let names = ["drill healthy", "drill latency-creep"];
    let first = names
        .into_iter()
        .find(|n| list.contains(&format!("▶ {n}")))
        .unwrap_or_else(|| panic!("the first row is selected:\n{list}"));
    let picked = names.into_iter().find(|n| *n != first).unwrap();
    assert!(list.contains(picked), "{list}");

    // The arrows move the selection.
    t.keys(&["Down"]);
    t.wait_for(&format!("▶ {picked}"));
    t.keys(&["Enter"]);
    let watching = t.wait_for("WATCHING");
    let header = watching.lines().next().unwrap_or_default();
    assert!(header.starts_with(picked), "watching {picked}:\n{watching}");

    t.keys(&["q"]);
    t.wait_for("2 live rollouts here");
    t.keys(&["q"]);
    let end = t.wait_for("EXIT=");
    assert!(end.contains("EXIT=0"), "{end}");
}
