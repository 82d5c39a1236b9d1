//! The policy: what the cockpit does on a breach, on no data, and how it
//! judges.

use serde::{Deserialize, Serialize};

use crate::duration::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnCritical {
    /// Roll back as soon as a critical breach is sustained.
    Rollback,
    /// Count down `countdown`; the operator can hold or cancel.
    #[default]
    Countdown,
    /// Show and notify, never act.
    Alert,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnNoData {
    #[default]
    Hold,
    /// Roll back once data has been missing for `no_data_rollback_after`.
    Rollback,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    pub on_critical: OnCritical,
    pub countdown: Span,
    pub on_no_data: OnNoData,
    pub no_data_rollback_after: Span,
    /// A green stage whose wait has passed advances without a keypress.
    pub auto_advance: bool,
    /// Whether pausing also stops a policy rollback.
    pub pause_stops_rollback: bool,
    /// The rollback is verified when error rates are back under warning within this.
    pub rollback_verify_within: Span,
    /// A reading older than this is no data.
    pub stale_after: Span,
    /// How rates with request counts are judged.
    pub judge: Judge,
    /// How sure the evidence judge must be before it calls a breach or OK.
    pub confidence: f64,
    /// How far (in percentage points) the canary's seen share of requests
    /// may be from the weight its stage set; under 10% set, seeing less
    /// than half the weight is off too.
    pub traffic_margin: f64,
    /// How long the seen share may stay off after the enter hook succeeded
    /// before "traffic did not move" (request windows straddle the change).
    pub traffic_grace: Span,
}

/// `evidence` judges error and success rates by their counts (a sequential
/// test, no `for` needed); `thresholds` compares each poll's value with the
/// lines and waits for `for`, as the first version did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Judge {
    #[default]
    Evidence,
    Thresholds,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            on_critical: OnCritical::Countdown,
            countdown: Span::secs(30),
            on_no_data: OnNoData::Hold,
            no_data_rollback_after: Span::mins(5),
            auto_advance: false,
            pause_stops_rollback: false,
            rollback_verify_within: Span::mins(5),
            stale_after: Span::secs(30),
            judge: Judge::Evidence,
            confidence: 0.99,
            traffic_margin: 5.0,
            traffic_grace: Span::mins(1),
        }
    }
}
