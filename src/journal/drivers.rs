//! Who drove a run, in order: whoever started it, then every change of
//! driver the journal records (a hand-over, or a resume by someone else).

use serde::Serialize;

use super::{Read, Record};
use crate::rollout::At;

/// One stretch at the wheel: from `at`, `who` drove, for the reason `why`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drove {
    pub at: At,
    pub who: String,
    pub why: String,
}

impl Read {
    /// The drivers in order; the last one drives now (or drove last).
    pub fn drivers(&self) -> Vec<Drove> {
        let mut drove = vec![Drove {
            at: self.header.started_at,
            who: self.header.operator.clone(),
            why: "started the run".into(),
        }];
        for e in &self.entries {
            let (at, who, why) = match &e.record {
                Record::Driver(d) => (d.at, &d.to, d.why.clone()),
                Record::Resumed(r) => (
                    r.at,
                    &r.by,
                    format!("resumed the run on {} after the cockpit stopped", r.host),
                ),
                _ => continue,
            };
            // A hand-over is followed by the new driver's own resume: the
            // same driver, not a second change.
            if drove.last().is_some_and(|d| &d.who == who) {
                continue;
            }
            drove.push(Drove {
                at,
                who: who.clone(),
                why,
            });
        }
        drove
    }
}
