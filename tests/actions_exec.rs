//! `exec` hooks against real processes: files written, argv passed intact,
//! timeouts that kill everything the hook started (its process group and
//! what left it with `setsid`), failures that say why,
//! output floods kept in bounded memory.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod actions_support;

use actions_support::vars;
use cockpit::actions::{HookRun, Vars, output::MAX_LINE, output::TAIL_LINES};
use cockpit::config::model::Hook;
use cockpit::duration::Span;

fn exec(argv: &[&str]) -> Hook {
    Hook {
        exec: Some(argv.iter().map(|s| s.to_string()).collect()),
        ..Hook::default()
    }
}

async fn run(hook: &Hook, vars: &Vars) -> (HookRun, Vec<String>) {
    actions_support::run(hook, vars, &serde_json::json!({})).await
}

/// A script that writes each argument it receives, NUL-separated, to `$1`.
fn argv_recorder(dir: &Path) -> PathBuf {
    let script = dir.join("record-argv");
    fs::write(
        &script,
        "#!/bin/sh\nout=\"$1\"; shift\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done > \"$out\"\n",
    )
    .unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    script
}

fn recorded(path: &Path) -> Vec<String> {
    let bytes = fs::read(path).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let mut args: Vec<String> = text.split('\0').map(String::from).collect();
    assert_eq!(args.pop().as_deref(), Some(""), "no trailing NUL: {text:?}");
    args
}

#[tokio::test]
async fn a_hook_writes_the_weight_it_was_given_and_sees_cockpit_variables() {
    let dir = tempfile::tempdir().unwrap();
    let mut hook = exec(&[
        "sh",
        "-c",
        "printf '%s %s %s' \"$1\" \"$COCKPIT_WEIGHT\" \"$TARGET\" > weight.txt",
        "sh",
        "{weight}",
    ]);
    hook.cwd = Some(dir.path().to_path_buf());
    hook.env = BTreeMap::from([("TARGET".to_string(), "{service}-{stage}".to_string())]);
    let (run, _) = run(&hook, &vars(&[])).await;
    assert!(run.ok, "{}", run.summary);
    assert!(run.summary.starts_with("exit 0 in "), "{}", run.summary);
    let written = fs::read_to_string(dir.path().join("weight.txt")).unwrap();
    assert_eq!(written, "25 25 checkout-canary");
}

#[tokio::test]
async fn hostile_values_arrive_as_literal_single_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = argv_recorder(dir.path());
    let out = dir.path().join("argv");
    fs::create_dir(dir.path().join("x")).unwrap();
    let stage = "; rm -rf x";
    let reason = "it's \"bad\" $(touch pwned) `touch pwned2` && touch pwned3\nsecond line";
    let operator = "$HOME {stage} *";
    let hook = Hook {
        cwd: Some(dir.path().to_path_buf()),
        ..exec(&[
            recorder.to_str().unwrap(),
            out.to_str().unwrap(),
            "{stage}",
            "--reason={reason}",
            "{operator}",
            "",
            "{weight}%",
        ])
    };
    let v = vars(&[("stage", stage), ("reason", reason), ("operator", operator)]);
    let (run, _) = run(&hook, &v).await;
    assert!(run.ok, "{}", run.summary);
    assert_eq!(
        recorded(&out),
        vec![
            stage.to_string(),
            format!("--reason={reason}"),
            operator.to_string(),
            String::new(),
            "25%".to_string(),
        ]
    );
    assert!(dir.path().join("x").is_dir(), "`; rm -rf x` was run");
    for f in ["pwned", "pwned2", "pwned3"] {
        assert!(!dir.path().join(f).exists(), "{f} was created by a shell");
    }
}

#[tokio::test]
async fn hostile_values_reach_shell_hooks_only_as_environment_variables() {
    let dir = tempfile::tempdir().unwrap();
    let hook = Hook {
        shell: true,
        cwd: Some(dir.path().to_path_buf()),
        ..exec(&["printf '%s' \"$COCKPIT_STAGE\" > stage.txt"])
    };
    let stage = "$(touch pwned); rm -rf x\n'\"";
    let (run, _) = run(&hook, &vars(&[("stage", stage)])).await;
    assert!(run.ok, "{}", run.summary);
    assert_eq!(
        fs::read_to_string(dir.path().join("stage.txt")).unwrap(),
        stage
    );
    assert!(!dir.path().join("pwned").exists());
}

#[tokio::test]
async fn a_non_zero_exit_fails_with_the_code_and_the_last_error_line() {
    let hook = exec(&[
        "sh",
        "-c",
        "echo 'setting weight'; echo 'upstream checkout not found' >&2; echo 'done trying'; exit 3",
    ]);
    let (run, lines) = run(&hook, &vars(&[])).await;
    assert!(!run.ok);
    assert!(
        run.summary.starts_with("exit code 3 after "),
        "{}",
        run.summary
    );
    assert!(
        run.summary.ends_with(": upstream checkout not found"),
        "{}",
        run.summary
    );
    assert_eq!(run.tail.len(), 3, "{:?}", run.tail);
    assert!(run.tail.contains(&"setting weight".to_string()));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with('[') && l.ends_with("] setting weight")),
        "{lines:?}"
    );
}

#[tokio::test]
async fn a_missing_program_says_so() {
    let (run, _) = run(&exec(&["no-such-weight-setter-xyz", "25"]), &vars(&[])).await;
    assert!(!run.ok);
    assert!(
        run.summary
            .starts_with("cannot start `no-such-weight-setter-xyz`"),
        "{}",
        run.summary
    );
    assert!(run.summary.contains("on PATH"), "{}", run.summary);
}

/// True once `pid` has exited (gone, or a zombie nobody reaped yet).
fn is_dead(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

fn wait_dead(pid: i32) -> bool {
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        if is_dead(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// A dead process re-parented to this one (the cockpit is a subreaper)
/// must have been reaped, not left a zombie.
fn left_as_our_zombie(pid: i32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let ppid = stat.rsplit(')').next().and_then(|rest| {
        let mut fields = rest.split_whitespace();
        fields.next();
        fields.next()?.parse::<u32>().ok()
    });
    ppid == Some(std::process::id())
}

async fn times_out_and_kills(script: &str) {
    let dir = tempfile::tempdir().unwrap();
    let hook = Hook {
        cwd: Some(dir.path().to_path_buf()),
        timeout: Some(Span::from_millis(1000)),
        ..exec(&["sh", "-c", script])
    };
    let (run, _) = run(&hook, &vars(&[])).await;
    assert!(!run.ok);
    assert!(
        run.summary.starts_with("timed out after 1s"),
        "{}",
        run.summary
    );
    let pid: i32 = fs::read_to_string(dir.path().join("grandchild.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Checked at once: the hook's end is when it must be gone.
    let alive = !is_dead(pid);
    if alive {
        // Leave nothing behind even when the test fails.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        wait_dead(pid);
    }
    assert!(!alive, "grandchild {pid} survived the timeout");
    assert!(!left_as_our_zombie(pid), "grandchild {pid} was not reaped");
}

#[tokio::test]
async fn a_hook_past_its_timeout_is_killed_with_its_children() {
    times_out_and_kills("sleep 300 & echo $! > grandchild.pid; echo started; wait").await;
}

#[tokio::test]
async fn a_child_that_ignores_sigterm_is_killed_too() {
    times_out_and_kills("(trap '' TERM; exec sleep 300) & echo $! > grandchild.pid; wait").await;
}

#[tokio::test]
async fn a_child_that_left_with_setsid_is_killed_too() {
    times_out_and_kills("setsid sleep 300 & echo $! > grandchild.pid; sleep 300").await;
}

#[tokio::test]
async fn a_double_forked_daemon_in_its_own_session_is_killed_too() {
    // The middle process exits at once: no ppid chain leads back to the hook.
    times_out_and_kills("setsid sh -c 'sleep 300 & echo $! > grandchild.pid' & sleep 300").await;
}

#[tokio::test]
async fn megabytes_of_output_keep_a_short_tail_and_stream_a_bounded_number_of_lines() {
    let hook = exec(&[
        "sh",
        "-c",
        // 5.4 MB of short lines, one 3 MB line, then a last word.
        "yes 'traffic shifted to canary' | head -n 200000; head -c 3000000 /dev/zero | tr '\\0' x; echo; echo finished",
    ]);
    let (run, lines) = run(&hook, &vars(&[])).await;
    assert!(run.ok, "{}", run.summary);
    assert!(run.summary.ends_with(": finished"), "{}", run.summary);
    assert_eq!(run.tail.len(), TAIL_LINES);
    assert_eq!(run.tail.last().unwrap(), "finished");
    let long = &run.tail[TAIL_LINES - 2];
    assert!(
        long.ends_with(&format!("[{} more bytes cut]", 3_000_000 - MAX_LINE)),
        "{}",
        &long[long.len().saturating_sub(80)..]
    );
    assert!(run.tail.iter().all(|l| l.len() <= MAX_LINE + 40));
    assert!(lines.len() <= 502, "{} lines streamed", lines.len());
    assert!(
        lines.last().unwrap().contains("more output not shown live"),
        "{:?}",
        lines.last()
    );
}
