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

/// The exit code a session ends with when it fails, given how.
pub fn of_error(kind: crate::error::Kind) -> i32 {
    use crate::error::Kind;
    match kind {
        Kind::Usage => CONFIG,
        Kind::Failed => ERROR,
        Kind::NeedsOperator => ABORTED,
    }
}

/// `check --live`: the config works against the real world, or it is the
/// config (or what it points at) that must be fixed.
pub fn of_preflight(ok: bool) -> i32 {
    if ok { OK } else { CONFIG }
}
