//! The screen's own state (prompts, help, theme, log), and effects turned
//! into log lines. Pure: what keys do is in `modes.rs`, drawing in `draw/`.

use std::collections::VecDeque;

use chrono::NaiveDateTime;

use super::keys::{Action, KeyMap};
use super::logpane::LogPane;
use super::theme::Theme;
use crate::config::Config;
use crate::preflight::Preflight;
use crate::rollout::window::{DeployWindows, WindowStatus};
use crate::rollout::words::words;
use crate::rollout::{Actor, At, Command, Effect, Event, Input, Now, Rollout, Said};

/// What a typed line is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    Note,
    ForceStart,
    ForceAdvance,
    Skip,
    OverrideWindow,
}

impl Ask {
    pub fn title(self) -> &'static str {
        match self {
            Ask::Note => "Note for the incident log",
            Ask::ForceStart => {
                "Start despite the failed pre-flight: why? (goes into the incident log)"
            }
            Ask::ForceAdvance => "Force-advance: why is it safe? (goes into the incident log)",
            Ask::Skip => "Skip the failed hook: why? (goes into the incident log)",
            Ask::OverrideWindow => {
                "Start outside the deploy window: why? (goes into the incident log)"
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// A y/N question; anything but y answers no.
    ConfirmRollback,
    ConfirmQuit,
    Typing {
        ask: Ask,
        text: String,
    },
}

/// Following another engineer's rollout (`cockpit watch`): read-only.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Following {
    /// Real milliseconds since the driver's last word, once that is too long.
    pub silent_ms: Option<u64>,
    /// How the driver's session ended, once it has.
    pub ended: Option<String>,
}

/// How many lines of a hook's output the failure panel keeps.
const OUTPUT_KEPT: usize = 6;

pub struct Screen {
    pub keys: KeyMap,
    pub theme: Theme,
    pub colour: bool,
    pub operator: String,
    pub ssh: bool,
    pub mode: Mode,
    pub help: bool,
    /// Feedback that changed nothing ("not ready: ..."), until the next key
    /// or until the situation it answered changes (`flash_kind`).
    pub flash: Option<String>,
    pub(super) flash_kind: Option<std::mem::Discriminant<Now>>,
    /// Output of the hook that ran last, for the failure panel.
    pub hook_output: VecDeque<String>,
    /// Set when this screen follows someone else's rollout.
    pub following: Option<Following>,
    /// A follower's SSH link is down (the banner says so until it is back).
    pub link_down: Option<crate::feed::ssh::LinkDown>,
    /// Who follows the rollout with `cockpit watch`.
    pub watchers: Vec<String>,
    /// What the pre-flight found before the start, for the start panel.
    pub preflight: Option<Preflight>,
    /// The typed reason to start despite a failed pre-flight, until the
    /// runtime takes it with the start.
    pub forced: Option<String>,
    /// The driver's standing offer of the wheel (see `wheel.rs`).
    pub offer: Option<crate::run::handover::Offer>,
    pub(super) log: LogPane,
    /// The metric the table's selection is on.
    pub selected: usize,
    /// The metric whose detail view is open, if one is.
    pub open: Option<usize>,
    /// Points and verdicts of the current stage, for the detail view.
    pub(super) stage: super::opened::Stage,
    /// Each metric's query as sent, built once from the rollout's config.
    pub(super) sent: Option<Vec<[String; 2]>>,
    windows: DeployWindows,
    pub(super) local: fn(At) -> NaiveDateTime,
    pub(super) last_now: At,
}

/// The operator's wall clock for a timestamp.
pub fn local_time(at: At) -> NaiveDateTime {
    chrono::DateTime::from_timestamp_millis(at as i64)
        .unwrap_or_default()
        .with_timezone(&chrono::Local)
        .naive_local()
}

/// UTC, for tests and screens that must not depend on the machine's zone.
pub fn utc_time(at: At) -> NaiveDateTime {
    chrono::DateTime::from_timestamp_millis(at as i64)
        .unwrap_or_default()
        .naive_utc()
}

impl Screen {
    /// Keys from `[ui] keys`; the theme is chosen by the caller.
    pub fn new(config: &Config, theme: Theme, operator: &str, ssh: bool) -> Result<Screen, String> {
        let keys = KeyMap::with_overrides(&config.ui.keys)?;
        let windows = DeployWindows::from_spec(&config.window).unwrap_or_default();
        Ok(Screen::planned(keys, windows, theme, operator, ssh))
    }

    /// From the parts a plan built (see `plan::Plan`).
    pub fn planned(
        keys: KeyMap,
        windows: DeployWindows,
        theme: Theme,
        operator: &str,
        ssh: bool,
    ) -> Screen {
        Screen {
            keys,
            colour: super::theme::colour_wanted(),
            theme,
            operator: operator.to_string(),
            ssh,
            mode: Mode::Normal,
            help: false,
            flash: None,
            flash_kind: None,
            hook_output: VecDeque::new(),
            following: None,
            link_down: None,
            watchers: Vec::new(),
            preflight: None,
            forced: None,
            offer: None,
            log: LogPane::new(),
            selected: 0,
            open: None,
            stage: Default::default(),
            sent: None,
            windows,
            local: local_time,
            last_now: 0,
        }
    }

    /// The pre-flight's result, drawn in the start panel.
    pub fn with_preflight(mut self, report: Preflight) -> Screen {
        self.preflight = Some(report);
        self
    }

    /// Why stage 1 may not start yet, by the pre-flight.
    pub fn preflight_blocker(&self) -> Option<String> {
        self.preflight.as_ref().and_then(Preflight::blocker)
    }

    /// The runtime refused `s`: the panel already lists why; say what
    /// starts anyway.
    pub fn refused(&mut self, _why: &str) {
        self.flash = Some(format!(
            "not started: the pre-flight failed (see above); {} starts anyway with a typed reason",
            self.keys.first(Action::ForceStart)
        ));
    }

    /// Times shown in this zone instead of the machine's.
    pub fn with_clock(mut self, local: fn(At) -> NaiveDateTime) -> Screen {
        self.local = local;
        self
    }

    pub fn time_of_day(&self, at: At) -> String {
        (self.local)(at).format("%H:%M:%S").to_string()
    }

    /// The deploy window: as the engine judged it at start, or as it
    /// stands now before starting.
    pub fn window(&self, r: &Rollout, now: At) -> WindowStatus {
        match &r.state.window {
            Some(w) => w.clone(),
            None if r.config.rollout.security_hotfix => {
                WindowStatus::Skipped("security hotfix".into())
            }
            None => self.windows.status((self.local)(now)),
        }
    }

    /// Starting now needs a typed reason: outside the deploy window, not
    /// overridden, not a drill.
    pub fn outside_window(&self, r: &Rollout, now: At) -> bool {
        let s = &r.state;
        self.window(r, now).needs_reason()
            && s.window_override.is_none()
            && s.checks_skipped.is_none()
    }

    /// When the next deploy window opens: "Mon 11:00 (in 2d18h)".
    pub fn next_window(&self, now: At) -> Option<String> {
        let local = (self.local)(now);
        let next = self.windows.next_open(local, 60)?;
        let wait = (next - local).num_seconds().max(0) as u64 / 60 * 60_000;
        Some(format!(
            "{} (in {})",
            next.format("%a %H:%M"),
            crate::duration::Span::from_millis(wait)
        ))
    }

    /// What starting outside the window takes, in words with the keys.
    pub fn window_hint(&self, now: At) -> String {
        let o = self.keys.first(Action::OverrideWindow);
        match self.next_window(now) {
            Some(next) => {
                format!("{o} starts now with a typed reason, or wait: the next window opens {next}")
            }
            None => format!("{o} starts now with a typed reason"),
        }
    }

    /// The decision line: the engine's words, except before the start
    /// outside the window, which only the screen can judge (it has the
    /// wall clock).
    pub fn decision_text(&self, r: &Rollout, now: At) -> String {
        if r.now(now) == Now::NotStarted && self.outside_window(r, now) {
            return format!(
                "Not started: {}; {}",
                self.window(r, now).describe(),
                self.window_hint(now)
            );
        }
        super::next::decision(r, now, Some(&self.keys), &|at| self.time_of_day(at))
    }

    /// A refused command in words, with the keys bound now.
    pub fn said(&self, said: &Said) -> String {
        super::next::said(said, Some(&self.keys))
    }

    /// The feedback line, unless the situation it answered has changed
    /// ("not ready" under a line that now says ready would contradict it).
    pub fn flash_now(&self, r: &Rollout, now: At) -> Option<&str> {
        let flash = self.flash.as_deref()?;
        match self.flash_kind {
            Some(kind) if kind != r.now(now).kind() => None,
            _ => Some(flash),
        }
    }

    pub(super) fn start_input(&self, now: At) -> Input {
        Input::Start {
            local: (self.local)(now),
            operator: self.operator.clone(),
        }
    }

    pub(super) fn actor(&self) -> Actor {
        Actor::Operator(self.operator.clone())
    }

    pub(super) fn command(&self, command: Command) -> Vec<Input> {
        vec![Input::Command {
            actor: self.actor(),
            command,
        }]
    }

    /// Whether quitting now leaves a rollout half done (it resumes).
    pub(super) fn live(r: &Rollout) -> bool {
        r.state.started_at.is_some() && !r.is_finished()
    }

    /// The keys that apply now, in footer order.
    pub fn available(&self, r: &Rollout, now: At) -> Vec<Action> {
        use Action::*;
        if self.help {
            return vec![Help];
        }
        let back: &[Action] = if self.opened(r).is_some() {
            &[Back]
        } else {
            &[]
        };
        if self.following.is_some() {
            return [back, &[Help, Quit]].concat();
        }
        let s = &r.state;
        let mut out = back.to_vec();
        if let Now::NotStarted | Now::Blocked { .. } | Now::Starting = r.now(now) {
            // Only the screen can judge the window before the start: it
            // has the wall clock.
            let outside = self.outside_window(r, now);
            if s.started_at.is_none() && !outside {
                out.push(Start);
                if self.preflight_blocker().is_some() {
                    out.push(ForceStart);
                }
            }
            if outside {
                out.push(OverrideWindow);
            }
        } else {
            out.extend(r.next(now).into_iter().map(Action::from));
        }
        out.extend([Note, Help, Quit]);
        out
    }

    /// Journal events and the engine's feedback, into the log pane.
    pub fn effect(&mut self, effect: &Effect) {
        match effect {
            Effect::Journal { at, event } => {
                self.last_now = self.last_now.max(*at);
                if let Event::HookStarted { .. } = event {
                    self.hook_output.clear();
                }
                if let Some((level, text)) = words(event) {
                    self.log
                        .push(level, &format!("{} {text}", self.time_of_day(*at)));
                }
            }
            Effect::Deciding(_) => {}
            Effect::Say(said) => {
                let text = self.said(said);
                self.flash = Some(text.clone());
                self.log.push(
                    log::Level::Info,
                    &format!("{} {text}", self.time_of_day(self.last_now)),
                );
            }
            _ => {}
        }
    }

    /// A line of hook output or a notification result.
    pub fn line(&mut self, text: &str) {
        if self.hook_output.len() == OUTPUT_KEPT {
            self.hook_output.pop_front();
        }
        self.hook_output.push_back(text.to_string());
        self.log.push(
            log::Level::Info,
            &format!("{}   | {text}", self.time_of_day(self.last_now)),
        );
    }

    /// A line of the driver's log, for a follower.
    pub fn logged(&mut self, at: At, level: log::Level, text: &str) {
        self.log
            .push(level, &format!("{} {text}", self.time_of_day(at)));
    }

    /// Takes in the rollout as it is now (the driver's own, or a
    /// follower's copy from the feed) for the metric detail view.
    pub fn observe(&mut self, r: &Rollout, now: At) {
        if self.sent.is_none() {
            self.sent = Some(super::opened::sent(&r.config));
        }
        self.stage.observe(r, now);
    }

    /// The metric whose detail is open, while it exists.
    pub fn opened(&self, r: &Rollout) -> Option<usize> {
        self.open.filter(|m| *m < r.tracks.len())
    }

    /// Remembers the time for lines that come without one.
    pub fn saw(&mut self, now: At) {
        self.last_now = self.last_now.max(now);
    }
}
