//! Reading journals back: damage tolerated only where a crash can cause
//! it, and resume plans built from what the journal holds.

use std::io::Write;
use std::path::{Path, PathBuf};

use cockpit::config;
use cockpit::journal::{self, Header, Journal, Record, resume};
use cockpit::rollout::{Actor, At, Command, Effect, Event, Input, Move, Phase, Rollout};

const T0: At = 1_795_516_200_000;

const CONFIG: &str = r#"
[rollout]
name = "checkout 2.0"
service = "checkout"
old_version = "1.9"
new_version = "2.0"

[hooks]
enter = { exec = ["set-weight", "{weight}"] }
undo = { exec = ["set-weight", "{previous_weight}"] }

[scrape]
canary = ["http://127.0.0.1:9100/metrics"]
"#;

fn header() -> Header {
    Header {
        rollout: "checkout 2.0".into(),
        config_path: "cockpit.toml".into(),
        config_hash: "sha256:00".into(),
        operator: "alice@ops-1".into(),
        ssh_connection: None,
        drill: false,
        started_at: T0,
    }
}

fn rollout() -> Rollout {
    let cfg =
        config::parse(Path::new("cockpit.toml"), CONFIG).unwrap_or_else(|e| panic!("{}", e[0]));
    Rollout::new(cfg, T0)
}

fn alice() -> Actor {
    Actor::Operator("alice@ops-1".into())
}

/// Feeds one input and writes its journal effects like the runtime does.
fn feed(r: &mut Rollout, j: &mut Journal, now: At, input: Input) {
    for e in r.update(now, input) {
        match e {
            Effect::Journal { at, event } => j.append_event(at, &event).unwrap(),
            Effect::Checkpoint(state) => j.append_checkpoint(now, &state).unwrap(),
            _ => {}
        }
    }
}

/// Started, checks skipped: the first enter hook (#1) is running.
fn started(dir: &Path) -> (Rollout, Journal) {
    let mut r = rollout();
    let mut j = Journal::create(dir, header()).unwrap();
    let local =
        chrono::NaiveDateTime::parse_from_str("2026-11-24 10:30", "%Y-%m-%d %H:%M").unwrap();
    feed(
        &mut r,
        &mut j,
        T0,
        Input::Start {
            local,
            operator: "alice@ops-1".into(),
        },
    );
    let command = Command::SkipChecks {
        reason: "test".into(),
    };
    feed(
        &mut r,
        &mut j,
        T0,
        Input::Command {
            actor: alice(),
            command,
        },
    );
    assert!(r.state.running.is_some(), "the enter hook runs");
    (r, j)
}

fn append_raw(path: &PathBuf, bytes: &[u8]) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(bytes).unwrap();
}

#[test]
fn a_last_line_cut_short_is_a_warning_and_reopening_cuts_it_off() {
    let dir = tempfile::tempdir().unwrap();
    let (_, j) = started(dir.path());
    let path = j.path().to_path_buf();
    let whole = journal::read(&path).unwrap();
    drop(j);
    append_raw(&path, br#"{"type":"event","at":17955162"#);
    let read = journal::read(&path).unwrap();
    assert_eq!(read.entries, whole.entries, "every whole line is read");
    let n = whole.entries.len() + 1;
    assert_eq!(read.warnings.len(), 1);
    assert!(
        read.warnings[0].contains(&format!(":{n}: the last line is cut short")),
        "{:?}",
        read.warnings
    );
    // Appending after a crash must not glue a record onto the broken line.
    let mut j = Journal::reopen(&path).unwrap();
    j.append_event(
        T0 + 1,
        &Event::Note {
            by: alice(),
            text: "back".into(),
        },
    )
    .unwrap();
    let read = journal::read(&path).unwrap();
    assert!(read.warnings.is_empty(), "{:?}", read.warnings);
    assert_eq!(read.entries.len(), n);
    assert_eq!(j.lines(), n);
}

#[test]
fn a_damaged_line_in_the_middle_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut j) = started(dir.path());
    let path = j.path().to_path_buf();
    let n = journal::read(&path).unwrap().entries.len();
    append_raw(
        &path,
        b"{\"type\":\"event\",\"at\":1,\"event\":{\"event\":\"no_such_event\"}}\n",
    );
    j.append_event(
        T0,
        &Event::Note {
            by: alice(),
            text: "after".into(),
        },
    )
    .unwrap();
    let err = journal::read(&path).unwrap_err();
    let want = format!("{}:{}: not a journal record", path.display(), n + 1);
    assert!(err.starts_with(&want), "{err}");
    assert!(err.contains("damaged at this line"), "{err}");
    let listed = journal::runs(dir.path()).unwrap();
    assert!(
        listed[0].outcome.starts_with("unreadable: "),
        "{:?}",
        listed[0]
    );
}

#[test]
fn a_newer_format_or_a_file_without_header_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let newer = dir.path().join("newer.jsonl");
    let mut line = serde_json::to_value(Record::Header {
        v: journal::FORMAT,
        cockpit: "9.9.9".into(),
        header: header(),
    })
    .unwrap();
    line["v"] = 99.into();
    std::fs::write(&newer, format!("{line}\n")).unwrap();
    let err = journal::read(&newer).unwrap_err();
    assert!(
        err.contains("format v99 was written by cockpit 9.9.9"),
        "{err}"
    );

    let headless = dir.path().join("no-header.jsonl");
    std::fs::write(
        &headless,
        "{\"type\":\"abandoned\",\"at\":1,\"by\":\"x\",\"reason\":\"y\"}\n",
    )
    .unwrap();
    let err = journal::read(&headless).unwrap_err();
    assert!(
        err.contains(":1: a journal starts with its header line"),
        "{err}"
    );
}

#[test]
fn a_hook_whose_end_reached_the_disk_is_fed_back_not_asked_about() {
    let dir = tempfile::tempdir().unwrap();
    let (r, mut j) = started(dir.path());
    let id = r.state.running.as_ref().unwrap().id;
    // The hook's end was written, then the cockpit died before the checkpoint.
    let finished = Event::HookFinished {
        id,
        label: "set-weight {weight}".into(),
        ok: true,
        summary: "exit 0".into(),
    };
    j.append_event(T0 + 2000, &finished).unwrap();
    let read = journal::read(j.path()).unwrap();
    let plan = resume::plan(&read);
    assert_eq!(plan.hook_result, Some((id, true, "exit 0".into())));
    assert_eq!(
        plan.voided,
        vec![read.entries.len()],
        "the unchecked line is voided"
    );
    let (mut resumed, inputs) = plan.rollout(rollout().config, T0 + 60_000);
    assert!(
        resumed.state.failed.is_none(),
        "no unknown outcome: {:?}",
        resumed.state.failed
    );
    for input in inputs {
        resumed.update(T0 + 60_000, input);
    }
    assert_eq!(resumed.state.phase, Phase::Observing);
}

#[test]
fn a_hook_without_an_end_on_disk_is_an_unknown_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let (_, j) = started(dir.path());
    let plan = resume::plan(&journal::read(j.path()).unwrap());
    assert_eq!(plan.hook_result, None);
    let (resumed, inputs) = plan.rollout(rollout().config, T0 + 60_000);
    assert!(inputs.is_empty(), "{inputs:?}");
    let failed = resumed.state.failed.expect("the operator must decide");
    assert_eq!(
        failed.summary,
        "outcome unknown: the cockpit stopped while `set-weight 5` ran"
    );
}

#[test]
fn an_operator_decision_after_the_checkpoint_is_issued_again_once() {
    let dir = tempfile::tempdir().unwrap();
    let (mut r, mut j) = started(dir.path());
    let id = r.state.running.as_ref().unwrap().id;
    feed(
        &mut r,
        &mut j,
        T0 + 2000,
        Input::HookDone {
            id,
            ok: true,
            summary: "exit 0".into(),
        },
    );
    assert_eq!(r.state.phase, Phase::Observing);
    // alice pauses; the decision is written, the checkpoint is not.
    let pause = Event::Decision {
        action: Move::Pause,
        by: alice(),
        reason: "observation paused".into(),
        stage: 0,
        metrics: vec![],
        traffic: None,
    };
    j.append_event(T0 + 5000, &pause).unwrap();
    let read = journal::read(j.path()).unwrap();
    let plan = resume::plan(&read);
    assert_eq!(plan.commands, vec![(alice(), Command::Pause)]);
    // Resume writes the `resumed` record voiding the line; readers skip it.
    let mut j = Journal::reopen(j.path()).unwrap();
    let (mut resumed, inputs) = plan.rollout(rollout().config, T0 + 9000);
    j.append_resumed(&journal::Resumed {
        at: T0 + 9000,
        by: "alice@ops-1".into(),
        host: "ops-1".into(),
        pid: 1,
        ssh_connection: None,
        voided: plan.voided.clone(),
        replayed: plan.replayed(),
    })
    .unwrap();
    for input in inputs {
        feed(&mut resumed, &mut j, T0 + 9000, input);
    }
    assert!(resumed.state.paused);
    let read = journal::read(j.path()).unwrap();
    let pauses = read
        .events()
        .filter(|(_, e)| {
            matches!(
                e,
                Event::Decision {
                    action: Move::Pause,
                    ..
                }
            )
        })
        .count();
    assert_eq!(pauses, 1, "one pause in the journal as readers see it");
}

#[test]
fn a_line_past_the_limit_is_an_error_naming_it_and_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let (_, j) = started(dir.path());
    let path = j.path().to_path_buf();
    drop(j);
    let n = journal::read(&path).unwrap().entries.len() + 1;
    // A note no cockpit writes: its line is over the limit.
    let mut line =
        br#"{"type":"event","at":1,"event":{"event":"note","by":"policy","text":""#.to_vec();
    line.extend(std::iter::repeat_n(b'x', journal::LINE_LIMIT));
    line.extend(b"\"}}\n");
    append_raw(&path, &line);
    let err = journal::read(&path).unwrap_err();
    assert!(
        err.starts_with(&format!(
            "{}:{n}: a line longer than 1 MiB, the most a journal line may hold",
            path.display()
        )),
        "{err}"
    );
}
