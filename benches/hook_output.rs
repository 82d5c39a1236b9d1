//! What a hook that prints a lot costs the cockpit: wall time against the
//! same command writing to /dev/null, and the cockpit's peak memory after
//! 10 MB and after 200 MB of output (bounded: it should not grow).
//!
//! Run: cargo bench --bench hook_output

use std::time::{Duration, Instant};

use cockpit::actions::{self, Vars};
use cockpit::config::model::Hook;

const RUNS: usize = 5;

fn shell(script: String) -> Hook {
    Hook {
        exec: Some(vec!["sh".into(), "-c".into(), script]),
        ..Hook::default()
    }
}

/// `bytes` of 60-byte lines, through the hook machinery or to /dev/null.
fn producer(bytes: u64) -> String {
    format!("yes 'stage canary: shifted 5% of traffic to version 2.0.0, ok' | head -c {bytes}")
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Peak resident set of this process so far, in MiB.
fn peak_rss_mib() -> f64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct we own.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    usage.ru_maxrss as f64 / 1024.0
}

async fn time(hook: &Hook) -> Duration {
    let vars = Vars::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    // Drain lines as the runtime's forwarder would.
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let start = Instant::now();
    let run = actions::run_hook(hook, &vars, &serde_json::json!({}), tx).await;
    let took = start.elapsed();
    assert!(run.ok, "{}", run.summary);
    drain.await.unwrap();
    took
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let before = peak_rss_mib();
        for mb in [10u64, 200] {
            let bytes = mb * 1_000_000;
            let mut ours = Vec::new();
            let mut null = Vec::new();
            for _ in 0..RUNS {
                ours.push(time(&shell(producer(bytes))).await);
                null.push(time(&shell(format!("{} > /dev/null", producer(bytes)))).await);
            }
            let (o, n) = (median(ours), median(null));
            println!(
                "hook printing {mb:>3} MB: median {:>7.1} ms through the cockpit, {:>6.1} ms to /dev/null ({:.1}x, {:.0} MB/s); peak RSS {:.1} MiB (started at {:.1})",
                o.as_secs_f64() * 1e3,
                n.as_secs_f64() * 1e3,
                o.as_secs_f64() / n.as_secs_f64(),
                mb as f64 / o.as_secs_f64(),
                peak_rss_mib(),
                before
            );
        }
    });
}
