//! The drill tests' scenarios, journals and keys, on the shared tmux
//! helpers (`tests/support/tmux.rs`).
#![allow(dead_code)] // each test binary uses its own part of it

use std::time::{Duration, Instant};

#[path = "../support/tmux.rs"]
mod tmux;
pub use tmux::{Tmux, installed as tmux_installed};

/// Presses `a` (advance) every half second until `text` shows; bounded.
pub fn advance_until(t: &Tmux, text: &str) {
    advance_until_any(t, &[text]);
}

/// Presses `a` every half second until any of `texts` shows (a log line
/// may scroll away under load before it is seen; what follows it stays).
pub fn advance_until_any(t: &Tmux, texts: &[&str]) {
    let begun = Instant::now();
    while !texts.iter().any(|text| t.screen().contains(text)) {
        t.keys(&["a"]);
        assert!(begun.elapsed() < tmux::PATIENCE, "{}", t.screen());
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Waits for the drill's score, quits, and returns the last screen
/// (which ends with the shell's `EXIT=<code>`).
pub fn scored_then_quit(t: &Tmux) -> String {
    t.wait_for("drill score");
    t.keys(&["q"]);
    t.wait_for(tmux::EXIT_MARK)
}

/// `cockpit drill ARGS` in its own data dir; the shell says its exit code.
pub fn drill_command(data: &std::path::Path, args: &str) -> String {
    tmux::then_exit_status(&format!(
        "XDG_DATA_HOME='{}' '{}' drill {args}",
        data.display(),
        env!("CARGO_BIN_EXE_cockpit")
    ))
}

/// A short drill for a trainee: a 1-minute first stage, and at 25% the
/// canary answers 2% errors, critical at once; the breach's `for` and the
/// countdown are `secs` each, so the decision window is a few real seconds.
pub fn trainee_scenario(dir: &std::path::Path, name: &str, secs: u64) -> std::path::PathBuf {
    let body = format!(
        r#"duration = "8m"

[traffic]
rps = 10000
error_rate = 0.02
p95_ms = 150
jitter = 0.05

[rollout]
stages = [5, 25, 50, 100]
wait = "1m"

[policy]
on_critical = "countdown"
countdown = "{secs}s"
for = "{secs}s"
rollback_verify_within = "1m"

[expect]
outcome = "rolled_back"
stage = "25%"
within = "6m"

[[fault]]
what = "canary answers 2% of requests with 500"
target = "canary"
min_weight = 25
error_rate = 2.0
"#
    );
    scenario_file(dir, name, &body)
}

/// A scenario file named `name` in `dir`: `body` after the name, summary,
/// good operator and seed.
pub fn scenario_file(dir: &std::path::Path, name: &str, body: &str) -> std::path::PathBuf {
    let text = format!(
        "name = \"{name}\"\nsummary = \"a test drill\"\n\
         good_operator = \"Roll back at 25% during the countdown.\"\nseed = 25\n{body}"
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// The one journal a drill in `data` wrote, as text.
pub fn journal_text(data: &std::path::Path) -> String {
    let dir = data.join("cockpit/journal");
    let journal = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .expect("a journal");
    std::fs::read_to_string(journal).unwrap()
}

/// How long `text` stays on screen, in real time, from when it is first
/// seen (sampled every 20 ms; bounded: a minute each way).
pub fn on_screen_for(t: &Tmux, text: &str) -> Duration {
    let sample = |want: bool| {
        let begun = Instant::now();
        while t.screen().contains(text) != want {
            assert!(begun.elapsed() < Duration::from_secs(60), "{}", t.screen());
            std::thread::sleep(Duration::from_millis(20));
        }
        Instant::now()
    };
    let seen = sample(true);
    sample(false) - seen
}

/// The drill's journal holds exactly one score: it is written once, at the end.
pub fn assert_scored_once(data: &std::path::Path) {
    let journal = journal_text(data);
    assert_eq!(journal.matches("\"drill_score\"").count(), 1, "{journal}");
}
