//! What the metric detail view needs beyond the rollout's own state, kept
//! in the screen and built from what arrives: every frame's rollout, the
//! driver's own or the one a follower reads from the live feed. So the
//! view is the same for both, and neither needs the journal.

use std::collections::{BTreeMap, VecDeque};

use crate::config::Config;
use crate::config::model::MetricSpec;
use crate::rollout::{At, Group, Level, Reading, Rollout};
use crate::secrets::Secrets;

/// Points kept per metric and stage: a 2-hour stage polled every 5 s.
const POINTS: usize = 1500;
/// Verdict changes kept per metric and stage.
const VERDICTS: usize = 50;

/// One poll of one metric: the canary's and the stable version's values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub at: At,
    pub canary: Option<f64>,
    pub baseline: Option<f64>,
}

/// A metric's level from `at` on, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub at: At,
    pub level: Level,
    pub reason: String,
}

/// One metric in the current stage.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    pub points: VecDeque<Point>,
    pub verdicts: VecDeque<Judged>,
}

/// Every metric's points and verdicts since the stage began.
#[derive(Debug, Default)]
pub struct Stage {
    /// The stage (its index, and whether the rollout had started: stage
    /// 0 is also the index before the start) and when this screen first
    /// saw it.
    pub stage: Option<((usize, bool), At)>,
    pub metrics: Vec<Seen>,
}

impl Stage {
    /// Takes in what the rollout shows now; a new stage starts afresh.
    pub fn observe(&mut self, r: &Rollout, now: At) {
        let stage = (r.state.stage, r.state.started_at.is_some());
        if self.stage.is_none_or(|(s, _)| s != stage) || self.metrics.len() != r.tracks.len() {
            self.stage = Some((stage, now));
            self.metrics = vec![Seen::default(); r.tracks.len()];
        }
        for (track, seen) in r.tracks.iter().zip(&mut self.metrics) {
            let value = |slot: &Option<(At, Reading)>| match slot {
                Some((at, Reading::Value { value, .. })) => Some((*at, *value)),
                _ => None,
            };
            let canary = value(&track.canary);
            let baseline = value(&track.baseline);
            let at = [canary, baseline]
                .into_iter()
                .flatten()
                .map(|(at, _)| at)
                .max();
            if let Some(at) = at
                && seen.points.back().is_none_or(|p| p.at < at)
            {
                push(
                    &mut seen.points,
                    POINTS,
                    Point {
                        at,
                        canary: canary.map(|(_, v)| v),
                        baseline: baseline.map(|(_, v)| v),
                    },
                );
            }
            let v = &track.verdict;
            let changed = seen
                .verdicts
                .back()
                .is_none_or(|j| j.level != v.level || j.reason != v.reason);
            if changed {
                push(
                    &mut seen.verdicts,
                    VERDICTS,
                    Judged {
                        at: now,
                        level: v.level,
                        reason: v.reason.clone(),
                    },
                );
            }
        }
    }
}

fn push<T>(ring: &mut VecDeque<T>, kept: usize, item: T) {
    if ring.len() == kept {
        ring.pop_front();
    }
    ring.push_back(item);
}

/// Each metric's query as sent, canary then baseline, with secrets
/// redacted: what the sources build from the same config (templates
/// expanded), or the scrape family and labels, the probe URL, the
/// Alertmanager query.
pub fn sent(config: &Config) -> Vec<[String; 2]> {
    let secrets = Secrets::from_config(config);
    let api = config
        .prometheus
        .as_ref()
        .and_then(|spec| crate::metrics::prom::Api::from_config(config, spec).ok());
    let one = |m: usize, spec: &MetricSpec, group: Group| -> String {
        if let Some(url) = &spec.probe {
            return format!("GET {url}");
        }
        if let Some(q) = api.as_ref().and_then(|a| a.sent(m, group)) {
            return q.to_string();
        }
        if let (Some(s), Some(sel)) = (&config.scrape, &spec.scrape) {
            let urls = match group {
                Group::Canary => &s.canary,
                Group::Baseline => &s.baseline,
            };
            let from = if urls.is_empty() {
                "no targets for this group in [scrape]".to_string()
            } else {
                format!("from {}", urls.join(", "))
            };
            return format!(
                "{}{} {from}",
                crate::metrics::scrape::plan_source(spec, sel),
                labels(&sel.labels),
            );
        }
        if let (Some(am), Some(sel)) = (&config.alertmanager, &spec.alerts) {
            let matchers = match group {
                Group::Canary => &sel.canary,
                Group::Baseline => &sel.baseline,
            };
            return crate::metrics::alerts::query_url(&am.url, matchers)
                .map_or_else(|e| e, |url| format!("GET {url}"));
        }
        String::new()
    };
    config
        .metrics
        .iter()
        .enumerate()
        .map(|(m, spec)| [Group::Canary, Group::Baseline].map(|g| secrets.redact(&one(m, spec, g))))
        .collect()
}

/// `{code="~5..", route="/pay"}`, or nothing without labels.
fn labels(labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let each: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!(" {{{}}}", each.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollout::{Input, Sample};

    const CONFIG: &str = r#"
[rollout]
name = "r"
service = "s"
old_version = "1"
new_version = "2"

[[stage]]
name = "one"
weight = 10
wait = "1m"
irreversible = true

[[stage]]
name = "two"
weight = 100
wait = "1m"
irreversible = true

[scrape]
canary = ["http://127.0.0.1:9100/metrics"]
baseline = ["http://127.0.0.1:9101/metrics"]
"#;

    fn poll(r: &mut Rollout, now: At, value: f64) {
        let samples = (0..r.tracks.len())
            .flat_map(|metric| {
                [Group::Canary, Group::Baseline].map(|group| Sample {
                    metric,
                    group,
                    reading: Reading::value(value, Some(1000.0)),
                })
            })
            .collect();
        r.update(now, Input::Poll(samples));
    }

    #[test]
    fn keeps_each_poll_once_and_starts_afresh_with_a_stage() {
        let config = crate::config::parse(std::path::Path::new("t.toml"), CONFIG).unwrap();
        let mut r = Rollout::new(config.clone(), 0);
        let mut seen = Stage::default();
        r.update(
            0,
            Input::Start {
                local: crate::tui::utc_time(0),
                operator: "me".into(),
            },
        );
        for s in 1..=3 {
            poll(&mut r, s * 1000, 0.1);
            // Drawn twice between polls: still one point per poll.
            seen.observe(&r, s * 1000);
            seen.observe(&r, s * 1000 + 500);
        }
        let points = &seen.metrics[0].points;
        assert_eq!(points.len(), 3);
        assert_eq!(points[2].canary, Some(0.1));
        assert_eq!(points[2].baseline, Some(0.1));
        assert!(!seen.metrics[0].verdicts.is_empty());
        // The same metrics in the next stage: nothing carried over.
        let mut next = r.state.clone();
        next.stage = 1;
        let r = Rollout::follow(config, next, r.tracks.clone());
        seen.observe(&r, 5000);
        assert_eq!(seen.stage, Some(((1, true), 5000)));
        assert_eq!(seen.metrics[0].points.len(), 1, "only the latest reading");
        // Every metric of the config has its asked query.
        assert_eq!(sent(&r.config).len(), r.tracks.len());
    }
}
