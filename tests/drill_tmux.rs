//! A trainee plays a drill on a real pseudo-terminal (tmux, 80x24): the
//! decision windows run in real seconds whatever `--speed` says, and the
//! score credits whoever made the call. A blind drill keeps its scenario
//! off the screen until the score.

use std::time::Duration;

mod drill_support;
use drill_support::{
    Tmux, advance_until, advance_until_any, assert_scored_once, drill_command, journal_text,
    on_screen_for, scored_then_quit, tmux_installed, trainee_scenario,
};

/// The countdown and the breach's `for`, in seconds of the scenario.
const WINDOW: u64 = 4;

/// A trainee drill at `--speed 60`, advanced until its fault is on.
fn at_the_fault(name: &str) -> (tempfile::TempDir, Tmux) {
    let data = tempfile::tempdir().unwrap();
    let scenario = trainee_scenario(data.path(), "trainee", WINDOW);
    let args = format!(
        "--scenario '{}' --speed 60 --operator ana",
        scenario.display()
    );
    let t = Tmux::start(name, &drill_command(data.path(), &args));
    t.wait_for("drill trainee");
    advance_until(&t, "drill fault on");
    (data, t)
}

#[test]
fn at_60x_the_countdown_lasts_its_real_seconds_and_an_idle_trainee_is_saved_by_the_policy() {
    if !tmux_installed() {
        return;
    }
    let (data, t) = at_the_fault("idle");
    // At 60x a 4 s countdown would flash by in 67 ms; at human pace it
    // lasts its 4 real seconds, less what watching the screen misses (we
    // measured ~0.4 s: the first redraw, tmux's capture, 20 ms samples).
    let lasted = on_screen_for(&t, "AUTO-ROLLBACK IN");
    assert!(
        lasted >= Duration::from_millis(WINDOW * 1000 - 500),
        "the countdown lasted {lasted:?}"
    );
    let screen = scored_then_quit(&t);
    assert!(
        screen.contains("EXIT=3"),
        "rolled back is exit 3:\n{screen}"
    );
    assert!(screen.contains("the POLICY's call"), "{screen}");
    assert!(screen.contains("the operator took no action"), "{screen}");
    assert_scored_once(data.path());
}

#[test]
fn a_trainee_who_rolls_back_during_the_countdown_gets_the_credit() {
    if !tmux_installed() {
        return;
    }
    let (data, t) = at_the_fault("trainee");
    // During the countdown `r` rolls back at once, no question asked.
    t.wait_for("AUTO-ROLLBACK IN");
    t.keys(&["r"]);
    let screen = scored_then_quit(&t);
    assert!(
        screen.contains("EXIT=3"),
        "rolled back is exit 3:\n{screen}"
    );
    assert!(screen.contains("RIGHT CALL"), "{screen}");
    assert!(
        screen.contains("the operator (ana) rolled back"),
        "{screen}"
    );
    assert_scored_once(data.path());
}

#[test]
fn a_blind_drill_names_its_scenario_in_the_journal_and_on_screen_only_with_the_score() {
    if !tmux_installed() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let scenario = trainee_scenario(data.path(), "secret-burst", WINDOW);
    let args = format!(
        "--blind --from '{}' --seed 7 --speed 60 --operator ana",
        scenario.display()
    );
    let t = Tmux::start("blind", &drill_command(data.path(), &args));
    let screen = t.wait_for("blind drill #");
    assert!(!screen.contains("secret-burst"), "{screen}");
    // The journal names it from the start, for the drill master.
    assert!(
        journal_text(data.path()).contains("is scenario secret-burst (seed 7"),
        "{}",
        journal_text(data.path())
    );
    advance_until_any(&t, &["drill fault on", "AUTO-ROLLBACK IN"]);
    let screen = t.wait_for("AUTO-ROLLBACK IN");
    assert!(!screen.contains("secret-burst"), "{screen}");
    let screen = scored_then_quit(&t);
    assert!(
        screen.contains("was secret-burst"),
        "revealed with the score:\n{screen}"
    );
}

#[test]
fn a_trainee_who_opens_the_failing_metric_is_scored_as_detecting_it_before_the_policy_acts() {
    if !tmux_installed() {
        return;
    }
    let (data, t) = at_the_fault("look");
    // The failing metric is the table's first row: enter opens its detail
    // while the breach races its `for`; esc goes back to the log.
    t.keys(&["Enter"]);
    t.wait_for("error rate (1 of 3)");
    t.keys(&["Escape"]);
    let screen = scored_then_quit(&t);
    // The score's sentence, unwrapped from the screen's lines.
    let flat = screen.split_whitespace().collect::<Vec<_>>().join(" ");
    let who = &flat[flat
        .find("the policy rolled back at")
        .unwrap_or_else(|| panic!("the policy made the call:\n{screen}"))..];
    let policy = t_plus(who, "rolled back at ");
    let looked = t_plus(who, "detected it (opened error_rate at ");
    assert!(
        looked < policy,
        "detected at T+{looked}s, before the policy's T+{policy}s: {who}"
    );
    let journal = journal_text(data.path());
    assert_eq!(journal.matches("\"looked\"").count(), 1, "{journal}");
}

/// The seconds of the "T+1m20s" that follows `after` in `line`.
fn t_plus(line: &str, after: &str) -> u64 {
    let rest = &line[line
        .find(after)
        .unwrap_or_else(|| panic!("{after:?} in {line}"))
        + after.len()..];
    let rest = rest
        .strip_prefix("T+")
        .unwrap_or_else(|| panic!("T+ in {rest}"));
    let span: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let (mut secs, mut n) = (0, 0);
    for c in span.chars() {
        match c {
            '0'..='9' => n = n * 10 + c.to_digit(10).unwrap() as u64,
            'h' => (secs, n) = (secs + n * 3600, 0),
            'm' => (secs, n) = (secs + n * 60, 0),
            's' => (secs, n) = (secs + n, 0),
            _ => break,
        }
    }
    secs
}
