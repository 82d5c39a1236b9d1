//! What is happening now, derived in one place from the engine's state. The
//! header word, the decision line and the footer all read this value, so
//! they can never tell three different stories.

use super::verdict::At;

/// What the operator can do now, for footers and help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ready {
    Advance,
    Promote,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Now {
    /// Nobody has started the rollout.
    NotStarted,
    /// Started, but stage 1 waits for the checklist or a window reason.
    Blocked {
        why: String,
    },
    /// Started and unblocked: stage 1 is about to be entered.
    Starting,
    AtGate {
        stage: String,
    },
    /// Running the stage's enter hooks; the hook and how long it has run.
    Entering {
        stage: String,
        hook: Option<(String, u64)>,
    },
    /// A hook failed (or its outcome is unknown): an operator must act.
    HookFailed {
        summary: String,
        can_roll_back: bool,
    },
    Paused,
    /// The policy rolls back when `left_ms` runs out.
    Countdown {
        left_ms: u64,
        reason: String,
    },
    /// The countdown is frozen at `left_ms`.
    Held {
        left_ms: u64,
        reason: String,
    },
    /// A sustained critical breach and no countdown: cancelled by the
    /// operator for this breach, or the policy only alerts.
    Critical {
        reason: String,
        /// How many metrics are critical now.
        critical: usize,
        cancelled: bool,
    },
    Ready(Ready),
    /// Observing, not ready yet, and why.
    Holding {
        why: String,
    },
    RollingBack {
        hook: Option<String>,
    },
    /// Rolled back at `at`; watching the metrics recover.
    Verifying {
        at: At,
    },
    RolledBack {
        at: At,
        reason: String,
        recovered: bool,
    },
    Promoted,
}

impl Now {
    /// The situation without its numbers: feedback given in one situation
    /// is stale in another (see the TUI's flash line).
    pub fn kind(&self) -> std::mem::Discriminant<Now> {
        std::mem::discriminant(self)
    }
}
