//! What comes out of the core: effects for the edges to carry out, in
//! order, and the commands it refused.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::decision::Purpose;
use super::event::{Event, Outcome};
use super::state::State;
use super::verdict::At;
use crate::config::model::Hook;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Effect {
    /// Append to the journal. Effects run in order, so a decision is on disk
    /// before the hook it starts.
    Journal {
        at: At,
        event: Event,
    },
    /// Run a hook that gates the rollout; its result comes back as `HookDone`.
    RunHook {
        id: u64,
        hook: Hook,
        vars: BTreeMap<String, String>,
        purpose: Purpose,
        stage: usize,
    },
    /// Fire-and-forget notifications (on_pause, on_breach, ...).
    Notify {
        hooks: Vec<Hook>,
        vars: BTreeMap<String, String>,
        event: String,
    },
    /// Poll `url` until it answers 200, then send `GateOpened`.
    WatchGate {
        stage: usize,
        url: String,
        every_ms: u64,
    },
    /// Feedback for the operator: a command that changed nothing, and why.
    Say(Said),
    /// The whole state after this update, for resuming after a crash.
    /// Comes after the journal events and before any action.
    Checkpoint(Box<State>),
    Finished(Outcome),
    /// The operator has a decision's question open on screen (true) or
    /// answered it (false): a decision in progress, for views that pace a
    /// drill. Not journalled: the decision, if any, is.
    Deciding(bool),
}

/// A command the engine refused, and why, as data: the views word it (the
/// screen with the keys of its key map, headless without keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "said", rename_all = "snake_case")]
pub enum Said {
    /// Advance, but no stage is being observed.
    NothingToAdvance,
    /// Advance, but the stage is not green: `why`; forcing it takes a reason.
    NotReady {
        why: String,
    },
    /// Hold, release or cancel without a countdown.
    NoCountdown,
    NoFailedHookToRetry,
    NoFailedHookToSkip,
    AlreadyRollingBack,
    NothingToRollBack,
}
