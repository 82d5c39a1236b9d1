//! The replay said: in lines for a person, as one JSON document for a
//! program.

use serde_json::json;

use super::time::rfc3339;
use super::{HOOKS_NOT_RUN, History, Replayed};
use crate::clock::Clock;
use crate::config::Config;
use crate::rollout::{Actor, Event, Level, Move, Outcome};

fn outcome_words(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Promoted => "promoted",
        Outcome::RolledBack => "rolled back",
        Outcome::RolledBackUnrecovered => "rolled back, but the metrics did not recover",
    }
}

/// The replay in words, one line per thing the cockpit would have done.
pub fn lines(replayed: &Replayed, config: &Config, history: &History) -> Vec<String> {
    let stage_name = |i: usize| {
        config
            .stages
            .get(i)
            .map_or_else(|| format!("stage {}", i + 1), |s| s.name.clone())
    };
    let mut out = vec![
        format!(
            "replaying {} on the history from {} to {}, one poll every {}",
            config.rollout.name,
            rfc3339(history.from),
            rfc3339(history.to),
            crate::duration::Span(history.every)
        ),
        format!("{HOOKS_NOT_RUN} ({} hooks)", replayed.hooks_answered),
    ];
    out.extend(
        replayed
            .events
            .iter()
            .filter_map(|(at, event)| event_line(&Clock::show(*at), event, &stage_name)),
    );
    out.push(match (replayed.outcome, &replayed.still) {
        (Some(o), _) => format!("outcome: {}", outcome_words(o)),
        (None, Some(still)) => format!(
            "no outcome by {}: at {}, {still}",
            Clock::show(replayed.ended_at),
            replayed.stage
        ),
        (None, None) => "no outcome".into(),
    });
    out
}

/// The replay as one JSON document.
pub fn json(replayed: &Replayed, config: &Config, history: &History) -> serde_json::Value {
    let events: Vec<serde_json::Value> = replayed
        .events
        .iter()
        .map(|(at, event)| {
            let mut v = serde_json::to_value(event).unwrap_or_default();
            v["at"] = json!(at);
            v["time"] = json!(rfc3339(*at));
            v
        })
        .collect();
    let decisions: Vec<serde_json::Value> = replayed
        .decisions()
        .map(|(at, action, by, reason)| {
            json!({ "at": at, "time": rfc3339(at), "action": action, "by": by, "reason": reason })
        })
        .collect();
    json!({
        "rollout": config.rollout.name,
        "from": rfc3339(history.from),
        "to": rfc3339(history.to),
        "every_ms": history.every.as_millis() as u64,
        "hooks_run": false,
        "hooks_answered": replayed.hooks_answered,
        "note": HOOKS_NOT_RUN,
        "outcome": replayed.outcome,
        "stage": replayed.stage,
        "still": replayed.still,
        "decisions": decisions,
        "events": events,
    })
}

/// What the cockpit would have done, as one sentence at `when`; None for
/// the events a reader of the replay does not need.
fn event_line(when: &str, event: &Event, stage_name: &dyn Fn(usize) -> String) -> Option<String> {
    Some(match event {
        Event::Decision {
            action,
            by: Actor::Policy,
            reason,
            stage,
            ..
        } => {
            let what = match action {
                Move::Rollback => "rolled back".to_string(),
                Move::Advance => format!("advanced to {}", stage_name(stage + 1)),
                Move::Promote => "promoted".to_string(),
                Move::Hold => "alerted (and held)".to_string(),
                other => format!("{other:?}").to_lowercase(),
            };
            format!("at {when} the cockpit would have {what}: {reason}")
        }
        Event::Decision {
            action: Move::ForceAdvance | Move::Advance | Move::Promote,
            reason,
            stage,
            ..
        } => format!(
            "at {when} the history leaves {} (--stage-at): {reason}",
            stage_name(*stage)
        ),
        Event::StageObserving { name, .. } => format!("at {when} observing {name}"),
        Event::CountdownStarted { seconds, reason } => format!(
            "at {when} the cockpit would have started a {seconds}s auto-rollback countdown: {reason}"
        ),
        Event::CountdownCleared { reason } => {
            format!("at {when} the countdown would have cleared: {reason}")
        }
        Event::MetricChanged {
            metric, to, reason, ..
        } if *to == Level::Critical => format!("at {when} {metric} CRITICAL: {reason}"),
        Event::RollbackVerified { reason, .. } => {
            format!(
                "at {when} after the rollback: {reason} (the history shows what really happened, not what the rollback would have done)"
            )
        }
        _ => return None,
    })
}
