//! `cockpit replay`: a config run on recorded history. The metrics'
//! history comes from the Prometheus API (`query_range` at the config's
//! `every`, values and request counts), and goes through the same engine
//! as a live run, in simulated time: one `Poll` per step, a `Tick` every
//! second between them. Hooks are never run: each one the engine asks for
//! is answered as succeeded at once.
//!
//! It sits above `rollout` and `metrics` and below `cli`, which only wires
//! it to the command line.

mod run;
mod time;
mod words;

use std::collections::HashMap;
use std::time::Duration;

use crate::config::Config;
use crate::metrics::prom::{Api, Recorded};
use crate::rollout::{
    Actor, At, Event, Group, Input, Move, Outcome, Phase, Reading, Rollout, Sample,
};
use run::Run;
pub use time::{parse_stage_at, parse_time};
pub use words::{json, lines};

/// Who the replay's own inputs (starting, `--stage-at`, gates) come from.
pub const REPLAY: &str = "replay";

/// What the output says about hooks, in words.
pub const HOOKS_NOT_RUN: &str =
    "no hook was run: every hook the cockpit would have run is answered as succeeded at once";

/// The metrics' history over a span, as the Prometheus API recorded it.
pub struct History {
    pub from: At,
    pub to: At,
    /// The poll interval of the config, and the step of the history.
    pub every: Duration,
    /// Per metric and group: values and request counts by time.
    series: Vec<Series>,
}

struct Series {
    metric: usize,
    group: Group,
    values: HashMap<At, f64>,
    requests: Option<HashMap<At, f64>>,
}

impl History {
    /// Built from what `Api::history` returned (or a test's own points).
    pub fn new(from: At, to: At, every: Duration, recorded: Vec<Recorded>) -> History {
        let series = recorded
            .into_iter()
            .map(|r| Series {
                metric: r.metric,
                group: r.group,
                values: r.values.into_iter().collect(),
                requests: r.requests.map(|p| p.into_iter().collect()),
            })
            .collect();
        History {
            from,
            to,
            every,
            series,
        }
    }

    /// Reads the history of every metric of `config` from its `[prometheus]`.
    pub async fn fetch(config: &Config, from: At, to: At) -> Result<History, String> {
        let spec = config
            .prometheus
            .as_ref()
            .ok_or("replay reads the metrics' history from [prometheus]; the config has none")?;
        if let Some(m) = config
            .metrics
            .iter()
            .find(|m| m.query.is_none() && m.template.is_none())
        {
            return Err(format!(
                "metric \"{}\" does not read the Prometheus API (a direct scrape or a probe): \
                 it has no history to replay; give it a `query` or a `template`",
                m.name
            ));
        }
        let api = Api::from_config(config, spec)?;
        let every = Duration::from_millis(spec.every.as_millis());
        let recorded = api.history(from, to, every).await.map_err(|(i, e)| {
            let name = config.metrics.get(i).map_or("?", |m| m.name.as_str());
            format!("metric \"{name}\": {e}")
        })?;
        Ok(History::new(from, to, every, recorded))
    }

    /// What a poll at `at` would have read: every metric's canary and
    /// baseline together, in each metric's range.
    fn poll(&self, config: &Config, at: At) -> Vec<Sample> {
        self.series
            .iter()
            .map(|s| {
                let reading = match (s.values.get(&at), &s.requests) {
                    (None, _) => Reading::no_data("no sample in the history at this step"),
                    (Some(_), Some(r)) if !r.contains_key(&at) => {
                        Reading::no_data("request count: no sample in the history at this step")
                    }
                    (Some(v), r) => {
                        Reading::value(*v, r.as_ref().and_then(|r| r.get(&at).copied()))
                    }
                };
                let reading = match config.metrics.get(s.metric) {
                    Some(spec) => reading.within_range(spec),
                    None => reading,
                };
                Sample {
                    metric: s.metric,
                    group: s.group,
                    reading,
                }
            })
            .collect()
    }
}

/// What the cockpit would have done, and when.
#[derive(Debug, Clone)]
pub struct Replayed {
    /// The engine's journal events, snapshots left out.
    pub events: Vec<(At, Event)>,
    pub outcome: Option<Outcome>,
    /// Where the rollout was when the replay ended.
    pub stage: String,
    /// Why it was not done yet, when it has no outcome.
    pub still: Option<String>,
    /// How many hooks were answered as succeeded without running.
    pub hooks_answered: usize,
    pub ended_at: At,
}

impl Replayed {
    /// The decisions, in order: (when, what, by whom, why).
    pub fn decisions(&self) -> impl Iterator<Item = (At, Move, &Actor, &str)> {
        self.events.iter().filter_map(|(at, e)| match e {
            Event::Decision {
                action, by, reason, ..
            } => Some((*at, *action, by, reason.as_str())),
            _ => None,
        })
    }
}

/// Runs `config` on `history`. With no `stage_at` the engine's own
/// decisions drive (auto-advance on, as headless); with it, stage `i` is
/// entered at its time (forced when the cockpit would not have advanced)
/// and the engine never advances by itself.
pub fn replay(mut config: Config, history: &History, stage_at: &[(At, usize)]) -> Replayed {
    config.policy.auto_advance = stage_at.is_empty();
    let mut entries: Vec<(At, usize)> = stage_at.to_vec();
    entries.sort();
    let start = entries
        .iter()
        .find(|(_, s)| *s == 0)
        .map_or(history.from, |(at, _)| *at);
    entries.retain(|(_, s)| *s > 0);
    let mut run = Run {
        rollout: Rollout::new(config, history.from),
        events: Vec::new(),
        hooks: 0,
    };
    let every = (history.every.as_millis() as u64).max(1);
    let (mut next_poll, mut next_tick) = (history.from, history.from + 1000);
    let mut started = false;
    let (mut now, mut last) = (history.from, history.from);
    // After a rollback the history shows what really happened, not what
    // the rollback would have done: the replay ends when the rollback is
    // complete, and does not judge its verification.
    let verifying = |r: &Rollout| matches!(r.state.phase, Phase::Verifying { .. });
    while now <= history.to && !run.rollout.is_finished() && !verifying(&run.rollout) {
        last = now;
        if !started && now >= start {
            started = true;
            run.start(start);
        }
        while let Some(&(at, stage)) = entries.first().filter(|(at, _)| *at <= now) {
            entries.remove(0);
            run.enter(at, stage);
        }
        if now == next_poll {
            let samples = history.poll(&run.rollout.config, now);
            run.feed(now, Input::Poll(samples));
            next_poll += every;
        }
        if now == next_tick {
            run.feed(now, Input::Tick);
            next_tick += 1000;
        }
        let next_entry = entries.first().map_or(At::MAX, |(at, _)| *at);
        let next_start = if started { At::MAX } else { start };
        now = next_poll.min(next_tick).min(next_entry).min(next_start);
    }
    summary(run, started, last)
}

/// Where the replay ended: the outcome, or the stage it held at and why.
fn summary(run: Run, started: bool, ended_at: At) -> Replayed {
    let verifying = |r: &Rollout| matches!(r.state.phase, Phase::Verifying { .. });
    let rollout = &run.rollout;
    let stage = rollout
        .config
        .stages
        .get(rollout.state.stage)
        .map_or_else(String::new, |s| s.name.clone());
    let still = (!rollout.is_finished()).then(|| match rollout.ready(ended_at) {
        _ if !started => "the rollout had not started".to_string(),
        Ok(_) => "ready to advance".to_string(),
        Err(why) => format!("holding: {why}"),
    });
    let outcome = match rollout.state.outcome {
        None if verifying(rollout) => Some(Outcome::RolledBack),
        other => other,
    };
    Replayed {
        outcome,
        stage,
        still,
        hooks_answered: run.hooks,
        ended_at,
        events: run.events,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
[rollout]
name = "shop 2.0.0"
service = "shop"
old_version = "1.0.0"
new_version = "2.0.0"

[hooks]
enter = { exec = ["false"] }
undo = { exec = ["false"] }

[[stage]]
name = "5%"
weight = 5
wait = "10s"

[[stage]]
name = "50%"
weight = 50
wait = "10m"

[prometheus]
url = "http://127.0.0.1:9"
every = "1s"

[[metric]]
name = "error_rate"
kind = "error_rate"
template = "prometheus-client"
for = "3s"
min_requests = 10

[policy]
on_critical = "rollback"

[window]
enabled = false
"#;

    /// 60 s of history at 1 s: the canary at `canary(t)` %, the baseline
    /// at none, 10,000 requests in the window at each step.
    fn history(canary: impl Fn(u64) -> Option<f64>) -> History {
        let steps: Vec<At> = (0..=60).map(|s| s * 1000).collect();
        let series = |group, value: &dyn Fn(u64) -> Option<f64>| Recorded {
            metric: 0,
            group,
            values: steps
                .iter()
                .filter_map(|t| value(t / 1000).map(|v| (*t, v)))
                .collect(),
            requests: Some(steps.iter().map(|t| (*t, 10_000.0)).collect()),
        };
        let recorded = vec![
            series(Group::Canary, &canary),
            series(Group::Baseline, &|_| Some(0.0)),
        ];
        History::new(0, 60_000, Duration::from_secs(1), recorded)
    }

    fn config() -> Config {
        crate::config::parse(std::path::Path::new("replay.toml"), CONFIG)
            .unwrap_or_else(|e| panic!("{}", e[0]))
    }

    #[test]
    fn a_bad_canary_is_rolled_back_and_no_hook_runs() {
        let bad_from_30s = history(|s| Some(if s < 30 { 0.0 } else { 2.0 }));
        let replayed = replay(config(), &bad_from_30s, &[]);
        let decided: Vec<(At, Move)> = replayed.decisions().map(|d| (d.0, d.1)).collect();
        // Ready after 10 s observed; bad from 30 s, rolled back once the
        // evidence is sure or the breach held its 3 s, whichever is first.
        assert_eq!(decided[0], (10_000, Move::Advance));
        assert_eq!(decided[1].1, Move::Rollback);
        assert!((31_000..=33_000).contains(&decided[1].0), "{decided:?}");
        assert_eq!(decided.len(), 2);
        assert_eq!(replayed.outcome, Some(Outcome::RolledBack));
        // The replay ends once the rollback is complete: what followed in
        // the history is what really happened, not what it would have done.
        let complete = replayed
            .events
            .iter()
            .find(|(_, e)| matches!(e, Event::RollbackComplete))
            .map(|(at, _)| *at);
        assert_eq!(complete, Some(replayed.ended_at));
        // The hooks are `false`: had one run, the rollout would have stopped.
        assert_eq!(replayed.hooks_answered, 4);
    }

    #[test]
    fn stage_at_enters_each_stage_when_the_history_says_even_if_not_green() {
        let healthy = history(|_| Some(0.0));
        let replayed = replay(config(), &healthy, &[(5_000, 1)]);
        let decided: Vec<(At, Move)> = replayed.decisions().map(|d| (d.0, d.1)).collect();
        assert_eq!(decided, [(5_000, Move::ForceAdvance)]);
        assert_eq!(replayed.outcome, None);
        assert_eq!(replayed.stage, "50%");
        let shown = lines(&replayed, &config(), &healthy).join("\n");
        assert!(
            shown.contains("the history leaves 5% (--stage-at): the deploy moved on at 1970-01-01T00:00:05+00:00 (--stage-at) (was not green: observed 5s of 10s)"),
            "{shown}"
        );
    }

    #[test]
    fn a_gap_in_the_history_is_no_data_and_holds() {
        let gap = history(|s| (s >= 40).then_some(0.0));
        let replayed = replay(config(), &gap, &[]);
        let decided: Vec<(At, Move)> = replayed.decisions().map(|d| (d.0, d.1)).collect();
        // Observed only from 40 s: 10 s later it advances, not before.
        assert_eq!(decided, [(50_000, Move::Advance)]);
        let shown = lines(&replayed, &config(), &gap).join("\n");
        assert!(shown.contains("no outcome by "), "{shown}");
    }
}
