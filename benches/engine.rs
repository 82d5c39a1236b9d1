//! A simulated 24 h rollout: 10 metrics sampled every second (864k samples)
//! through the pure engine. Target: under 1 s.

use std::path::Path;

use chrono::NaiveDateTime;
use cockpit::rollout::{Actor, Command, Effect, Group, Input, Reading, Rollout, Sample};
use criterion::{Criterion, criterion_group, criterion_main};

const T0: u64 = 1_790_000_000_000;

fn config() -> cockpit::config::Config {
    let mut text = String::from(
        r#"
[rollout]
name = "bench"
service = "bench"
old_version = "1"
new_version = "2"

[hooks]
enter = { exec = ["true"] }
undo = { exec = ["true"] }

[scrape]
canary = ["http://127.0.0.1:1/metrics"]

[policy]
auto_advance = true

[[stage]]
name = "5%"
weight = 5
wait = "5h55m"
[[stage]]
name = "25%"
weight = 25
wait = "5h55m"
[[stage]]
name = "50%"
weight = 50
wait = "5h55m"
[[stage]]
name = "100%"
weight = 100
wait = "5h55m"
"#,
    );
    for kind in ["error_rate", "latency_p95", "success_rate"] {
        text.push_str(&format!(
            "[[metric]]\nname = \"{kind}\"\nkind = \"{kind}\"\n"
        ));
    }
    for i in 0..7 {
        text.push_str(&format!(
            "[[metric]]\nname = \"custom_{i}\"\nkind = \"custom\"\nunit = \"x\"\ndirection = \"higher_is_worse\"\nwarning = 100\ncritical = 200\nscrape = {{ family = \"m{i}\" }}\n"
        ));
    }
    cockpit::config::parse(Path::new("bench.toml"), &text).unwrap()
}

/// Runs the day; returns how many samples went in.
fn day(config: cockpit::config::Config) -> u64 {
    let mut r = Rollout::new(config, T0);
    let local = NaiveDateTime::parse_from_str("2026-11-24 10:30", "%Y-%m-%d %H:%M").unwrap();
    let mut pending = r.update(
        T0,
        Input::Start {
            local,
            operator: "bench".into(),
        },
    );
    pending.extend(r.update(
        T0,
        Input::Command {
            actor: Actor::Policy,
            command: Command::SkipChecks {
                reason: "bench".into(),
            },
        },
    ));
    let values = [0.05, 180.0, 99.95, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0];
    let mut samples = 0;
    for s in 1..=86_400u64 {
        let now = T0 + s * 1000;
        let poll = values
            .iter()
            .enumerate()
            .map(|(metric, v)| {
                let wobble = (s % 7) as f64 * 0.001;
                Sample {
                    metric,
                    group: Group::Canary,
                    reading: Reading::value(v + wobble, Some(1000.0)),
                }
            })
            .collect::<Vec<_>>();
        samples += poll.len() as u64;
        pending.extend(r.update(now, Input::Poll(poll)));
        for e in std::mem::take(&mut pending) {
            if let Effect::RunHook { id, .. } = e {
                r.update(
                    now,
                    Input::HookDone {
                        id,
                        ok: true,
                        summary: "exit 0".into(),
                    },
                );
            }
        }
    }
    assert!(r.is_finished(), "the bench rollout should be promoted");
    samples
}

fn bench(c: &mut Criterion) {
    let cfg = config();
    let mut g = c.benchmark_group("engine");
    g.sample_size(10);
    g.bench_function("24h_10_metrics_1s", |b| b.iter(|| day(cfg.clone())));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
