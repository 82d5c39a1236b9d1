//! The screen as an SSH link sees it: the release binary in tmux at
//! 120x40, metrics scraped every second with one metric changing per poll,
//! 3 stages x 5 metrics. Reports the bytes written to the pseudo-terminal
//! per second (targets: under 2 KB/s), the ratio to repainting the whole
//! frame on every redraw, resident memory (under 20 MB) and CPU (under 1%
//! of a core). `BENCH_SECS` sets the measured span (default 60; the README
//! numbers use 300).

#[path = "common/tui.rs"]
mod common;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

fn tmux(socket: &str, args: &[&str]) -> String {
    let out = Command::new("tmux")
        .args(["-L", socket])
        .args(args)
        .output()
        .expect("tmux runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Counters that grow evenly (rates stay put) and a queue depth gauge
/// that changes on every scrape: one metric changing per poll.
fn fixture(rt: &tokio::runtime::Runtime) -> String {
    let scrapes = Arc::new(AtomicU64::new(0));
    let (addr, _task) = rt
        .block_on(cockpit::httpd::serve(0, move |_req| {
            let n = scrapes.fetch_add(1, Ordering::SeqCst) + 1;
            let total = 1000 * n;
            async move {
                let body = format!(
                    "# TYPE http_requests_total counter\n\
                     http_requests_total{{code=\"200\"}} {total}\n\
                     # TYPE http_request_duration_seconds histogram\n\
                     http_request_duration_seconds_bucket{{le=\"0.1\"}} {total}\n\
                     http_request_duration_seconds_bucket{{le=\"+Inf\"}} {total}\n\
                     http_request_duration_seconds_sum {sum}\n\
                     http_request_duration_seconds_count {total}\n\
                     # TYPE db_errors_total counter\n\
                     db_errors_total {n}\n\
                     # TYPE queue_depth gauge\n\
                     queue_depth {depth}\n",
                    sum = total as f64 * 0.05,
                    depth = 100 + n % 50,
                );
                cockpit::httpd::Response::text(200, body)
            }
        }))
        .expect("fixture serves");
    format!("http://{addr}/metrics")
}

/// (user + system CPU seconds, resident KB) of a process.
fn usage(pid: &str) -> (f64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i).and_then(|f| f.parse::<f64>().ok()))
        .sum();
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (ticks / hz, rss)
}

/// A writer that only counts.
struct Counted(Arc<AtomicU64>);

impl std::io::Write for Counted {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.fetch_add(buf.len() as u64, Ordering::SeqCst);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Bytes of one full repaint of a 120x40 frame of the same rollout.
fn full_frame_bytes() -> u64 {
    let (r, screen, now) = common::watched();
    let count = Arc::new(AtomicU64::new(0));
    let backend = ratatui::backend::CrosstermBackend::new(Counted(count.clone()));
    let viewport = Viewport::Fixed(Rect::new(0, 0, 120, 40));
    let mut t = Terminal::with_options(backend, TerminalOptions { viewport }).unwrap();
    t.draw(|f| cockpit::tui::draw(f, &screen, &r, now)).unwrap();
    count.load(Ordering::SeqCst)
}

fn main() {
    if !Command::new("tmux")
        .arg("-V")
        .status()
        .is_ok_and(|s| s.success())
    {
        eprintln!("SKIP: tmux not installed");
        return;
    }
    let secs: u64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = fixture(&rt);
    let dir = tempfile::tempdir().unwrap();
    let config = include_str!("tui_watch.toml").replace("{url}", &url);
    std::fs::write(dir.path().join("cockpit.toml"), config).unwrap();
    let raw = dir.path().join("pty.bytes");
    let socket = format!("cockpit-bench-{}", std::process::id());
    let command = format!(
        "cd '{}' && exec '{}' run --config cockpit.toml --checklist-done --override-window bench",
        dir.path().display(),
        env!("CARGO_BIN_EXE_cockpit")
    );
    Command::new("tmux")
        .args([
            "-L",
            &socket,
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            "120",
            "-y",
            "40",
        ])
        .arg(&command)
        .status()
        .unwrap();
    let pipe = format!("cat >> '{}'", raw.display());
    tmux(&socket, &["pipe-pane", "-o", "-t", "0", &pipe]);
    std::thread::sleep(Duration::from_secs(2));
    tmux(&socket, &["send-keys", "-t", "0", "s"]);
    // Warm-up: the first scrapes, the first full paint.
    std::thread::sleep(Duration::from_secs(5));
    let pid = tmux(
        &socket,
        &["display-message", "-p", "-t", "0", "#{pane_pid}"],
    );
    let pid = pid.trim().to_string();
    let bytes = || std::fs::metadata(&raw).map_or(0, |m| m.len());
    let (b0, (cpu0, _)) = (bytes(), usage(&pid));
    let start = Instant::now();
    let mut max_rss = 0;
    for _ in 0..secs {
        std::thread::sleep(Duration::from_secs(1));
        max_rss = max_rss.max(usage(&pid).1);
    }
    let elapsed = start.elapsed().as_secs_f64();
    let (b1, (cpu1, _)) = (bytes(), usage(&pid));
    let screen = tmux(&socket, &["capture-pane", "-p", "-t", "0"]);
    tmux(&socket, &["kill-server"]);
    let per_sec = (b1 - b0) as f64 / elapsed;
    let full = full_frame_bytes();
    println!("watched {secs}s at 120x40, 3 stages x 5 metrics, 1 s polls");
    println!("bytes to the terminal: {per_sec:.0} B/s");
    println!(
        "one full repaint: {full} B; repainting once a second would be {full} B/s ({:.1}x more)",
        full as f64 / per_sec
    );
    println!("resident memory (max): {:.1} MB", max_rss as f64 / 1024.0);
    println!("CPU: {:.2}% of a core", 100.0 * (cpu1 - cpu0) / elapsed);
    if !screen.contains("queue depth") {
        eprintln!("warning: the screen did not show the metrics:\n{screen}");
    }
}
