//! A rollback that finishes, with real hooks: the pure engine decides, a
//! small driver carries out its `RunHook` effects with `actions::run_hook`
//! (real processes appending to a file) and feeds the results back.

mod actions_support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use actions_support::Driver;
use cockpit::config;
use cockpit::rollout::{Command, Effect, Move, Outcome, Phase, Said};

/// Three weighted stages whose hooks append what they did to `log`.
fn config_text(dir: &Path, quarter_undo: &str) -> String {
    let record = dir.join("record");
    fs::write(
        &record,
        "#!/bin/sh\nlog=\"$1\"; shift\nprintf '%s\\n' \"$*\" >> \"$log\"\n",
    )
    .unwrap();
    fs::set_permissions(&record, fs::Permissions::from_mode(0o755)).unwrap();
    let hook = |words: &str| {
        format!(
            "{{ exec = ['{}', '{}', {words}] }}",
            record.display(),
            dir.join("log").display()
        )
    };
    format!(
        r#"
[rollout]
name = "checkout 2.0"
service = "checkout"
old_version = "1.9"
new_version = "2.0"

[[stage]]
name = "canary"
weight = 5
verify = {verify}

[[stage]]
name = "quarter"
weight = 25
{quarter_undo}

[[stage]]
name = "half"
weight = 50

[hooks]
enter = {enter}
undo = {undo}
on_rollback = {on_rollback}

[scrape]
canary = ["http://127.0.0.1:9100/metrics"]
baseline = ["http://127.0.0.1:9101/metrics"]
"#,
        verify = hook("'verify', '{stage}'"),
        enter = hook("'enter', '{stage}', '{weight}'"),
        undo = hook("'undo', '{stage}', 'to', '{previous_weight}'"),
        on_rollback = hook("'on_rollback:', '{reason}'"),
    )
}

/// The engine over the config above, its hooks run for real.
async fn started(quarter_undo: &str) -> (Driver, PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let text = config_text(dir.path(), quarter_undo);
    let cfg =
        config::parse(Path::new("rollback.toml"), &text).unwrap_or_else(|e| panic!("{}", e[0]));
    let log = dir.path().join("log");
    (Driver::started(cfg).await, log, dir)
}

async fn advance_to_half(d: &mut Driver) {
    for _ in 0..2 {
        d.cmd(Command::ForceAdvance {
            reason: "test".into(),
        })
        .await;
    }
    assert_eq!(d.r.state.phase, Phase::Observing);
    assert_eq!(d.r.state.stage, 2);
}

fn read_log(log: &Path) -> Vec<String> {
    fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

const ENTERED: [&str; 3] = ["enter canary 5", "enter quarter 25", "enter half 50"];

#[tokio::test]
async fn undo_hooks_run_in_reverse_then_on_rollback_then_verify() {
    let (mut d, log, _dir) = started("").await;
    advance_to_half(&mut d).await;
    d.cmd(Command::Rollback {
        reason: "p95 over 500ms".into(),
    })
    .await;
    assert_eq!(
        read_log(&log),
        [
            &ENTERED[..],
            &[
                "undo half to 25",
                "undo quarter to 5",
                "undo canary to 0",
                "on_rollback: p95 over 500ms",
                "verify canary",
            ]
        ]
        .concat()
    );
    assert!(matches!(d.r.state.phase, Phase::Verifying { .. }));
    d.error_rate_recovers().await;
    assert_eq!(d.r.state.outcome, Some(Outcome::RolledBack));
}

#[tokio::test]
async fn a_failing_undo_stops_the_rollback_until_retried_or_skipped_with_a_reason() {
    let failing = "undo = { exec = ['sh', '-c', 'echo \"lb api unreachable\" >&2; exit 7'], name = \"quarter undo\" }";
    let (mut d, log, _dir) = started(failing).await;
    advance_to_half(&mut d).await;
    d.cmd(Command::Rollback {
        reason: "errors".into(),
    })
    .await;
    // Stopped at the failing undo: the canary's undo has not run.
    assert_eq!(
        read_log(&log),
        [&ENTERED[..], &["undo half to 25"]].concat()
    );
    let line = cockpit::tui::next::decision(&d.r, d.now, None, &|_| String::new());
    assert!(
        line.starts_with("FAILED: `quarter undo` failed: exit code 7 after "),
        "{line}"
    );
    assert!(line.contains("lb api unreachable"), "{line}");

    d.cmd(Command::Retry).await;
    assert!(d.r.state.failed.is_some(), "the retry failed again");
    assert_eq!(
        read_log(&log).len(),
        4,
        "nothing ran after the failed retry"
    );

    d.cmd(Command::Skip {
        reason: "weights fixed by hand in the LB console".into(),
    })
    .await;
    assert_eq!(
        read_log(&log),
        [
            &ENTERED[..],
            &[
                "undo half to 25",
                "undo canary to 0",
                "on_rollback: errors",
                "verify canary",
            ]
        ]
        .concat()
    );
    assert_eq!(
        d.decisions(Move::Skip),
        ["skipped `quarter undo`: weights fixed by hand in the LB console"]
    );
    assert_eq!(d.decisions(Move::Retry), ["retry `quarter undo`"]);
    d.error_rate_recovers().await;
    assert_eq!(d.r.state.outcome, Some(Outcome::RolledBack));
}

#[tokio::test]
async fn pressing_rollback_twice_or_after_it_finished_runs_it_once() {
    let (mut d, log, _dir) = started("").await;
    advance_to_half(&mut d).await;
    d.hold = true;
    d.cmd(Command::Rollback {
        reason: "first press".into(),
    })
    .await;
    // The first undo is running; the second press must not queue another.
    d.cmd(Command::Rollback {
        reason: "second press".into(),
    })
    .await;
    assert_eq!(d.held.len(), 1);
    d.release_held().await;
    d.cmd(Command::Rollback {
        reason: "third press".into(),
    })
    .await;
    let undos: Vec<_> = read_log(&log)
        .into_iter()
        .filter(|l| l.starts_with("undo"))
        .collect();
    assert_eq!(
        undos,
        ["undo half to 25", "undo quarter to 5", "undo canary to 0"]
    );
    assert_eq!(
        read_log(&log)
            .iter()
            .filter(|l| l.starts_with("on_rollback"))
            .count(),
        1
    );
    assert_eq!(d.decisions(Move::Rollback), ["first press"]);
    assert!(
        d.effects
            .iter()
            .any(|e| e == &Effect::Say(Said::AlreadyRollingBack))
    );
}
