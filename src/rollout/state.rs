//! The state a checkpoint carries: everything needed to carry on after a
//! crash.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::decision::{Actor, Purpose};
use super::event::Outcome;
use super::traffic::Traffic;
use super::verdict::At;
use super::window::WindowStatus;
use crate::config::model::Hook;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    /// Not started, or started and blocked by the checklist or the window.
    Waiting,
    /// Waiting for a gate before entering `stage`.
    Gate,
    /// Running the stage's enter hooks and smoke check.
    Entering,
    Observing,
    RollingBack,
    /// Rolled back; watching that the error rate comes back down.
    Verifying {
        since: At,
    },
    Promoted,
    RolledBack {
        recovered: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub hook: Hook,
    pub purpose: Purpose,
    pub stage: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Running {
    pub id: u64,
    pub step: Step,
    pub started: At,
    /// The hook as it ran, placeholders filled.
    #[serde(default)]
    pub label: String,
}

impl Running {
    /// The label as it ran; a checkpoint from before labels were kept
    /// shows the configured one.
    pub fn shown_label(&self) -> String {
        if self.label.is_empty() {
            self.step.hook.label()
        } else {
            self.label.clone()
        }
    }
}

/// A hook that failed, or whose outcome is unknown after a crash; the
/// operator must retry it or skip it with a reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub step: Step,
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Countdown {
    pub deadline: At,
    /// Remaining milliseconds while held.
    pub held: Option<u64>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollbackInfo {
    pub by: Actor,
    pub reason: String,
    pub at: At,
    pub completed: Option<At>,
}

/// Everything needed to carry on after a crash; journalled as checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub phase: Phase,
    pub stage: usize,
    /// Stages whose enter began: these are undone on rollback.
    pub entered: usize,
    pub observed_ms: u64,
    pub paused: bool,
    pub operator: String,
    pub started_at: Option<At>,
    pub last_at: At,
    pub window: Option<WindowStatus>,
    pub window_override: Option<String>,
    pub checks_skipped: Option<String>,
    pub checklist: Vec<bool>,
    pub countdown: Option<Countdown>,
    /// The operator dismissed the countdown for the current breach.
    pub countdown_dismissed: bool,
    pub rollback: Option<RollbackInfo>,
    /// A rollback asked for while a hook ran; it starts when the hook ends.
    pub rollback_deferred: Option<(Actor, String)>,
    pub queue: VecDeque<Step>,
    pub running: Option<Running>,
    pub failed: Option<Failure>,
    pub gate_open: bool,
    pub next_id: u64,
    pub last_snapshot: At,
    pub outcome: Option<Outcome>,
    /// The canary's seen share of requests and the rule watching it.
    #[serde(default)]
    pub traffic: Traffic,
}
