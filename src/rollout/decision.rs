//! Who decides, what a decision does, and why a hook runs: the words the
//! journal, the report and the screens share, each spelt one way.

use serde::{Deserialize, Serialize};

/// Who made a decision: a named operator, or the configured policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    Operator(String),
    Policy,
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::Operator(name) => f.write_str(name),
            Actor::Policy => f.write_str("policy"),
        }
    }
}

/// Why a hook runs; the journal and the screen say it in these words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Enter,
    Smoke,
    Undo,
    OnRollback,
    Verify,
}

impl Purpose {
    /// The one spelling: the journal's (serde) name, "on_rollback".
    pub fn word(self) -> &'static str {
        match self {
            Purpose::Enter => "enter",
            Purpose::Smoke => "smoke",
            Purpose::Undo => "undo",
            Purpose::OnRollback => "on_rollback",
            Purpose::Verify => "verify",
        }
    }

    /// "undo hook of canary", "enter hook of 25%": what a hook is for and
    /// the stage it serves (journals from before stage names: none).
    pub fn hook_of(self, stage: &str) -> String {
        let word = self.word();
        if stage.is_empty() {
            format!("{word} hook")
        } else {
            format!("{word} hook of {stage}")
        }
    }
}

/// A move in a rollout: what a decision did (the journal's `action`),
/// and what [`crate::rollout::Rollout::next`] offers an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Move {
    Start,
    Advance,
    ForceAdvance,
    Pause,
    Resume,
    Rollback,
    Hold,
    Release,
    Cancel,
    Retry,
    Skip,
    Promote,
    OverrideWindow,
    OpenGate,
}

impl Move {
    /// The one spelling: the journal's (serde) name, "force_advance". The
    /// report writes it as is; the screen shouts it with [`Move::loud`].
    pub fn word(self) -> &'static str {
        match self {
            Move::Start => "start",
            Move::Advance => "advance",
            Move::ForceAdvance => "force_advance",
            Move::Pause => "pause",
            Move::Resume => "resume",
            Move::Rollback => "rollback",
            Move::Hold => "hold",
            Move::Release => "release",
            Move::Cancel => "cancel",
            Move::Retry => "retry",
            Move::Skip => "skip",
            Move::Promote => "promote",
            Move::OverrideWindow => "override_window",
            Move::OpenGate => "open_gate",
        }
    }

    /// "FORCE ADVANCE": the word, as the screen's log shouts it.
    pub fn loud(self) -> String {
        self.word().replace('_', " ").to_uppercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serde_name<T: Serialize>(value: T) -> String {
        serde_json::to_value(value)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    #[test]
    fn a_move_has_one_spelling_the_journals() {
        use Move::*;
        for a in [
            Start,
            Advance,
            ForceAdvance,
            Pause,
            Resume,
            Rollback,
            Hold,
            Release,
            Cancel,
            Retry,
            Skip,
            Promote,
            OverrideWindow,
            OpenGate,
        ] {
            assert_eq!(a.word(), serde_name(a));
        }
        assert_eq!(ForceAdvance.loud(), "FORCE ADVANCE");
    }

    #[test]
    fn a_purpose_has_one_spelling_the_journals() {
        use Purpose::*;
        for p in [Enter, Smoke, Undo, OnRollback, Verify] {
            assert_eq!(p.word(), serde_name(p));
        }
        assert_eq!(OnRollback.hook_of("canary"), "on_rollback hook of canary");
    }
}
