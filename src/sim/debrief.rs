//! A drill's score in words, for the screen, stderr and the report: the
//! call, the timeline from the fault on, and who detected and who decided.

use crate::duration::Span;
use crate::rollout::{Actor, DrillScore};

/// "T+3m05s", the one spelling of a moment on the timeline.
fn t(ms: u64) -> String {
    crate::format::offset(ms as i64)
}

/// The score in words, a few lines for the screen, stderr and the report.
pub fn render(s: &DrillScore) -> Vec<String> {
    let words = |o: &str| o.replace('_', " ");
    let by_policy = s.decided_by == Some(Actor::Policy);
    let verdict = match (s.right_call, s.in_time, by_policy) {
        (true, true, false) => "RIGHT CALL, in time",
        (true, false, false) => "right call, but LATE",
        (true, true, true) => "the POLICY's call, in time, not the operator's",
        (true, false, true) => "the POLICY's call, LATE, not the operator's",
        (false, ..) => "WRONG CALL",
    };
    let name = match &s.blind {
        Some(blind) => format!("{blind} was {}", s.scenario),
        None => s.scenario.clone(),
    };
    let mut lines = vec![
        format!(
            "Drill {name}: {} at {} after {} -- {verdict}",
            words(&s.outcome),
            s.stage,
            Span::whole_secs(s.ended_ms)
        ),
        format!(
            "  expected: {} at {} within {}",
            words(&s.expected_outcome),
            s.expected_stage,
            Span::from_millis(s.expected_within_ms)
        ),
    ];
    let mut timeline = Vec::new();
    let mut add = |label: &str, at: Option<u64>| {
        if let Some(ms) = at {
            let after_fault = s
                .fault_visible_ms
                .filter(|f| ms >= *f && label != "fault visible")
                .map(|f| format!(" (+{} after the fault)", Span::whole_secs(ms - f)))
                .unwrap_or_default();
            timeline.push((ms, format!("  {} {label}{after_fault}", t(ms))));
        }
    };
    add("fault visible", s.fault_visible_ms);
    add("first warning", s.first_warning_ms);
    add("first critical", s.first_critical_ms);
    if let Some(by) = &s.decided_by {
        add(&format!("decision, by {by}"), s.decision_ms);
    }
    add("rollback complete", s.rollback_complete_ms);
    timeline.sort_by_key(|(ms, _)| *ms);
    lines.extend(timeline.into_iter().map(|(_, line)| line));
    lines.push(format!("  {}", who(s)));
    if s.policy.as_deref() == Some("alert") {
        lines.push("  policy: alert (no automatic rollback: the operator decides)".into());
    }
    lines.push(format!("  a good operator: {}", s.good_operator));
    lines
}

/// Who detected and who decided, in one sentence: "the policy rolled back
/// at T+3m10s; the operator took no action".
pub fn who(s: &DrillScore) -> String {
    let act = match (&s.operator_first_act, s.operator_first_act_ms) {
        (Some(what), Some(ms)) => {
            let after = s
                .fault_visible_ms
                .map(|f| {
                    format!(
                        ", +{} after the fault",
                        Span::whole_secs(ms.saturating_sub(f))
                    )
                })
                .unwrap_or_default();
            Some(format!("{what} at {}{after}", t(ms)))
        }
        _ => None,
    };
    let did = match s.outcome.as_str() {
        "promoted" => "promoted",
        _ => "rolled back",
    };
    let at = s.decision_ms.map(t).unwrap_or_default();
    match (&s.decided_by, act) {
        (Some(Actor::Policy), None) => {
            format!("the policy {did} at {at}; the operator took no action")
        }
        (Some(Actor::Policy), Some(act)) => {
            format!(
                "the policy {did} at {at}; the operator detected it ({act}) but made no decision"
            )
        }
        (Some(Actor::Operator(by)), Some(act)) => {
            format!("the operator ({by}) {did} at {at}; first act: {act}")
        }
        (Some(Actor::Operator(by)), None) => format!("the operator ({by}) {did} at {at}"),
        (None, Some(act)) => format!("no decision; the operator's first act: {act}"),
        (None, None) if s.fault_visible_ms.is_some() => {
            "no decision; the operator took no action after the fault".into()
        }
        (None, None) => "no decision; nothing to act on".into(),
    }
}
