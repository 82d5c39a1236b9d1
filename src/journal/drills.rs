//! Past drills, one line each, from the journal dir: scenario, who, date,
//! when the operator first acted and when the call was made (both after the
//! fault), by whom, and whether it was the right call, so a team sees
//! whether it is getting faster (`cockpit report --drills`).

use std::path::PathBuf;

use super::RunSummary;
use crate::duration::Span;
use crate::rollout::{Actor, At, DrillScore, Event};

/// One past drill, from its journal's score.
#[derive(Debug, serde::Serialize)]
pub struct DrillRow {
    pub started_at: At,
    pub operator: String,
    /// The last score in the journal; none for a drill that was never scored.
    pub score: Option<DrillScore>,
    pub path: PathBuf,
}

/// The drills among `runs` (newest first, as `runs` lists them), oldest first.
pub fn rows(runs: &[RunSummary]) -> Vec<DrillRow> {
    runs.iter()
        .rev()
        .filter(|r| r.drill)
        .map(|r| DrillRow {
            started_at: r.started_at,
            operator: r.operator.clone(),
            score: super::read(&r.path).ok().and_then(|read| {
                read.events()
                    .filter_map(|(_, e)| match e {
                        Event::DrillScore(s) => Some(s.as_ref().clone()),
                        _ => None,
                    })
                    .last()
            }),
            path: r.path.clone(),
        })
        .collect()
}

/// The rows as a table with a header line.
pub fn table(rows: &[DrillRow]) -> String {
    let mut text = format!(
        "{:<16} {:<34} {:<16} {:<9} {:<18} {}\n",
        "date", "scenario", "who", "detected", "decided", "call"
    );
    for row in rows {
        text += &line(row);
        text.push('\n');
    }
    if rows.is_empty() {
        text += "no drills yet: `cockpit drill` runs one\n";
    }
    text
}

/// "2026-12-02 10:05  error-burst  ana  +25s  +40s by operator  right, in
/// time": times after the fault became visible (from the start without one).
fn line(row: &DrillRow) -> String {
    let date = local_time(row.started_at);
    let Some(s) = &row.score else {
        return format!(
            "{date:<16} {:<34} {:<16} not scored ({})",
            "?",
            row.operator,
            row.path.display()
        );
    };
    let after = |ms: Option<u64>| after_fault(s, ms);
    let scenario = match &s.blind {
        Some(blind) => format!("{} ({blind})", s.scenario),
        None => s.scenario.clone(),
    };
    let decided = match &s.decided_by {
        Some(Actor::Policy) => format!("{} by policy", after(s.decision_ms)),
        Some(Actor::Operator(_)) => format!("{} by operator", after(s.decision_ms)),
        None => format!("none ({})", s.outcome.replace('_', " ")),
    };
    let call = match (s.right_call, s.in_time, &s.decided_by) {
        (false, ..) => "WRONG",
        (true, _, Some(Actor::Policy)) => "the policy's",
        (true, true, _) => "right, in time",
        (true, false, _) => "right, LATE",
    };
    format!(
        "{date:<16} {scenario:<34} {:<16} {:<9} {decided:<18} {call}",
        row.operator,
        after(s.operator_first_act_ms)
    )
}

/// "+25s" after the fault, "T+25s" in a drill without one, "-" for never.
fn after_fault(s: &DrillScore, ms: Option<u64>) -> String {
    let Some(ms) = ms else {
        return "-".into();
    };
    match s.fault_visible_ms {
        Some(fault) => format!("+{}", Span::whole_secs(ms - fault.min(ms))),
        None => crate::format::offset(ms as i64),
    }
}

/// A journal's start as the reader's local date and minute.
pub fn local_time(at: At) -> String {
    crate::clock::Clock::local(at, "%Y-%m-%d %H:%M")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(by: Option<Actor>, first_act: Option<u64>) -> DrillScore {
        DrillScore {
            scenario: "error-burst".into(),
            outcome: "rolled_back".into(),
            stage: "25%".into(),
            expected_outcome: "rolled_back".into(),
            expected_stage: "25%".into(),
            expected_within_ms: 420_000,
            right_call: true,
            in_time: true,
            fault_visible_ms: Some(181_000),
            first_warning_ms: Some(190_000),
            first_critical_ms: Some(190_000),
            decision_ms: Some(221_000),
            decided_by: by,
            rollback_complete_ms: Some(222_000),
            ended_ms: 240_000,
            good_operator: "roll back at 25%".into(),
            policy: Some("countdown".into()),
            operator_first_act_ms: first_act,
            operator_first_act: first_act.map(|_| "note".into()),
            blind: None,
        }
    }

    fn row(score: DrillScore) -> DrillRow {
        DrillRow {
            started_at: 1_700_000_000_000,
            operator: "ana".into(),
            score: Some(score),
            path: PathBuf::from("drill.jsonl"),
        }
    }

    #[test]
    fn a_line_says_who_detected_and_who_decided_after_the_fault() {
        let policy = line(&row(score(Some(Actor::Policy), None)));
        assert!(policy.contains("error-burst"), "{policy}");
        assert!(policy.contains(" -  "), "nobody looked: {policy}");
        assert!(policy.contains("+40s by policy"), "{policy}");
        assert!(policy.ends_with("the policy's"), "{policy}");
        let ana = Actor::Operator("ana".into());
        let operator = line(&row(score(Some(ana), Some(201_000))));
        assert!(operator.contains("+20s "), "{operator}");
        assert!(operator.contains("+40s by operator"), "{operator}");
        assert!(operator.ends_with("right, in time"), "{operator}");
    }

    #[test]
    fn no_drills_says_how_to_run_one() {
        assert!(table(&[]).contains("no drills yet"));
    }
}
