//! The incident log's vocabulary: the journal events that become the
//! postmortem timeline, and how a rollout ended.

use serde::{Deserialize, Serialize};

use super::decision::{Actor, Move, Purpose};
use super::reading::Group;
use super::traffic::TrafficShare;
use super::verdict::{At, Level};
use super::window::WindowStatus;

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
        action: Move,
        by: Actor,
        reason: String,
        stage: usize,
        metrics: Vec<MetricValue>,
        /// The canary's set weight and seen share of requests, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        traffic: Option<TrafficShare>,
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
        traffic: Option<TrafficShare>,
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
    /// A metric turned critical with a `for` still to hold: the race the
    /// operator runs against the policy. From `since`; the breach counts at
    /// `holds_at` if it still holds then. Once per breach, beside the
    /// metric's change, so a postmortem reads how long there was to act.
    BreachPending {
        metric: String,
        since: At,
        holds_at: At,
    },
    /// The operator opened a metric's detail: their first look at it in
    /// this stage (later looks are not journalled).
    Looked {
        by: Actor,
        metric: String,
        stage: usize,
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
        traffic: Option<TrafficShare>,
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
