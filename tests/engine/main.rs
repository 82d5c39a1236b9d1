//! Whole rollouts through the pure engine, hours of simulated time each.

use std::path::Path;

use chrono::NaiveDateTime;
use cockpit::config;
use cockpit::config::model::Judge;
use cockpit::rollout::window::WindowStatus;
use cockpit::rollout::{
    Actor, At, Command, Effect, Event, Group, Input, Level, Move, Outcome, Phase, Purpose, Reading,
    Rollout, Said, Sample,
};
use cockpit::tui::next::{decision, said};

const T0: At = 1_790_000_000_000;
const SEC: At = 1000;
const MIN: At = 60 * SEC;

const BASE: &str = r#"
[rollout]
name = "checkout 2.0"
service = "checkout"
old_version = "1.9"
new_version = "2.0"

[hooks]
enter = { exec = ["set-weight", "{weight}"] }
undo = { exec = ["set-weight", "{previous_weight}"] }

[scrape]
canary = ["http://127.0.0.1:9100/metrics"]
baseline = ["http://127.0.0.1:9101/metrics"]
"#;

/// A tuesday morning: inside seed 003's best window.
fn tuesday() -> NaiveDateTime {
    NaiveDateTime::parse_from_str("2026-11-24 10:30", "%Y-%m-%d %H:%M").unwrap()
}

fn friday_evening() -> NaiveDateTime {
    NaiveDateTime::parse_from_str("2026-11-27 17:00", "%Y-%m-%d %H:%M").unwrap()
}

fn alice() -> Actor {
    Actor::Operator("alice".into())
}

/// A simulated clock driving the engine, completing hooks unless told not to.
struct Drive {
    r: Rollout,
    now: At,
    effects: Vec<Effect>,
    auto_hooks: bool,
    pending: Vec<u64>,
    /// The stable version's error rate.
    baseline_err: f64,
    /// The canary's share of requests (percent) the polls show; None keeps
    /// 1000 canary and 20000 baseline requests.
    seen: Option<f64>,
}

impl Drive {
    fn new(extra: &str) -> Drive {
        let text = format!("{BASE}\n{extra}");
        let mut cfg =
            config::parse(Path::new("t.toml"), &text).unwrap_or_else(|e| panic!("{}", e[0]));
        // These tests drive the threshold judge (`for`, countdowns) with
        // point values; the evidence judge has its own tests below.
        if !extra.contains("judge") {
            cfg.policy.judge = Judge::Thresholds;
        }
        Drive {
            r: Rollout::new(cfg, T0),
            now: T0,
            effects: vec![],
            auto_hooks: true,
            pending: vec![],
            baseline_err: 0.05,
            seen: None,
        }
    }

    fn started(extra: &str) -> Drive {
        let mut d = Drive::new(extra);
        d.send(Input::Start {
            local: tuesday(),
            operator: "alice".into(),
        });
        d.cmd(Command::SkipChecks {
            reason: "test".into(),
        });
        d
    }

    fn send(&mut self, input: Input) {
        let mut queue = vec![input];
        while let Some(i) = queue.pop() {
            let out = self.r.update(self.now, i);
            for e in &out {
                if let Effect::RunHook { id, .. } = e {
                    if self.auto_hooks {
                        queue.push(Input::HookDone {
                            id: *id,
                            ok: true,
                            summary: "exit 0".into(),
                        });
                    } else {
                        self.pending.push(*id);
                    }
                }
            }
            self.effects.extend(out);
        }
    }

    fn cmd(&mut self, command: Command) {
        self.send(Input::Command {
            actor: alice(),
            command,
        });
    }

    /// Feeds every metric a sample each second for `dur`, from `canary(t)`
    /// for the error rate and healthy values for the rest.
    fn run(&mut self, dur: At, error_rate: impl Fn(&Drive) -> Option<f64>) {
        let end = self.now + dur;
        while self.now < end && !self.r.is_finished() {
            self.now += SEC;
            let err = error_rate(self);
            let mut poll = Vec::new();
            for (i, m) in self.r.config.metrics.clone().iter().enumerate() {
                let healthy = match m.name.as_str() {
                    "error_rate" => err,
                    "latency_p95" => Some(180.0),
                    _ => Some(99.95),
                };
                let base_requests = match self.seen {
                    Some(p) if p > 0.0 => 1000.0 * (100.0 - p) / p,
                    Some(_) => 1000.0,
                    None => 20000.0,
                };
                let reading = match (healthy, self.seen) {
                    (_, Some(p)) if p <= 0.0 => Reading::quiet("no requests"),
                    (None, _) => Reading::no_data("query returned no series"),
                    (Some(v), _) => Reading::value(v, Some(1000.0)),
                };
                let base = if m.name == "error_rate" {
                    self.baseline_err
                } else {
                    healthy.unwrap_or(0.0)
                };
                poll.push(Sample {
                    metric: i,
                    group: Group::Canary,
                    reading,
                });
                poll.push(Sample {
                    metric: i,
                    group: Group::Baseline,
                    reading: Reading::value(base, Some(base_requests)),
                });
            }
            self.send(Input::Poll(poll));
        }
    }

    fn events(&self) -> Vec<&Event> {
        self.effects
            .iter()
            .filter_map(|e| {
                if let Effect::Journal { event, .. } = e {
                    Some(event)
                } else {
                    None
                }
            })
            .collect()
    }

    fn decisions(&self) -> Vec<(Move, Actor, String)> {
        self.events()
            .into_iter()
            .filter_map(|e| {
                if let Event::Decision {
                    action, by, reason, ..
                } = e
                {
                    Some((*action, by.clone(), reason.clone()))
                } else {
                    None
                }
            })
            .collect()
    }

    /// (purpose, argv) of every hook run, in order.
    fn hooks(&self) -> Vec<(Purpose, String)> {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::RunHook {
                    hook,
                    vars,
                    purpose,
                    ..
                } => {
                    let argv = hook.exec.clone().unwrap_or_default().join(" ");
                    let filled = vars
                        .iter()
                        .fold(argv, |a, (k, v)| a.replace(&format!("{{{k}}}"), v));
                    Some((*purpose, filled))
                }
                _ => None,
            })
            .collect()
    }

    fn stage(&self) -> usize {
        self.r.state.stage
    }
}

fn healthy(_: &Drive) -> Option<f64> {
    Some(0.05)
}

mod breaches;
mod evidence;
mod lifecycle;
mod race;
mod traffic;
