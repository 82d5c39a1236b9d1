//! What goes into the core (inputs) and what comes out (effects, and the
//! journal events that become the postmortem timeline), and the state a
//! checkpoint carries. The engine uses these; they use nothing of it.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::reading::{Group, Reading};
use super::traffic::Traffic;
use super::verdict::{At, Level};
use super::window::WindowStatus;
use crate::config::model::Hook;

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

/// The keypress-level things an operator (or a script) can ask for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Start outside the deploy window, with the reason for the log.
    OverrideWindow {
        reason: String,
    },
    TickChecklist {
        item: usize,
    },
    /// Drills and scripted runs: checklist and window do not apply.
    SkipChecks {
        reason: String,
    },
    Advance,
    ForceAdvance {
        reason: String,
    },
    Pause,
    Resume,
    Rollback {
        reason: String,
    },
    /// Freeze an auto-rollback countdown; `Release` lets it run again.
    Hold,
    Release,
    /// Dismiss the countdown for this breach; the breach stays on screen.
    Cancel,
    Note {
        text: String,
    },
    /// Open a manual gate.
    OpenGate,
    /// After a failed hook: run it again, or skip it with a reason.
    Retry,
    Skip {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Input {
    /// The operator starts the rollout; `local` is the wall clock for windows.
    Start {
        local: chrono::NaiveDateTime,
        operator: String,
    },
    Tick,
    /// Everything one poll read, canary and baseline together, applied at
    /// once so no metric is judged against the previous poll's baseline.
    Poll(Vec<Sample>),
    Command {
        actor: Actor,
        command: Command,
    },
    HookDone {
        id: u64,
        ok: bool,
        summary: String,
    },
    /// An HTTP gate's URL answered 200.
    GateOpened {
        stage: usize,
    },
}

/// One reading of one metric for one group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub metric: usize,
    pub group: Group,
    pub reading: Reading,
}

impl Input {
    /// A poll that read a single sample.
    pub fn sample(metric: usize, group: Group, reading: Reading) -> Input {
        Input::Poll(vec![Sample {
            metric,
            group,
            reading,
        }])
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Promoted,
    RolledBack,
    /// Rolled back, but the metrics did not recover in time.
    RolledBackUnrecovered,
}

/// One metric's values at a moment, for decisions and snapshots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricValue {
    pub metric: String,
    pub level: Level,
    pub canary: Option<f64>,
    pub baseline: Option<f64>,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
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

impl Action {
    /// The one spelling: the journal's (serde) name, "force_advance". The
    /// report writes it as is; the screen shouts it with [`Action::loud`].
    pub fn word(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Advance => "advance",
            Action::ForceAdvance => "force_advance",
            Action::Pause => "pause",
            Action::Resume => "resume",
            Action::Rollback => "rollback",
            Action::Hold => "hold",
            Action::Release => "release",
            Action::Cancel => "cancel",
            Action::Retry => "retry",
            Action::Skip => "skip",
            Action::Promote => "promote",
            Action::OverrideWindow => "override_window",
            Action::OpenGate => "open_gate",
        }
    }

    /// "FORCE ADVANCE": the word, as the screen's log shouts it.
    pub fn loud(self) -> String {
        self.word().replace('_', " ").to_uppercase()
    }
}

/// The incident log's vocabulary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Started {
        rollout: String,
        service: String,
        environment: String,
        old_version: String,
        new_version: String,
        strategy: String,
        stages: Vec<String>,
        operator: String,
        window: WindowStatus,
    },
    Blocked {
        reason: String,
    },
    ChecklistTicked {
        item: String,
        by: Actor,
    },
    Decision {
        action: Action,
        by: Actor,
        reason: String,
        stage: usize,
        metrics: Vec<MetricValue>,
        /// The canary's set weight and seen share of requests, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        traffic: Option<super::traffic::TrafficShare>,
    },
    StageEntering {
        stage: usize,
        name: String,
        exposure: String,
    },
    StageObserving {
        stage: usize,
        name: String,
    },
    /// Left by advancing, or by a rollback (after its decision).
    StageLeft {
        stage: usize,
        name: String,
        observed_ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        traffic: Option<super::traffic::TrafficShare>,
    },
    WaitingForGate {
        stage: usize,
        what: String,
    },
    MetricChanged {
        metric: String,
        from: Level,
        to: Level,
        reason: String,
        canary: Option<f64>,
        baseline: Option<f64>,
    },
    /// What a metric source warned about beside its answer (Prometheus'
    /// `warnings` and `infos`), redacted; journalled when it starts or changes.
    SourceWarning {
        metric: String,
        group: Group,
        text: String,
    },
    /// The seen share of requests stayed off the set weight past the grace
    /// period after the enter hook succeeded: the hook moved nothing.
    TrafficOff {
        stage: usize,
        set: f64,
        seen: f64,
        /// How long the share has been off.
        held_ms: u64,
        /// The enter hook failed and was skipped (no hook said OK).
        #[serde(default)]
        hook_skipped: bool,
    },
    /// The seen share came back in line with the set weight.
    TrafficBack {
        stage: usize,
        set: f64,
        seen: f64,
    },
    CountdownStarted {
        seconds: u64,
        reason: String,
    },
    CountdownCleared {
        reason: String,
    },
    /// `label` has the placeholders filled: the command as it ran.
    HookStarted {
        id: u64,
        label: String,
        purpose: Purpose,
        stage: usize,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        stage_name: String,
    },
    /// The last lines a hook printed, journalled by the runtime when it ends.
    HookOutput {
        id: u64,
        label: String,
        tail: Vec<String>,
    },
    HookFinished {
        id: u64,
        label: String,
        ok: bool,
        summary: String,
    },
    Note {
        by: Actor,
        text: String,
    },
    Snapshot {
        stage: usize,
        observed_ms: u64,
        metrics: Vec<MetricValue>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        traffic: Option<super::traffic::TrafficShare>,
    },
    RollbackComplete,
    RollbackVerified {
        recovered: bool,
        reason: String,
    },
    Finished {
        outcome: Outcome,
    },
    /// The pre-flight before the start: every check, redacted by the
    /// runtime, so the report, a replay and followers have it.
    Preflight {
        checks: Vec<PreflightCheck>,
    },
    /// Drills only: a scripted fault switched on or off in the simulator.
    DrillFault {
        what: String,
        active: bool,
    },
    /// Drills only: the score, computed from this journal's own events.
    DrillScore(Box<DrillScore>),
}

/// One pre-flight check as journalled: what was touched, whether it
/// worked, and the error's words when it did not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreflightCheck {
    /// `error_rate (baseline)`, `hook deploy (program)`.
    pub what: String,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Whether stage 1 waits for it (unless the start is forced).
    #[serde(default)]
    pub blocks_start: bool,
}

/// How a drill went, against what the scenario says a good operator does.
/// Times are simulated milliseconds since the rollout started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrillScore {
    pub scenario: String,
    /// promoted | rolled_back | rolled_back_unrecovered | held
    pub outcome: String,
    /// Where the call was made (the stage still live when held).
    pub stage: String,
    pub expected_outcome: String,
    pub expected_stage: String,
    pub expected_within_ms: u64,
    /// The outcome and stage are what a good operator reaches.
    pub right_call: bool,
    /// ...and it was reached within the scenario's time.
    pub in_time: bool,
    pub fault_visible_ms: Option<u64>,
    /// First warning (or worse) at or after the fault; any, without one.
    pub first_warning_ms: Option<u64>,
    pub first_critical_ms: Option<u64>,
    pub decision_ms: Option<u64>,
    pub decided_by: Option<Actor>,
    pub rollback_complete_ms: Option<u64>,
    pub ended_ms: u64,
    /// The scenario's words on what a good operator does.
    pub good_operator: String,
    /// What the policy did with a sustained critical breach (`countdown`,
    /// `rollback`, `alert`); journals from before it: unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The operator's first act after the fault became visible (a note, a
    /// pause, a hold, a rollback...): when the person detected it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_first_act_ms: Option<u64>,
    /// What that act was: "note", "pause", "hold", "rollback", ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_first_act: Option<String>,
    /// A blind drill's neutral name ("blind drill #412"), the scenario
    /// revealed only with the score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blind: Option<String>,
}

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
    fn an_action_has_one_spelling_the_journals() {
        use Action::*;
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
