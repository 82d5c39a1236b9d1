//! The real binary in a real pseudo-terminal, for every test that needs
//! one: a tmux server of the test's own (`-L`, killed when the test ends,
//! pass or fail), keys sent with `send-keys`, the screen read with
//! `capture-pane`, and waits that poll with a generous deadline (the
//! machine may be busy) and fail with what was on the screen.
//!
//! Included by each test file that uses it (`#[path = "support/tmux.rs"]
//! mod tmux;`), so each uses its own part of it.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a wait may take before the test fails: far beyond what a
/// healthy cockpit needs even on a loaded two-core machine.
pub const PATIENCE: Duration = Duration::from_secs(90);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(100);

/// What the shell prints after the command a window runs: `EXIT=<status>`.
pub const EXIT_MARK: &str = "EXIT=";

/// Whether tmux is here to run the test; under `CI=true` its absence
/// fails the test instead of skipping it.
pub fn installed() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "tmux not installed, and CI=true: the pseudo-terminal tests must run"
        );
        eprintln!("SKIP: tmux not installed");
    }
    ok
}

/// Polls `probe` until it gives a value or `PATIENCE` runs out.
pub fn poll<T>(mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let begun = Instant::now();
    loop {
        if let Some(v) = probe() {
            return Some(v);
        }
        if begun.elapsed() > PATIENCE {
            return None;
        }
        std::thread::sleep(POLL);
    }
}

/// `args` as one shell word each.
pub fn quoted(args: &[&str]) -> String {
    let words: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    words.join(" ")
}

/// `command` (shell words) run by Unix user `user` in `dir`, from a tmux
/// of root's: through `runuser`, which sets `USER` as a login would.
pub fn as_user(user: &str, dir: &Path, command: &str) -> String {
    format!(
        "runuser -u {user} -- /bin/sh -c \"cd '{}' && exec {command}\"",
        dir.display()
    )
}

/// `command`, then its exit status on a line of its own, the window kept
/// open. The command runs as the shell's child (not exec'd), so a test can
/// signal it alone. Once tmux shows the status line it has taken in
/// everything the command wrote; the line starts at column 0 and is
/// cleared to its end, so it reads the same whatever the command left on
/// the terminal. (tmux 3.3 may report a pane dead before its status, never
/// learn the status, or drop the last output of a pane that dies, so the
/// tests rely on none of it.)
pub fn then_exit_status(command: &str) -> String {
    format!("{command}; code=$?; printf '\\r\\n{EXIT_MARK}%s\\033[K\\r\\n' $code; exec sleep 600")
}

/// A private tmux server, killed when the last window of it is dropped.
struct Server {
    socket: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = tmux(&self.socket, &["kill-server"]);
    }
}

fn tmux(socket: &str, args: &[&str]) -> Output {
    Command::new("tmux")
        .args(["-L", socket])
        .args(args)
        .output()
        .unwrap()
}

/// One window of a private tmux server: where keys go and what is read.
pub struct Tmux {
    server: Rc<Server>,
    window: String,
}

impl Tmux {
    /// A server of its own (`name` tells it apart) whose one window runs
    /// `command` in an 80x24 pane.
    pub fn start(name: &str, command: &str) -> Tmux {
        Tmux::start_sized(name, (80, 24), command)
    }

    /// Same, in a pane of `(columns, lines)`.
    pub fn start_sized(name: &str, (columns, lines): (u16, u16), command: &str) -> Tmux {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let socket = format!("cockpit-test-{}-{n}-{name}", std::process::id());
        let conf = tempfile::NamedTempFile::new().unwrap();
        // A pane whose shell dies stays, so a failure shows its last screen;
        // no status line, so the pane is the whole window; a POSIX shell
        // whatever the login shell is.
        std::fs::write(
            conf.path(),
            "set -g remain-on-exit on\nset -g status off\nset -g default-shell /bin/sh\n",
        )
        .unwrap();
        let (columns, lines) = (columns.to_string(), lines.to_string());
        let out = Command::new("tmux")
            .args(["-L", &socket, "-f"])
            .arg(conf.path())
            .args(["new-session", "-d", "-x", &columns, "-y", &lines, command])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmux {
            server: Rc::new(Server { socket }),
            window: "0".into(),
        }
    }

    /// A new window of the same server, named `window`, running `command`.
    pub fn open(&self, window: &str, command: &str) -> Tmux {
        let out = self.run(&["new-window", "-d", "-n", window, command]);
        assert!(out.status.success(), "tmux new-window: {out:?}");
        Tmux {
            server: self.server.clone(),
            window: window.into(),
        }
    }

    /// Any tmux command, on this window's server.
    pub fn run(&self, args: &[&str]) -> Output {
        tmux(&self.server.socket, args)
    }

    /// Presses `keys` in order, as tmux names them (`Enter`, `Down`, `q`);
    /// `["-l", text]` types `text` literally.
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.window];
        args.extend(keys);
        let out = self.run(&args);
        assert!(
            out.status.success(),
            "send-keys {keys:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Types `text` literally, as keys.
    pub fn type_text(&self, text: &str) {
        self.keys(&["-l", text]);
    }

    /// What the window shows now.
    pub fn screen(&self) -> String {
        let out = self.run(&["capture-pane", "-p", "-t", &self.window]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The screen with tmux's history, for after the command has exited.
    pub fn history(&self) -> String {
        let out = self.run(&["capture-pane", "-p", "-S", "-", "-t", &self.window]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A tmux format (`#{pane_dead}`) as this window's pane reads it.
    pub fn format(&self, what: &str) -> String {
        let out = self.run(&["display-message", "-p", "-t", &self.window, what]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Polls the screen until `check` holds; bounded, so a broken screen
    /// fails with what was on it instead of hanging.
    pub fn wait(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        let seen = poll(|| {
            last = self.screen();
            check(&last).then(|| last.clone())
        });
        seen.unwrap_or_else(|| {
            panic!(
                "waited {PATIENCE:?} for {what} in window {}; the screen shows:\n{last}",
                self.window
            )
        })
    }

    /// Polls the screen until it shows `text`.
    pub fn wait_for(&self, text: &str) -> String {
        self.wait(&format!("{text:?}"), |s| s.contains(text))
    }

    /// The exit status `then_exit_status` printed, None if the command is
    /// still running after `PATIENCE`. The screen is final once it shows.
    pub fn exited(&self) -> Option<i32> {
        poll(|| {
            let text = self.history();
            text.lines()
                .find_map(|l| l.trim().strip_prefix(EXIT_MARK)?.parse().ok())
        })
    }

    /// The pid of the command the window runs: the child of its shell.
    pub fn command_pid(&self) -> String {
        let shell = self.format("#{pane_pid}");
        let children = format!("/proc/{shell}/task/{shell}/children");
        let pid = poll(|| {
            let text = std::fs::read_to_string(&children).ok()?;
            text.split_whitespace().next().map(str::to_string)
        });
        pid.unwrap_or_else(|| panic!("no command under the pane's shell {shell}"))
    }
}
