//! Journal costs: append 100k events (events/s, bytes per event), and what
//! write-ahead costs per decision (the fsync before a hook may run).
//!
//! `cargo bench --bench journal`; the files go to the target dir's tmp
//! (a real disk, unlike a tmpfs /tmp) unless JOURNAL_BENCH_DIR says where.

use std::path::PathBuf;
use std::time::Instant;

use cockpit::journal::{Header, Journal};
use cockpit::rollout::event::MetricValue;
use cockpit::rollout::{Actor, Event, Level, Move};

const EVENTS: usize = 100_000;
const DECISIONS: usize = 200;
const ROUNDS: usize = 5;

fn dir() -> PathBuf {
    std::env::var_os("JOURNAL_BENCH_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")), PathBuf::from)
        .join("journal-bench")
}

fn header(n: u64) -> Header {
    Header {
        rollout: format!("bench {n}"),
        config_path: "cockpit.toml".into(),
        config_hash: "sha256:0".into(),
        operator: "bench@host".into(),
        ssh_connection: None,
        drill: false,
        started_at: 1_795_516_200_000 + n,
    }
}

/// Three metrics as the engine reports them, the common payload.
fn metrics() -> Vec<MetricValue> {
    [
        ("error_rate", 0.04, "error rate 0.04% ok"),
        ("latency_p95", 182.0, "p95 182 ms ok"),
        ("success_rate", 99.96, "success rate 99.96% ok"),
    ]
    .into_iter()
    .map(|(m, v, r)| MetricValue {
        metric: m.into(),
        level: Level::Ok,
        canary: Some(v),
        baseline: Some(v),
        reason: r.into(),
    })
    .collect()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

/// Snapshots: journalled without fsync, as in a run.
fn append_events(round: u64) -> (f64, f64) {
    let dir = dir();
    let mut j = Journal::create(&dir, header(round)).unwrap();
    let event = Event::Snapshot {
        stage: 1,
        observed_ms: 600_000,
        metrics: metrics(),
        traffic: None,
    };
    let before = std::fs::metadata(j.path()).unwrap().len();
    let t = Instant::now();
    for i in 0..EVENTS {
        j.append_event(1_795_516_200_000 + i as u64, &event)
            .unwrap();
    }
    j.flush().unwrap();
    let secs = t.elapsed().as_secs_f64();
    let bytes = std::fs::metadata(j.path()).unwrap().len() - before;
    let _ = std::fs::remove_file(j.path());
    (EVENTS as f64 / secs, bytes as f64 / EVENTS as f64)
}

/// Decisions: each fsynced before `append_event` returns.
fn append_decisions(round: u64) -> Vec<f64> {
    let dir = dir();
    let mut j = Journal::create(&dir, header(1000 + round)).unwrap();
    let event = Event::Decision {
        action: Move::Rollback,
        by: Actor::Operator("alice@ops-1".into()),
        reason: "error rate 0.8% > 0.5% critical".into(),
        stage: 1,
        metrics: metrics(),
        traffic: None,
    };
    let times = (0..DECISIONS)
        .map(|i| {
            let t = Instant::now();
            j.append_event(1_795_516_200_000 + i as u64, &event)
                .unwrap();
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    let _ = std::fs::remove_file(j.path());
    times
}

/// What one engine update that decides costs: the decision, then the
/// checkpoint of the whole state, each fsynced.
fn append_decision_and_checkpoint(round: u64) -> (Vec<f64>, f64) {
    let text = "[rollout]\nname = \"bench\"\nservice = \"s\"\nold_version = \"1\"\nnew_version = \"2\"\n\
                [hooks]\nenter = { exec = [\"set-weight\", \"{weight}\"] }\nundo = { exec = [\"set-weight\", \"{previous_weight}\"] }\n\
                [scrape]\ncanary = [\"http://127.0.0.1:9/metrics\"]\n";
    let config = cockpit::config::parse(std::path::Path::new("bench.toml"), text).unwrap();
    let state = cockpit::rollout::Rollout::new(config, 0).state;
    let mut j = Journal::create(&dir(), header(2000 + round)).unwrap();
    let event = Event::Decision {
        action: Move::Advance,
        by: Actor::Policy,
        reason: "stage 5% green".into(),
        stage: 0,
        metrics: metrics(),
        traffic: None,
    };
    let before = std::fs::metadata(j.path()).unwrap().len();
    let times = (0..DECISIONS)
        .map(|i| {
            let t = Instant::now();
            j.append_event(i as u64, &event).unwrap();
            j.append_checkpoint(i as u64, &state).unwrap();
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    let bytes = (std::fs::metadata(j.path()).unwrap().len() - before) as f64 / DECISIONS as f64;
    let _ = std::fs::remove_file(j.path());
    (times, bytes)
}

fn main() {
    std::fs::create_dir_all(dir()).unwrap();
    let mut rates = vec![];
    let mut sizes = vec![];
    let mut fsyncs = vec![];
    let mut updates = vec![];
    let mut update_bytes = vec![];
    for round in 0..ROUNDS as u64 {
        let (times, bytes) = append_decision_and_checkpoint(round);
        updates.extend(times);
        update_bytes.push(bytes);
        let (rate, size) = append_events(round);
        rates.push(rate);
        sizes.push(size);
        fsyncs.extend(append_decisions(round));
    }
    println!("journal dir: {}", dir().display());
    println!(
        "append {EVENTS} snapshot events (3 metrics each), median of {ROUNDS}: {:.0} events/s, {:.0} bytes/event",
        median(rates),
        median(sizes)
    );
    let p90 = {
        let mut f = fsyncs.clone();
        f.sort_by(|a, b| a.total_cmp(b));
        f[f.len() * 9 / 10]
    };
    println!(
        "decision (write + fsync), {} samples: median {:.0} us, p90 {:.0} us",
        fsyncs.len(),
        median(fsyncs),
        p90
    );
    println!(
        "deciding update (decision + checkpoint, 2 fsyncs, {:.0} bytes): median {:.0} us",
        median(update_bytes),
        median(updates)
    );
}
