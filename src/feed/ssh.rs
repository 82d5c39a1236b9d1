//! Following a rollout on another host: the system's own `ssh` (the user's
//! keys, agent and config; no port opened, no new credential) runs
//! `cockpit watch --feed` there, and its stdout is the stream `wire` reads.
//! A connection that drops is started again with backoff, a bounded number
//! of times, each step told to the follower as an `Event`.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How many times in a row a dropped connection is tried again.
pub const ATTEMPTS: u32 = 8;

/// `ssh://[user@]host[:port][/ROLLOUT]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    pub rollout: Option<String>,
}

impl Remote {
    /// `None` when `target` is not an `ssh://` address at all.
    pub fn parse(target: &str) -> Option<Result<Remote, String>> {
        let rest = target.strip_prefix("ssh://")?;
        Some(Remote::parse_rest(rest).ok_or_else(|| {
            format!(
                "\"{target}\" is not an address to follow: write ssh://[user@]host[:port][/ROLLOUT]"
            )
        }))
    }

    fn parse_rest(rest: &str) -> Option<Remote> {
        let (authority, rollout) = rest.split_once('/').unwrap_or((rest, ""));
        let (user, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u.to_string()).filter(|u| !u.is_empty()), h),
            None => (None, authority),
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (host, after) = v6.split_once(']')?;
            (host, after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        let port = match port {
            Some(p) => Some(p.parse::<u16>().ok()?),
            None => None,
        };
        // A host beginning with `-` would read as an option to ssh.
        if host.is_empty() || host.starts_with('-') || host.contains(char::is_whitespace) {
            return None;
        }
        Some(Remote {
            user,
            host: host.to_string(),
            port,
            rollout: Some(rollout.to_string()).filter(|r| !r.is_empty()),
        })
    }

    /// `bob@bastion:2222`, as the screen names it.
    pub fn label(&self) -> String {
        let user = self
            .user
            .as_ref()
            .map_or(String::new(), |u| format!("{u}@"));
        let port = self.port.map_or(String::new(), |p| format!(":{p}"));
        format!("{user}{}{port}", self.host)
    }
}

/// How to reach the host: the ssh program (and options: `COCKPIT_SSH`
/// holds e.g. `ssh -F ./ssh_config`), and the cockpit to run there.
#[derive(Debug, Clone)]
pub struct Ssh {
    pub program: Vec<String>,
    pub remote_cockpit: String,
}

/// One word for the remote shell, whatever it holds.
fn quoted(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

impl Ssh {
    /// `ssh -T [-o BatchMode=yes] [-p PORT] -- [user@]host 'cockpit' ARGS...`.
    /// Batch mode never asks for a password: used when no one is at a
    /// terminal to answer, and for reconnects, which happen under the screen.
    pub fn command(&self, remote: &Remote, args: &[&str], batch: bool) -> Command {
        let (program, options) = self.program.split_first().expect("an ssh program");
        let mut cmd = Command::new(program);
        cmd.args(options).arg("-T");
        if batch {
            cmd.args(["-o", "BatchMode=yes"]);
        }
        // A connection that died without a word is noticed in seconds.
        cmd.args(["-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=2"]);
        // The stream repeats its keys every second: zlib takes most of it.
        cmd.args(["-o", "ConnectTimeout=10", "-o", "Compression=yes"]);
        if let Some(port) = remote.port {
            cmd.args(["-p", &port.to_string()]);
        }
        if let Some(user) = &remote.user {
            cmd.args(["-l", user]);
        }
        let words: Vec<String> = std::iter::once(self.remote_cockpit.as_str())
            .chain(args.iter().copied())
            .map(quoted)
            .collect();
        cmd.arg("--").arg(&remote.host).arg(words.join(" "));
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }
}

/// What the connection did, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A line of the stream.
    Line(String),
    /// The first line after a reconnect.
    Connected { attempt: u32 },
    /// The connection ended; another try follows after `retry_in`.
    Dropped {
        why: String,
        attempt: u32,
        retry_in: Duration,
    },
    /// `ATTEMPTS` tries in a row failed.
    GaveUp { why: String },
}

/// 1, 2, 4, 8, 15, 15... seconds: a laptop waking up gets its screen back
/// soon, a host that is down is not hammered.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_secs((1u64 << attempt.saturating_sub(1).min(4)).min(15))
}

/// The running connection; ends its `ssh` when dropped.
pub struct Link {
    pub events: Receiver<Event>,
    child: Arc<Mutex<Option<Child>>>,
    stop: Arc<AtomicBool>,
}

impl Link {
    /// Starts `make(batch)` at once and again whenever it ends.
    pub fn start(make: impl Fn(bool) -> Command + Send + 'static, first_batch: bool) -> Link {
        let (tx, events) = mpsc::channel();
        let child = Arc::new(Mutex::new(None));
        let stop = Arc::new(AtomicBool::new(false));
        let (c, s) = (child.clone(), stop.clone());
        std::thread::spawn(move || keep_up(&make, first_batch, &tx, &c, &s));
        Link {
            events,
            child,
            stop,
        }
    }

    /// Ends this connection (a stream gone wrong, a silent link); the next
    /// one starts after the usual backoff.
    pub fn restart(&self) {
        if let Ok(mut slot) = self.child.lock()
            && let Some(child) = slot.as_mut()
        {
            let _ = child.kill();
        }
    }

    /// No more connections: the rollout ended, or the follower quits.
    pub fn close(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.restart();
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.close();
    }
}

fn keep_up(
    make: &dyn Fn(bool) -> Command,
    first_batch: bool,
    tx: &Sender<Event>,
    child: &Mutex<Option<Child>>,
    stop: &AtomicBool,
) {
    let mut failures = 0;
    let mut ever = false;
    while !stop.load(Ordering::SeqCst) {
        let (lines, why) = connect_once(make(first_batch || ever), failures, tx, child, stop);
        ever = true;
        if lines > 0 {
            failures = 0;
        }
        if stop.load(Ordering::SeqCst) {
            return;
        }
        failures += 1;
        if failures > ATTEMPTS {
            let _ = tx.send(Event::GaveUp { why });
            return;
        }
        let retry_in = backoff(failures);
        let dropped = Event::Dropped {
            why,
            attempt: failures,
            retry_in,
        };
        if tx.send(dropped).is_err() {
            return;
        }
        let waited = std::time::Instant::now();
        while waited.elapsed() < retry_in && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// One connection, until its stream ends: how many lines it gave, and why
/// it ended (ssh's last words, or its exit status).
fn connect_once(
    mut cmd: Command,
    failures: u32,
    tx: &Sender<Event>,
    slot: &Mutex<Option<Child>>,
    stop: &AtomicBool,
) -> (u64, String) {
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return (0, format!("cannot start ssh: {e}")),
    };
    let (stdout, mut stderr) = (child.stdout.take(), child.stderr.take());
    if let Ok(mut s) = slot.lock() {
        *s = Some(child);
    }
    // Killed by `close` before it was stored: end it now.
    if stop.load(Ordering::SeqCst) {
        kill(slot);
    }
    let mut lines = 0;
    for line in BufReader::new(stdout.expect("piped")).lines() {
        let Ok(line) = line else { break };
        if lines == 0 && failures > 0 {
            let _ = tx.send(Event::Connected { attempt: failures });
        }
        lines += 1;
        if tx.send(Event::Line(line)).is_err() {
            kill(slot);
            break;
        }
    }
    let mut said = String::new();
    if let Some(e) = stderr.as_mut() {
        let _ = e.take(64 << 10).read_to_string(&mut said);
    }
    let status = slot
        .lock()
        .ok()
        .and_then(|mut s| s.take())
        .and_then(|mut c| c.wait().ok());
    let why = said
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .map(str::to_string)
        .or_else(|| status.map(|s| format!("ssh ended: {s}")))
        .unwrap_or_else(|| "the connection ended".into());
    (lines, why)
}

fn kill(slot: &Mutex<Option<Child>>) {
    if let Ok(mut s) = slot.lock()
        && let Some(c) = s.as_mut()
    {
        let _ = c.kill();
    }
}

/// The link to a host is down: what the screen says where the eye is,
/// until it is back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkDown {
    pub host: String,
    /// ssh's last words, for the log.
    pub why: String,
    /// This many tries in a row failed, of `ATTEMPTS`.
    pub attempt: u32,
    /// Seconds until the next try.
    pub retry_in_s: u64,
    /// No more tries: what is shown is no longer live.
    pub gave_up: bool,
}
