//! The journal's vocabulary: an incident-log event as one line of words
//! and a level. No keys in it (those are the TUI's), so the driver's log
//! pane and the live feed say the same thing from the same effects.

use log::Level::{Error, Info, Warn};

use super::{Event, Level, Move, Outcome};
use crate::duration::Span;

/// An incident-log event as the operator reads it; None for the noisy ones.
pub fn words(event: &Event) -> Option<(log::Level, String)> {
    match event {
        Event::Started { .. }
        | Event::Blocked { .. }
        | Event::ChecklistTicked { .. }
        | Event::Decision { .. }
        | Event::Note { .. }
        | Event::Looked { .. }
        | Event::Preflight { .. } => decided(event),
        Event::StageEntering { .. }
        | Event::StageObserving { .. }
        | Event::StageLeft { .. }
        | Event::WaitingForGate { .. }
        | Event::HookStarted { .. }
        | Event::HookFinished { .. } => staged(event),
        Event::MetricChanged { .. }
        | Event::SourceWarning { .. }
        | Event::TrafficOff { .. }
        | Event::TrafficBack { .. }
        | Event::CountdownStarted { .. }
        | Event::CountdownCleared { .. } => watched(event),
        Event::RollbackComplete
        | Event::RollbackVerified { .. }
        | Event::Finished { .. }
        | Event::DrillFault { .. }
        | Event::DrillScore(_) => ended(event),
        // The metric's own line says it is critical and the table shows
        // "held 45s of 1m": the finish line is for the journal and the pace.
        Event::HookOutput { .. } | Event::Snapshot { .. } | Event::BreachPending { .. } => None,
    }
}

/// Starting, the checklist, decisions and notes.
fn decided(event: &Event) -> Option<(log::Level, String)> {
    Some(match event {
        Event::Started {
            rollout,
            old_version,
            new_version,
            operator,
            window,
            ..
        } => (
            Info,
            format!(
                "started {rollout}: {old_version} -> {new_version} by {operator}; {}",
                window.describe()
            ),
        ),
        Event::Blocked { reason } => (Warn, format!("waiting: {reason}")),
        Event::ChecklistTicked { item, by } => {
            (Info, format!("checklist: \"{item}\" ticked by {by}"))
        }
        Event::Decision {
            action, by, reason, ..
        } => {
            let level = match action {
                Move::Rollback | Move::ForceAdvance | Move::Skip | Move::OverrideWindow => Warn,
                _ => Info,
            };
            let word = action.loud();
            (level, format!("{word} by {by}: {reason}"))
        }
        Event::Note { by, text } => (Info, format!("note by {by}: {text}")),
        Event::Looked { by, metric, .. } => (Info, format!("{by} opened {metric}")),
        Event::Preflight { checks } => preflight(checks),
        _ => return None,
    })
}

/// Stages and their hooks.
fn staged(event: &Event) -> Option<(log::Level, String)> {
    Some(match event {
        Event::StageEntering { name, exposure, .. } => {
            (Info, format!("entering {name} ({exposure})"))
        }
        Event::StageObserving { name, .. } => (Info, format!("observing {name}")),
        Event::StageLeft {
            name, observed_ms, ..
        } => (
            Info,
            format!("left {name} after {}", Span::whole_secs(*observed_ms)),
        ),
        Event::WaitingForGate { what, .. } => (Info, format!("waiting for {what}")),
        Event::HookStarted {
            label,
            purpose,
            stage_name,
            ..
        } => (
            Info,
            format!("run {}: `{label}`", purpose.hook_of(stage_name)),
        ),
        Event::HookFinished {
            label, ok, summary, ..
        } => {
            if *ok {
                (Info, format!("`{label}` done: {summary}"))
            } else {
                (Error, format!("`{label}` FAILED: {summary}"))
            }
        }
        _ => return None,
    })
}

/// What the watch saw: metrics, traffic, countdowns.
fn watched(event: &Event) -> Option<(log::Level, String)> {
    Some(match event {
        Event::MetricChanged {
            from, to, reason, ..
        } => {
            let level = match to {
                Level::Critical => Error,
                Level::Warning | Level::NoData => Warn,
                _ => Info,
            };
            if from == to {
                (level, format!("{}: {reason}", to.word()))
            } else {
                (level, format!("{} -> {}: {reason}", from.word(), to.word()))
            }
        }
        Event::SourceWarning {
            metric,
            group,
            text,
        } => (
            Warn,
            format!(
                "{metric} ({}): Prometheus warns: {text}",
                group_word(*group)
            ),
        ),
        Event::TrafficOff {
            set,
            seen,
            held_ms,
            hook_skipped,
            ..
        } => (
            Error,
            crate::rollout::traffic::did_not_move(*set, *seen, *held_ms, *hook_skipped)
                .to_uppercase(),
        ),
        Event::TrafficBack { set, seen, .. } => {
            (Info, crate::rollout::traffic::in_line(*set, *seen))
        }
        Event::CountdownStarted { seconds, reason } => (
            Error,
            format!("AUTO-ROLLBACK COUNTDOWN {seconds}s: {reason}"),
        ),
        Event::CountdownCleared { reason } => (Info, format!("countdown cleared: {reason}")),
        _ => return None,
    })
}

/// Rollback, the end, and drills.
fn ended(event: &Event) -> Option<(log::Level, String)> {
    Some(match event {
        Event::RollbackComplete => (Warn, "rollback complete; verifying recovery".into()),
        Event::RollbackVerified { recovered, reason } => {
            if *recovered {
                (Info, format!("rollback verified: {reason}"))
            } else {
                (Error, format!("ROLLBACK DID NOT RECOVER: {reason}"))
            }
        }
        Event::Finished { outcome } => {
            let how = match outcome {
                Outcome::Promoted => "promoted",
                Outcome::RolledBack => "rolled back",
                Outcome::RolledBackUnrecovered => "rolled back, metrics NOT recovered",
            };
            (Info, format!("finished: {how}"))
        }
        Event::DrillFault { what, active } => {
            let state = if *active { "on" } else { "off" };
            (Warn, format!("drill fault {state}: {what}"))
        }
        Event::DrillScore(d) => (
            Info,
            format!(
                "drill score: {} ({}), good operator: {} at {}",
                d.outcome,
                drill_verdict(d),
                d.expected_outcome,
                d.expected_stage
            ),
        ),
        _ => return None,
    })
}

fn group_word(group: crate::rollout::Group) -> &'static str {
    match group {
        crate::rollout::Group::Canary => "canary",
        crate::rollout::Group::Baseline => "baseline",
    }
}

/// A refused command in words without keys (headless, followers, the
/// journal); the screen adds the key that would force it.
pub fn said(said: &super::Said) -> String {
    use super::Said;
    match said {
        Said::NothingToAdvance => "nothing to advance: no stage is being observed".into(),
        Said::NotReady { why } => format!("not ready: {why} (forcing it takes a reason)"),
        Said::NoCountdown => "no auto-rollback countdown is running".into(),
        Said::NoFailedHookToRetry => "no failed hook to retry".into(),
        Said::NoFailedHookToSkip => "no failed hook to skip".into(),
        Said::AlreadyRollingBack => "already rolling back".into(),
        Said::NothingToRollBack => "nothing to roll back".into(),
    }
}

/// A drill's call in words: whose it was, and whether it was right and in
/// time. A policy that saved an idle operator is not the operator's call.
pub fn drill_verdict(d: &super::DrillScore) -> &'static str {
    let by_policy = d.decided_by == Some(super::Actor::Policy);
    match (d.right_call, d.in_time, by_policy) {
        (true, true, false) => "right call, in time",
        (true, false, false) => "right call, too late",
        (true, true, true) => "the policy's call, in time",
        (true, false, true) => "the policy's call, too late",
        _ => "wrong call",
    }
}

/// The pre-flight in one line: all well, or what failed and why.
fn preflight(checks: &[super::event::PreflightCheck]) -> (log::Level, String) {
    let failed: Vec<String> = checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| format!("{}: {}", c.what, c.error.as_deref().unwrap_or("failed")))
        .collect();
    if failed.is_empty() {
        return (
            log::Level::Info,
            format!("pre-flight: {} checks ok", checks.len()),
        );
    }
    let n = checks.len();
    let text = format!(
        "pre-flight: {} of {n} failed: {}",
        failed.len(),
        failed.join("; ")
    );
    (log::Level::Warn, text)
}
