//! A rollback that finishes, with real hooks: the pure engine decides, a
//! small driver carries out its `RunHook` effects with `actions::run_hook`
//! (real processes appending to a file) and feeds the results back.

use std::collections::VecDeque;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use cockpit::actions::{self, Vars};
use cockpit::config::{self, model::Hook};
use cockpit::rollout::{
    Action, Actor, At, Command, Effect, Event, Group, Input, Outcome, Phase, Reading, Rollout,
};
use tokio::sync::mpsc;

const T0: At = 1_790_000_000_000;
const SEC: At = 1000;

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

fn tuesday() -> NaiveDateTime {
    NaiveDateTime::parse_from_str("2026-11-24 10:30", "%Y-%m-%d %H:%M").unwrap()
}

fn alice() -> Actor {
    Actor::Operator("alice".into())
}

struct Driver {
    r: Rollout,
    now: At,
    effects: Vec<Effect>,
    /// Hooks asked for but not run yet, while `hold` is set.
    held: Vec<(u64, Hook, Vars)>,
    hold: bool,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Driver {
    async fn started(quarter_undo: &str) -> Driver {
        let dir = tempfile::tempdir().unwrap();
        let text = config_text(dir.path(), quarter_undo);
        let cfg =
            config::parse(Path::new("rollback.toml"), &text).unwrap_or_else(|e| panic!("{}", e[0]));
        let mut d = Driver {
            r: Rollout::new(cfg, T0),
            now: T0,
            effects: vec![],
            held: vec![],
            hold: false,
            log: dir.path().join("log"),
            _dir: dir,
        };
        d.send(Input::Start {
            local: tuesday(),
            operator: "alice".into(),
        })
        .await;
        d.cmd(Command::SkipChecks {
            reason: "test".into(),
        })
        .await;
        d
    }

    /// Feeds an input; runs every hook it asks for for real (unless held)
    /// and feeds each result back, until the engine asks for nothing more.
    async fn send(&mut self, input: Input) {
        let mut queue = VecDeque::from([input]);
        while let Some(input) = queue.pop_front() {
            self.now += SEC;
            let out = self.r.update(self.now, input);
            for e in &out {
                if let Effect::RunHook { id, hook, vars, .. } = e {
                    self.held.push((*id, hook.clone(), vars.clone()));
                }
            }
            self.effects.extend(out);
            if !self.hold {
                for (id, hook, vars) in std::mem::take(&mut self.held) {
                    let (tx, _rx) = mpsc::unbounded_channel();
                    let run = actions::run_hook(&hook, &vars, &serde_json::json!({}), tx).await;
                    queue.push_back(Input::HookDone {
                        id,
                        ok: run.ok,
                        summary: run.summary,
                    });
                }
            }
        }
    }

    async fn cmd(&mut self, command: Command) {
        self.send(Input::Command {
            actor: alice(),
            command,
        })
        .await;
    }

    async fn release_held(&mut self) {
        self.hold = false;
        self.send(Input::Tick).await;
    }

    async fn advance_to_half(&mut self) {
        for _ in 0..2 {
            self.cmd(Command::ForceAdvance {
                reason: "test".into(),
            })
            .await;
        }
        assert_eq!(self.r.state.phase, Phase::Observing);
        assert_eq!(self.r.state.stage, 2);
    }

    /// The stable version's error rate after the rollback.
    async fn error_rate_recovers(&mut self) {
        let i = self
            .r
            .config
            .metrics
            .iter()
            .position(|m| m.name == "error_rate")
            .expect("an error_rate metric");
        self.send(Input::Sample {
            metric: i,
            group: Group::Baseline,
            reading: Reading::value(0.04, Some(20000.0)),
        })
        .await;
    }

    fn log(&self) -> Vec<String> {
        fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    fn decisions(&self, action: Action) -> Vec<String> {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Journal {
                    event:
                        Event::Decision {
                            action: a, reason, ..
                        },
                    ..
                } if *a == action => Some(reason.clone()),
                _ => None,
            })
            .collect()
    }
}

const ENTERED: [&str; 3] = ["enter canary 5", "enter quarter 25", "enter half 50"];

#[tokio::test]
async fn undo_hooks_run_in_reverse_then_on_rollback_then_verify() {
    let mut d = Driver::started("").await;
    d.advance_to_half().await;
    d.cmd(Command::Rollback {
        reason: "p95 over 500ms".into(),
    })
    .await;
    assert_eq!(
        d.log(),
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
    let mut d = Driver::started(failing).await;
    d.advance_to_half().await;
    d.cmd(Command::Rollback {
        reason: "errors".into(),
    })
    .await;
    // Stopped at the failing undo: the canary's undo has not run.
    assert_eq!(d.log(), [&ENTERED[..], &["undo half to 25"]].concat());
    let line = d.r.decision_line(d.now, &|_| String::new());
    assert!(
        line.starts_with("FAILED: `quarter undo` failed: exit code 7 after "),
        "{line}"
    );
    assert!(line.contains("lb api unreachable"), "{line}");

    d.cmd(Command::Retry).await;
    assert!(d.r.state.failed.is_some(), "the retry failed again");
    assert_eq!(d.log().len(), 4, "nothing ran after the failed retry");

    d.cmd(Command::Skip {
        reason: "weights fixed by hand in the LB console".into(),
    })
    .await;
    assert_eq!(
        d.log(),
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
        d.decisions(Action::Skip),
        ["skipped `quarter undo`: weights fixed by hand in the LB console"]
    );
    assert_eq!(d.decisions(Action::Retry), ["retry `quarter undo`"]);
    d.error_rate_recovers().await;
    assert_eq!(d.r.state.outcome, Some(Outcome::RolledBack));
}

#[tokio::test]
async fn pressing_rollback_twice_or_after_it_finished_runs_it_once() {
    let mut d = Driver::started("").await;
    d.advance_to_half().await;
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
    let undos: Vec<_> = d
        .log()
        .into_iter()
        .filter(|l| l.starts_with("undo"))
        .collect();
    assert_eq!(
        undos,
        ["undo half to 25", "undo quarter to 5", "undo canary to 0"]
    );
    assert_eq!(
        d.log()
            .iter()
            .filter(|l| l.starts_with("on_rollback"))
            .count(),
        1
    );
    assert_eq!(d.decisions(Action::Rollback), ["first press"]);
    assert!(
        d.effects
            .iter()
            .any(|e| e == &Effect::Say("already rolling back".into()))
    );
}
