//! The real binary in a real pseudo-terminal: tmux runs `cockpit run` in a
//! detached 80x24 session, `send-keys` presses keys, `capture-pane` reads
//! what the operator sees. Each test has a private tmux server (`-L`) and
//! kills only that server.
//!
//! The machine running these may be busy: every wait polls for a condition
//! with a generous deadline instead of sleeping a fixed time, and a deadline
//! that passes fails with what was on the screen.

mod metrics_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

static NEXT: AtomicU64 = AtomicU64::new(0);

/// How long a wait may take before the test fails: far beyond what a
/// healthy cockpit needs even on a loaded two-core machine.
const PATIENCE: Duration = Duration::from_secs(60);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(50);

/// Polls `probe` until it gives a value or `PATIENCE` runs out.
fn poll<T>(mut probe: impl FnMut() -> Option<T>) -> Option<T> {
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

/// What the shell around the cockpit prints after it, with its status.
const EXIT_MARK: &str = "cockpit-test-exit=";

/// A private tmux server with one session running the cockpit.
struct Tmux {
    socket: String,
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

/// The binary under test; `COCKPIT_BIN` points at a copy when several
/// checkouts share one target directory and may rebuild it under a test.
fn cockpit_bin() -> String {
    std::env::var("COCKPIT_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_cockpit").to_string())
}

fn tmux_installed() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("tmux not installed, and CI=true: the pseudo-terminal tests must run");
        }
        eprintln!("SKIP: tmux not installed");
    }
    ok
}

impl Tmux {
    /// Starts `cockpit run` with `args` in an 80x24 session under `dir`.
    fn start(dir: &Path, args: &[&str]) -> Tmux {
        Tmux::start_with(dir, "", args)
    }

    /// Same, with `env` (`NAME=value ...`) set for the cockpit.
    fn start_with(dir: &Path, env: &str, args: &[&str]) -> Tmux {
        let socket = format!(
            "cockpit-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let conf = dir.join("tmux.conf");
        // A pane whose shell dies stays, so a failure shows its last screen;
        // no status line, so the pane is the whole 80x24; a POSIX shell
        // whatever the login shell is.
        std::fs::write(
            &conf,
            "set -g remain-on-exit on\nset -g status off\nset -g default-shell /bin/sh\n",
        )
        .unwrap();
        let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
        // The cockpit runs as the shell's child (not exec'd), so the tests
        // can signal it alone. After it the shell prints its status on the
        // same terminal and keeps the pane open: once tmux shows that line it
        // has taken in everything the cockpit wrote; the line starts at
        // column 0 and is cleared to its end, so it reads the same whatever
        // the cockpit left on the terminal. (tmux 3.3 may report a
        // pane dead before its status, never learn the status, or drop the
        // last output of a pane that dies, so the tests rely on none of it.)
        let command = format!(
            "cd '{}' && SSH_CONNECTION='10.0.0.1 50000 10.0.0.2 22' {env} '{}' run {}; \
             code=$?; printf '\\r\\n{EXIT_MARK}%s\\033[K\\r\\n' $code; exec sleep 600",
            dir.display(),
            cockpit_bin(),
            quoted.join(" ")
        );
        let t = Tmux { socket };
        let out = Command::new("tmux")
            .args(["-L", &t.socket, "-f"])
            .arg(&conf)
            .args(["new-session", "-d", "-x", "80", "-y", "24", &command])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        t
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .unwrap()
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            let out = self.tmux(&["send-keys", "-t", "0", k]);
            assert!(
                out.status.success(),
                "send-keys {k}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", "0"]).stdout).into_owned()
    }

    fn format(&self, what: &str) -> String {
        let out = self.tmux(&["display-message", "-p", "-t", "0", what]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Polls the screen until `check` holds; bounded, so a broken screen
    /// fails with what was on it instead of hanging.
    fn wait(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        let seen = poll(|| {
            last = self.screen();
            check(&last).then(|| last.clone())
        });
        seen.unwrap_or_else(|| panic!("waited {PATIENCE:?} for {what}; the screen shows:\n{last}"))
    }

    /// The screen with tmux's history, for after the process has exited.
    fn history(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-S", "-", "-t", "0"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn wait_for(&self, text: &str) -> String {
        self.wait(text, |s| s.contains(text))
    }

    /// The cockpit's exit status once it has exited, None if it is still
    /// running after `PATIENCE`. The shell prints the status after the
    /// cockpit's last byte, so the screen is final once the status shows.
    fn exited(&self) -> Option<i32> {
        poll(|| {
            let text = self.history();
            text.lines()
                .find_map(|l| l.trim().strip_prefix(EXIT_MARK)?.parse().ok())
        })
    }

    /// The cockpit's pid: the child of the pane's shell.
    fn cockpit_pid(&self) -> String {
        let shell = self.format("#{pane_pid}");
        let children = format!("/proc/{shell}/task/{shell}/children");
        let pid = poll(|| {
            let text = std::fs::read_to_string(&children).ok()?;
            text.split_whitespace().next().map(str::to_string)
        });
        pid.unwrap_or_else(|| panic!("no cockpit under the pane's shell {shell}"))
    }
}

/// A `/metrics` page whose counters grow by 100 healthy requests a scrape.
fn fixture() -> (String, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let scrapes = std::sync::Arc::new(AtomicU64::new(0));
    let (addr, _task) = rt
        .block_on(cockpit::httpd::serve(0, move |_req| {
            let total = 100 * (scrapes.fetch_add(1, Ordering::SeqCst) + 1);
            async move {
                let body = format!(
                    "# TYPE http_requests_total counter\n\
                     http_requests_total{{code=\"200\"}} {total}\n\
                     # TYPE http_request_duration_seconds histogram\n\
                     http_request_duration_seconds_bucket{{le=\"0.1\"}} {total}\n\
                     http_request_duration_seconds_bucket{{le=\"+Inf\"}} {total}\n\
                     http_request_duration_seconds_sum {sum}\n\
                     http_request_duration_seconds_count {total}\n",
                    sum = total as f64 * 0.05,
                );
                cockpit::httpd::Response::text(200, body)
            }
        }))
        .unwrap();
    (format!("http://{addr}/metrics"), rt)
}

/// Two stages whose enter hooks write the weight the traffic layer would
/// see into `weights.log`, the metrics scraped from `url`.
fn live_config(dir: &Path, url: &str) -> PathBuf {
    let text = format!(
        r#"
[rollout]
name = "checkout 2.0"
service = "checkout"
old_version = "1.9"
new_version = "2.0"

[hooks]
enter = {{ exec = ["sh", "-c", "echo $0 >> weights.log", "{{weight}}"] }}
undo = {{ exec = ["sh", "-c", "echo undo $0 >> weights.log", "{{previous_weight}}"] }}

[[stage]]
name = "canary"
weight = 10
wait = "2s"

[[stage]]
name = "all"
weight = 100
wait = "2s"

[scrape]
canary = ["{url}"]
every = "200ms"

[[metric]]
name = "error_rate"
kind = "error_rate"
for = "1s"

[checklist]
items = ["Tests green", "Review done"]

[journal]
dir = "journal"
"#
    );
    let path = dir.join("cockpit.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// One irreversible stage, no hooks, a metric source that is down.
fn quiet_config(dir: &Path) -> PathBuf {
    let text = r#"
[rollout]
name = "checkout 2.0"
service = "checkout"
old_version = "1.9"
new_version = "2.0"

[[stage]]
name = "all"
weight = 100
irreversible = true

[scrape]
canary = ["http://127.0.0.1:9/metrics"]

[journal]
dir = "journal"
"#;
    let path = dir.join("cockpit.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn keys_drive_a_rollout_in_a_real_terminal() {
    if !tmux_installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (url, _server) = fixture();
    live_config(dir.path(), &url);
    let t = Tmux::start(
        dir.path(),
        &[
            "--config",
            "cockpit.toml",
            "--override-window",
            "test",
            "--operator",
            "alice@ops-1",
        ],
    );
    let first = t.wait_for("Not started: s starts the rollout");
    assert!(first.contains("driver alice@ops-1 (SSH)"), "{first}");
    assert!(first.contains(" 1 [ ] Tests green"), "{first}");
    // The checklist is ticked by keys.
    t.keys(&["1", "2"]);
    t.wait_for(" 2 [x] Review done");
    // Help opens from the key map and closes again.
    t.keys(&["?"]);
    let help = t.wait_for("help: keys from [ui] keys");
    // At 80x24 the keys take two columns, each described as far as it fits.
    assert!(
        help.contains("p/space  pause or resume the observa"),
        "{help}"
    );
    assert!(help.contains("enter  open the selected metric"), "{help}");
    t.keys(&["?"]);
    t.wait("help to close", |s| !s.contains("help: keys from"));
    t.keys(&["s"]);
    t.wait_for("Ready to advance to 100% (a)");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("weights.log")).unwrap(),
        "10\n"
    );
    // Pause: the decision line says so; resume with space.
    t.keys(&["p"]);
    t.wait_for("Paused: observation clock stopped (p resumes)");
    t.keys(&["Space"]);
    t.wait_for("Ready to advance to 100% (a)");
    t.keys(&["a"]);
    t.wait_for("Ready to promote to 100% (a)");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("weights.log")).unwrap(),
        "10\n100\n",
        "the traffic layer saw the advance"
    );
    // A note goes through the one-line editor into the log.
    t.keys(&["n"]);
    t.wait_for("Note for the incident log");
    t.keys(&["-l", "all good"]);
    t.keys(&["Enter"]);
    t.wait_for("note by alice@ops-1: all good");
    t.keys(&["a"]);
    t.wait_for("Promoted: all stages done");
    // Finished: q quits at once, with the outcome as the exit code.
    t.keys(&["q"]);
    assert_eq!(t.exited(), Some(0), "{}", t.history());
}

/// Started by keys on the quiet config: observing, holding on no data.
fn quiet_session(dir: &Path) -> Tmux {
    quiet_config(dir);
    let t = Tmux::start(
        dir,
        &[
            "--config",
            "cockpit.toml",
            "--override-window",
            "test",
            "--checklist-done",
        ],
    );
    t.wait_for("Not started: s starts the rollout");
    t.keys(&["s"]);
    // The source is down: no data, with the reason, never ok.
    let holding = t.wait_for("no data (cannot connect to http://127.0.0.1:9/metrics");
    assert!(
        holding.contains("» Holding: ") && holding.contains("? NO DATA"),
        "{holding}"
    );
    t
}

#[test]
fn quit_asks_first_and_sighup_restores_the_terminal() {
    if !tmux_installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let t = quiet_session(dir.path());
    // q while live asks; anything but y keeps the rollout.
    t.keys(&["q"]);
    t.wait_for("Quit? The rollout stays where it is");
    t.keys(&["n"]);
    t.wait("the question to close", |s| !s.contains("Quit?"));
    assert_eq!(t.format("#{pane_dead}"), "0");
    // A dropped SSH connection: SIGHUP. The terminal is restored and the
    // process exits "stopped, resumable".
    let pid = t.cockpit_pid();
    let killed = Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    assert!(killed.success());
    assert_eq!(t.exited(), Some(5), "{}", t.history());
    assert_eq!(
        t.format("#{alternate_on}"),
        "0",
        "still on the alternate screen"
    );
    // With the history: tmux may scroll the first line of the restored screen.
    let after = t.history();
    assert!(after.contains("cockpit: SIGHUP received"), "{after}");
    assert!(
        !after.contains("metrics:"),
        "the screen was not restored:\n{after}"
    );
    assert!(after.contains("cockpit: journal journal/"), "{after}");
}

#[test]
fn a_resized_terminal_is_redrawn_to_its_new_size() {
    if !tmux_installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let t = quiet_session(dir.path());
    let narrow = t.screen();
    assert!(
        !narrow.contains("TREND"),
        "no sparklines at 80 columns:\n{narrow}"
    );
    t.tmux(&["resize-window", "-t", "0", "-x", "120", "-y", "40"]);
    let wide = t.wait_for("TREND (taller is worse)");
    assert!(
        wide.lines()
            .any(|l| l.chars().count() == 120 && l.ends_with('┐')),
        "{wide}"
    );
    t.tmux(&["resize-window", "-t", "0", "-x", "80", "-y", "24"]);
    t.wait("the trend column to go", |s| {
        !s.contains("TREND") && s.contains("? NO DATA")
    });
    t.keys(&["q"]);
    t.wait_for("Quit? The rollout stays where it is");
    t.keys(&["y"]);
    let code = t.exited();
    assert_eq!(
        code,
        Some(5),
        "quit leaves the rollout resumable:\n{}",
        t.history()
    );
}

#[test]
fn a_panic_in_a_background_task_stops_the_screen_and_restores_the_terminal() {
    if !tmux_installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    quiet_config(dir.path());
    let t = Tmux::start_with(
        dir.path(),
        "COCKPIT_TEST_PANIC_WHEN=panic.now",
        &[
            "--config",
            "cockpit.toml",
            "--override-window",
            "test",
            "--checklist-done",
        ],
    );
    t.wait_for("Not started: s starts the rollout");
    // The task panics once the screen is up, whatever the machine's load.
    std::fs::write(dir.path().join("panic.now"), "").unwrap();
    // An internal fault is exit 1, not a screen drawing over a restored terminal.
    assert_eq!(t.exited(), Some(1), "{}", t.history());
    assert_eq!(
        t.format("#{alternate_on}"),
        "0",
        "still on the alternate screen"
    );
    let after = t.history();
    assert!(after.contains("test panic in a background task"), "{after}");
    assert!(
        after.contains("cockpit: internal error, stopping"),
        "{after}"
    );
    assert!(
        !after.contains("metrics:") && !after.contains("Not started"),
        "{after}"
    );
}

/// The start panel's text as one line: borders dropped, wrapped lines
/// joined with a space, so a wrapped message reads whole.
fn panel_text(screen: &str) -> String {
    screen
        .lines()
        .map(|l| {
            l.trim()
                .trim_start_matches('│')
                .trim_end_matches('│')
                .trim()
        })
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn a_broken_query_keeps_stage_one_from_starting_until_forced_with_a_reason() {
    if !tmux_installed() {
        return;
    }
    let Some(prom) = metrics_support::Prometheus::start("none", &[]) else {
        return;
    };
    // Up and answering before the cockpit asks it anything.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(prom.value("vector(1)"));
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"{}
[[stage]]
name = "all"
weight = 100
wait = "1m"
enter = {{ exec = ["touch", "entered"] }}

[prometheus]
url = "{}"

{}
[checklist]
items = []

[journal]
dir = "journal"
"#,
        metrics_support::ROLLOUT,
        prom.url(),
        metrics_support::custom_metric("queue", "sum(rate(queue_jobs[1m])"),
    );
    std::fs::write(dir.path().join("cockpit.toml"), text).unwrap();
    let t = Tmux::start(dir.path(), &["--config", "cockpit.toml"]);
    let screen = t.wait_for("Pre-flight: 2 of 4 checks failed");
    let panel = panel_text(&screen);
    // The query exactly as sent, and Prometheus' own words about it.
    assert!(
        panel.contains("✗ queue (baseline): sum(rate(queue_jobs[1m])"),
        "{screen}"
    );
    assert!(
        panel.contains("bad_data: invalid parameter \"query\"")
            && panel.contains("parse error: unclosed left parenthesis"),
        "{screen}"
    );
    assert!(
        panel.contains(
            "» Not started: the pre-flight failed; s refuses until it passes, F starts anyway"
        ),
        "{screen}"
    );
    assert!(screen.contains("F force start"), "the footer: {screen}");
    // s refuses, and says why; nothing moved.
    t.keys(&["s"]);
    let refused = t.wait_for("not started: the pre-flight failed (see above)");
    assert!(refused.contains("before the rollout"), "{refused}");
    assert!(!dir.path().join("entered").exists(), "an enter hook ran");
    // F asks for the reason; the start goes through, journalled.
    t.keys(&["F"]);
    t.wait_for("Start despite the failed pre-flight");
    t.keys(&["-l", "queue metric is new, judged by hand"]);
    t.keys(&["Enter"]);
    t.wait_for("FORCED START: queue metric is new");
    poll(|| dir.path().join("entered").exists().then_some(()))
        .unwrap_or_else(|| panic!("the enter hook never ran: {}", t.screen()));
    t.keys(&["q"]);
    t.wait_for("Quit? The rollout stays where it is");
    t.keys(&["y"]);
    assert_eq!(t.exited(), Some(5), "{}", t.history());
}

/// In a real pseudo-terminal, enter opens the selected metric: what it
/// asks, what it was told (the connection error, with its time) and its
/// verdicts; esc returns to the table.
#[test]
fn enter_opens_a_metric_and_esc_returns_in_a_real_terminal() {
    if !tmux_installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let t = quiet_session(dir.path());
    t.keys(&["Down"]);
    t.keys(&["Enter"]);
    // The first poll's answer reaches the open view as it arrives.
    let open = t.wait_for("canary said: no data: cannot connect");
    assert!(open.contains("canary asks: scrape"), "{open}");
    assert!(open.contains("    http://127.0.0.1:9/metrics"), "{open}");
    assert!(open.contains("verdicts in this stage:"), "{open}");
    assert!(open.contains("esc back"), "{open}");
    t.keys(&["Escape"]);
    let table = t.wait("the table again", |s| s.contains("metrics: all"));
    assert!(!table.contains("canary asks:"), "{table}");
    t.keys(&["q"]);
    t.wait_for("Quit? The rollout stays where it is");
    t.keys(&["y"]);
    assert_eq!(t.exited(), Some(5), "{}", t.history());
}
