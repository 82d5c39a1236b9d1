//! The README's first command on a real pseudo-terminal (tmux, 80x24):
//! `cockpit drill` draws the same screen `cockpit run` does, the fault and
//! the score appear in its log, and `q` after the outcome exits with the
//! outcome's code. A second engineer follows it with `cockpit watch`.

use std::process::Command;
use std::time::{Duration, Instant};

/// A tmux server of our own, killed when the test ends.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(name: &str, command: &str) -> Tmux {
        let socket = format!("cockpit-drill-{}-{name}", std::process::id());
        let ok = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "new-session",
                "-d",
                "-x",
                "80",
                "-y",
                "24",
                command,
            ])
            .status()
            .unwrap()
            .success();
        assert!(ok, "tmux new-session failed");
        Tmux { socket }
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into()
    }

    /// Bounded: gives up after a minute and fails with what is on screen.
    fn wait_for(&self, text: &str) -> String {
        let begun = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                begun.elapsed() < Duration::from_secs(60),
                "never saw {text:?}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Presses `a` (advance) every half second until `text` shows; bounded.
    fn advance_until(&self, text: &str) {
        let begun = Instant::now();
        while !self.screen().contains(text) {
            self.keys("a");
            assert!(
                begun.elapsed() < Duration::from_secs(60),
                "{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn keys(&self, keys: &str) {
        Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", keys])
            .status()
            .unwrap();
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// `cockpit drill ARGS` in its own data dir; the shell says its exit code.
fn drill_command(data: &std::path::Path, args: &str) -> String {
    format!(
        "XDG_DATA_HOME='{}' '{}' drill {args}; echo EXIT=$?; sleep 60",
        data.display(),
        env!("CARGO_BIN_EXE_cockpit")
    )
}

fn tmux_installed() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "tmux not installed, and CI=true"
        );
        eprintln!("SKIP: tmux not installed");
    }
    ok
}

#[test]
fn a_drill_on_screen_shows_the_fault_and_the_score_and_quits_with_the_outcome() {
    if !tmux_installed() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let command = drill_command(
        data.path(),
        "--scenario error-burst --speed 60 --operator ana",
    );
    let t = Tmux::start("alone", &command);
    let screen = t.wait_for("drill error-burst");
    assert!(screen.contains("25%"), "{screen}");
    // On screen the operator advances: press `a` once the stage is green.
    t.advance_until("drill fault on");
    // Nobody holds the countdown: the policy rolls back; the score follows.
    let screen = t.wait_for("drill score");
    assert!(screen.contains("rolled"), "{screen}");
    t.keys("q");
    let screen = t.wait_for("EXIT=");
    assert!(
        screen.contains("EXIT=3"),
        "rolled back is exit 3:\n{screen}"
    );
    // The operator pressed nothing after the fault: the credit is the policy's.
    assert!(screen.contains("the POLICY's call"), "{screen}");
    assert!(screen.contains("the operator took no action"), "{screen}");
}

#[test]
fn a_trainee_who_rolls_back_during_the_countdown_gets_the_credit() {
    if !tmux_installed() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    // At 10x the 30 s countdown lasts 3 s: time enough to see it and press r.
    let command = drill_command(
        data.path(),
        "--scenario error-burst --speed 10 --operator ana",
    );
    let t = Tmux::start("trainee", &command);
    t.wait_for("drill error-burst");
    t.advance_until("drill fault on");
    // During the countdown `r` rolls back at once, no question asked.
    t.wait_for("AUTO-ROLLBACK IN");
    t.keys("r");
    t.wait_for("drill score");
    t.keys("q");
    let screen = t.wait_for("EXIT=");
    assert!(
        screen.contains("EXIT=3"),
        "rolled back is exit 3:\n{screen}"
    );
    assert!(screen.contains("RIGHT CALL"), "{screen}");
    assert!(
        screen.contains("the operator (ana) rolled back"),
        "{screen}"
    );
}

#[test]
fn on_screen_a_drill_stops_when_its_time_is_up_held_with_one_score() {
    if !tmux_installed() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    // Nobody advances the healthy release: at 16m the drill is over.
    let command = drill_command(data.path(), "--scenario healthy --speed 60 --operator ana");
    let t = Tmux::start("idle", &command);
    t.wait_for("drill healthy");
    let screen = t.wait_for("EXIT=");
    assert!(
        screen.contains("EXIT=5"),
        "time up is held, exit 5:\n{screen}"
    );
    assert!(screen.contains("Drill healthy: held at 5%"), "{screen}");
    let dir = data.path().join("cockpit/journal");
    let journal = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .unwrap();
    let text = std::fs::read_to_string(journal).unwrap();
    assert_eq!(text.matches("\"drill_score\"").count(), 1, "{text}");
    assert!(!text.contains("\"finished\""), "{text}");
}

/// The pid in the driver's live feed: the cockpit this test started.
fn driver_pid(data: &std::path::Path) -> String {
    let dir = data.join("cockpit/journal");
    let feed = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".live.json"))
        .expect("a live feed beside the journal");
    let live: serde_json::Value = serde_json::from_slice(&std::fs::read(feed).unwrap()).unwrap();
    live["pid"].to_string()
}

#[test]
fn a_second_engineer_follows_a_drill_read_only_and_is_told_when_the_driver_dies() {
    if !tmux_installed() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let cockpit = env!("CARGO_BIN_EXE_cockpit");
    let env = format!("XDG_DATA_HOME='{}'", data.path().display());
    let driver = Tmux::start(
        "driver",
        &format!(
            "{env} '{cockpit}' drill --scenario healthy --speed 30 --operator ana; echo EXIT=$?; sleep 60"
        ),
    );
    driver.wait_for("drill healthy");
    let watcher = Tmux::start(
        "watcher",
        &format!("{env} '{cockpit}' watch; echo EXIT=$?; sleep 60"),
    );
    let screen = watcher.wait_for("WATCHING · driver");
    assert!(screen.contains("driver ana"), "{screen}");
    assert!(screen.contains("drill healthy"), "{screen}");
    // The driver sees someone follows.
    driver.wait_for(" watching");

    // The follower's keys steer nothing: its `p` pauses nobody.
    watcher.keys("p");
    watcher.wait_for("read-only: you are watching; ana drives");
    std::thread::sleep(Duration::from_millis(600));
    assert!(!driver.screen().contains("PAUSED"), "{}", driver.screen());

    // The driver advances; the follower sees the first stage done.
    driver.advance_until("✓ 5%");
    watcher.wait_for("✓ 5%");

    // The driver's cockpit dies without a word (a dropped connection, kill -9).
    let pid = driver_pid(data.path());
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid])
        .status()
        .unwrap();
    assert!(killed.success(), "kill -9 {pid}");
    driver.wait_for("EXIT=137");
    let screen = watcher.wait_for("NO WORD FROM THE DRIVER");
    assert!(screen.contains("cockpit run --resume"), "{screen}");
    watcher.keys("q");
    watcher.wait_for("EXIT=0");
}
