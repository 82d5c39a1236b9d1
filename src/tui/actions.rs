//! Everything the operator can ask for with a key: the one table of
//! actions with their config names, default keys and help text.

/// Everything the operator can ask for with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    Start,
    ForceStart,
    OverrideWindow,
    Advance,
    ForceAdvance,
    Pause,
    Rollback,
    Hold,
    Cancel,
    OpenGate,
    Retry,
    Skip,
    Note,
    HandOver,
    TakeOver,
    Theme,
    Help,
    Quit,
    ScrollUp,
    ScrollDown,
    PageUp,
    PageDown,
    Follow,
    SelectUp,
    SelectDown,
    Open,
    Back,
}

/// (action, config name, default keys, what it does) in help order.
pub(super) const TABLE: &[(Action, &str, &str, &str)] = &[
    (
        Action::Start,
        "start",
        "s",
        "start the rollout (after the checklist)",
    ),
    (
        Action::ForceStart,
        "force_start",
        "F",
        "start although the pre-flight failed, with a typed reason",
    ),
    (
        Action::OverrideWindow,
        "override_window",
        "o",
        "start outside the deploy window, with a typed reason",
    ),
    (
        Action::Advance,
        "advance",
        "a",
        "advance to the next stage (or promote) when green",
    ),
    (
        Action::ForceAdvance,
        "force_advance",
        "A",
        "advance past a stage that is not green, with a typed reason",
    ),
    (
        Action::Pause,
        "pause",
        "p,space",
        "pause or resume the observation clock",
    ),
    (
        Action::Rollback,
        "rollback",
        "r",
        "roll back (asks y/N; at once during a countdown)",
    ),
    (
        Action::Hold,
        "hold",
        "h",
        "hold or release the auto-rollback countdown",
    ),
    (
        Action::Cancel,
        "cancel",
        "c",
        "cancel the auto-rollback for this breach",
    ),
    (Action::OpenGate, "open_gate", "g", "open a manual gate"),
    (Action::Retry, "retry", "R", "run a failed hook again"),
    (
        Action::Skip,
        "skip",
        "S",
        "skip a failed hook, with a typed reason",
    ),
    (
        Action::Note,
        "note",
        "n",
        "write a note into the incident log",
    ),
    (
        Action::HandOver,
        "hand_over",
        "H",
        "offer the wheel: to anyone, to each follower, to nobody",
    ),
    (
        Action::TakeOver,
        "take_over",
        "T",
        "take the wheel the driver offers you",
    ),
    (Action::Theme, "theme", "t", "next colour theme"),
    (Action::Help, "help", "?", "show or hide this help"),
    (
        Action::Quit,
        "quit",
        "q",
        "quit (never rolls back or promotes; the journal resumes)",
    ),
    (
        Action::ScrollUp,
        "scroll_up",
        "k",
        "scroll the log back a line",
    ),
    (
        Action::ScrollDown,
        "scroll_down",
        "j",
        "scroll the log forward a line",
    ),
    (
        Action::PageUp,
        "page_up",
        "pgup",
        "scroll the log back a page",
    ),
    (
        Action::PageDown,
        "page_down",
        "pgdown",
        "scroll the log forward a page",
    ),
    (
        Action::Follow,
        "follow",
        "G,end",
        "follow the newest log lines",
    ),
    (
        Action::SelectUp,
        "select_up",
        "up",
        "select the metric above (in its detail: open it)",
    ),
    (
        Action::SelectDown,
        "select_down",
        "down",
        "select the metric below (in its detail: open it)",
    ),
    (
        Action::Open,
        "open",
        "enter",
        "open the selected metric: query, answers, chart, history",
    ),
    (
        Action::Back,
        "back",
        "esc",
        "close the metric's detail or the help",
    ),
];

/// The key for a step the engine offers (`Rollout::next`): one key for
/// both halves of a toggle, one for advancing and promoting.
impl From<crate::rollout::Move> for Action {
    fn from(step: crate::rollout::Move) -> Action {
        use crate::rollout::Move as Step;
        match step {
            Step::Start => Action::Start,
            Step::Advance | Step::Promote => Action::Advance,
            Step::ForceAdvance => Action::ForceAdvance,
            Step::Pause | Step::Resume => Action::Pause,
            Step::Rollback => Action::Rollback,
            Step::Hold | Step::Release => Action::Hold,
            Step::Cancel => Action::Cancel,
            Step::Retry => Action::Retry,
            Step::Skip => Action::Skip,
            Step::OverrideWindow => Action::OverrideWindow,
            Step::OpenGate => Action::OpenGate,
        }
    }
}

impl Action {
    pub fn all() -> impl Iterator<Item = Action> {
        TABLE.iter().map(|row| row.0)
    }

    fn row(self) -> &'static (Action, &'static str, &'static str, &'static str) {
        TABLE
            .iter()
            .find(|row| row.0 == self)
            .expect("every action has a row in TABLE")
    }

    /// The name used in `[ui] keys`.
    pub fn name(self) -> &'static str {
        self.row().1
    }

    pub fn describe(self) -> &'static str {
        self.row().3
    }

    /// The short word for the footer.
    pub fn short(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::ForceStart => "force start",
            Action::OverrideWindow => "override window",
            Action::Advance => "advance",
            Action::ForceAdvance => "force",
            Action::Pause => "pause",
            Action::Rollback => "roll back",
            Action::Hold => "hold",
            Action::Cancel => "cancel",
            Action::OpenGate => "open gate",
            Action::Retry => "retry",
            Action::Skip => "skip",
            Action::Note => "note",
            Action::HandOver => "hand over",
            Action::TakeOver => "take over",
            Action::Theme => "theme",
            Action::Help => "help",
            Action::Quit => "quit",
            Action::ScrollUp | Action::ScrollDown => "scroll",
            Action::PageUp | Action::PageDown => "page",
            Action::Follow => "follow",
            Action::SelectUp | Action::SelectDown => "select",
            Action::Open => "open metric",
            Action::Back => "back",
        }
    }
}
