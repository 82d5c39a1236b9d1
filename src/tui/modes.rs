//! What keys do, mode by mode: a y/N question, a typed reason, a follower
//! who only looks, and the driver's normal keys. Keys become engine inputs;
//! keys that change only what this screen shows change the screen state.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::keys::Action;
use super::screen::{Ask, Mode, Screen};
use crate::rollout::{At, Command, Input, Phase, Rollout, Said};
use crate::run::Control;

type Answer = (Vec<Input>, Control);

fn nothing() -> Answer {
    (vec![], Control::Continue)
}

/// Lines a page key scrolls the log: about a small terminal's log pane.
const PAGE: isize = 8;

impl Screen {
    pub fn key(&mut self, r: &Rollout, key: KeyEvent, now: At) -> Answer {
        if key.kind == KeyEventKind::Release {
            return nothing();
        }
        self.flash = None;
        self.flash_kind = Some(r.now(now).kind());
        if self.following.is_some() && self.mode == Mode::Normal {
            return self.follower_key(r, key);
        }
        match std::mem::replace(&mut self.mode, Mode::Normal) {
            Mode::Normal => self.normal_key(r, key, now),
            Mode::ConfirmRollback if is_yes(&key) => {
                let reason = "rolled back by the operator from the cockpit".to_string();
                let mut inputs = self.command(Command::Question { open: false });
                inputs.extend(self.command(Command::Rollback { reason }));
                (inputs, Control::Continue)
            }
            Mode::ConfirmRollback => {
                self.flash = Some("roll back: not confirmed, nothing done".into());
                (
                    self.command(Command::Question { open: false }),
                    Control::Continue,
                )
            }
            Mode::ConfirmQuit if is_yes(&key) => (vec![], Control::Quit),
            Mode::ConfirmQuit => nothing(),
            Mode::Typing { ask, text } => {
                let (mut inputs, control) = self.typing_key(ask, text, key);
                // The typed reason is what starting outside the window takes: start now.
                let reasoned = inputs.iter().any(|i| {
                    matches!(
                        i,
                        Input::Command {
                            command: Command::OverrideWindow { .. },
                            ..
                        }
                    )
                });
                if reasoned && r.state.started_at.is_none() {
                    inputs.push(self.start_input(now));
                }
                (inputs, control)
            }
        }
    }

    /// The key map's action for a key; ctrl-c is always quit.
    fn action(&self, key: &KeyEvent) -> Option<Action> {
        let ctrl_c =
            key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl_c {
            Some(Action::Quit)
        } else {
            self.keys.action(key)
        }
    }

    /// A follower looks, never steers: what would act says who can.
    fn follower_key(&mut self, r: &Rollout, key: KeyEvent) -> Answer {
        match self.action(&key) {
            None if key.code == KeyCode::Esc => self.help = false,
            None => {}
            // Nothing is lost by a follower leaving: no question asked.
            Some(Action::Quit) if !self.help => return (vec![], Control::Quit),
            Some(a) if self.looking(r, a) => {}
            // A follower writes notes and asks for the wheel; never steers.
            Some(Action::Note) => {
                self.mode = Mode::Typing {
                    ask: Ask::Note,
                    text: String::new(),
                }
            }
            Some(Action::TakeOver) => return (vec![], Control::Take),
            Some(_) => {
                let driver = if r.state.operator.is_empty() {
                    &self.operator
                } else {
                    &r.state.operator
                };
                self.flash = Some(format!(
                    "read-only: you are watching; {driver} drives this rollout"
                ));
                // It answers the key, not the driver's situation.
                self.flash_kind = None;
            }
        }
        nothing()
    }

    /// Keys that change only what this screen shows; true when handled.
    fn looking(&mut self, r: &Rollout, action: Action) -> bool {
        match action {
            Action::Theme => {
                self.theme = self.theme.next(self.colour);
                self.flash = Some(format!("theme: {}", self.theme.name));
                self.flash_kind = None;
            }
            Action::Help => self.help = !self.help,
            Action::Quit if self.help => self.help = false,
            Action::ScrollUp => self.log.scroll(1),
            Action::ScrollDown => self.log.scroll(-1),
            Action::PageUp => self.log.scroll(PAGE),
            Action::PageDown => self.log.scroll(-PAGE),
            Action::Follow => self.log.follow(),
            Action::SelectUp | Action::SelectDown | Action::Open | Action::Back => {
                self.selecting(r, action)
            }
            _ => return false,
        }
        true
    }

    /// The table's selection, and the detail view it opens; moving the
    /// selection with a detail open opens the next metric's.
    fn selecting(&mut self, r: &Rollout, action: Action) {
        let last = r.tracks.len().saturating_sub(1);
        match action {
            Action::SelectUp => self.selected = self.selected.saturating_sub(1),
            Action::SelectDown => self.selected = (self.selected + 1).min(last),
            Action::Open if !r.tracks.is_empty() => self.open = Some(self.selected.min(last)),
            Action::Back if self.help => self.help = false,
            Action::Back => self.open = None,
            _ => {}
        }
        if self.open.is_some() && action != Action::Back {
            self.open = Some(self.selected.min(last));
        }
    }

    /// A metric's detail newly open on the driver's screen is a look the
    /// core hears of (a drill scores it as detection); the screen only
    /// says which metric.
    fn looked(&self, r: &Rollout, was_open: Option<usize>) -> Vec<Input> {
        match self.open.filter(|i| Some(*i) != was_open) {
            Some(i) => r.tracks.get(i).map_or_else(Vec::new, |t| {
                self.command(Command::Look {
                    metric: t.rule.name.clone(),
                })
            }),
            None => vec![],
        }
    }

    fn typing_key(&mut self, ask: Ask, mut text: String, key: KeyEvent) -> Answer {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => return nothing(),
            KeyCode::Char('c') if ctrl => return nothing(),
            KeyCode::Enter => return self.typed(ask, text.trim().to_string()),
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Char('u') if ctrl => text.clear(),
            KeyCode::Char(c) if !ctrl && text.chars().count() < 200 => text.push(c),
            _ => {}
        }
        self.mode = Mode::Typing { ask, text };
        nothing()
    }

    /// A typed reason, entered: the command it was asked for.
    fn typed(&mut self, ask: Ask, text: String) -> Answer {
        if text.is_empty() {
            self.flash = Some("nothing typed: a reason is needed (esc cancels)".into());
            self.mode = Mode::Typing { ask, text };
            return nothing();
        }
        let command = match ask {
            Ask::ForceStart => {
                // The runtime journals the reason with the start.
                self.forced = Some(text);
                return (vec![self.start_input(self.last_now)], Control::Continue);
            }
            Ask::Note => Command::Note { text },
            Ask::ForceAdvance => Command::ForceAdvance { reason: text },
            Ask::Skip => Command::Skip { reason: text },
            Ask::OverrideWindow => Command::OverrideWindow { reason: text },
        };
        (self.command(command), Control::Continue)
    }

    fn ask(&mut self, ask: Ask) -> Answer {
        self.mode = Mode::Typing {
            ask,
            text: String::new(),
        };
        nothing()
    }

    fn normal_key(&mut self, r: &Rollout, key: KeyEvent, now: At) -> Answer {
        if let KeyCode::Char(d @ '1'..='9') = key.code
            && r.state.phase == Phase::Waiting
        {
            let item = d as usize - '1' as usize;
            return match r.state.checklist.get(item) {
                Some(false) => (
                    self.command(Command::TickChecklist { item }),
                    Control::Continue,
                ),
                _ => nothing(),
            };
        }
        let Some(action) = self.action(&key) else {
            if self.help && key.code == KeyCode::Esc {
                self.help = false;
            }
            return nothing();
        };
        if self.help && !matches!(action, Action::Help | Action::Quit | Action::Back) {
            return nothing();
        }
        let was_open = self.open;
        if self.looking(r, action) {
            return (self.looked(r, was_open), Control::Continue);
        }
        match action {
            Action::Quit if Self::live(r) => {
                self.mode = Mode::ConfirmQuit;
                nothing()
            }
            Action::Quit => (vec![], Control::Quit),
            Action::Start | Action::ForceStart | Action::OverrideWindow => {
                self.starting(r, action, now)
            }
            Action::Rollback => (self.rollback(r), Control::Continue),
            other => self.steering(r, other),
        }
    }

    /// The keys that start a rollout, each refused in words when it cannot.
    fn starting(&mut self, r: &Rollout, action: Action, now: At) -> Answer {
        let not_started = r.state.started_at.is_none();
        let refused = match action {
            Action::OverrideWindow => return self.ask(Ask::OverrideWindow),
            Action::ForceStart if not_started && self.preflight_blocker().is_some() => {
                return self.ask(Ask::ForceStart);
            }
            Action::ForceStart => "nothing to force: the pre-flight passed (or already started)",
            // The decision line above says what starting takes.
            _ if not_started && self.outside_window(r, now) => {
                "nothing started: outside the deploy window"
            }
            _ if not_started => return (vec![self.start_input(now)], Control::Continue),
            _ => "already started",
        };
        self.flash = Some(refused.into());
        nothing()
    }

    fn rollback(&mut self, r: &Rollout) -> Vec<Input> {
        let s = &r.state;
        match &s.countdown {
            // The policy already asked; the operator agrees: no second question.
            Some(c) => self.command(Command::Rollback {
                reason: format!(
                    "rolled back by the operator during the countdown: {}",
                    c.reason
                ),
            }),
            None if s.rollback.is_some() => self.refuse(Said::AlreadyRollingBack),
            None if s.started_at.is_none() || r.is_finished() => {
                self.refuse(Said::NothingToRollBack)
            }
            // The question open on screen is a decision in progress.
            None => {
                self.mode = Mode::ConfirmRollback;
                self.command(Command::Question { open: true })
            }
        }
    }

    /// The keys that steer a started rollout.
    fn steering(&mut self, r: &Rollout, action: Action) -> Answer {
        let s = &r.state;
        let inputs = match action {
            Action::Advance => self.command(Command::Advance),
            Action::ForceAdvance if s.phase == Phase::Observing => {
                return self.ask(Ask::ForceAdvance);
            }
            Action::ForceAdvance => self.refuse(Said::NothingToAdvance),
            Action::Pause if s.paused => self.command(Command::Resume),
            Action::Pause => self.command(Command::Pause),
            Action::Hold => match &s.countdown {
                Some(c) if c.held.is_some() => self.command(Command::Release),
                _ => self.command(Command::Hold),
            },
            Action::Cancel => self.command(Command::Cancel),
            Action::OpenGate => self.command(Command::OpenGate),
            Action::Retry => self.command(Command::Retry),
            Action::Skip if s.failed.is_some() => return self.ask(Ask::Skip),
            Action::Skip => self.refuse(Said::NoFailedHookToSkip),
            Action::Note => return self.ask(Ask::Note),
            Action::HandOver => return self.offer_next(),
            Action::TakeOver => {
                self.flash = Some(super::wheel::already_driving());
                vec![]
            }
            _ => vec![],
        };
        (inputs, Control::Continue)
    }

    /// A command that cannot apply now, answered in words.
    fn refuse(&mut self, said: Said) -> Vec<Input> {
        self.flash = Some(self.said(&said));
        vec![]
    }
}

fn is_yes(key: &KeyEvent) -> bool {
    matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y'))
}
