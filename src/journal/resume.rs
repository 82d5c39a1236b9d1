//! Carrying on after the cockpit died: the engine state comes back from the
//! last checkpoint, and what was written after it is settled.
//!
//! Each engine update writes its events, then its checkpoint, then acts.
//! Lines after the last checkpoint were written but no action followed
//! them, so they are voided and their substance carried over: a hook's
//! result is fed back (it really ran), an operator's command is issued
//! again, and the policy decides again on fresh samples. The journal thus
//! never holds a decision twice, and never loses one.

use super::{Read, Record};
use crate::config::Config;
use crate::rollout::{Actor, At, Command, Event, Input, Move, Rollout, State};

/// What resuming a journal means, worked out before anything is written.
#[derive(Debug, Clone, PartialEq)]
pub struct ResumePlan {
    /// The last checkpoint; `None` when the cockpit died before the first.
    pub state: Option<State>,
    /// Event lines after it, voided on resume.
    pub voided: Vec<usize>,
    /// The outcome of the running hook, when its end made it to disk.
    pub hook_result: Option<(u64, bool, String)>,
    /// Operator commands decided after the checkpoint, to issue again.
    pub commands: Vec<(Actor, Command)>,
    /// Checklist items ticked after it, by name.
    pub ticked: Vec<(Actor, String)>,
}

pub fn plan(read: &Read) -> ResumePlan {
    let last = read
        .entries
        .iter()
        .rposition(|e| matches!(e.record, Record::Checkpoint { .. }));
    let state = last.and_then(|i| match &read.entries[i].record {
        Record::Checkpoint { state, .. } => Some((**state).clone()),
        _ => None,
    });
    let tail = &read.entries[last.map_or(0, |i| i + 1)..];
    let mut plan = ResumePlan {
        state,
        voided: vec![],
        hook_result: None,
        commands: vec![],
        ticked: vec![],
    };
    let running = plan
        .state
        .as_ref()
        .and_then(|s| s.running.as_ref())
        .map(|r| r.id);
    for entry in tail {
        let Record::Event { event, .. } = &entry.record else {
            continue;
        };
        // Hook output is a fact about the past, not a decision: it stays.
        if read.voided.contains(&entry.line) || matches!(event, Event::HookOutput { .. }) {
            continue;
        }
        plan.voided.push(entry.line);
        match event {
            Event::HookFinished {
                id, ok, summary, ..
            } if Some(*id) == running => {
                plan.hook_result = Some((*id, *ok, summary.clone()));
            }
            _ => {
                if let Event::ChecklistTicked {
                    item,
                    by: by @ Actor::Operator(_),
                } = event
                {
                    plan.ticked.push((by.clone(), item.clone()));
                }
                if let Some(command) = command_for(event) {
                    plan.commands.push(command);
                }
            }
        }
    }
    plan
}

/// The operator command behind a journalled decision, if an operator made it.
fn command_for(event: &Event) -> Option<(Actor, Command)> {
    let (by, command) = match event {
        Event::Decision {
            action,
            by: by @ Actor::Operator(_),
            reason,
            ..
        } => {
            let reason = reason.clone();
            let command = match action {
                Move::Advance | Move::Promote => Command::Advance,
                Move::ForceAdvance => Command::ForceAdvance {
                    reason: reason
                        .split_once(" (was not green")
                        .map_or(reason.clone(), |(r, _)| r.to_string()),
                },
                Move::Pause => Command::Pause,
                Move::Resume => Command::Resume,
                Move::Rollback => Command::Rollback { reason },
                Move::Hold => Command::Hold,
                Move::Release => Command::Release,
                Move::Cancel => Command::Cancel,
                Move::Retry => Command::Retry,
                Move::Skip => Command::Skip {
                    reason: reason
                        .split_once("`: ")
                        .map_or(reason.clone(), |(_, r)| r.to_string()),
                },
                Move::OverrideWindow => Command::OverrideWindow { reason },
                Move::OpenGate => Command::OpenGate,
                Move::Start => return None,
            };
            (by.clone(), command)
        }
        Event::Note {
            by: by @ Actor::Operator(_),
            text,
        } => (by.clone(), Command::Note { text: text.clone() }),
        _ => return None,
    };
    Some((by, command))
}

impl ResumePlan {
    /// The engine where the journal left it, and the inputs that carry over
    /// what was decided after the checkpoint. `now` is when the run resumes.
    pub fn rollout(&self, config: Config, now: At) -> (Rollout, Vec<Input>) {
        let Some(mut state) = self.state.clone() else {
            return (Rollout::new(config, now), vec![]);
        };
        // Nobody watched while the cockpit was down: a running countdown
        // gets back the seconds it had left.
        let down = now.saturating_sub(state.last_at);
        if let Some(c) = &mut state.countdown
            && c.held.is_none()
        {
            c.deadline += down;
        }
        let mut inputs = vec![];
        let known = self.hook_result.as_ref().and_then(|(id, ok, summary)| {
            let running = state.running.take_if(|r| r.id == *id)?;
            inputs.push(Input::HookDone {
                id: *id,
                ok: *ok,
                summary: summary.clone(),
            });
            Some(running)
        });
        for (actor, name) in &self.ticked {
            if let Some(item) = config.checklist.items.iter().position(|i| i == name) {
                inputs.push(Input::Command {
                    actor: actor.clone(),
                    command: Command::TickChecklist { item },
                });
            }
        }
        let mut rollout = Rollout::resume(config, state, now);
        // The hook's end is on disk: feed it back instead of asking.
        rollout.state.running = known;
        inputs.extend(
            self.commands
                .iter()
                .cloned()
                .map(|(actor, command)| Input::Command { actor, command }),
        );
        (rollout, inputs)
    }

    /// What the resume carries over, in words for the `resumed` record.
    pub fn replayed(&self) -> Vec<String> {
        let hook = self.hook_result.iter().map(|(id, ok, summary)| {
            format!(
                "hook #{id} {}: {summary}",
                if *ok { "succeeded" } else { "failed" }
            )
        });
        let commands = self
            .commands
            .iter()
            .map(|(actor, command)| format!("{actor}: {command:?}"));
        let ticks = self
            .ticked
            .iter()
            .map(|(actor, item)| format!("{actor}: ticked {item}"));
        hook.chain(commands).chain(ticks).collect()
    }
}
