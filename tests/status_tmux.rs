//! An incident commander with two rollouts in flight: two headless drills
//! drive in the background, sharing one journal dir; `cockpit watch` in a
//! real terminal (tmux, 120x40) opens the list of both instead of asking,
//! `enter` watches the selected one, `q` comes back to the list, and `q`
//! again quits.
//!
//! Every wait polls with a generous deadline (the machine may be busy) and
//! fails with what was on the screen.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PATIENCE: Duration = Duration::from_secs(90);
const BIN: &str = env!("CARGO_BIN_EXE_cockpit");

fn poll<T>(mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let begun = Instant::now();
    loop {
        if let Some(v) = probe() {
            return Some(v);
        }
        if begun.elapsed() > PATIENCE {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn tmux_installed() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "tmux not installed, and CI=true: the status list test must run"
        );
        eprintln!("SKIP: tmux not installed");
    }
    ok
}

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

/// A private tmux server with one pane running `command`.
struct Tmux {
    socket: String,
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

impl Tmux {
    fn start(command: &str) -> Tmux {
        let t = Tmux {
            socket: format!("cockpit-status-{}", std::process::id()),
        };
        let out = t.tmux(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            "120",
            "-y",
            "40",
            command,
        ]);
        assert!(out.status.success(), "{out:?}");
        t
    }

    fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .unwrap()
    }

    fn key(&self, key: &str) {
        let out = self.tmux(&["send-keys", key]);
        assert!(out.status.success(), "send-keys {key}: {out:?}");
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p"]).stdout).into_owned()
    }

    fn wait_for(&self, text: &str) -> String {
        let mut last = String::new();
        poll(|| {
            last = self.screen();
            last.contains(text).then(|| last.clone())
        })
        .unwrap_or_else(|| panic!("waited for {text:?} on screen, which shows:\n{last}"))
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
    poll(|| (live(data.path()) == 2).then_some(())).expect("both drills publish their live feeds");

    let command = format!(
        "XDG_DATA_HOME='{}' '{BIN}' watch; echo EXIT=$?; sleep 600",
        data.path().display()
    );
    let t = Tmux::start(&command);
    let list = t.wait_for("2 live rollouts here");
    assert!(list.contains("drill healthy"), "{list}");
    assert!(list.contains("drill latency-creep"), "{list}");
    assert!(!list.contains("name the one to follow"), "{list}");

    // The second one, whichever it is: the arrows move the selection.
    t.key("Down");
    let moved = poll(|| {
        let s = t.screen();
        let line = s.lines().find(|l| l.starts_with('▶'))?.to_string();
        let first = s.lines().find(|l| l.contains("drill "))?.to_string();
        (line != first).then_some(line)
    })
    .unwrap_or_else(|| panic!("the selection moves down:\n{}", t.screen()));
    let picked = ["drill healthy", "drill latency-creep"]
        .into_iter()
        .find(|name| moved.contains(name))
        .expect("a rollout is selected");

    t.key("Enter");
    let watching = t.wait_for("WATCHING");
    let header = watching.lines().next().unwrap_or_default();
    assert!(header.starts_with(picked), "watching {picked}:\n{watching}");

    t.key("q");
    t.wait_for("2 live rollouts here");
    t.key("q");
    let end = t.wait_for("EXIT=");
    assert!(end.contains("EXIT=0"), "{end}");
}
