//! What the report says: a journal read back into rows, in the order the
//! report says them. Pure: a `Read` in, a `Report` out.

use serde::Serialize;

use crate::journal::{Read, Record};
use crate::rollout::event::MetricValue;
use crate::rollout::{Actor, At, Event, Level, Move, Outcome, Purpose, TrafficShare};

/// Everything the report says, in the order it says it.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub rollout: String,
    pub service: String,
    pub environment: String,
    pub old_version: String,
    pub new_version: String,
    pub strategy: String,
    pub outcome: String,
    pub started_at: At,
    pub ended_at: At,
    pub duration_ms: u64,
    /// Who drove: the starter first, then whoever resumed.
    pub operators: Vec<String>,
    /// Every stretch at the wheel, with when and why it began.
    pub drivers: Vec<crate::journal::Drove>,
    pub config_path: String,
    pub config_hash: String,
    pub ssh_connection: Option<String>,
    pub drill: bool,
    pub journal: String,
    /// T+0 of the timeline: the first critical reading (else the first
    /// warning); `None` when nothing was breached.
    pub first_breach: Option<At>,
    pub timeline: Vec<Moment>,
    pub stages: Vec<StageTime>,
    pub decisions: Vec<DecisionRow>,
    pub hooks: Vec<HookRow>,
    pub notes: Vec<NoteRow>,
    pub rolled_back: bool,
    /// Drills only: how the drill went against the scenario.
    pub drill_score: Option<crate::rollout::event::DrillScore>,
    pub warnings: Vec<String>,
}

/// One line of the timeline, in seed 004's words.
#[derive(Debug, Clone, Serialize)]
pub struct Moment {
    pub at: At,
    /// Milliseconds from T+0 (negative before the breach).
    pub offset_ms: i64,
    /// `detected`, `investigating`, `decision`, `rollback complete`, ...
    pub kind: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StageTime {
    pub stage: usize,
    pub name: String,
    pub exposure: String,
    pub entered_at: At,
    pub left_at: Option<At>,
    /// Observation time served (pauses and downtime excluded).
    pub observed_ms: u64,
    /// How the stage ended: `advanced`, `promoted`, `rolled back`, `open`.
    pub ended: String,
    /// The weight the stage set and the canary's share of requests last
    /// seen in it, when the journal says.
    pub traffic: Option<TrafficShare>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DecisionRow {
    pub at: At,
    pub action: Move,
    pub by: Actor,
    pub reason: String,
    pub stage: usize,
    pub metrics: Vec<MetricValue>,
    pub traffic: Option<TrafficShare>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HookRow {
    pub id: u64,
    pub label: String,
    pub purpose: Purpose,
    pub stage: usize,
    /// Empty in journals from before stage names were journalled.
    pub stage_name: String,
    pub started_at: At,
    pub ended_at: Option<At>,
    pub ok: Option<bool>,
    pub summary: String,
    pub tail: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NoteRow {
    pub at: At,
    pub by: Actor,
    pub text: String,
}

/// Seed 003's post-rollback procedure.
pub const AFTER_ROLLBACK: [&str; 6] = [
    "Notify the team (#incidents channel)",
    "Update the status page if customers were affected",
    "Document the incident: what, when, why it was rolled back (this report)",
    "Keep monitoring for 24 hours at least",
    "Schedule the postmortem within 48 hours",
    "Fix the root cause before the next deployment attempt",
];

pub fn build(read: &Read) -> Report {
    let h = &read.header;
    let mut report = Report {
        rollout: h.rollout.clone(),
        service: String::new(),
        environment: String::new(),
        old_version: String::new(),
        new_version: String::new(),
        strategy: String::new(),
        outcome: read.status().to_string(),
        started_at: h.started_at,
        ended_at: read.last_at(),
        duration_ms: read.last_at().saturating_sub(h.started_at),
        operators: vec![h.operator.clone()],
        drivers: read.drivers(),
        config_path: h.config_path.clone(),
        config_hash: h.config_hash.clone(),
        ssh_connection: h.ssh_connection.clone(),
        drill: h.drill,
        journal: read.path.display().to_string(),
        first_breach: first_breach(read),
        timeline: vec![],
        stages: vec![],
        decisions: vec![],
        hooks: vec![],
        notes: vec![],
        rolled_back: false,
        drill_score: None,
        warnings: read.warnings.clone(),
    };
    for (at, event) in read.events() {
        report.take(at, event);
    }
    for e in &read.entries {
        match &e.record {
            Record::Resumed(r) => {
                let text = format!("{} resumed the rollout on {} (pid {})", r.by, r.host, r.pid);
                report.moment(r.at, "resumed", text);
            }
            Record::Driver(d) => {
                let text = format!("{} handed the wheel to {}: {}", d.from, d.to, d.why);
                report.moment(d.at, "hand-over", text);
            }
            _ => {}
        }
    }
    for d in &report.drivers {
        if !report.operators.contains(&d.who) {
            report.operators.push(d.who.clone());
        }
    }
    report.timeline.sort_by_key(|m| m.at);
    report
}

/// The first critical reading, else the first warning.
fn first_breach(read: &Read) -> Option<At> {
    let first = |level: Level| {
        read.events().find_map(|(at, e)| match e {
            Event::MetricChanged { to, .. } if *to == level => Some(at),
            _ => None,
        })
    };
    first(Level::Critical).or_else(|| first(Level::Warning))
}

// How each event fills the rows: long, so it lives apart from them.
mod take;
