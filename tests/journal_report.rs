//! The postmortem report of a scripted rollout: the pure engine driven with
//! fixed timestamps, every effect written with the real `Journal`, the
//! journal read back and rendered.

use std::path::Path;

use cockpit::config;
use cockpit::journal::{self, Header, Journal, report};
use cockpit::rollout::{Actor, At, Command, Effect, Event, Group, Input, Reading, Rollout, Sample};

/// 2026-11-24 10:30:00 UTC, a Tuesday morning.
const T0: At = 1_795_516_200_000;
const SEC: At = 1000;
const MIN: At = 60 * SEC;

const CONFIG: &str = r#"
[rollout]
name = "checkout 2.0"
service = "checkout"
environment = "production"
old_version = "1.9"
new_version = "2.0"

[hooks]
enter = { exec = ["set-weight", "{weight}"] }
undo = { exec = ["set-weight", "{previous_weight}"] }

[policy]
auto_advance = true
# The report of the threshold judge (point values, `for`); the evidence
# judge's words are tested in tests/engine.rs.
judge = "thresholds"

[scrape]
canary = ["http://127.0.0.1:9100/metrics"]
baseline = ["http://127.0.0.1:9101/metrics"]
"#;

/// The engine and a journal, fed like the runtime feeds them: effects in
/// order, hook output journalled before the hook's end.
struct Script {
    r: Rollout,
    journal: Journal,
    now: At,
    /// The canary's share of requests when a hook did not move it; None:
    /// the weight the stage set.
    stuck_at: Option<f64>,
}

impl Script {
    fn new(dir: &Path) -> Script {
        let cfg =
            config::parse(Path::new("cockpit.toml"), CONFIG).unwrap_or_else(|e| panic!("{}", e[0]));
        let header = Header {
            rollout: cfg.rollout.name.clone(),
            config_path: "cockpit.toml".into(),
            config_hash: "sha256:0f00".into(),
            operator: "alice@ops-1".into(),
            ssh_connection: Some("10.0.0.7 52100 10.0.0.2 22".into()),
            drill: false,
            started_at: T0,
        };
        Script {
            r: Rollout::new(cfg, T0),
            journal: Journal::create(dir, header).unwrap(),
            now: T0,
            stuck_at: None,
        }
    }

    fn send(&mut self, input: Input) {
        let mut queue = vec![input];
        while let Some(input) = queue.pop() {
            for effect in self.r.update(self.now, input) {
                match effect {
                    Effect::Journal { at, event } => self.journal.append_event(at, &event).unwrap(),
                    Effect::Checkpoint(state) => {
                        self.journal.append_checkpoint(self.now, &state).unwrap()
                    }
                    Effect::RunHook { id, hook, vars, .. } => {
                        // Every hook takes 2 seconds and prints what it set.
                        self.now += 2 * SEC;
                        let label = hook.label();
                        let argv = vars
                            .iter()
                            .fold(label.clone(), |a, (k, v)| a.replace(&format!("{{{k}}}"), v));
                        let tail = vec![format!("{argv}: ok")];
                        let event = Event::HookOutput { id, label, tail };
                        self.journal.append_event(self.now, &event).unwrap();
                        queue.push(Input::HookDone {
                            id,
                            ok: true,
                            summary: "exit 0 in 2s".into(),
                        });
                    }
                    _ => {}
                }
            }
        }
    }

    fn operator(&mut self, command: Command) {
        let actor = Actor::Operator("alice@ops-1".into());
        self.send(Input::Command { actor, command });
    }

    /// Samples every 5 s for `dur`: canary error rate from `err`, the rest healthy.
    fn run(&mut self, dur: At, err: f64) {
        let end = self.now + dur;
        while self.now < end && !self.r.is_finished() {
            self.now += 5 * SEC;
            // The hooks really move the traffic: the canary gets its weight.
            let weight = self.stuck_at.unwrap_or_else(|| {
                self.r
                    .set_share()
                    .or(self.r.config.stages[self.r.state.stage].weight)
                    .unwrap_or(0.0)
            });
            let mut poll = Vec::new();
            for (i, m) in self.r.config.metrics.clone().iter().enumerate() {
                let (canary, baseline) = match m.name.as_str() {
                    "error_rate" => (err, 0.05),
                    "latency_p95" => (180.0, 170.0),
                    _ => (99.95, 99.95),
                };
                let requests = |group| match group {
                    Group::Canary => 5000.0,
                    Group::Baseline => 5000.0 * (100.0 - weight) / weight,
                };
                for (group, value) in [(Group::Canary, canary), (Group::Baseline, baseline)] {
                    let reading = if weight == 0.0 {
                        match group {
                            Group::Canary => Reading::quiet("no requests"),
                            Group::Baseline => Reading::value(value, Some(5000.0)),
                        }
                    } else {
                        Reading::value(value, Some(requests(group)))
                    };
                    poll.push(Sample {
                        metric: i,
                        group,
                        reading,
                    });
                }
            }
            self.send(Input::Poll(poll));
        }
    }
}

fn scripted_rollout(dir: &Path) -> std::path::PathBuf {
    let mut s = Script::new(dir);
    s.send(Input::Start {
        local: chrono::NaiveDateTime::parse_from_str("2026-11-24 10:30", "%Y-%m-%d %H:%M").unwrap(),
        operator: "alice@ops-1".into(),
    });
    s.operator(Command::SkipChecks {
        reason: "checklist done in the change ticket".into(),
    });
    s.run(16 * MIN, 0.04); // 5% is green for its 15 minutes: auto-advance
    s.run(3 * MIN, 0.04);
    s.run(70 * SEC, 0.8); // 25% breaks: critical held 1m, countdown starts
    s.operator(Command::Note {
        text: "errors are 502s from the payment client".into(),
    });
    s.run(40 * SEC, 0.8); // countdown expires: the policy rolls back
    s.run(3 * MIN, 0.04); // verification: the error rate is back down
    assert!(
        s.r.is_finished(),
        "the script ends the rollout: {:?}",
        s.r.state.phase
    );
    s.journal.path().to_path_buf()
}

#[test]
fn the_report_of_a_breach_and_a_rollback_reads_like_a_postmortem() {
    let dir = tempfile::tempdir().unwrap();
    let path = scripted_rollout(dir.path());
    let read = journal::read(&path).unwrap();
    assert!(read.warnings.is_empty(), "{:?}", read.warnings);
    let md = report::markdown(&report::build(&read));
    let md = md.replace(&dir.path().display().to_string(), "<journal dir>");
    insta::assert_snapshot!(md);
}

#[test]
fn the_json_report_carries_the_timeline_from_the_first_breach() {
    let dir = tempfile::tempdir().unwrap();
    let path = scripted_rollout(dir.path());
    let r = report::build(&journal::read(&path).unwrap());
    assert_eq!(r.outcome, "rolled back");
    let breach = r.first_breach.expect("a breach was detected");
    let kinds: Vec<&str> = r
        .timeline
        .iter()
        .filter(|m| m.at >= breach)
        .map(|m| m.kind.as_str())
        .collect();
    let order = [
        "detected",
        "investigating",
        "note",
        "decision",
        "rollback complete",
        "verified",
    ];
    let mut at = 0;
    for want in order {
        at += kinds[at..]
            .iter()
            .position(|k| *k == want)
            .unwrap_or_else(|| panic!("no {want} after the breach, in order: {kinds:?}"));
    }
    let rollback = r.decisions.last().unwrap();
    assert_eq!(rollback.by, Actor::Policy);
    assert!(
        rollback
            .metrics
            .iter()
            .any(|m| m.metric == "error_rate" && m.canary == Some(0.8)),
        "the decision carries the metric values behind it: {:?}",
        rollback.metrics
    );
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["stages"][1]["ended"], "rolled back");
}

#[test]
fn the_journal_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = scripted_rollout(dir.path());
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{path:?}");
    let runs = journal::runs(dir.path()).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].outcome, "rolled back");
}

mod journal_support;

#[test]
fn cockpit_report_renders_a_crashed_journal_and_names_a_damaged_line() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let path = scripted_rollout(dir.path());
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    f.write_all(br#"{"type":"event","at":1795"#).unwrap();
    let out = std::process::Command::new(journal_support::bin())
        .arg("report")
        .arg(&path)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.starts_with("# Rollout report: checkout 2.0\n"),
        "{stdout}"
    );
    assert!(stderr.contains("the last line is cut short"), "{stderr}");

    // The same bytes followed by another line: damage in the middle.
    f.write_all(b"\n{\"type\":\"abandoned\",\"at\":1,\"by\":\"x\",\"reason\":\"y\"}\n")
        .unwrap();
    let out = std::process::Command::new(journal_support::bin())
        .args(["report", "--format", "json"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let lines = std::fs::read_to_string(&path).unwrap().lines().count();
    let want = format!("{}:{}: not a journal record", path.display(), lines - 1);
    assert!(stderr.contains(&want), "{stderr}");
}

#[test]
fn the_report_says_when_traffic_did_not_move() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Script::new(dir.path());
    s.send(Input::Start {
        local: chrono::NaiveDateTime::parse_from_str("2026-11-24 10:30", "%Y-%m-%d %H:%M").unwrap(),
        operator: "alice@ops-1".into(),
    });
    s.operator(Command::SkipChecks {
        reason: "checklist done in the change ticket".into(),
    });
    s.run(16 * MIN, 0.04); // 5% advances on its own
    s.stuck_at = Some(1.0); // the 25% hook said OK and moved nothing
    s.run(2 * MIN, 0.04);
    let path = s.journal.path().to_path_buf();
    let md = report::markdown(&report::build(&journal::read(&path).unwrap()));
    assert!(
        md.contains(
            "| investigating | traffic did not move: set 25%, seen 1% for 1m; the hook said OK |"
        ),
        "{md}"
    );
    assert!(md.contains("| 5% | 5% | 5% set · 5% seen |"), "{md}");
    assert!(md.contains("| 25% | 25% | 25% set · 1% seen |"), "{md}");
}
