//! `cockpit drill` on a real pseudo-terminal (tmux, 80x24): a drill nobody
//! drives stops at time up, held, with one score; a second engineer
//! follows it with `cockpit watch`. The trainee's drills: drill_tmux.rs.

use std::time::Duration;

mod drill_support;
use drill_support::{Tmux, advance_until, drill_command, tmux_installed};

#[test]
fn on_screen_a_drill_stops_when_its_time_is_up_held_with_one_score() {
    if !tmux_installed() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    // Nobody advances: at 2m, before the first stage's wait is over, the
    // drill is over.
    let scenario = drill_support::scenario_file(
        data.path(),
        "short",
        "duration = \"2m\"\n\n[traffic]\nrps = 1000\nerror_rate = 0.02\np95_ms = 150\n\n[expect]\noutcome = \"held\"\nstage = \"5%\"\nwithin = \"2m\"\n",
    );
    let args = format!(
        "--scenario '{}' --speed 60 --operator ana",
        scenario.display()
    );
    let t = Tmux::start("idle", &drill_command(data.path(), &args));
    t.wait_for("drill short");
    let screen = t.wait_for("EXIT=");
    assert!(
        screen.contains("EXIT=5"),
        "time up is held, exit 5:\n{screen}"
    );
    assert!(screen.contains("Drill short: held at 5%"), "{screen}");
    let text = drill_support::journal_text(data.path());
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
    watcher.keys(&["p"]);
    watcher.wait_for("read-only: you are watching; ana drives");
    std::thread::sleep(Duration::from_millis(600));
    assert!(!driver.screen().contains("PAUSED"), "{}", driver.screen());

    // The driver advances; the follower sees the first stage done.
    advance_until(&driver, "✓ 5%");
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
    watcher.keys(&["q"]);
    watcher.wait_for("EXIT=0");
}
