//! Helpers shared by the `actions_*` tests.
// Each test crate uses its own part of these.
#![allow(dead_code)]

use std::collections::VecDeque;

use chrono::NaiveDateTime;
use cockpit::actions::{self, HookRun, Vars};
use cockpit::config::{Config, model::Hook};
use cockpit::rollout::{Actor, At, Command, Effect, Event, Group, Input, Move, Reading, Rollout};
use tokio::sync::mpsc;

/// Placeholder values as the engine gives them, with `pairs` overriding.
pub fn vars(pairs: &[(&str, &str)]) -> Vars {
    let mut v: Vars = [
        ("rollout", "checkout 2.0"),
        ("service", "checkout"),
        ("stage", "canary"),
        ("weight", "25"),
        ("previous_weight", "5"),
        ("version", "2.0"),
        ("operator", "alice"),
        ("reason", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, val) in pairs {
        v.insert(k.to_string(), val.to_string());
    }
    v
}

/// Runs a hook; returns its result and every line it streamed.
pub async fn run(hook: &Hook, vars: &Vars, context: &serde_json::Value) -> (HookRun, Vec<String>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let run = actions::run_hook(hook, vars, context, tx).await;
    let mut lines = Vec::new();
    while let Ok(l) = rx.try_recv() {
        lines.push(l);
    }
    (run, lines)
}

/// Drives the pure engine on a simulated clock and carries out its
/// `RunHook` effects with the real `run_hook`, feeding results back.
pub struct Driver {
    pub r: Rollout,
    pub now: At,
    pub effects: Vec<Effect>,
    /// Hooks asked for but not run yet, while `hold` is set.
    pub held: VecDeque<(u64, Hook, Vars)>,
    pub hold: bool,
}

const T0: At = 1_790_000_000_000;

impl Driver {
    /// Started on a Tuesday morning with the checklist skipped: stage 1's
    /// hooks have run when this returns.
    pub async fn started(cfg: Config) -> Driver {
        let mut d = Driver {
            r: Rollout::new(cfg, T0),
            now: T0,
            effects: vec![],
            held: VecDeque::new(),
            hold: false,
        };
        let tuesday = NaiveDateTime::parse_from_str("2026-11-24 10:30", "%Y-%m-%d %H:%M").unwrap();
        d.send(Input::Start {
            local: tuesday,
            operator: "alice".into(),
        })
        .await;
        d.cmd(Command::SkipChecks {
            reason: "test".into(),
        })
        .await;
        d
    }

    /// Feeds an input; runs every hook it asks for (unless held) and feeds
    /// each result back, until the engine asks for nothing more.
    pub async fn send(&mut self, input: Input) {
        let mut queue = VecDeque::from([input]);
        while let Some(input) = queue.pop_front() {
            self.now += 1000;
            let out = self.r.update(self.now, input);
            for e in &out {
                if let Effect::RunHook { id, hook, vars, .. } = e {
                    self.held.push_back((*id, hook.clone(), vars.clone()));
                }
            }
            self.effects.extend(out);
            while !self.hold
                && let Some(step) = self.held.pop_front()
            {
                queue.push_back(Self::carry_out(step).await);
            }
        }
    }

    async fn carry_out((id, hook, vars): (u64, Hook, Vars)) -> Input {
        let (run, _) = run(&hook, &vars, &serde_json::json!({})).await;
        Input::HookDone {
            id,
            ok: run.ok,
            summary: run.summary,
        }
    }

    pub async fn cmd(&mut self, command: Command) {
        self.send(Input::Command {
            actor: Actor::Operator("alice".into()),
            command,
        })
        .await;
    }

    /// Runs the oldest held hook only; what it leads to stays held.
    pub async fn run_one_held(&mut self) {
        let step = self.held.pop_front().expect("a held hook");
        let done = Self::carry_out(step).await;
        self.send(done).await;
    }

    pub async fn release_held(&mut self) {
        self.hold = false;
        self.send(Input::Tick).await;
    }

    /// The stable version's error rate, back to normal after a rollback.
    pub async fn error_rate_recovers(&mut self) {
        let i = self
            .r
            .config
            .metrics
            .iter()
            .position(|m| m.name == "error_rate")
            .expect("an error_rate metric");
        self.send(Input::sample(
            i,
            Group::Baseline,
            Reading::value(0.04, Some(20000.0)),
        ))
        .await;
    }

    /// Reasons of the decisions of one kind, in order.
    pub fn decisions(&self, action: Move) -> Vec<String> {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Journal {
                    event:
                        Event::Decision {
                            action: a, reason, ..
                        },
                    ..
                } if *a == action => Some(reason.clone()),
                _ => None,
            })
            .collect()
    }
}
