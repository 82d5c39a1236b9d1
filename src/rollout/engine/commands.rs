//! What an operator (or a script) asks for, and what each command does.

use super::Rollout;
use crate::rollout::decision::{Actor, Move};
use crate::rollout::effect::{Effect, Said};
use crate::rollout::event::Event;
use crate::rollout::input::Command;
use crate::rollout::state::Phase;
use crate::rollout::verdict::At;

impl Rollout {
    pub(super) fn command(&mut self, now: At, actor: Actor, command: Command) {
        match command {
            Command::OverrideWindow { reason } => {
                if self.state.phase == Phase::Waiting && self.state.window_override.is_none() {
                    self.state.window_override = Some(reason.clone());
                    self.decision(now, Move::OverrideWindow, actor, reason);
                    self.try_begin(now, true);
                }
            }
            Command::TickChecklist { item } => {
                if let Some(false) = self.state.checklist.get(item).copied() {
                    self.state.checklist[item] = true;
                    let item = self.config.checklist.items[item].clone();
                    self.journal(now, Event::ChecklistTicked { item, by: actor });
                    self.try_begin(now, false);
                }
            }
            Command::SkipChecks { reason } => {
                if self.state.phase == Phase::Waiting && self.state.checks_skipped.is_none() {
                    self.state.checks_skipped = Some(reason.clone());
                    // Before the start, the note follows the Started event.
                    if self.state.started_at.is_some() {
                        self.note_skipped(now, actor, &reason);
                        self.try_begin(now, false);
                    }
                }
            }
            Command::Advance => self.advance(now, actor, None),
            Command::ForceAdvance { reason } => self.advance(now, actor, Some(reason)),
            Command::Pause => self.pause(now, actor, true),
            Command::Resume => self.pause(now, actor, false),
            Command::Rollback { reason } => self.rollback(now, actor, reason),
            Command::Hold | Command::Release | Command::Cancel => {
                self.countdown_command(now, actor, command)
            }
            Command::Note { text } => self.journal(now, Event::Note { by: actor, text }),
            Command::Look { metric } => self.look(now, actor, metric),
            Command::Question { open } => self.out.push(Effect::Deciding(open)),
            Command::OpenGate => {
                if self.state.phase == Phase::Gate {
                    self.decision(now, Move::OpenGate, actor, "gate opened by hand");
                    self.state.gate_open = true;
                    self.enter_stage(now, self.state.stage);
                }
            }
            Command::Retry => self.retry(now, actor),
            Command::Skip { reason } => self.skip(now, actor, reason),
        }
    }

    pub(super) fn advance(&mut self, now: At, actor: Actor, forced: Option<String>) {
        if self.state.phase != Phase::Observing || self.state.failed.is_some() {
            return self.say(Said::NothingToAdvance);
        }
        let (action, reason) = match (self.ready(now), forced) {
            (Ok(_), _) => (Move::Advance, format!("stage {} green", self.stage_name())),
            (Err(why), Some(reason)) => (
                Move::ForceAdvance,
                format!("{reason} (was not green: {why})"),
            ),
            (Err(why), None) => {
                return self.say(Said::NotReady { why });
            }
        };
        let last = self.state.stage + 1 >= self.config.stages.len();
        let action = if last && action == Move::Advance {
            Move::Promote
        } else {
            action
        };
        self.decision(now, action, actor, reason);
        self.leave_stage(now);
        if last {
            self.promote(now);
        } else {
            self.enter_stage(now, self.state.stage + 1);
        }
    }

    pub(super) fn pause(&mut self, now: At, actor: Actor, pause: bool) {
        let live = matches!(
            self.state.phase,
            Phase::Observing | Phase::Gate | Phase::Entering
        );
        if !live || self.state.paused == pause {
            return;
        }
        self.state.paused = pause;
        let (action, hooks) = if pause {
            (Move::Pause, self.config.hooks.on_pause.0.clone())
        } else {
            (Move::Resume, self.config.hooks.on_resume.0.clone())
        };
        self.decision(
            now,
            action,
            actor,
            if pause {
                "observation paused"
            } else {
                "observation resumed"
            },
        );
        self.notify(hooks, action.word().into(), "");
        if !pause && self.config.policy.pause_stops_rollback {
            // A countdown frozen by the pause starts again from where it was.
            if let Some(c) = &mut self.state.countdown
                && let Some(left) = c.held.take()
            {
                c.deadline = now + left;
            }
        }
    }

    pub(super) fn countdown_command(&mut self, now: At, actor: Actor, command: Command) {
        let Some(c) = self.state.countdown.as_mut() else {
            return self.say(Said::NoCountdown);
        };
        let action = match command {
            Command::Hold if c.held.is_none() => {
                c.held = Some(c.deadline.saturating_sub(now));
                Move::Hold
            }
            Command::Hold | Command::Release if c.held.is_some() => {
                c.deadline = now + c.held.take().unwrap_or(0);
                Move::Release
            }
            Command::Cancel => {
                self.state.countdown = None;
                self.state.countdown_dismissed = true;
                Move::Cancel
            }
            _ => return,
        };
        let reason = match action {
            Move::Hold => "auto-rollback countdown held",
            Move::Release => "auto-rollback countdown released",
            _ => "auto-rollback cancelled for this breach",
        };
        self.decision(now, action, actor, reason);
    }
}

impl Rollout {
    /// The first look at a metric in a stage is journalled ("alice opened
    /// error rate"); looking again, or at a metric this stage does not
    /// watch, adds nothing to the log.
    fn look(&mut self, now: At, by: Actor, metric: String) {
        let stage = self.state.stage;
        let watched = self.tracks.iter().any(|t| t.rule.name == metric);
        if !watched || self.state.started_at.is_none() {
            return;
        }
        if self.looked.insert((stage, metric.clone())) {
            self.journal(now, Event::Looked { by, metric, stage });
        }
    }
}
