//! `exec` hooks: a process in its own process group, argv passed as is,
//! output streamed line by line; on timeout the hook and every process it
//! started are killed, those that left its group too (`descendants`).

use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use super::descendants;
use super::output::{LineSplitter, Tail};
use super::placeholder::{env_vars, fill};
use super::{EXEC_TIMEOUT, HookRun, Lines, Vars, limit_text};
use crate::config::model::Hook;

/// Between SIGTERM and SIGKILL: time for a hook to clean up after itself.
const KILL_GRACE: Duration = Duration::from_secs(2);
/// How long output may keep flowing after the hook exited (a background
/// child still holding the pipe): after that we stop reading, not killing.
const DRAIN_GRACE: Duration = Duration::from_secs(2);
/// Lines shown live per hook; past this only the tail is kept, so a hook
/// printing megabytes cannot flood the log pane or the channel.
const MAX_STREAMED: usize = 500;

/// What both output readers share: the tail and what the summary needs.
#[derive(Default)]
struct Seen {
    tail: Tail,
    last_stderr: Option<String>,
    streamed: usize,
}

pub async fn run(
    hook: &Hook,
    argv: &[String],
    vars: &Vars,
    prefix: &str,
    lines: &Lines,
) -> HookRun {
    let limit = hook
        .timeout
        .map_or(EXEC_TIMEOUT, |s| Duration::from_millis(s.as_millis()));
    let started = Instant::now();
    let tag = descendants::new_tag();
    let mut child = match descendants::spawn(&mut command(hook, argv, vars, &tag)) {
        Ok(child) => child,
        Err(e) => return HookRun::failed(spawn_error(hook, argv, &e)),
    };
    let pid = child.id();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let readers = [
        child
            .stdout
            .take()
            .map(|s| read_lines(s, false, prefix, lines, &seen)),
        child
            .stderr
            .take()
            .map(|s| read_lines(s, true, prefix, lines, &seen)),
    ];
    let ended = ended_within(&mut child, limit, &tag).await;
    if let Some(pid) = pid {
        descendants::waited(pid);
    }
    for reader in readers.into_iter().flatten() {
        drain(reader).await;
    }
    // Orphans it left that have ended since: ours to reap, as subreaper.
    descendants::reap();
    let seen = std::mem::take(&mut *seen.lock().unwrap_or_else(|p| p.into_inner()));
    summed_up(ended, seen, span_rounded(started.elapsed()))
}

/// The hook's exit, or why there is none: killed with every process it
/// started when it outlives `limit`.
async fn ended_within(child: &mut Child, limit: Duration, tag: &str) -> Result<ExitStatus, String> {
    match tokio::time::timeout(limit, child.wait()).await {
        Ok(Ok(status)) => Ok(status),
        Ok(Err(e)) => Err(format!("lost track of the process: {e}")),
        Err(_) => {
            kill_all(child, tag).await;
            Err(format!(
                "timed out after {} (killed with every process it started)",
                limit_text(limit)
            ))
        }
    }
}

/// How the hook ended, in one line with the output line that says most.
fn summed_up(ended: Result<ExitStatus, String>, seen: Seen, took: String) -> HookRun {
    let (ok, summary) = match ended {
        Ok(status) if status.success() => (
            true,
            with_line(format!("exit 0 in {took}"), seen.tail.last()),
        ),
        Ok(status) => (
            false,
            with_line(
                format!("{} after {took}", describe(status)),
                seen.last_stderr.as_deref().or(seen.tail.last()),
            ),
        ),
        Err(why) => (false, with_line(why, seen.last_stderr.as_deref())),
    };
    HookRun {
        ok,
        summary,
        tail: seen.tail.into_vec(),
    }
}

/// argv as given (placeholders filled inside each argument), or one script
/// through `sh -c` when the hook says `shell = true`.
fn command(hook: &Hook, argv: &[String], vars: &Vars, tag: &str) -> Command {
    let mut cmd = if hook.shell {
        let mut c = Command::new("sh");
        // Never filled: the shell would read the values. Scripts use $COCKPIT_*.
        c.arg("-c").args(argv);
        c
    } else {
        let mut c = Command::new(fill(&argv[0], vars));
        c.args(argv[1..].iter().map(|a| fill(a, vars)));
        c
    };
    cmd.envs(env_vars(vars))
        .envs(hook.env.iter().map(|(k, v)| (k, fill(v, vars))))
        // Inherited by all it starts: how a process that left the group is found.
        .env(descendants::RUN_TAG, tag)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own group, so a timeout can kill whatever the hook started too.
        .process_group(0);
    if let Some(dir) = &hook.cwd {
        cmd.current_dir(dir);
    }
    cmd
}

fn spawn_error(hook: &Hook, argv: &[String], e: &std::io::Error) -> String {
    let program = if hook.shell { "sh" } else { argv[0].as_str() };
    let hint = match e.kind() {
        std::io::ErrorKind::NotFound => match &hook.cwd {
            Some(dir) if !dir.is_dir() => {
                format!(" (working directory {} does not exist)", dir.display())
            }
            _ => " (is it installed and on PATH?)".into(),
        },
        std::io::ErrorKind::PermissionDenied => " (is it executable?)".into(),
        _ => String::new(),
    };
    format!("cannot start `{program}`: {e}{hint}")
}

fn read_lines(
    mut stream: impl AsyncRead + Unpin + Send + 'static,
    stderr: bool,
    prefix: &str,
    lines: &Lines,
    seen: &Arc<Mutex<Seen>>,
) -> JoinHandle<()> {
    let (prefix, lines, seen) = (prefix.to_string(), lines.clone(), seen.clone());
    tokio::spawn(async move {
        let mut splitter = LineSplitter::default();
        let mut chunk = vec![0u8; 8192];
        loop {
            let n = stream.read(&mut chunk).await.unwrap_or(0);
            let done = if n == 0 {
                splitter.finish().into_iter().collect()
            } else {
                splitter.feed(&chunk[..n])
            };
            record(&seen, &lines, &prefix, stderr, done);
            if n == 0 {
                return;
            }
        }
    })
}

/// One chunk's lines under one lock: a flood costs a lock per 8 KiB.
fn record(seen: &Mutex<Seen>, lines: &Lines, prefix: &str, stderr: bool, done: Vec<String>) {
    if done.is_empty() {
        return;
    }
    let mut s = seen.lock().unwrap_or_else(|p| p.into_inner());
    if stderr {
        s.last_stderr = done.last().cloned();
    }
    for line in done {
        s.streamed += 1;
        if s.streamed <= MAX_STREAMED {
            let _ = lines.send(format!("{prefix} {line}"));
        } else if s.streamed == MAX_STREAMED + 1 {
            let _ = lines.send(format!(
                "{prefix} ... more output not shown live; its last lines go to the journal"
            ));
        }
        s.tail.push(line);
    }
}

/// Waits for a reader to hit end of output, but not forever.
async fn drain(reader: JoinHandle<()>) {
    let abort = reader.abort_handle();
    if tokio::time::timeout(DRAIN_GRACE, reader).await.is_err() {
        abort.abort();
    }
}

/// SIGTERM to the hook and every process it started, SIGKILL to whatever
/// is left after a grace; then each is reaped (ours, as subreaper) or gone.
async fn kill_all(child: &mut Child, tag: &str) {
    let Some(leader) = child.id() else {
        return;
    };
    let mut sig = libc::SIGTERM;
    let mut deadline = Instant::now() + KILL_GRACE;
    // Each process gets each signal once: a SIGTERM handler cleaning up is
    // not interrupted by another SIGTERM every round.
    let mut told = std::collections::BTreeSet::new();
    loop {
        let left = descendants::members(leader, tag);
        if left.is_empty() {
            break;
        }
        // Looked up again each round: a member may have forked since.
        let new: Vec<i32> = left.into_iter().filter(|p| told.insert(*p)).collect();
        descendants::signal(&new, sig);
        let _ = child.try_wait();
        descendants::reap();
        if Instant::now() >= deadline {
            if sig == libc::SIGKILL {
                break;
            }
            sig = libc::SIGKILL;
            told.clear();
            deadline = Instant::now() + KILL_GRACE;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.wait().await;
    descendants::reap();
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => "ended abnormally".into(),
    }
}

fn with_line(summary: String, line: Option<&str>) -> String {
    match line.map(str::trim).filter(|l| !l.is_empty()) {
        Some(l) => {
            let short: String = l.chars().take(160).collect();
            format!("{summary}: {short}")
        }
        None => summary,
    }
}

/// `0.3s`, `12.0s`: how long a hook took, to a tenth of a second.
fn span_rounded(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}
