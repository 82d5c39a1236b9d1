//! The binary against the config fixtures: every invalid config gives its
//! exact message, every valid one passes `check`.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use config_support::{SECRETS, fixtures};

mod config_support;

fn cockpit() -> Command {
    let mut c = Command::cargo_bin("cockpit").unwrap();
    c.envs(SECRETS.iter().copied());
    c
}

/// What `cockpit check` prints for a config that passes.
fn plan_of(config: &Path) -> String {
    let out = cockpit()
        .args(["check", "--config"])
        .arg(config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        config.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_invalid_config_gives_its_exact_message_with_a_line() {
    let files = fixtures("invalid");
    assert!(files.len() >= 15, "only {} invalid fixtures", files.len());
    let mut wrong = Vec::new();
    for f in &files {
        let expected = fs::read_to_string(f.with_extension("err")).unwrap();
        let out = cockpit()
            .args(["check", "--config"])
            .arg(f)
            .output()
            .unwrap();
        let got = String::from_utf8_lossy(&out.stderr);
        if out.status.code() != Some(2) || got != expected {
            wrong.push(format!(
                "{}: exit {:?}\n--- expected\n{expected}--- got\n{got}",
                f.display(),
                out.status.code()
            ));
        }
        let first = expected.lines().next().unwrap();
        let place = format!("error: {}:", f.display());
        assert!(first.starts_with(&place), "{first}");
        let line_no = first[place.len()..].split(':').next().unwrap();
        assert!(
            line_no.parse::<usize>().is_ok_and(|n| n > 0),
            "no line number in {first}"
        );
        assert!(expected.contains("\n  fix: "), "no fix in {}", f.display());
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_valid_config_and_the_example_pass_check() {
    let mut files = fixtures("valid");
    files.push("cockpit.example.toml".into());
    for f in files {
        plan_of(&f);
    }
}

/// The example's commented lines are advice: uncommented, they still pass.
#[test]
fn the_examples_commented_key_map_passes_check() {
    let dir = tempfile::tempdir().unwrap();
    let text = fs::read_to_string("cockpit.example.toml").unwrap();
    let line = text.lines().find(|l| l.starts_with("# keys = ")).unwrap();
    let path = dir.path().join("cockpit.toml");
    fs::write(&path, text.replace(line, &line[2..])).unwrap();
    let plan = plan_of(&path);
    assert!(
        plan.contains("keys rebound: advance ctrl-a, rollback x"),
        "{plan}"
    );
}

/// A secret that is not exported stops `check` as it stops `run`; exported,
/// the same file passes.
#[test]
fn check_needs_the_secrets_run_needs() {
    let f = Path::new("tests/configs/valid/blue-green.toml");
    let out = Command::cargo_bin("cockpit")
        .unwrap()
        .args(["check", "--config"])
        .arg(f)
        .env_remove("LB_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("environment variable LB_TOKEN is not set"),
        "{err}"
    );
    plan_of(f);
}

/// The plan is pasted into tickets: the Prometheus URL shows without its
/// credentials or query string, with the span its rates cover.
#[test]
fn check_names_the_prometheus_source_without_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let preset = fs::read_to_string("tests/configs/valid/preset-high.toml").unwrap();
    let head = preset.split("[scrape]").next().unwrap();
    let path = dir.path().join("cockpit.toml");
    fs::write(
        &path,
        format!(
            "{head}[prometheus]\nurl = \"https://ops:hunter2@mimir.example.com/prometheus?tenant=a\"\n\
             rate_window = \"2m\"\n"
        ),
    )
    .unwrap();
    let text = plan_of(&path);
    assert!(
        text.contains("sources:\n  prometheus https://mimir.example.com/prometheus every "),
        "{text}"
    );
    assert!(text.contains(", rates over 2m\n"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

/// A scrape window is rounded to whole scrape intervals; the plan says
/// how many, so `7s` at `5s` is seen to mean one.
#[test]
fn check_says_how_many_scrapes_a_window_covers() {
    let dir = tempfile::tempdir().unwrap();
    let preset = fs::read_to_string("tests/configs/valid/preset-high.toml").unwrap();
    for (window, says) in [
        ("1m", "rates over 1m (12 scrape intervals)"),
        ("7s", "rates over 7s (1 scrape interval)"),
    ] {
        let path = dir.path().join(format!("{window}.toml"));
        fs::write(&path, format!("{preset}\nwindow = \"{window}\"\n")).unwrap();
        let text = plan_of(&path);
        assert!(
            text.contains(&format!("targets every 5s, {says}\n")),
            "{text}"
        );
    }
}

#[test]
fn check_warns_when_a_stage_is_too_short_for_its_traffic_to_judge() {
    let dir = tempfile::tempdir().unwrap();
    let minimal = fs::read_to_string("tests/configs/valid/minimal-canary.toml").unwrap();
    let with = |traffic: &str| {
        let path = dir.path().join("t.toml");
        let text = minimal.replacen("[rollout]\n", &format!("[rollout]\n{traffic}"), 1);
        fs::write(&path, text).unwrap();
        plan_of(&path)
    };
    // 15-minute stages at 20 req/s at 5%: plenty.
    assert!(!with("traffic = 400\n").contains("req/s the canary needs"));
    // At 1 req/s the ~4,600 requests the judge needs take over an hour.
    let quiet = with("traffic = 20\n");
    assert!(
        quiet.contains("stage 5%: at ~1 req/s the canary needs ~1h16m46s (4,605 requests) to show error rate within 2x stable; wait is 15m"),
        "{quiet}"
    );
    // The metrics say who judges them and how sure.
    assert!(
        quiet.contains("by evidence, 99% sure of a breach"),
        "{quiet}"
    );
}

#[test]
fn check_prints_the_plan() {
    let text = plan_of(Path::new("tests/configs/valid/preset-high.toml"));
    assert!(
        text.contains("  1. 1%           1%             wait 8h"),
        "{text}"
    );
    assert!(
        text.contains("  6. 100%         100%           wait 1d"),
        "{text}"
    );
    assert!(text.contains("minimum total duration: 2d"), "{text}");
    assert!(
        text.contains("sources:\n  scrape 1 canary + 1 baseline targets every 5s, rates over the last interval"),
        "{text}"
    );
    assert!(
        text.contains("error_rate     warn > 0.2%      crit > 0.5%"),
        "{text}"
    );
    assert!(text.contains("stage 3 (25%) has no smoke check"), "{text}");
}

/// A stage's own thresholds show under it, resolved: the rule that stage runs.
#[test]
fn check_shows_a_stages_own_thresholds() {
    let dir = tempfile::tempdir().unwrap();
    let minimal = fs::read_to_string("tests/configs/valid/minimal-canary.toml").unwrap();
    let path = dir.path().join("cockpit.toml");
    let stage = "[[stage]]\nname = \"5%\"\nweight = 5\n\
                 thresholds = { latency_p95 = { warning = 400, for = \"3m\" } }\n";
    fs::write(&path, format!("{minimal}\n{stage}")).unwrap();
    let text = plan_of(&path);
    assert!(
        text.contains("       latency_p95: warn > 400 ms, crit > 500 ms, for 3m\n"),
        "{text}"
    );
}

#[test]
fn init_writes_a_config_that_checks_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cockpit.toml");
    cockpit()
        .args(["init", "--preset", "medium", "--path"])
        .arg(&path)
        .assert()
        .success();
    cockpit()
        .args(["check", "--config"])
        .arg(&path)
        .assert()
        .success();
    fs::write(&path, "# mine\n").unwrap();
    cockpit()
        .args(["init", "--path"])
        .arg(&path)
        .assert()
        .code(2);
    assert_eq!(fs::read_to_string(&path).unwrap(), "# mine\n");
}

#[test]
fn a_missing_config_says_how_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = cockpit()
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("run `cockpit init`"));
}

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = cockpit().args(["completions", shell]).output().unwrap();
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("check"),
            "{shell}"
        );
    }
}

/// `cockpit watch ARGS` with the data dir (and so the journal dir) in `data`.
fn watch_in(data: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = cockpit()
        .arg("watch")
        .args(args)
        .env("XDG_DATA_HOME", data)
        .current_dir(data)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn watch_says_when_there_is_nothing_to_watch_or_no_terminal_to_draw_on() {
    let data = tempfile::tempdir().unwrap();
    let (code, err) = watch_in(data.path(), &[]);
    assert_eq!(code, Some(1));
    assert!(err.contains("nothing to watch"), "{err}");
    assert!(
        err.contains("cockpit drill"),
        "says how to get something: {err}"
    );

    let (code, err) = watch_in(data.path(), &["checkout"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("no cockpit is driving \"checkout\""), "{err}");

    // A finished headless drill leaves a feed; without a terminal, watch
    // points at the journal instead of drawing.
    let drill = cockpit()
        .args([
            "drill",
            "--scenario",
            "healthy",
            // 60, not faster: at 300 a second's stall on a loaded machine
            // is five simulated minutes and the drill ends held.
            "--speed",
            "60",
            "--headless",
        ])
        .env("XDG_DATA_HOME", data.path())
        .output()
        .unwrap();
    assert_eq!(drill.status.code(), Some(0));
    let (code, err) = watch_in(data.path(), &[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("stdout is not a terminal"), "{err}");
    assert!(err.contains(".jsonl"), "names the journal: {err}");
}

/// `status` and `watch` fail like every other command: one `error:` line
/// on stderr, nothing on stdout, the code of the failure's kind.
#[test]
fn status_and_watch_say_each_failure_once_with_its_exit_code() {
    let data = tempfile::tempdir().unwrap();
    let cases: [(&[&str], i32, &str); 4] = [
        (&["status", "db-1"], 1, "\"db-1\" is not a host"),
        (
            &["status", "--watch"],
            2,
            "the list cannot be drawn; try --json",
        ),
        (
            &["watch", "checkout"],
            1,
            "no cockpit is driving \"checkout\"",
        ),
        (&["watch", "--theme", "nosuch"], 1, "nothing to watch"),
    ];
    for (args, code, words) in cases {
        let out = cockpit()
            .args(args)
            .env("XDG_DATA_HOME", data.path())
            .current_dir(data.path())
            .output()
            .unwrap();
        said_once(args, &out, code, words);
    }
}

/// The failure was said once, on stderr, with its exit code: stdout stays
/// the command's output.
fn said_once(args: &[&str], out: &std::process::Output, code: i32, words: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    assert_eq!(stderr.matches("error: ").count(), 1, "{args:?}: {stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains(words),
        "{args:?}: {stderr}"
    );
    assert!(out.stdout.is_empty(), "{args:?}");
}

/// A drill journal holding only its score, as `cockpit drill` leaves one.
fn scored_drill(dir: &Path, who: &str, started_at: u64, score: serde_json::Value) {
    use cockpit::journal::{Header, Journal};
    use cockpit::rollout::{DrillScore, Event};
    let header = Header {
        rollout: "drill error-burst".into(),
        config_path: "scenario error-burst".into(),
        config_hash: "sha256:0".into(),
        operator: who.into(),
        ssh_connection: None,
        drill: true,
        started_at,
    };
    let mut journal = Journal::create(dir, header).unwrap();
    let score: DrillScore = serde_json::from_value(score).unwrap();
    let at = started_at + score.ended_ms;
    journal
        .append_event(at, &Event::DrillScore(Box::new(score)))
        .unwrap();
    journal.flush().unwrap();
}

#[test]
fn report_drills_lists_past_drills_oldest_first_with_who_detected_and_decided() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("data/cockpit/journal");
    fs::create_dir_all(&dir).unwrap();
    let score = |by: serde_json::Value, act: Option<u64>, decision: u64| {
        serde_json::json!({
            "scenario": "error-burst", "outcome": "rolled_back", "stage": "25%",
            "expected_outcome": "rolled_back", "expected_stage": "25%",
            "expected_within_ms": 420_000, "right_call": true, "in_time": true,
            "fault_visible_ms": 180_000, "first_warning_ms": 185_000,
            "first_critical_ms": 185_000, "decision_ms": decision, "decided_by": by,
            "rollback_complete_ms": decision + 1000, "ended_ms": decision + 20_000,
            "good_operator": "Roll back at 25%.", "policy": "countdown",
            "operator_first_act_ms": act,
            "operator_first_act": act.map(|_| "note"),
        })
    };
    let day = 24 * 3600 * 1000;
    // The first time the policy saved an idle trainee; a week later she
    // noticed 20 s after the fault and rolled back 40 s after it.
    scored_drill(
        &dir,
        "ana",
        1_780_000_000_000,
        score("policy".into(), None, 220_000),
    );
    scored_drill(
        &dir,
        "ana",
        1_780_000_000_000 + 7 * day,
        score(
            serde_json::json!({"operator": "ana"}),
            Some(200_000),
            220_000,
        ),
    );
    let report = |format: &str| {
        let out = cockpit()
            .args(["report", "--drills", "--format", format])
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "{err}");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let text = report("markdown");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "a header and one line per drill:\n{text}");
    assert!(
        lines[0].starts_with("date") && lines[0].contains("detected"),
        "{text}"
    );
    let first = lines[1].split_whitespace().collect::<Vec<_>>().join(" ");
    let second = lines[2].split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        first.ends_with("error-burst ana - +40s by policy the policy's"),
        "{first}"
    );
    assert!(
        second.ends_with("error-burst ana +20s +40s by operator right, in time"),
        "{second}"
    );
    // JSON for a team's own charts: the whole score of each drill.
    let rows: serde_json::Value = serde_json::from_str(&report("json")).unwrap();
    assert_eq!(rows[1]["score"]["operator_first_act_ms"], 200_000);
    // The postmortem of one drill says who decided, and who did not.
    let postmortem = |row: usize| {
        let path = rows[row]["path"].as_str().unwrap();
        let out = cockpit().args(["report", path]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let idle = postmortem(0);
    assert!(
        idle.contains("Who: the policy rolled back at T+3m40s; the operator took no action."),
        "{idle}"
    );
    assert!(idle.contains("the policy's call, in time"), "{idle}");
    let ana = postmortem(1);
    assert!(
        ana.contains("| operator's first act | T+3m20s (note) |"),
        "{ana}"
    );
    assert!(
        ana.contains("Who: the operator (ana) rolled back at T+3m40s"),
        "{ana}"
    );
}

#[test]
fn drill_list_says_what_a_good_operator_does_in_every_scenario() {
    let out = cockpit().args(["drill", "--list"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for (name, _) in cockpit::sim::scenario::BUILT_IN {
        let s = cockpit::sim::Scenario::load(name).unwrap();
        let entry = format!(
            "{name}\n  {}\n  a good operator: {}\n",
            s.summary, s.good_operator
        );
        assert!(text.contains(&entry), "{name}:\n{text}");
    }
}

#[test]
fn a_blind_drill_from_a_list_with_a_typo_is_a_usage_error() {
    let out = cockpit()
        .args([
            "drill",
            "--blind",
            "--from",
            "healthy,error-bust",
            "--headless",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("did you mean \"error-burst\""), "{err}");
    // A seed only picks for a batch or a blind drill.
    let out = cockpit()
        .args(["drill", "--seed", "3", "--headless"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--seed goes with --batch or --blind"), "{err}");
}

/// Every failure is said once, on stderr, with the code its kind gives:
/// stdout stays the command's output.
#[test]
fn each_failure_is_said_once_with_its_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], i32, &str); 3] = [
        (
            &["init", "--preset", "huge", "--path"],
            2,
            "unknown preset \"huge\"",
        ),
        (&["report"], 1, "missing.jsonl"),
        (
            &["replay", "--from", "-1h", "--to", "-2h", "--config"],
            2,
            "must be before --to",
        ),
    ];
    let cfg = dir.path().join("cockpit.toml");
    let journal = dir.path().join("journal");
    fs::write(
        &cfg,
        format!(
            "[rollout]\nname = \"a\"\nservice = \"a\"\nold_version = \"1\"\nnew_version = \"2\"\n\
             [hooks]\nenter = {{ exec = [\"true\"] }}\nundo = {{ exec = [\"true\"] }}\n\
             [prometheus]\nurl = \"http://127.0.0.1:9\"\n[journal]\ndir = \"{}\"\n",
            journal.display()
        ),
    )
    .unwrap();
    for (args, code, words) in cases {
        let target = match args[0] {
            "init" => dir.path().join("new.toml"),
            "report" => journal.join("missing.jsonl"),
            _ => cfg.clone(),
        };
        let out = cockpit().args(args).arg(&target).output().unwrap();
        said_once(args, &out, code, words);
    }
}
