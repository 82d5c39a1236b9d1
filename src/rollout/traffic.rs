//! Traffic read back: the share of requests the canary really got, beside
//! the weight its stage set. A hook that says OK but moved nothing is the
//! failure no metric line catches: the canary looks healthy on no traffic.

use serde::{Deserialize, Serialize};

use super::reading::{Group, Sample};
use super::verdict::At;

/// Below this set weight (percent), a margin in points is too coarse:
/// seeing less than half the weight is off as well.
pub const SMALL_WEIGHT: f64 = 10.0;

/// One poll's request counts and the canary's share of them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    /// Percent of requests that reached the canary.
    pub share: f64,
    pub canary: f64,
    pub baseline: f64,
    pub at: At,
}

/// What the traffic rule remembers, journalled in checkpoints.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Traffic {
    /// The latest poll that counted requests for both versions.
    pub seen: Option<Seen>,
    /// When the stage's enter hooks succeeded: polls before it do not count.
    pub set_at: Option<At>,
    /// The last time the seen share matched the set weight (or `set_at`):
    /// the share has been off since then.
    pub in_line_at: Option<At>,
    /// "traffic did not move" was said and still holds.
    pub warned: bool,
    /// An enter hook of this stage failed and was skipped: no hook said OK.
    pub hook_skipped: bool,
}

/// The set weight and the seen share at one moment (either may be unknown).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrafficShare {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen: Option<f64>,
}

/// The canary's share in one poll: the first metric (in config order) with
/// request counts for both versions, and at least one request between them.
pub fn read(samples: &[Sample], at: At) -> Option<Seen> {
    let mut metrics: Vec<usize> = samples.iter().map(|s| s.metric).collect();
    metrics.sort_unstable();
    metrics.dedup();
    metrics.into_iter().find_map(|metric| {
        let count = |group: Group| {
            samples
                .iter()
                .find(|s| s.metric == metric && s.group == group)
                .and_then(|s| s.reading.requests())
        };
        let (canary, baseline) = (count(Group::Canary)?, count(Group::Baseline)?);
        let total = canary + baseline;
        (total > 0.0).then(|| Seen {
            share: 100.0 * canary / total,
            canary,
            baseline,
            at,
        })
    })
}

/// Whether `seen` is too far from `set` (both in percent) to be the same
/// traffic: more than `margin` points away, or under half of a small weight.
pub fn is_off(set: f64, seen: f64, margin: f64) -> bool {
    (seen - set).abs() > margin || (set < SMALL_WEIGHT && seen < set / 2.0)
}

/// "traffic did not move: set 25%, seen 0.4% for 2m; the hook said OK"
pub fn did_not_move(set: f64, seen: f64, held_ms: u64, hook_skipped: bool) -> String {
    let hook = if hook_skipped {
        "the enter hook failed and was skipped"
    } else {
        "the hook said OK"
    };
    format!(
        "traffic did not move: set {}%, seen {}% for {}; {hook}",
        crate::format::number(set),
        crate::format::number(seen),
        crate::duration::Span::whole_secs(held_ms)
    )
}

/// "traffic in line: set 25%, seen 24.3%"
pub fn in_line(set: f64, seen: f64) -> String {
    format!(
        "traffic in line: set {}%, seen {}%",
        crate::format::number(set),
        crate::format::number(seen)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollout::Reading;

    fn sample(metric: usize, group: Group, reading: Reading) -> Sample {
        Sample {
            metric,
            group,
            reading,
        }
    }

    #[test]
    fn the_share_comes_from_the_first_metric_with_both_counts() {
        let poll = [
            // A raw query: no counts.
            sample(0, Group::Canary, Reading::value(1.0, None)),
            sample(0, Group::Baseline, Reading::value(1.0, None)),
            sample(1, Group::Canary, Reading::value(0.1, Some(250.0))),
            sample(1, Group::Baseline, Reading::value(0.1, Some(750.0))),
        ];
        let seen = read(&poll, 7).unwrap();
        assert_eq!(
            (seen.share, seen.canary, seen.baseline, seen.at),
            (25.0, 250.0, 750.0, 7)
        );
    }

    #[test]
    fn a_canary_without_requests_is_seen_at_zero_and_a_blind_one_not_at_all() {
        let quiet = [
            sample(0, Group::Canary, Reading::quiet("no requests")),
            sample(0, Group::Baseline, Reading::value(0.1, Some(900.0))),
        ];
        assert_eq!(read(&quiet, 0).map(|s| s.share), Some(0.0));
        let blind = [
            sample(0, Group::Canary, Reading::no_data("timeout after 5s")),
            sample(0, Group::Baseline, Reading::value(0.1, Some(900.0))),
        ];
        assert_eq!(read(&blind, 0), None);
        let nothing = [
            sample(0, Group::Canary, Reading::quiet("no requests")),
            sample(0, Group::Baseline, Reading::quiet("no requests")),
        ];
        assert_eq!(read(&nothing, 0), None);
    }
}
