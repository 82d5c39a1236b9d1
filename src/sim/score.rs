//! Scoring a drill: a pure function of the journal's events and the
//! scenario's expectation, so a drill's score can be recomputed from its
//! journal at any time and compared across drills.

use super::Scenario;
pub use super::debrief::{render, who};
use super::scenario::Ending;
use crate::rollout::{Actor, At, DrillScore, Event, Level, Move};

/// Scores the events of one drill (in journal order). `end` is when the
/// drill stopped, for a drill that ended without an outcome. Long only by
/// the score's twenty fields, one line each.
pub fn score(scenario: &Scenario, events: &[(At, Event)], end: At) -> DrillScore {
    let start = events
        .iter()
        .find(|(_, e)| matches!(e, Event::Started { .. }))
        .or(events.first())
        .map_or(end, |(at, _)| *at);
    let since = |at: At| at.saturating_sub(start);
    let first = |want: &dyn Fn(&Event) -> bool| {
        events
            .iter()
            .find(|(_, e)| want(e))
            .map(|(at, _)| since(*at))
    };
    let stages: Vec<String> = events
        .iter()
        .find_map(|(_, e)| match e {
            Event::Started { stages, .. } => Some(stages.clone()),
            _ => None,
        })
        .unwrap_or_default();
    let outcome = Ending::of(events.iter().find_map(|(_, e)| match e {
        Event::Finished { outcome } => Some(*outcome),
        _ => None,
    }));
    let decision = decisive(events, outcome);
    let stage = stage_of(events, decision)
        .and_then(|i| stages.get(i).cloned())
        .unwrap_or_else(|| "-".into());
    let ended = events
        .iter()
        .find(|(_, e)| matches!(e, Event::Finished { .. }))
        .map_or(since(end), |(at, _)| since(*at));
    // Detection is of the fault: noise before it does not count.
    let fault = first(&|e| matches!(e, Event::DrillFault { active: true, .. }));
    let detected = |level: &dyn Fn(Level) -> bool| {
        events
            .iter()
            .filter(|(at, _)| fault.is_none_or(|f| since(*at) >= f))
            .find(|(_, e)| matches!(e, Event::MetricChanged { to, .. } if level(*to)))
            .map(|(at, _)| since(*at))
    };
    let first_act = first_act(events).map(|(at, what)| (since(at), what));
    let expect = &scenario.expect;
    DrillScore {
        scenario: scenario.name.clone(),
        outcome: word(&outcome),
        stage: stage.clone(),
        expected_outcome: word(&expect.outcome),
        expected_stage: expect.stage.clone(),
        expected_within_ms: expect.within.as_millis(),
        right_call: outcome == expect.outcome && stage == expect.stage,
        in_time: match outcome {
            // Holding is right only if it lasted: the drill ran its course.
            Ending::Held => ended >= expect.within.as_millis(),
            _ => ended <= expect.within.as_millis(),
        },
        fault_visible_ms: fault,
        first_warning_ms: detected(&|to| to >= Level::Warning),
        first_critical_ms: detected(&|to| to == Level::Critical),
        decision_ms: decision.map(|(at, _)| since(*at)),
        decided_by: decision.and_then(|(_, e)| match e {
            Event::Decision { by, .. } => Some(by.clone()),
            _ => None,
        }),
        rollback_complete_ms: first(&|e| matches!(e, Event::RollbackComplete)),
        ended_ms: ended,
        good_operator: scenario.good_operator.clone(),
        policy: Some(word(&scenario.policy.on_critical)),
        operator_first_act_ms: first_act.as_ref().map(|(ms, _)| *ms),
        operator_first_act: first_act.map(|(_, what)| what),
        blind: None,
    }
}

/// The decision that led to `outcome`: a promote, a rollback; none held.
fn decisive(events: &[(At, Event)], outcome: Ending) -> Option<&(At, Event)> {
    events.iter().find(|(_, e)| {
        matches!(e, Event::Decision { action, .. } if match outcome {
            Ending::Promoted => *action == Move::Promote,
            Ending::Held => false,
            _ => *action == Move::Rollback,
        })
    })
}

/// The stage of the decision, or the stage live at the end without one.
fn stage_of(events: &[(At, Event)], decision: Option<&(At, Event)>) -> Option<usize> {
    if let Some((_, Event::Decision { stage, .. })) = decision {
        return Some(*stage);
    }
    events.iter().rev().find_map(|(_, e)| match e {
        Event::StageEntering { stage, .. } | Event::StageObserving { stage, .. } => Some(*stage),
        _ => None,
    })
}

/// The person's first act after the fault became visible, and what it
/// was: the journal holds every note and decision the operator made.
fn first_act(events: &[(At, Event)]) -> Option<(At, String)> {
    let fault = events
        .iter()
        .position(|(_, e)| matches!(e, Event::DrillFault { active: true, .. }))?;
    events[fault..].iter().find_map(|(at, e)| match e {
        Event::Note {
            by: Actor::Operator(_),
            ..
        } => Some((*at, "note".to_string())),
        Event::Decision {
            by: Actor::Operator(_),
            action,
            ..
        } => Some((*at, word(action))),
        // Opening the failing metric's detail is a look: detection.
        Event::Looked {
            by: Actor::Operator(_),
            metric,
            ..
        } => Some((*at, format!("opened {metric}"))),
        _ => None,
    })
}

/// A value's serde name: "rollback", "alert".
fn word(v: &impl serde::Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollout::{Actor, Outcome};
    use crate::sim::referee::tests::started;

    fn changed(to: Level) -> Event {
        Event::MetricChanged {
            metric: "error_rate".into(),
            from: Level::Ok,
            to,
            reason: String::new(),
            canary: None,
            baseline: None,
        }
    }

    fn decision(action: Move, by: Actor, stage: usize) -> Event {
        Event::Decision {
            action,
            by,
            reason: String::new(),
            stage,
            metrics: vec![],
            traffic: None,
        }
    }

    const S: u64 = 1000;
    const T0: u64 = 1_700_000_000_000;

    fn burst_journal(by: Actor) -> Vec<(At, Event)> {
        vec![
            (T0, started()),
            (T0 + 10 * S, changed(Level::Warning)),
            (T0 + 20 * S, changed(Level::Ok)),
            (T0 + 180 * S, decision(Move::Advance, Actor::Policy, 0)),
            (
                T0 + 181 * S,
                Event::DrillFault {
                    what: "errors".into(),
                    active: true,
                },
            ),
            (T0 + 190 * S, changed(Level::Critical)),
            (T0 + 280 * S, decision(Move::Rollback, by, 1)),
            (T0 + 281 * S, Event::RollbackComplete),
            (
                T0 + 300 * S,
                Event::Finished {
                    outcome: Outcome::RolledBack,
                },
            ),
        ]
    }

    #[test]
    fn a_policy_rollback_at_the_right_stage_scores_right_and_in_time() {
        let scenario = Scenario::load("error-burst").unwrap();
        let s = score(&scenario, &burst_journal(Actor::Policy), T0 + 999 * S);
        assert_eq!(
            (s.outcome.as_str(), s.stage.as_str()),
            ("rolled_back", "25%")
        );
        assert!(s.right_call && s.in_time);
        assert_eq!(s.fault_visible_ms, Some(181 * S));
        // The warning at 10 s was noise before the fault: not a detection.
        assert_eq!(s.first_warning_ms, Some(190 * S));
        assert_eq!(s.first_critical_ms, Some(190 * S));
        assert_eq!(
            (s.decision_ms, s.decided_by.clone()),
            (Some(280 * S), Some(Actor::Policy))
        );
        assert_eq!(
            (s.rollback_complete_ms, s.ended_ms),
            (Some(281 * S), 300 * S)
        );
        let text = render(&s).join("\n");
        assert!(text.contains("the POLICY's call, in time"), "{text}");
        assert!(
            text.contains("T+4m40s decision, by policy (+1m39s after the fault)"),
            "{text}"
        );
    }

    #[test]
    fn an_idle_operator_saved_by_the_policy_reads_as_such() {
        let scenario = Scenario::load("error-burst").unwrap();
        let s = score(&scenario, &burst_journal(Actor::Policy), T0 + 999 * S);
        assert!(s.right_call, "the outcome is right");
        assert_eq!(
            (s.operator_first_act_ms, s.operator_first_act.clone()),
            (None, None)
        );
        assert_eq!(s.policy.as_deref(), Some("countdown"));
        let text = render(&s).join("\n");
        assert!(!text.contains("RIGHT CALL"), "{text}");
        assert!(
            text.contains("the policy rolled back at T+4m40s; the operator took no action"),
            "{text}"
        );
    }

    #[test]
    fn an_operator_who_looked_then_rolled_back_gets_the_credit() {
        let scenario = Scenario::load("error-burst").unwrap();
        let ana = Actor::Operator("ana".into());
        let mut events = burst_journal(ana.clone());
        // A note before the fault is not a detection; the one after it is.
        let note = |text: &str| Event::Note {
            by: ana.clone(),
            text: text.into(),
        };
        events.insert(1, (T0 + 5 * S, note("starting")));
        events.insert(7, (T0 + 200 * S, note("errors at 25%?")));
        let s = score(&scenario, &events, T0 + 999 * S);
        assert!(s.right_call && s.in_time);
        assert_eq!(s.decided_by, Some(ana));
        assert_eq!(
            (s.operator_first_act_ms, s.operator_first_act.as_deref()),
            (Some(200 * S), Some("note"))
        );
        let text = render(&s).join("\n");
        assert!(text.contains("RIGHT CALL, in time"), "{text}");
        assert!(
            text.contains(
                "the operator (ana) rolled back at T+4m40s; first act: note at T+3m20s, +19s after the fault"
            ),
            "{text}"
        );
    }

    #[test]
    fn with_the_alert_policy_an_operator_who_does_nothing_made_the_wrong_call() {
        let mut scenario = Scenario::load("error-burst").unwrap();
        scenario.policy.on_critical = crate::config::model::OnCritical::Alert;
        let mut events = burst_journal(Actor::Policy);
        // No rollback: the breach stays critical until time is up.
        events.truncate(6);
        let observing = Event::StageObserving {
            stage: 1,
            name: "25%".into(),
        };
        events.insert(4, (T0 + 180 * S, observing));
        let s = score(&scenario, &events, T0 + 720 * S);
        assert_eq!((s.outcome.as_str(), s.stage.as_str()), ("held", "25%"));
        assert!(!s.right_call);
        assert_eq!(
            (s.decided_by.clone(), s.policy.as_deref()),
            (None, Some("alert"))
        );
        let text = render(&s).join("\n");
        assert!(text.contains("WRONG CALL"), "{text}");
        assert!(
            text.contains("no decision; the operator took no action after the fault"),
            "{text}"
        );
        assert!(text.contains("policy: alert"), "{text}");
    }

    #[test]
    fn an_old_score_without_the_new_fields_still_reads() {
        let s = score(
            &Scenario::load("healthy").unwrap(),
            &burst_journal(Actor::Policy),
            T0,
        );
        let mut old = serde_json::to_value(&s).unwrap();
        for key in [
            "policy",
            "operator_first_act_ms",
            "operator_first_act",
            "blind",
        ] {
            old.as_object_mut().unwrap().remove(key);
        }
        let back: DrillScore = serde_json::from_value(old).unwrap();
        assert_eq!((back.policy, back.blind), (None, None));
    }

    #[test]
    fn an_operator_rolling_back_a_healthy_release_made_the_wrong_call() {
        let scenario = Scenario::load("healthy").unwrap();
        let s = score(&scenario, &burst_journal(Actor::Operator("ana".into())), T0);
        assert!(!s.right_call);
        assert_eq!(s.decided_by, Some(Actor::Operator("ana".into())));
        assert!(render(&s)[0].contains("WRONG CALL"));
    }

    #[test]
    fn late_rollback_is_right_but_late() {
        let scenario = Scenario::load("error-burst").unwrap();
        let mut events = burst_journal(Actor::Policy);
        events.last_mut().unwrap().0 = T0 + 900 * S;
        let s = score(&scenario, &events, T0 + 900 * S);
        assert!(s.right_call && !s.in_time);
    }

    #[test]
    fn holding_without_evidence_until_the_end_scores_held_at_the_live_stage() {
        let scenario = Scenario::load("low-traffic").unwrap();
        let events = vec![
            (T0, started()),
            (
                T0 + S,
                Event::StageObserving {
                    stage: 0,
                    name: "5%".into(),
                },
            ),
            (T0 + 20 * S, changed(Level::LowEvidence)),
        ];
        let s = score(&scenario, &events, T0 + 360 * S);
        assert_eq!((s.outcome.as_str(), s.stage.as_str()), ("held", "5%"));
        assert!(s.right_call && s.in_time);
        assert_eq!((s.decision_ms, s.first_warning_ms), (None, None));
        let early = score(&scenario, &events, T0 + 60 * S);
        assert!(!early.in_time, "quitting after a minute is not holding");
    }
}
