//! Exit codes, documented in the README, and the one mapping from a
//! rollout's outcome to its code. At the bottom so every layer (the
//! runtime, the views, the drill) can use them without importing `cli/`.

use crate::rollout::Outcome;

/// Success; for a rollout: promoted.
pub const OK: i32 = 0;
/// An error that is not the config's: IO, a port, an internal fault.
pub const ERROR: i32 = 1;
/// Bad command line or bad config.
pub const CONFIG: i32 = 2;
/// Rolled back, and the metrics recovered.
pub const ROLLED_BACK: i32 = 3;
/// Rolled back, but the metrics did not recover.
pub const ROLLED_BACK_UNRECOVERED: i32 = 4;
/// Stopped without an outcome: needs an operator (deploy window,
/// checklist, a failed hook, a hook with unknown outcome, a lock held).
pub const ABORTED: i32 = 5;

/// The exit code a session ends with, given the rollout's outcome (none:
/// stopped without one, an operator is needed).
pub fn of_outcome(outcome: Option<Outcome>) -> i32 {
    match outcome {
        Some(Outcome::Promoted) => OK,
        Some(Outcome::RolledBack) => ROLLED_BACK,
        Some(Outcome::RolledBackUnrecovered) => ROLLED_BACK_UNRECOVERED,
        None => ABORTED,
    }
}
