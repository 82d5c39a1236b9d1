//! The real binary in a real pseudo-terminal: tmux runs `cockpit run` in a
//! detached 80x24 session, `send-keys` presses keys, `capture-pane` reads
//! what the operator sees. Each test has a private tmux server (`-L`) and
//! kills only that server.
//!
//! The machine running these may be busy: every wait polls for a condition
//! with a generous deadline instead of sleeping a fixed time, and a deadline
//! that passes fails with what was on the screen.

mod journal_support;
mod metrics_support;
#[path = "support/scrape_page.rs"]
mod scrape_page;
#[path = "support/tmux.rs"]
mod tmux;

use std::path::{Path, PathBuf};
use std::process::Command;

use tmux::{Tmux, poll, quoted, then_exit_status};

/// Starts `cockpit run` with `args` in an 80x24 window, in `dir`.
fn start(dir: &Path, args: &[&str]) -> Tmux {
    start_with(dir, "", args)
}

/// Same, with `env` (`NAME=value ...`) set for the cockpit.
fn start_with(dir: &Path, env: &str, args: &[&str]) -> Tmux {
    let command = format!(
        "cd '{}' && SSH_CONNECTION='10.0.0.1 50000 10.0.0.2 22' {env} '{}' run {}",
        dir.display(),
        journal_support::bin().display(),
        quoted(args)
    );
    Tmux::start("run", &then_exit_status(&command))
}

/// Two stages whose enter hooks write the weight the traffic layer would
/// see into `weights.log`, the metrics scraped from `url`.
fn live_config(dir: &Path, url: &str) -> PathBuf {
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
wait = "2s"

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

[checklist]
items = ["Tests green", "Review done"]

[journal]
dir = "journal"
"#
    );
    let path = dir.join("cockpit.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// One irreversible stage, no hooks, a metric source that is down.
fn quiet_config(dir: &Path) -> PathBuf {
    let text = r#"
[rollout]
name = "checkout 2.0"
service = "checkout"
old_version = "1.9"
new_version = "2.0"

[[stage]]
name = "all"
weight = 100
irreversible = true

[scrape]
canary = ["http://127.0.0.1:9/metrics"]

[journal]
dir = "journal"
"#;
    let path = dir.join("cockpit.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn keys_drive_a_rollout_in_a_real_terminal() {
    if !tmux::installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (url, _server) = scrape_page::healthy();
    live_config(dir.path(), &url);
    let t = start(
        dir.path(),
        &[
            "--config",
            "cockpit.toml",
            "--override-window",
            "test",
            "--operator",
            "alice@ops-1",
        ],
    );
    let first = t.wait_for("Not started: s starts the rollout");
    assert!(first.contains("driver alice@ops-1 (SSH)"), "{first}");
    assert!(first.contains(" 1 [ ] Tests green"), "{first}");
    // The checklist is ticked by keys.
    t.keys(&["1", "2"]);
    t.wait_for(" 2 [x] Review done");
    // Help opens from the key map and closes again.
    t.keys(&["?"]);
    let help = t.wait_for("help: keys from [ui] keys");
    // At 80x24 the keys take two columns, each described as far as it fits.
    assert!(
        help.contains("p/space  pause or resume the observa"),
        "{help}"
    );
    assert!(help.contains("enter  open the selected metric"), "{help}");
    t.keys(&["?"]);
    t.wait("help to close", |s| !s.contains("help: keys from"));
    t.keys(&["s"]);
    t.wait_for("Ready to advance to 100% (a)");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("weights.log")).unwrap(),
        "10\n"
    );
    // Pause: the decision line says so; resume with space.
    t.keys(&["p"]);
    t.wait_for("Paused: observation clock stopped (p resumes)");
    t.keys(&["Space"]);
    t.wait_for("Ready to advance to 100% (a)");
    t.keys(&["a"]);
    t.wait_for("Ready to promote to 100% (a)");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("weights.log")).unwrap(),
        "10\n100\n",
        "the traffic layer saw the advance"
    );
    // A note goes through the one-line editor into the log.
    t.keys(&["n"]);
    t.wait_for("Note for the incident log");
    t.type_text("all good");
    t.keys(&["Enter"]);
    t.wait_for("note by alice@ops-1: all good");
    t.keys(&["a"]);
    t.wait_for("Promoted: all stages done");
    // Finished: q quits at once, with the outcome as the exit code.
    t.keys(&["q"]);
    assert_eq!(t.exited(), Some(0), "{}", t.history());
}

/// Started by keys on the quiet config: observing, holding on no data.
fn quiet_session(dir: &Path) -> Tmux {
    quiet_config(dir);
    let t = start(
        dir,
        &[
            "--config",
            "cockpit.toml",
            "--override-window",
            "test",
            "--checklist-done",
        ],
    );
    t.wait_for("Not started: s starts the rollout");
    t.keys(&["s"]);
    // The source is down: no data, with the reason, never ok.
    let holding = t.wait_for("no data (cannot connect to http://127.0.0.1:9/metrics");
    assert!(
        holding.contains("» Holding: ") && holding.contains("? NO DATA"),
        "{holding}"
    );
    t
}

#[test]
fn quit_asks_first_and_sighup_restores_the_terminal() {
    if !tmux::installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let t = quiet_session(dir.path());
    // q while live asks; anything but y keeps the rollout.
    t.keys(&["q"]);
    t.wait_for("Quit? The rollout stays where it is");
    t.keys(&["n"]);
    t.wait("the question to close", |s| !s.contains("Quit?"));
    assert_eq!(t.format("#{pane_dead}"), "0");
    // A dropped SSH connection: SIGHUP. The terminal is restored and the
    // process exits "stopped, resumable".
    let pid = t.command_pid();
    let killed = Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    assert!(killed.success());
    assert_eq!(t.exited(), Some(5), "{}", t.history());
    assert_eq!(
        t.format("#{alternate_on}"),
        "0",
        "still on the alternate screen"
    );
    // With the history: tmux may scroll the first line of the restored screen.
    let after = t.history();
    assert!(after.contains("cockpit: SIGHUP received"), "{after}");
    assert!(
        !after.contains("metrics:"),
        "the screen was not restored:\n{after}"
    );
    assert!(after.contains("cockpit: journal journal/"), "{after}");
}

#[test]
fn a_resized_terminal_is_redrawn_to_its_new_size() {
    if !tmux::installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let t = quiet_session(dir.path());
    let narrow = t.screen();
    assert!(
        !narrow.contains("TREND"),
        "no sparklines at 80 columns:\n{narrow}"
    );
    t.run(&["resize-window", "-t", "0", "-x", "120", "-y", "40"]);
    let wide = t.wait_for("TREND (taller is worse)");
    assert!(
        wide.lines()
            .any(|l| l.chars().count() == 120 && l.ends_with('┐')),
        "{wide}"
    );
    t.run(&["resize-window", "-t", "0", "-x", "80", "-y", "24"]);
    t.wait("the trend column to go", |s| {
        !s.contains("TREND") && s.contains("? NO DATA")
    });
    t.keys(&["q"]);
    t.wait_for("Quit? The rollout stays where it is");
    t.keys(&["y"]);
    let code = t.exited();
    assert_eq!(
        code,
        Some(5),
        "quit leaves the rollout resumable:\n{}",
        t.history()
    );
}

#[test]
fn a_panic_in_a_background_task_stops_the_screen_and_restores_the_terminal() {
    if !tmux::installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    quiet_config(dir.path());
    let t = start_with(
        dir.path(),
        "COCKPIT_TEST_PANIC_WHEN=panic.now",
        &[
            "--config",
            "cockpit.toml",
            "--override-window",
            "test",
            "--checklist-done",
        ],
    );
    t.wait_for("Not started: s starts the rollout");
    // The task panics once the screen is up, whatever the machine's load.
    std::fs::write(dir.path().join("panic.now"), "").unwrap();
    // An internal fault is exit 1, not a screen drawing over a restored terminal.
    assert_eq!(t.exited(), Some(1), "{}", t.history());
    assert_eq!(
        t.format("#{alternate_on}"),
        "0",
        "still on the alternate screen"
    );
    let after = t.history();
    assert!(after.contains("test panic in a background task"), "{after}");
    assert!(
        after.contains("cockpit: internal error, stopping"),
        "{after}"
    );
    assert!(
        !after.contains("metrics:") && !after.contains("Not started"),
        "{after}"
    );
}

/// The start panel's text as one line: borders dropped, wrapped lines
/// joined with a space, so a wrapped message reads whole.
fn panel_text(screen: &str) -> String {
    screen
        .lines()
        .map(|l| {
            l.trim()
                .trim_start_matches('│')
                .trim_end_matches('│')
                .trim()
        })
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn a_broken_query_keeps_stage_one_from_starting_until_forced_with_a_reason() {
    if !tmux::installed() {
        return;
    }
    let Some(prom) = metrics_support::Prometheus::start("none", &[]) else {
        return;
    };
    // Up and answering before the cockpit asks it anything.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(prom.value("vector(1)"));
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"{}
[[stage]]
name = "all"
weight = 100
wait = "1m"
enter = {{ exec = ["touch", "entered"] }}

[prometheus]
url = "{}"

{}
[checklist]
items = []

[journal]
dir = "journal"
"#,
        metrics_support::ROLLOUT,
        prom.url(),
        metrics_support::custom_metric("queue", "sum(rate(queue_jobs[1m])"),
    );
    std::fs::write(dir.path().join("cockpit.toml"), text).unwrap();
    let t = start(dir.path(), &["--config", "cockpit.toml"]);
    let screen = t.wait_for("Pre-flight: 2 of 4 checks failed");
    let panel = panel_text(&screen);
    // The query exactly as sent, and Prometheus' own words about it.
    assert!(
        panel.contains("✗ queue (baseline): sum(rate(queue_jobs[1m])"),
        "{screen}"
    );
    assert!(
        panel.contains("bad_data: invalid parameter \"query\"")
            && panel.contains("parse error: unclosed left parenthesis"),
        "{screen}"
    );
    assert!(
        panel.contains(
            "» Not started: the pre-flight failed; s refuses until it passes, F starts anyway"
        ),
        "{screen}"
    );
    assert!(screen.contains("F force start"), "the footer: {screen}");
    // s refuses, and says why; nothing moved.
    t.keys(&["s"]);
    let refused = t.wait_for("not started: the pre-flight failed (see above)");
    assert!(refused.contains("before the rollout"), "{refused}");
    assert!(!dir.path().join("entered").exists(), "an enter hook ran");
    // F asks for the reason; the start goes through, journalled.
    t.keys(&["F"]);
    t.wait_for("Start despite the failed pre-flight");
    t.type_text("queue metric is new, judged by hand");
    t.keys(&["Enter"]);
    t.wait_for("FORCED START: queue metric is new");
    poll(|| dir.path().join("entered").exists().then_some(()))
        .unwrap_or_else(|| panic!("the enter hook never ran: {}", t.screen()));
    t.keys(&["q"]);
    t.wait_for("Quit? The rollout stays where it is");
    t.keys(&["y"]);
    assert_eq!(t.exited(), Some(5), "{}", t.history());
}

/// In a real pseudo-terminal, enter opens the selected metric: what it
/// asks, what it was told (the connection error, with its time) and its
/// verdicts; esc returns to the table.
#[test]
fn enter_opens_a_metric_and_esc_returns_in_a_real_terminal() {
    if !tmux::installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let t = quiet_session(dir.path());
    t.keys(&["Down"]);
    t.keys(&["Enter"]);
    // The first poll's answer reaches the open view as it arrives.
    let open = t.wait_for("canary said: no data: cannot connect");
    assert!(open.contains("canary asks: scrape"), "{open}");
    assert!(open.contains("    http://127.0.0.1:9/metrics"), "{open}");
    assert!(open.contains("verdicts in this stage:"), "{open}");
    assert!(open.contains("esc back"), "{open}");
    t.keys(&["Escape"]);
    let table = t.wait("the table again", |s| s.contains("metrics: all"));
    assert!(!table.contains("canary asks:"), "{table}");
    t.keys(&["q"]);
    t.wait_for("Quit? The rollout stays where it is");
    t.keys(&["y"]);
    assert_eq!(t.exited(), Some(5), "{}", t.history());
}
