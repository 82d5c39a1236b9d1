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

impl Report {
    fn moment(&mut self, at: At, kind: &str, text: String) {
        let base = self.first_breach.unwrap_or(self.started_at);
        self.timeline.push(Moment {
            at,
            offset_ms: at as i64 - base as i64,
            kind: kind.to_string(),
            text,
        });
    }

    fn take(&mut self, at: At, event: &Event) {
        match event {
            Event::Started {
                service,
                environment,
                old_version,
                new_version,
                strategy,
                operator,
                ..
            } => {
                self.service = service.clone();
                self.environment = environment.clone();
                self.old_version = old_version.clone();
                self.new_version = new_version.clone();
                self.strategy = strategy.clone();
                let text = format!("{operator} started {old_version} -> {new_version}");
                self.moment(at, "started", text);
            }
            Event::Blocked { reason } => self.moment(at, "blocked", reason.clone()),
            Event::StageEntering {
                stage,
                name,
                exposure,
            } => self.stages.push(StageTime {
                stage: *stage,
                name: name.clone(),
                exposure: exposure.clone(),
                entered_at: at,
                left_at: None,
                observed_ms: 0,
                ended: "open".into(),
                traffic: None,
            }),
            Event::StageObserving { name, .. } => {
                self.moment(at, "stage", format!("observing stage {name}"))
            }
            Event::StageLeft {
                stage,
                observed_ms,
                traffic,
                ..
            } => {
                self.saw_traffic(*stage, traffic);
                // A rollback's decision closed the stage already; this is
                // the time it really observed.
                if let Some(s) = self.last_stage(*stage)
                    && s.ended == "rolled back"
                {
                    s.observed_ms = *observed_ms;
                } else {
                    self.close_stage(*stage, at, Some(*observed_ms), "advanced");
                }
            }
            Event::Snapshot {
                stage,
                observed_ms,
                traffic,
                ..
            } => {
                self.saw_traffic(*stage, traffic);
                if let Some(s) = self.last_stage(*stage) {
                    s.observed_ms = s.observed_ms.max(*observed_ms);
                }
            }
            Event::TrafficOff {
                set,
                seen,
                held_ms,
                hook_skipped,
                ..
            } => {
                let text =
                    crate::rollout::traffic::did_not_move(*set, *seen, *held_ms, *hook_skipped);
                self.moment(at, "investigating", text)
            }
            Event::TrafficBack { set, seen, .. } => self.moment(
                at,
                "investigating",
                crate::rollout::traffic::in_line(*set, *seen),
            ),
            Event::MetricChanged {
                metric,
                from,
                to,
                reason,
                ..
            } => self.metric_changed(at, metric, *from, *to, reason),
            Event::Preflight { .. } => {
                if let Some((_, text)) = crate::rollout::words::words(event) {
                    self.moment(at, "pre-flight", text);
                }
            }
            Event::SourceWarning { metric, text, .. } => self.moment(
                at,
                "investigating",
                format!("{metric}: Prometheus warns: {text}"),
            ),
            Event::CountdownStarted { seconds, reason } => self.moment(
                at,
                "investigating",
                format!("auto-rollback countdown {seconds}s: {reason}"),
            ),
            Event::CountdownCleared { reason } => {
                self.moment(at, "investigating", format!("countdown cleared: {reason}"))
            }
            Event::Decision { .. } => self.decision(at, event),
            Event::HookStarted {
                id,
                label,
                purpose,
                stage,
                stage_name,
            } => self.hooks.push(HookRow {
                id: *id,
                label: label.clone(),
                purpose: *purpose,
                stage: *stage,
                stage_name: stage_name.clone(),
                started_at: at,
                ended_at: None,
                ok: None,
                summary: "no end recorded".into(),
                tail: vec![],
            }),
            Event::HookOutput { id, tail, .. } => {
                if let Some(h) = self.hook(*id) {
                    h.tail = tail.clone();
                }
            }
            Event::HookFinished {
                id,
                label,
                ok,
                summary,
            } => self.hook_finished(at, *id, label, *ok, summary),
            Event::Note { by, text } => {
                self.notes.push(NoteRow {
                    at,
                    by: by.clone(),
                    text: text.clone(),
                });
                self.moment(at, "note", format!("{by}: {text}"));
            }
            Event::DrillFault { what, active } => {
                let kind = if *active { "fault on" } else { "fault off" };
                self.moment(at, kind, format!("drill: {what}"))
            }
            Event::DrillScore(score) => self.drill_score = Some(score.as_ref().clone()),
            Event::RollbackComplete => self.moment(
                at,
                "rollback complete",
                "traffic back on the old version".into(),
            ),
            Event::RollbackVerified { recovered, reason } => {
                let kind = if *recovered {
                    "verified"
                } else {
                    "not recovered"
                };
                self.moment(at, kind, reason.clone())
            }
            Event::Finished { outcome } => {
                let last = if *outcome == Outcome::Promoted {
                    "promoted"
                } else {
                    "rolled back"
                };
                if let Some(s) = self.stages.iter().rev().find(|s| s.left_at.is_none()) {
                    let stage = s.stage;
                    self.close_stage(stage, at, None, last);
                }
                self.moment(at, "finished", format!("outcome: {}", self.outcome));
            }
            Event::Looked { by, metric, .. } => {
                self.moment(at, "looked", format!("{by} opened {metric}"))
            }
            // The metric's change is the timeline's "detected" already.
            Event::ChecklistTicked { .. }
            | Event::WaitingForGate { .. }
            | Event::BreachPending { .. } => {}
        }
    }

    /// Breaches and their end make the timeline; evidence coming and
    /// going (no data, low evidence) does not.
    fn metric_changed(&mut self, at: At, metric: &str, from: Level, to: Level, reason: &str) {
        let kind = if to.is_breach() {
            "detected"
        } else if from.is_breach() {
            "cleared"
        } else {
            return;
        };
        self.moment(at, kind, format!("{metric} {}: {reason}", to.word()));
    }

    fn decision(&mut self, at: At, event: &Event) {
        let Event::Decision {
            action,
            by,
            reason,
            stage,
            metrics,
            traffic,
        } = event
        else {
            return;
        };
        self.saw_traffic(*stage, traffic);
        let kind = match action {
            Move::Pause | Move::Hold => "investigating",
            _ => "decision",
        };
        let word = action.word();
        self.moment(at, kind, format!("{word} by {by}: {reason}"));
        if *action == Move::Rollback {
            self.rolled_back = true;
            if let Some(s) = self.stages.iter().rev().find(|s| s.left_at.is_none()) {
                let stage = s.stage;
                self.close_stage(stage, at, None, "rolled back");
            }
        }
        self.decisions.push(DecisionRow {
            at,
            action: *action,
            by: by.clone(),
            reason: reason.clone(),
            stage: *stage,
            metrics: metrics.clone(),
            traffic: *traffic,
        });
    }

    fn last_stage(&mut self, stage: usize) -> Option<&mut StageTime> {
        self.stages.iter_mut().rev().find(|s| s.stage == stage)
    }

    /// What a stage set and saw, as the journal last said; a rollback's
    /// set share of 0 belongs to no stage.
    fn saw_traffic(&mut self, stage: usize, traffic: &Option<TrafficShare>) {
        let Some(t) = traffic else { return };
        if let Some(s) = self.last_stage(stage)
            && s.ended != "rolled back"
        {
            let old = s.traffic.unwrap_or(TrafficShare {
                set: None,
                seen: None,
            });
            s.traffic = Some(TrafficShare {
                set: t.set.or(old.set),
                seen: t.seen.or(old.seen),
            });
        }
    }

    fn hook(&mut self, id: u64) -> Option<&mut HookRow> {
        self.hooks.iter_mut().rev().find(|h| h.id == id)
    }

    fn hook_finished(&mut self, at: At, id: u64, label: &str, ok: bool, summary: &str) {
        if let Some(h) = self.hook(id) {
            h.ended_at = Some(at);
            h.ok = Some(ok);
            h.summary = summary.to_string();
        }
        if !ok {
            self.moment(at, "hook failed", format!("`{label}`: {summary}"));
        }
    }

    fn close_stage(&mut self, stage: usize, at: At, observed: Option<u64>, how: &str) {
        if let Some(s) = self
            .stages
            .iter_mut()
            .rev()
            .find(|s| s.stage == stage && s.left_at.is_none())
        {
            s.left_at = Some(at);
            s.observed_ms = observed.unwrap_or(s.observed_ms).max(s.observed_ms);
            s.ended = how.to_string();
        }
    }
}
