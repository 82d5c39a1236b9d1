//! Bytes over the wire per follower of `cockpit watch ssh://...`: the
//! stream `cockpit watch --feed` sends for a rollout of 3 stages x 5
//! metrics polled every second, 20 simulated minutes, the driver writing
//! its feed once per poll. Reports the first snapshot, then the steady
//! state (after the first minute) in bytes per second for several snapshot
//! intervals (goal: under 1 KB/s with the default). In-process and
//! deterministic: what is counted is the JSON lines, not SSH's framing
//! (which compresses nothing by default and adds ~40-90 bytes per packet).

use std::path::Path;

#[path = "common/tui.rs"]
#[allow(dead_code)] // `watched` is the screen benchmarks'.
mod common;

use cockpit::feed::wire::{SNAPSHOT_EVERY_MS, Sender};
use cockpit::feed::{FORMAT, Live, LogLine, Severity};
use cockpit::rollout::{Actor, At, Command, Effect, Input, Rollout};

const T0: At = 1_795_516_200_000;
const SECS: u64 = 1_200;

/// The feed the driver writes after each poll, one per second.
fn feeds() -> Vec<Live> {
    let text = include_str!("tui_watch.toml").replace("{url}", "http://127.0.0.1:9/metrics");
    let cfg = cockpit::config::parse(Path::new("tui_watch.toml"), &text).expect("bench config");
    let mut r = Rollout::new(cfg, T0);
    let mut log: Vec<LogLine> = Vec::new();
    let mut logged = 0;
    let mut send = |r: &mut Rollout, now: At, input: Input| {
        for e in r.update(now, input) {
            if let Effect::Journal { at, event } = &e
                && let Some((level, text)) = cockpit::rollout::words::words(event)
            {
                let level = match level {
                    log::Level::Error => Severity::Error,
                    log::Level::Warn => Severity::Warn,
                    _ => Severity::Info,
                };
                log.push(LogLine {
                    at: *at,
                    level,
                    text,
                });
                logged += 1;
            }
        }
        (log.clone(), logged)
    };
    let start = Input::Start {
        local: chrono::NaiveDateTime::default(),
        operator: "bench@host".into(),
    };
    send(&mut r, T0, start);
    let actor = Actor::Operator("bench@host".into());
    let skip = Command::SkipChecks {
        reason: "bench".into(),
    };
    send(
        &mut r,
        T0,
        Input::Command {
            actor,
            command: skip,
        },
    );
    (1..=SECS)
        .map(|i| {
            let now = T0 + i * 1000;
            let (log, logged) = send(&mut r, now, Input::Poll(common::poll(i)));
            Live {
                v: FORMAT,
                driver: "bench@host".into(),
                ssh: true,
                pid: 4242,
                written: now,
                serial: i,
                now,
                speed: 1.0,
                journal: "/var/lib/cockpit/checkout-2-0-x.jsonl".into(),
                config: r.config.clone(),
                state: r.state.clone(),
                tracks: r.tracks.clone(),
                log,
                logged,
                ended: None,
                watchers: vec!["bob@laptop".into()],
            }
        })
        .collect()
}

/// The stream through `gzip -6`: what SSH's zlib compression (on by the
/// `watch ssh://` command) roughly leaves, give or take its per-packet
/// flushes of a few bytes.
fn gzipped(stream: &[u8]) -> usize {
    use std::io::Write;
    let mut gzip = std::process::Command::new("gzip")
        .arg("-6")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip runs");
    let mut input = gzip.stdin.take().expect("piped");
    let bytes = stream.to_vec();
    let writer = std::thread::spawn(move || input.write_all(&bytes));
    let out = gzip.wait_with_output().expect("gzip ends");
    writer.join().expect("writer").expect("written");
    out.stdout.len()
}

fn main() {
    let feeds = feeds();
    for every in [SNAPSHOT_EVERY_MS, 60_000, 300_000, u64::MAX] {
        let mut sender = Sender::every(every);
        let (mut first, mut steady) = (0, 0);
        let mut stream = Vec::new();
        for (i, live) in feeds.iter().enumerate() {
            let line = sender.next(live, live.written).expect("a line per write");
            let text = serde_json::to_string(&line).unwrap();
            let bytes = text.len() + 1;
            match i {
                0 => first = bytes,
                i if i >= 60 => {
                    steady += bytes;
                    stream.extend_from_slice(text.as_bytes());
                    stream.push(b'\n');
                }
                _ => {}
            }
        }
        let per_sec = steady as f64 / (feeds.len() - 60) as f64;
        let every = if every == u64::MAX {
            "never".to_string()
        } else {
            format!("every {} s", every / 1000)
        };
        let zipped = gzipped(&stream) as f64 / (feeds.len() - 60) as f64;
        println!(
            "feed_bytes: snapshot {every}: first line {first} B, steady state {per_sec:.0} B/s \
             per follower, {zipped:.0} B/s compressed (ssh -o Compression=yes)"
        );
    }
}
