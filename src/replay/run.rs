//! The engine under replay: every hook and gate it asks for answered at
//! once, every event it journals kept.

use super::REPLAY;
use crate::rollout::{Actor, At, Command, Effect, Event, Input, Rollout};

/// The engine being replayed and what it said.
pub(super) struct Run {
    pub(super) rollout: Rollout,
    pub(super) events: Vec<(At, Event)>,
    pub(super) hooks: usize,
}

impl Run {
    fn command(&mut self, now: At, command: Command) {
        let actor = Actor::Operator(REPLAY.into());
        self.feed(now, Input::Command { actor, command });
    }

    pub(super) fn start(&mut self, at: At) {
        let reason = "replay: the deploy window and checklist are not replayed".to_string();
        self.command(at, Command::SkipChecks { reason });
        let local = chrono::DateTime::from_timestamp_millis(at as i64)
            .map(|t| t.with_timezone(&chrono::Local).naive_local())
            .unwrap_or_default();
        let operator = REPLAY.to_string();
        self.feed(at, Input::Start { local, operator });
    }

    /// The history says the deploy entered `stage` at `at`: advance there
    /// (forced, with the reason it was not green, when it was not).
    pub(super) fn enter(&mut self, at: At, stage: usize) {
        let shown = chrono::DateTime::from_timestamp_millis(at as i64)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default();
        while !self.rollout.is_finished()
            && self.rollout.state.rollback.is_none()
            && self.rollout.state.stage < stage
            && self.rollout.state.phase == crate::rollout::Phase::Observing
        {
            let command = match self.rollout.ready(at) {
                Ok(_) => Command::Advance,
                Err(_) => Command::ForceAdvance {
                    reason: format!("the deploy moved on at {shown} (--stage-at)"),
                },
            };
            let before = self.rollout.state.stage;
            self.command(at, command);
            if self.rollout.state.stage == before {
                break;
            }
        }
    }

    /// One input, and every hook and gate it starts answered at once.
    pub(super) fn feed(&mut self, now: At, input: Input) {
        let mut inputs = vec![input];
        while !inputs.is_empty() {
            let input = inputs.remove(0);
            for effect in self.rollout.update(now, input) {
                match effect {
                    Effect::Journal { at, event } => {
                        if !matches!(event, Event::Snapshot { .. }) {
                            self.events.push((at, event));
                        }
                    }
                    Effect::RunHook { id, .. } => {
                        self.hooks += 1;
                        inputs.push(Input::HookDone {
                            id,
                            ok: true,
                            summary: "not run (replay)".into(),
                        });
                    }
                    Effect::WatchGate { stage, .. } => inputs.push(Input::GateOpened { stage }),
                    Effect::Notify { .. }
                    | Effect::Say(_)
                    | Effect::Deciding(_)
                    | Effect::Checkpoint(_)
                    | Effect::Finished(_) => {}
                }
            }
            if self.rollout.state.phase == crate::rollout::Phase::Gate {
                // A manual gate: the history went on, so someone opened it.
                inputs.push(Input::Command {
                    actor: Actor::Operator(REPLAY.into()),
                    command: Command::OpenGate,
                });
            }
        }
    }
}
