//! The engine's `Now` and `Said`, in words: the one place they become
//! sentences. With a key map each next step names the key bound to it now,
//! so a rebound key is never contradicted; without one (headless, tests) the
//! same sentences name the steps alone.

use super::keys::{Action, KeyMap};
use crate::rollout::{At, Now, Ready, Rollout, Said};

/// The key bound to `action`, when there are keys to name.
fn key(keys: Option<&KeyMap>, action: Action) -> Option<String> {
    keys.map(|k| k.first(action))
}

/// "R retry, S skip with reason" with keys, "retry, skip with reason" without.
fn steps(keys: Option<&KeyMap>, steps: &[(Action, &str)]) -> String {
    steps
        .iter()
        .map(|(action, what)| match key(keys, *action) {
            Some(k) => format!("{k} {what}"),
            None => (*what).to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The decision line; `clock` renders a timestamp. One arm per state of
/// `Now`, kept side by side on purpose: the sentences are checked against
/// each other (same verbs, same keys) more easily than split apart.
pub fn decision(
    r: &Rollout,
    now: At,
    keys: Option<&KeyMap>,
    clock: &dyn Fn(At) -> String,
) -> String {
    match r.now(now) {
        Now::HookFailed {
            summary,
            can_roll_back,
        } => {
            let mut next = vec![(Action::Retry, "retry"), (Action::Skip, "skip with reason")];
            if can_roll_back {
                next.push((Action::Rollback, "roll back"));
            }
            format!("FAILED: {summary}: {}", steps(keys, &next))
        }
        Now::NotStarted => match key(keys, Action::Start) {
            Some(k) => format!("Not started: {k} starts the rollout"),
            None => "Not started".into(),
        },
        Now::Blocked { why } => format!("Waiting: {why}"),
        Now::Starting => "Starting".into(),
        Now::AtGate { stage } => format!("Waiting for gate before {stage}"),
        Now::Entering { stage, hook } => {
            let what = hook.map_or_else(String::new, |(label, ms)| {
                format!(
                    ": running `{label}` ({})",
                    crate::duration::Span::whole_secs(ms)
                )
            });
            format!("Entering {stage}{what}")
        }
        Now::Held { left_ms, reason } => format!(
            "AUTO-ROLLBACK HELD at {}s: {} ({reason})",
            left_ms / 1000,
            steps(
                keys,
                &[
                    (Action::Hold, "release"),
                    (Action::Rollback, "roll back now"),
                    (Action::Cancel, "cancel"),
                ]
            )
        ),
        Now::Countdown { left_ms, reason } => format!(
            "AUTO-ROLLBACK IN {}s: {} ({reason})",
            left_ms.div_ceil(1000),
            steps(
                keys,
                &[
                    (Action::Rollback, "roll back now"),
                    (Action::Hold, "hold"),
                    (Action::Cancel, "cancel"),
                ]
            )
        ),
        Now::Paused => match key(keys, Action::Pause) {
            Some(k) => format!("Paused: observation clock stopped ({k} resumes)"),
            None => "Paused: observation clock stopped".into(),
        },
        Now::Critical {
            reason,
            critical,
            cancelled,
        } => {
            let why = if cancelled {
                "auto-rollback cancelled for this breach"
            } else {
                "policy: alert only"
            };
            let more = match critical {
                0 | 1 => String::new(),
                n => format!("; {n} metrics critical"),
            };
            format!("CRITICAL, {why}: {reason}{more}")
        }
        Now::Ready(ready) => {
            let to = match ready {
                Ready::Promote => "promote to 100%".to_string(),
                Ready::Advance => format!(
                    "advance to {}",
                    r.config.stages[r.state.stage + 1].exposure()
                ),
            };
            match key(keys, Action::Advance) {
                Some(k) => format!("Ready to {to} ({k})"),
                None => format!("Ready to {to}"),
            }
        }
        Now::Holding { why } => format!("Holding: {why}"),
        Now::RollingBack { hook } => {
            let what = hook.map_or_else(String::new, |h| format!(": running `{h}`"));
            format!("ROLLING BACK{what}")
        }
        Now::Verifying { at } => format!(
            "Rolled back at {}: verifying the error rate recovers",
            clock(at)
        ),
        Now::RolledBack {
            at,
            reason,
            recovered,
        } => {
            let line = format!("Rolled back at {}: {reason}", clock(at));
            if recovered {
                format!("{line}. Recovered")
            } else {
                format!("{line}. ROLLBACK DID NOT RECOVER THE METRICS")
            }
        }
        Now::Promoted => "Promoted: all stages done".into(),
    }
}

/// A refused command, in words: the key-free words (`rollout::words`),
/// with the key that would force it where there is one.
pub fn said(said: &Said, keys: Option<&KeyMap>) -> String {
    match (said, key(keys, Action::ForceAdvance)) {
        (Said::NotReady { why }, Some(k)) => format!("not ready: {why} ({k} forces with a reason)"),
        _ => crate::rollout::words::said(said),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_the_key_bound_now_or_none() {
        let why = Said::NotReady {
            why: "observed 4m of 15m".into(),
        };
        let rebound: std::collections::BTreeMap<String, String> =
            [("force_advance".to_string(), "x".to_string())].into();
        let keys = KeyMap::with_overrides(&rebound).unwrap();
        assert_eq!(
            said(&why, Some(&keys)),
            "not ready: observed 4m of 15m (x forces with a reason)"
        );
        assert_eq!(
            said(&why, None),
            "not ready: observed 4m of 15m (forcing it takes a reason)"
        );
        // Headless prints the data beside the words.
        assert_eq!(
            serde_json::to_value(&why).unwrap(),
            serde_json::json!({ "said": "not_ready", "why": "observed 4m of 15m" })
        );
    }
}
