//! `--headless`: the same engine, events as JSON lines on stdout, the
//! policy deciding everything. For CI pipelines, scripts and tests.

use std::io::Write;
use std::time::Duration;

use serde_json::json;

use super::{Control, View};
use crate::config::Config;
use crate::exit;
use crate::preflight::Preflight;
use crate::rollout::{At, Effect, Event, Input, Phase, Rollout};

#[derive(Default)]
pub struct Headless {
    /// What to do with a hook whose outcome is unknown after a crash.
    pub unknown_hook: Option<UnknownHook>,
    answered_unknown: bool,
    /// A `poll` line at least this often (simulated ms); none when unset.
    poll_every: Option<u64>,
    last_poll: Option<At>,
    /// The start was refused (a failed pre-flight): stop.
    refused: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UnknownHook {
    /// Run the hook again.
    Rerun,
    /// Treat it as done.
    Done,
}

impl Headless {
    /// `poll_every`: how often a `poll` line reports every metric.
    pub fn new(unknown_hook: Option<UnknownHook>, poll_every: Option<Duration>) -> Headless {
        Headless {
            unknown_hook,
            poll_every: poll_every.map(|d| d.as_millis() as u64),
            ..Headless::default()
        }
    }

    /// The first line: the policy in force, and where auto-advance comes from.
    pub fn policy(&self, config: &Config, flag: bool) {
        let p = &config.policy;
        let source = match (p.auto_advance, flag) {
            (true, true) => "--auto-advance",
            (true, false) => "config",
            (false, _) => "off",
        };
        self.print(json!({
            "event": "policy",
            "auto_advance": p.auto_advance,
            "auto_advance_from": source,
            "on_critical": p.on_critical,
            "on_no_data": p.on_no_data,
            "countdown": p.countdown.to_string(),
        }));
    }

    /// The pre-flight, one line per check and a summary.
    pub fn preflight(&self, report: &Preflight) {
        for line in report.json_lines() {
            self.print(line);
        }
    }

    /// Stops before anything started, saying why.
    pub fn stop(&self, why: &str) {
        self.print(json!({ "event": "stopped", "reason": why }));
    }

    fn print(&self, value: serde_json::Value) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{value}");
        let _ = out.flush();
    }
}

impl View for Headless {
    fn effect(&mut self, _: &Rollout, effect: &Effect) {
        match effect {
            Effect::Journal { at, event } => {
                let mut v = serde_json::to_value(event).unwrap_or_default();
                v["at"] = json!(at);
                // Loud in words too: a script greps for it.
                if let Event::TrafficOff {
                    set,
                    seen,
                    held_ms,
                    hook_skipped,
                    ..
                } = event
                {
                    v["text"] = json!(crate::rollout::traffic::did_not_move(
                        *set,
                        *seen,
                        *held_ms,
                        *hook_skipped
                    ));
                }
                self.print(v);
            }
            Effect::Say(said) => {
                let mut v = serde_json::to_value(said).unwrap_or_default();
                v["event"] = json!("say");
                v["text"] = json!(crate::rollout::words::said(said));
                self.print(v);
            }
            _ => {}
        }
    }

    fn line(&mut self, text: &str) {
        self.print(json!({ "event": "output", "text": text }));
    }

    fn output(&mut self, at: At, text: &str) {
        self.print(json!({ "event": "output", "text": text, "at": at }));
    }

    fn key(&mut self, _: &Rollout, _: crossterm::event::KeyEvent, _: At) -> (Vec<Input>, Control) {
        (vec![], Control::Continue)
    }

    /// Every metric's level and values, at least every poll interval.
    fn render(&mut self, r: &Rollout, now: At) {
        let Some(every) = self.poll_every else { return };
        if self.last_poll.is_some_and(|last| now < last + every) {
            return;
        }
        self.last_poll = Some(now);
        let metrics: Vec<_> = r
            .tracks
            .iter()
            .map(|t| {
                let v = t.value();
                json!({
                    "metric": v.metric,
                    "level": v.level,
                    "canary": v.canary,
                    "baseline": v.baseline,
                })
            })
            .collect();
        let stage = r.config.stages.get(r.state.stage).map(|s| s.name.clone());
        self.print(json!({
            "event": "poll",
            "at": now,
            "phase": r.state.phase,
            "stage": stage,
            "metrics": metrics,
            "next": r.next(now),
        }));
    }

    fn refused(&mut self, why: &str) {
        self.refused = true;
        self.stop(&format!(
            "{why}; stage 1 does not start (fix it, or --force-start REASON)"
        ));
    }

    fn stuck(&mut self, r: &Rollout) -> Option<i32> {
        if self.refused {
            return Some(exit::ABORTED);
        }
        if r.state.phase == Phase::Waiting
            && r.state.started_at.is_some()
            && let Some(why) = r.blocker()
        {
            self.print(json!({ "event": "stopped", "reason": format!("{why}; headless runs take --override-window REASON and --checklist-done") }));
            return Some(exit::ABORTED);
        }
        let manual_gate = r
            .config
            .stages
            .get(r.state.stage)
            .and_then(|s| s.gate.as_ref())
            .is_some_and(|g| g.url.is_none());
        if r.state.phase == Phase::Gate && manual_gate {
            self.print(json!({ "event": "stopped", "reason": format!("stage {} waits for a keypress gate; headless runs have no operator to open it", r.config.stages[r.state.stage].name) }));
            return Some(exit::ABORTED);
        }
        if let Some(f) = &r.state.failed {
            let unknown = f.summary.starts_with("outcome unknown");
            if unknown && self.unknown_hook.is_some() && !self.answered_unknown {
                return None;
            }
            let hint = if unknown {
                "; resume with --unknown-hook rerun|done"
            } else {
                ""
            };
            self.print(json!({ "event": "stopped", "reason": format!("{}{hint}", f.summary) }));
            return Some(exit::ABORTED);
        }
        None
    }

    fn exits_on_outcome(&self) -> bool {
        true
    }
}

impl Headless {
    /// The input answering an unknown hook outcome, once, if a flag says how.
    pub fn unknown_answer(&mut self, r: &Rollout) -> Option<Input> {
        let f = r.state.failed.as_ref()?;
        if !f.summary.starts_with("outcome unknown") || self.answered_unknown {
            return None;
        }
        self.answered_unknown = true;
        let actor = crate::rollout::Actor::Operator(r.state.operator.clone());
        let command = match self.unknown_hook? {
            UnknownHook::Rerun => crate::rollout::Command::Retry,
            UnknownHook::Done => crate::rollout::Command::Skip {
                reason: "marked done on resume (--unknown-hook done)".into(),
            },
        };
        Some(Input::Command { actor, command })
    }
}
