//! How each journal event fills the report's rows: a moment on the
//! timeline, a stage's time, a decision, a hook.

use super::*;

impl Report {
    pub(super) fn moment(&mut self, at: At, kind: &str, text: String) {
        let base = self.first_breach.unwrap_or(self.started_at);
        self.timeline.push(Moment {
            at,
            offset_ms: at as i64 - base as i64,
            kind: kind.to_string(),
            text,
        });
    }

    pub(super) fn take(&mut self, at: At, event: &Event) {
        match event {
            Event::Started { .. } => self.started(at, event),
            Event::StageEntering { .. }
            | Event::StageObserving { .. }
            | Event::StageLeft { .. }
            | Event::Snapshot { .. } => self.stage_event(at, event),
            Event::MetricChanged {
                metric,
                from,
                to,
                reason,
                ..
            } => self.metric_changed(at, metric, *from, *to, reason),
            Event::Decision { .. } => self.decision(at, event),
            Event::HookStarted { .. } | Event::HookOutput { .. } | Event::HookFinished { .. } => {
                self.hook_event(at, event)
            }
            Event::Note { by, text } => {
                self.notes.push(NoteRow {
                    at,
                    by: by.clone(),
                    text: text.clone(),
                });
                self.moment(at, "note", format!("{by}: {text}"));
            }
            Event::DrillScore(score) => self.drill_score = Some(score.as_ref().clone()),
            Event::Finished { outcome } => self.finished(at, *outcome),
            Event::Blocked { .. }
            | Event::TrafficOff { .. }
            | Event::TrafficBack { .. }
            | Event::Preflight { .. }
            | Event::SourceWarning { .. }
            | Event::CountdownStarted { .. }
            | Event::CountdownCleared { .. }
            | Event::DrillFault { .. }
            | Event::RollbackComplete
            | Event::RollbackVerified { .. } => {
                if let Some((kind, text)) = moment_of(event) {
                    self.moment(at, kind, text);
                }
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

    fn started(&mut self, at: At, event: &Event) {
        let Event::Started {
            service,
            environment,
            old_version,
            new_version,
            strategy,
            operator,
            ..
        } = event
        else {
            return;
        };
        self.service = service.clone();
        self.environment = environment.clone();
        self.old_version = old_version.clone();
        self.new_version = new_version.clone();
        self.strategy = strategy.clone();
        let text = format!("{operator} started {old_version} -> {new_version}");
        self.moment(at, "started", text);
    }

    fn stage_event(&mut self, at: At, event: &Event) {
        match event {
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
            _ => {}
        }
    }

    fn hook_event(&mut self, at: At, event: &Event) {
        match event {
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
            _ => {}
        }
    }

    fn finished(&mut self, at: At, outcome: Outcome) {
        let last = if outcome == Outcome::Promoted {
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

/// The events that are only a line on the timeline: its kind and text.
fn moment_of(event: &Event) -> Option<(&'static str, String)> {
    use crate::rollout::traffic;
    let investigating = |text: String| Some(("investigating", text));
    match event {
        Event::Blocked { reason } => Some(("blocked", reason.clone())),
        Event::TrafficOff {
            set,
            seen,
            held_ms,
            hook_skipped,
            ..
        } => investigating(traffic::did_not_move(*set, *seen, *held_ms, *hook_skipped)),
        Event::TrafficBack { set, seen, .. } => investigating(traffic::in_line(*set, *seen)),
        Event::Preflight { .. } => {
            crate::rollout::words::words(event).map(|(_, text)| ("pre-flight", text))
        }
        Event::SourceWarning { metric, text, .. } => {
            investigating(format!("{metric}: Prometheus warns: {text}"))
        }
        Event::CountdownStarted { seconds, reason } => {
            investigating(format!("auto-rollback countdown {seconds}s: {reason}"))
        }
        Event::CountdownCleared { reason } => investigating(format!("countdown cleared: {reason}")),
        Event::DrillFault { what, active } => {
            let kind = if *active { "fault on" } else { "fault off" };
            Some((kind, format!("drill: {what}")))
        }
        Event::RollbackComplete => Some((
            "rollback complete",
            "traffic back on the old version".into(),
        )),
        Event::RollbackVerified { recovered, reason } => {
            let kind = if *recovered {
                "verified"
            } else {
                "not recovered"
            };
            Some((kind, reason.clone()))
        }
        _ => None,
    }
}
