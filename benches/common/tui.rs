//! A rollout watched for 20 minutes: 3 stages x 5 metrics, 1 s samples,
//! every sparkline full. Shared by the screen benchmarks.

use std::path::Path;

use cockpit::rollout::{Actor, At, Command, Group, Input, Reading, Rollout, Sample};
use cockpit::tui::theme::Theme;
use cockpit::tui::{Screen, utc_time};

const T0: At = 1_795_516_200_000;

pub fn watched() -> (Rollout, Screen, At) {
    let text = include_str!("../tui_watch.toml").replace("{url}", "http://127.0.0.1:9/metrics");
    let cfg = cockpit::config::parse(Path::new("tui_watch.toml"), &text).expect("bench config");
    let mut screen = Screen::new(&cfg, Theme::load("dark", true).unwrap(), "bench@host", true)
        .unwrap()
        .with_clock(utc_time);
    let mut r = Rollout::new(cfg, T0);
    let mut now = T0;
    let send = |r: &mut Rollout, screen: &mut Screen, now: At, input: Input| {
        for e in r.update(now, input) {
            screen.effect(&e);
        }
    };
    let start = Input::Start {
        local: utc_time(T0),
        operator: "bench@host".into(),
    };
    send(&mut r, &mut screen, now, start);
    let skip = Input::Command {
        actor: Actor::Operator("bench@host".into()),
        command: Command::SkipChecks {
            reason: "bench".into(),
        },
    };
    send(&mut r, &mut screen, now, skip);
    for i in 0..1200u64 {
        now += 1000;
        send(&mut r, &mut screen, now, Input::Poll(poll(i)));
    }
    (r, screen, now)
}

/// One second's poll: five metrics that move a little, canary and baseline.
pub fn poll(i: u64) -> Vec<Sample> {
    let values = [
        0.05 + (i % 5) as f64 * 0.01,
        180.0 + (i % 40) as f64,
        99.95,
        2.0,
        100.0 + (i % 7) as f64,
    ];
    let mut poll = Vec::new();
    for (metric, v) in values.into_iter().enumerate() {
        for (group, value, requests) in [
            (Group::Canary, v, 1200.0),
            (Group::Baseline, v * 0.9, 24000.0),
        ] {
            let reading = Reading::value(value, Some(requests));
            poll.push(Sample {
                metric,
                group,
                reading,
            });
        }
    }
    poll
}
