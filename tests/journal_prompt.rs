//! On a real terminal (tmux), `cockpit run` asks before resuming an
//! unfinished run: `y` carries it on, anything else changes nothing; the
//! resumed screen's log starts with what the journal already held.

use std::path::{Path, PathBuf};

use cockpit::journal::{self, Header, Journal};
use cockpit::rollout::{Actor, Command as Cmd, Effect, Input, Rollout};

mod journal_support;
#[path = "support/tmux.rs"]
mod tmux;
use journal_support::{bin, journal_files};
use tmux::{Tmux, poll, then_exit_status};

/// A config and an unfinished run of its rollout (started, never ended).
fn setup(dir: &Path) -> (PathBuf, PathBuf) {
    let journal_dir = dir.join("journal");
    let text = format!(
        r#"
[rollout]
name = "checkout 2.0"
service = "checkout"
old_version = "1.9"
new_version = "2.0"

[[stage]]
name = "all"
weight = 100
irreversible = true

[window]
enabled = false

[checklist]
items = []

[journal]
dir = "{}"

[scrape]
canary = ["http://127.0.0.1:9/metrics"]
"#,
        journal_dir.display()
    );
    let config = dir.join("cockpit.toml");
    std::fs::write(&config, text).unwrap();
    let header = Header {
        rollout: "checkout 2.0".into(),
        config_path: config.display().to_string(),
        config_hash: "sha256:0".into(),
        operator: "alice@ops-1".into(),
        ssh_connection: None,
        drill: false,
        started_at: 1_795_516_200_000,
    };
    let old = Journal::create(&journal_dir, header)
        .unwrap()
        .path()
        .to_path_buf();
    (config, old)
}

/// The run started and the operator noted something, checkpointed as a
/// live cockpit would have, before it died.
fn decided_before_the_crash(config: &Path, old: &Path) {
    let cfg = cockpit::config::load(config).unwrap();
    let t0 = 1_795_516_200_000;
    let mut r = Rollout::new(cfg, t0);
    let mut j = Journal::reopen(old).unwrap();
    let inputs = [
        Input::Start {
            local: chrono::NaiveDateTime::default(),
            operator: "alice@ops-1".into(),
        },
        Input::Command {
            actor: Actor::Operator("alice@ops-1".into()),
            command: Cmd::Note {
                text: "baseline dashboards look normal".into(),
            },
        },
    ];
    for (i, input) in inputs.into_iter().enumerate() {
        let now = t0 + i as u64 * 1000;
        for effect in r.update(now, input) {
            match effect {
                Effect::Journal { at, event } => j.append_event(at, &event).unwrap(),
                Effect::Checkpoint(state) => j.append_checkpoint(now, &state).unwrap(),
                _ => {}
            }
        }
    }
}

fn command(config: &Path) -> String {
    then_exit_status(&format!(
        "'{}' run --config '{}'",
        bin().display(),
        config.display()
    ))
}

#[test]
fn declining_to_resume_changes_nothing() {
    if !tmux::installed() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (config, old) = setup(tmp.path());
    let tmux = Tmux::start("no", &command(&config));
    let screen = tmux.wait_for("Resume it? [y/N]");
    assert!(
        screen.contains("rollout checkout 2.0 has an unfinished run started"),
        "{screen}"
    );
    tmux.keys(&["n", "Enter"]);
    let screen = tmux.wait_for("EXIT=");
    assert!(screen.contains("EXIT=5"), "{screen}");
    assert!(screen.contains("not resumed; nothing changed"), "{screen}");
    assert_eq!(
        journal_files(&tmp.path().join("journal")),
        vec![old.clone()]
    );
    let read = journal::read(&old).unwrap();
    assert_eq!(read.entries.len(), 1, "the old journal is untouched");
}

#[test]
fn answering_y_resumes_the_same_journal_before_the_screen_starts() {
    if !tmux::installed() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (config, old) = setup(tmp.path());
    decided_before_the_crash(&config, &old);
    let tmux = Tmux::start("yes", &command(&config));
    tmux.wait_for("Resume it? [y/N]");
    tmux.keys(&["y", "Enter"]);
    // Bounded; the count below says what went wrong if it never came.
    poll(|| {
        let text = std::fs::read_to_string(&old).unwrap();
        text.contains("\"type\":\"resumed\"").then_some(())
    });
    let read = journal::read(&old).unwrap();
    assert_eq!(read.status().to_string(), "unfinished");
    let resumed = read
        .entries
        .iter()
        .filter(|e| matches!(e.record, journal::Record::Resumed(_)))
        .count();
    assert_eq!(resumed, 1, "{:?}", read.entries);
    assert_eq!(journal_files(&tmp.path().join("journal")), vec![old]);
    // The log pane picks up where the dead cockpit left off, once.
    let screen = tmux.wait_for("baseline dashboards look normal");
    assert_eq!(
        screen.matches("baseline dashboards look normal").count(),
        1,
        "{screen}"
    );
    // The screen took over the terminal: quit it.
    tmux.keys(&["q"]);
}
