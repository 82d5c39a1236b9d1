//! Batch drills: many seeded variants of the scenarios, run headless in
//! simulated time as fast as the machine allows, to measure the calls the
//! policy makes (right calls, detection times, false rollbacks).
//!
//! Nothing goes over HTTP and no text is written or parsed: the
//! simulator's counters are handed, as the samples its page would parse
//! into, to the same scraper (window, arithmetic) a live drill reads them
//! through, and the stage hooks move the model's weight directly. A test
//! below shows the text path gives the same readings. The engine, the
//! judge and the score are the ones a live drill uses.

use std::path::Path;
use std::time::{Duration, Instant};

use super::Scenario;
use super::drill::{Endpoints, config_text};
use super::model::{Model, Version};
use super::score::score;
use crate::config::Config;
use crate::config::model::Judge;
use crate::metrics::probe;
use crate::metrics::scrape::{Page, ScrapeMetric, Scraper};
use crate::rollout::{
    Actor, At, Command, DrillScore, Effect, Event, Group, Input, Level, Move, Purpose, Rollout,
    Sample,
};

mod summary;
pub use summary::{Summary, table};

/// Where the simulator would listen: only names here, nothing is served.
fn endpoints() -> Endpoints {
    Endpoints {
        stable_metrics: "http://127.0.0.1:1/stable/metrics".into(),
        canary_metrics: "http://127.0.0.1:1/canary/metrics".into(),
        canary_ready: "http://127.0.0.1:1/canary/ready".into(),
        weight_url: "http://127.0.0.1:1/control/weight".into(),
        service: "checkout".into(),
        old_version: "1.9.3".into(),
        new_version: "2.0.0".into(),
    }
}

/// The config a headless drill of `scenario` runs, judged by `judge`.
pub fn config(scenario: &Scenario, judge: Judge) -> Result<Config, String> {
    let text = config_text(scenario, &endpoints(), true, None);
    let origin = format!("batch drill config for scenario {}", scenario.name);
    let plan = crate::plan::from_text(Path::new(&origin), &text, &Default::default());
    let mut config = plan.map(|p| p.config).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        lines.join("\n")
    })?;
    config.policy.judge = judge;
    Ok(config)
}

/// How one seeded run went.
#[derive(Debug, Clone)]
pub struct Run {
    pub seed: u64,
    pub score: DrillScore,
    /// Advances decided while a metric was not OK.
    pub blind_advances: usize,
    /// Time some metric spent on LOW EVIDENCE.
    pub low_evidence_ms: u64,
}

impl Run {
    /// A rollback where the scenario expects a promotion or a hold.
    pub fn false_rollback(&self) -> bool {
        self.score.outcome.starts_with("rolled_back")
            && !self.score.expected_outcome.starts_with("rolled_back")
    }

    /// Went further than the scenario's call: promoted, or advanced past
    /// the stage where it should have rolled back or held.
    pub fn false_advance(&self) -> bool {
        let order = |s: &str| s.trim_end_matches('%').parse::<f64>().unwrap_or(f64::MAX);
        let expected = self.score.expected_outcome.as_str();
        expected != "promoted" && order(&self.score.stage) > order(&self.score.expected_stage)
    }

    /// From the fault becoming real (or the start) to the decision.
    pub fn detection_ms(&self) -> Option<u64> {
        let decided = self.score.decision_ms?;
        Some(decided.saturating_sub(self.score.fault_visible_ms.unwrap_or(0)))
    }
}

/// What every run of one scenario starts from: built once, cloned per run.
#[derive(Clone)]
pub struct Setup {
    scenario: Scenario,
    config: Config,
    scraper: Scraper,
}

impl Setup {
    pub fn new(scenario: &Scenario, judge: Judge) -> Result<Setup, String> {
        let config = config(scenario, judge)?;
        let mut scraped = Vec::new();
        for (i, m) in config.metrics.iter().enumerate() {
            if let Some(sm) = ScrapeMetric::from_spec(m)? {
                scraped.push((i, sm));
            }
        }
        let spec = config
            .scrape
            .as_ref()
            .ok_or("the drill config has no [scrape]")?;
        let scraper = Scraper::new(spec, scraped)?;
        Ok(Setup {
            scenario: scenario.clone(),
            config,
            scraper,
        })
    }
}

/// One run of `scenario` with its seed replaced by `seed`.
pub fn run(scenario: &Scenario, seed: u64, judge: Judge) -> Result<Run, String> {
    Ok(run_from(&Setup::new(scenario, judge)?, seed))
}

/// One run of a prepared scenario with its seed replaced by `seed`.
pub fn run_from(setup: &Setup, seed: u64) -> Run {
    let mut scenario = setup.scenario.clone();
    scenario.seed = seed;
    let mut drill = Batch::new(&scenario, setup);
    drill.start();
    let every = drill.every_ms;
    let end = T0 + scenario.duration.as_millis();
    while drill.now < end && !drill.rollout.is_finished() {
        drill.now += every;
        drill.poll();
    }
    let blind_advances = drill
        .events
        .iter()
        .filter(|(_, e)| {
            matches!(e, Event::Decision { action: Move::Advance | Move::Promote, metrics, .. }
                if metrics.iter().any(|m| m.level != Level::Ok))
        })
        .count();
    Run {
        seed,
        score: score(&scenario, &drill.events, drill.now),
        blind_advances,
        low_evidence_ms: drill.low_evidence_ms,
    }
}

/// A Tuesday morning, inside every deploy window (they are skipped anyway).
const T0: At = 1_795_600_000_000;

struct Batch {
    model: Model,
    rollout: Rollout,
    scraper: Scraper,
    /// The readiness probe's metric, when the scenario watches `/ready`.
    probe: Option<usize>,
    events: Vec<(At, Event)>,
    now: At,
    every_ms: u64,
    /// The scraper's clock: simulated time laid over one real instant.
    base: Instant,
    low_evidence_ms: u64,
}

impl Batch {
    fn new(scenario: &Scenario, setup: &Setup) -> Batch {
        let config = setup.config.clone();
        let every_ms = config.scrape.as_ref().map_or(5000, |s| s.every.as_millis());
        let probe = config.metrics.iter().position(|m| m.probe.is_some());
        Batch {
            model: Model::new(scenario.clone()).with_step(1000),
            rollout: Rollout::new(config, T0),
            scraper: setup.scraper.clone(),
            probe,
            events: Vec::new(),
            now: T0,
            every_ms,
            base: Instant::now(),
            low_evidence_ms: 0,
        }
    }

    fn start(&mut self) {
        let local = chrono::DateTime::from_timestamp_millis(T0 as i64)
            .map(|t| t.naive_utc())
            .unwrap_or_default();
        self.feed(Input::Start {
            local,
            operator: "batch".into(),
        });
        self.feed(Input::Command {
            actor: Actor::Operator("batch".into()),
            command: Command::SkipChecks {
                reason: "batch drill".into(),
            },
        });
    }

    /// One poll: the model runs up to now, the pages are read as a
    /// scrape would read them, and the engine gets them as one input.
    fn poll(&mut self) {
        let since = self.now - T0;
        for f in self.model.advance_to(since) {
            let event = Event::DrillFault {
                what: f.what,
                active: f.active,
            };
            self.events.push((T0 + f.at_ms, event));
        }
        let at = self.base + Duration::from_millis(since);
        let page = |v: Version| -> Page<'_> {
            if self.model.conditions(v).outage {
                Err("HTTP 503 from the simulator".into())
            } else {
                Ok((self.model.page(v), at))
            }
        };
        // Targets in the order the config lists them: canary, then stable.
        let pages = vec![page(Version::Canary), page(Version::Stable)];
        let mut samples: Vec<Sample> = self
            .scraper
            .absorb_read(pages)
            .into_iter()
            .map(|(metric, group, reading)| Sample {
                metric,
                group,
                reading: reading.within_range(&self.rollout.config.metrics[metric]),
            })
            .collect();
        if let Some(metric) = self.probe {
            let (status, body) = self.model.health(Version::Canary, true);
            let reading = probe::judge(status, body.as_bytes(), "/ready", "2.0.0");
            samples.push(Sample {
                metric,
                group: Group::Canary,
                reading,
            });
        }
        let unsure = self
            .rollout
            .tracks
            .iter()
            .any(|t| t.verdict.level == Level::LowEvidence);
        if unsure {
            self.low_evidence_ms += self.every_ms;
        }
        self.feed(Input::Poll(samples));
    }

    /// Applies an input and everything it sets off: a stage hook moves the
    /// model's weight at once and succeeds.
    fn feed(&mut self, input: Input) {
        let mut queue = vec![input];
        while let Some(input) = queue.pop() {
            for effect in self.rollout.update(self.now, input) {
                match effect {
                    Effect::Journal { at, event } => self.events.push((at, event)),
                    Effect::RunHook {
                        id, vars, purpose, ..
                    } => {
                        let key = match purpose {
                            Purpose::Undo => "previous_weight",
                            _ => "weight",
                        };
                        let weight = vars
                            .get(key)
                            .and_then(|w| w.trim_end_matches('%').trim().parse::<f64>().ok());
                        if let Some(w) = weight {
                            self.model.set_weight(w);
                        }
                        queue.push(Input::HookDone {
                            id,
                            ok: true,
                            summary: "weight set".into(),
                        });
                    }
                    _ => {}
                }
            }
        }
    }
}

/// `runs` seeded runs of each scenario, from `seed` on, spread over the
/// machine's cores.
pub fn batch(
    scenarios: &[Scenario],
    runs: usize,
    seed: u64,
    judge: Judge,
) -> Result<Vec<Summary>, String> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut out = Vec::new();
    for scenario in scenarios {
        let setup = Setup::new(scenario, judge)?;
        let seeds: Vec<u64> = (0..runs as u64).map(|i| seed + i).collect();
        let chunk = seeds.len().div_ceil(threads).max(1);
        let results: Vec<Option<Vec<Run>>> = std::thread::scope(|s| {
            let setup = &setup;
            let handles: Vec<_> = seeds
                .chunks(chunk)
                .map(|part| s.spawn(move || part.iter().map(|&k| run_from(setup, k)).collect()))
                .collect();
            handles.into_iter().map(|h| h.join().ok()).collect()
        });
        let mut all = Vec::new();
        for r in results {
            all.extend(r.ok_or("a batch worker panicked")?);
        }
        out.push(Summary::of(&scenario.name, &all));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_run_ends_as_the_live_drill_would() {
        let healthy = Scenario::load("healthy").unwrap();
        let r = run(&healthy, 1, Judge::Evidence).unwrap();
        assert_eq!(r.score.outcome, "promoted", "{:?}", r.score);
        assert!(!r.false_rollback());
        let burst = Scenario::load("error-burst").unwrap();
        let r = run(&burst, 1, Judge::Evidence).unwrap();
        assert_eq!(
            (r.score.outcome.as_str(), r.score.stage.as_str()),
            ("rolled_back", "25%")
        );
        assert!(r.detection_ms().is_some());
    }

    /// The shortcut the batch takes (samples, no text) reads exactly what
    /// a scrape of the simulator's page reads, faults and resets included.
    #[test]
    fn the_simulators_samples_read_as_its_page_does() {
        let scenarios = [
            "errors-at-five",
            "latency-creep",
            "counter-reset",
            "steady-4x",
        ];
        for name in scenarios {
            let scenario = Scenario::load(name).unwrap();
            let setup = Setup::new(&scenario, Judge::Evidence).unwrap();
            let (mut by_text, mut by_samples) = (setup.scraper.clone(), setup.scraper.clone());
            let mut model = Model::new(scenario).with_step(1000);
            let base = Instant::now();
            let mut values = 0;
            for poll in 1..=240u64 {
                model.set_weight(if poll < 60 { 5.0 } else { 50.0 });
                model.advance_to(poll * 5000);
                let at = base + Duration::from_millis(poll * 5000);
                let versions = [Version::Canary, Version::Stable];
                let text = versions.map(|v| Ok((model.exposition(v), at)));
                let read = versions.map(|v| Ok((model.page(v), at))).into();
                let (a, b) = (by_text.absorb(&text), by_samples.absorb_read(read));
                assert_eq!(a, b, "{name}, poll {poll}");
                values += a
                    .iter()
                    .filter(|(_, _, r)| matches!(r, crate::rollout::Reading::Value { .. }))
                    .count();
            }
            assert!(values > 1000, "{name}: only {values} values were read");
        }
    }
}
