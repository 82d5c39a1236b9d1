//! The simulated service, pure: a stable and a canary version whose request
//! counters and latency histograms grow with simulated time and the canary's
//! share of traffic. No IO and no clock: time is passed in, so a drill
//! replays the same numbers for the same seed and the same stage timings.
//!
//! Counts grow by their expectation (with fractional carry) times a seeded
//! jitter, not by sampling single requests: the error rate and p95 a scraper
//! or Prometheus computes are the ones the scenario sets, at any traffic.

use std::fmt::Write;

use super::rng::Rng;
use super::scenario::{Fault, Scenario, Target};

/// Simulated milliseconds per step.
pub const STEP_MS: u64 = 100;

/// Histogram bounds in seconds: fine between 50 ms and 1 s, where the
/// warning and critical lines are, so `histogram_quantile` lands close.
pub const BUCKETS: [f64; 22] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.175, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5,
    0.6, 0.7, 0.8, 1.0, 2.5, 5.0,
];

/// Share of requests answered 404: client errors, which are not failures.
const NOT_FOUND: f64 = 0.01;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Stable,
    Canary,
}

impl Version {
    fn hit_by(self, target: Target) -> bool {
        matches!(
            (self, target),
            (_, Target::Both)
                | (Version::Stable, Target::Stable)
                | (Version::Canary, Target::Canary)
        )
    }
}

/// One version's counters, as floats so fractions carry between steps.
#[derive(Debug, Clone, Default)]
struct Counters {
    ok: f64,
    not_found: f64,
    errors: f64,
    /// Cumulative, one per bound in `BUCKETS`.
    buckets: Vec<f64>,
    sum_seconds: f64,
    started_ms: u64,
}

impl Counters {
    fn new(at: u64) -> Counters {
        Counters {
            buckets: vec![0.0; BUCKETS.len()],
            started_ms: at,
            ..Default::default()
        }
    }

    fn total(&self) -> f64 {
        self.ok + self.not_found + self.errors
    }
}

/// A fault's life: when it triggered and whether it is on now.
#[derive(Debug, Clone, Default)]
struct FaultState {
    triggered_ms: Option<u64>,
    active: bool,
}

/// A fault switching on or off, for the journal and the operator.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultChange {
    pub at_ms: u64,
    pub what: String,
    pub active: bool,
}

/// What a version's endpoints answer at this moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conditions {
    pub error_rate: f64,
    pub p95_ms: f64,
    pub outage: bool,
    pub ready: bool,
}

#[derive(Debug, Clone)]
pub struct Model {
    pub scenario: Scenario,
    rng: Rng,
    /// Simulated ms since the simulator started.
    now_ms: u64,
    /// Simulated ms per step: `STEP_MS`, or coarser for batch drills.
    step_ms: u64,
    weight: f64,
    stable: Counters,
    canary: Counters,
    faults: Vec<FaultState>,
    /// Version labels: the drill's rollout names them.
    pub versions: (String, String),
    pub service: String,
}

impl Model {
    pub fn new(scenario: Scenario) -> Model {
        let faults = vec![FaultState::default(); scenario.faults.len()];
        let mut model = Model {
            rng: Rng::new(scenario.seed),
            now_ms: 0,
            step_ms: STEP_MS,
            weight: 0.0,
            stable: Counters::new(0),
            canary: Counters::new(0),
            faults,
            versions: ("1.9.3".into(), "2.0.0".into()),
            service: "checkout".into(),
            scenario,
        };
        model.update_faults();
        model
    }

    /// Steps of `ms` instead of `STEP_MS`: a batch drill, read every few
    /// seconds, needs no finer grain (errors per step stay Poisson), and
    /// runs ten times faster at one-second steps.
    pub fn with_step(mut self, ms: u64) -> Model {
        self.step_ms = ms.max(1);
        self
    }

    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    pub fn weight(&self) -> f64 {
        self.weight
    }

    /// The canary's share of traffic, in percent; faults waiting for a
    /// weight trigger from this moment.
    pub fn set_weight(&mut self, weight: f64) {
        self.weight = weight.clamp(0.0, 100.0);
    }

    /// Runs whole steps up to `now_ms`; returns faults that switched.
    pub fn advance_to(&mut self, now_ms: u64) -> Vec<FaultChange> {
        let mut changes = self.update_faults();
        while self.now_ms + self.step_ms <= now_ms {
            self.step();
            self.now_ms += self.step_ms;
            changes.extend(self.update_faults());
        }
        changes
    }

    fn update_faults(&mut self) -> Vec<FaultChange> {
        let mut changes = Vec::new();
        for (i, fault) in self.scenario.faults.iter().enumerate() {
            let state = &mut self.faults[i];
            if state.triggered_ms.is_none() && fault.min_weight.is_none_or(|w| self.weight >= w) {
                state.triggered_ms = Some(self.now_ms);
            }
            let active = state.triggered_ms.is_some_and(|t| {
                let begin = t + fault.after.as_millis();
                self.now_ms >= begin
                    && fault
                        .lasts
                        .is_none_or(|l| self.now_ms < begin + l.as_millis())
            });
            if active != state.active {
                state.active = active;
                changes.push(FaultChange {
                    at_ms: self.now_ms,
                    what: fault.what.clone(),
                    active,
                });
                if active && fault.restart {
                    for v in [Version::Stable, Version::Canary] {
                        if v.hit_by(fault.target) {
                            let fresh = Counters::new(self.now_ms);
                            match v {
                                Version::Stable => self.stable = fresh,
                                Version::Canary => self.canary = fresh,
                            }
                        }
                    }
                }
            }
        }
        changes
    }

    fn counters_mut(&mut self, v: Version) -> &mut Counters {
        match v {
            Version::Stable => &mut self.stable,
            Version::Canary => &mut self.canary,
        }
    }

    fn counters(&self, v: Version) -> &Counters {
        match v {
            Version::Stable => &self.stable,
            Version::Canary => &self.canary,
        }
    }

    /// Active faults hitting `v`, with how long each has been on.
    fn active_faults(&self, v: Version) -> impl Iterator<Item = (&Fault, u64)> {
        self.scenario
            .faults
            .iter()
            .zip(&self.faults)
            .filter(move |(f, s)| s.active && v.hit_by(f.target))
            .map(|(f, s)| {
                let begin = s.triggered_ms.unwrap_or(0) + f.after.as_millis();
                (f, self.now_ms.saturating_sub(begin))
            })
    }

    /// What `v` is like now, before jitter: the scenario's base values, the
    /// shared wobble, and active faults on top.
    pub fn conditions(&self, v: Version) -> Conditions {
        let t = &self.scenario.traffic;
        let period = t.wobble_period.as_millis().max(1) as f64;
        let swing = 1.0 + t.wobble * (std::f64::consts::TAU * self.now_ms as f64 / period).sin();
        let mut c = Conditions {
            error_rate: t.error_rate * swing,
            p95_ms: t.p95_ms * swing,
            outage: false,
            ready: true,
        };
        for (f, on_ms) in self.active_faults(v) {
            if let Some(e) = f.error_rate {
                c.error_rate = c.error_rate.max(e);
            }
            if let Some(p) = f.p95_ms {
                let progress = f.ramp.map_or(1.0, |r| {
                    (on_ms as f64 / r.as_millis().max(1) as f64).min(1.0)
                });
                c.p95_ms = c.p95_ms.max(t.p95_ms + (p - t.p95_ms) * progress);
            }
            c.outage |= f.outage;
            c.ready &= !f.not_ready;
        }
        c
    }

    fn step(&mut self) {
        let dt = self.step_ms as f64 / 1000.0;
        let rps = self.scenario.traffic.rps;
        let jitter = self.scenario.traffic.jitter;
        for v in [Version::Stable, Version::Canary] {
            let share = match v {
                Version::Stable => 1.0 - self.weight / 100.0,
                Version::Canary => self.weight / 100.0,
            };
            let c = self.conditions(v);
            let n = rps * share * dt * (1.0 + jitter * self.rng.signed());
            let error_share =
                (c.error_rate / 100.0 * (1.0 + jitter * self.rng.signed())).clamp(0.0, 1.0);
            // Errors are counted, not spread: rare ones come in ones and
            // twos, as a real service's do, so the judge meets real noise.
            let errors = self.rng.poisson(n * error_share).min(n);
            let p95 = c.p95_ms * (1.0 + jitter * self.rng.signed());
            let counters = self.counters_mut(v);
            counters.errors += errors;
            counters.not_found += n * NOT_FOUND;
            counters.ok += (n - errors - n * NOT_FOUND).max(0.0);
            let latency = Latency::with_p95(p95 / 1000.0);
            for (count, bound) in counters.buckets.iter_mut().zip(BUCKETS) {
                *count += n * latency.cdf(bound);
            }
            counters.sum_seconds += n * latency.mean();
        }
    }

    /// The `/metrics` page of `v`, in the Prometheus text format with the
    /// prometheus-client names.
    pub fn exposition(&self, v: Version) -> String {
        let c = self.counters(v);
        let version = match v {
            Version::Stable => &self.versions.0,
            Version::Canary => &self.versions.1,
        };
        let labels = format!("service=\"{}\",version=\"{version}\"", self.service);
        let mut out = String::new();
        out.push_str("# HELP http_requests_total Requests served, by status code.\n");
        out.push_str("# TYPE http_requests_total counter\n");
        for (code, count) in [("200", c.ok), ("404", c.not_found), ("500", c.errors)] {
            let _ = writeln!(
                out,
                "http_requests_total{{{labels},method=\"GET\",code=\"{code}\"}} {}",
                count.floor()
            );
        }
        out.push_str("# HELP http_request_duration_seconds Request latency.\n");
        out.push_str("# TYPE http_request_duration_seconds histogram\n");
        let total = c.total().floor();
        for (count, bound) in c.buckets.iter().zip(BUCKETS) {
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                count.floor().min(total)
            );
        }
        let _ = writeln!(
            out,
            "http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {total}"
        );
        let _ = writeln!(
            out,
            "http_request_duration_seconds_sum{{{labels}}} {:.3}",
            c.sum_seconds
        );
        let _ = writeln!(
            out,
            "http_request_duration_seconds_count{{{labels}}} {total}"
        );
        out
    }

    /// `/health` (liveness) or `/ready` (readiness) as PRODUCT.md shows them:
    /// readiness is 503 when the database is down.
    pub fn health(&self, v: Version, readiness: bool) -> (u16, String) {
        let c = self.conditions(v);
        let version = match v {
            Version::Stable => &self.versions.0,
            Version::Canary => &self.versions.1,
        };
        let uptime = self.now_ms.saturating_sub(self.counters(v).started_ms) / 1000;
        let (status, db) = if c.ready {
            (
                "healthy",
                serde_json::json!({ "status": "connected", "latency_ms": 2 }),
            )
        } else {
            (
                "unhealthy",
                serde_json::json!({ "status": "disconnected", "error": "connection refused" }),
            )
        };
        let body = serde_json::json!({
            "status": if readiness && !c.ready { "not ready" } else { status },
            "version": version,
            "database": db,
            "uptime_seconds": uptime,
        });
        let code = if readiness && !c.ready { 503 } else { 200 };
        (code, body.to_string())
    }

    /// Faults on now, for `simulate`'s status page.
    pub fn active(&self) -> Vec<String> {
        self.scenario
            .faults
            .iter()
            .zip(&self.faults)
            .filter(|(_, s)| s.active)
            .map(|(f, _)| f.what.clone())
            .collect()
    }
}

/// A latency distribution with a given p95: a floor plus an exponential
/// tail, so the CDF has a closed form and `histogram_quantile` reads back
/// the p95 that was set.
#[derive(Debug, Clone, Copy)]
struct Latency {
    floor: f64,
    scale: f64,
}

impl Latency {
    fn with_p95(p95: f64) -> Latency {
        let p95 = p95.max(0.001);
        Latency {
            floor: 0.4 * p95,
            scale: 0.6 * p95 / 20f64.ln(),
        }
    }

    fn cdf(&self, x: f64) -> f64 {
        if x <= self.floor {
            0.0
        } else {
            1.0 - (-(x - self.floor) / self.scale).exp()
        }
    }

    fn mean(&self) -> f64 {
        self.floor + self.scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::scenario::BUILT_IN;

    fn model(name: &str) -> Model {
        let text = BUILT_IN.iter().find(|(n, _)| *n == name).unwrap().1;
        Model::new(Scenario::parse(name, text).unwrap())
    }

    /// (requests, errors, p95 in ms by linear interpolation like PromQL).
    fn read(m: &Model, v: Version) -> (f64, f64, f64) {
        let c = m.counters(v);
        let total = c.total();
        let rank = 0.95 * total;
        let mut prev = (0.0, 0.0);
        for (count, bound) in c.buckets.iter().zip(BUCKETS) {
            if *count >= rank {
                let p = prev.0 + (bound - prev.0) * (rank - prev.1) / (count - prev.1);
                return (total, c.errors, p * 1000.0);
            }
            prev = (bound, *count);
        }
        (total, c.errors, f64::NAN)
    }

    #[test]
    fn latency_distribution_has_the_p95_it_was_given() {
        for p95 in [0.15, 0.3, 0.7] {
            let l = Latency::with_p95(p95);
            assert!((l.cdf(p95) - 0.95).abs() < 1e-9);
            assert!(l.mean() < p95);
        }
    }

    #[test]
    fn traffic_splits_by_weight_and_reads_back_the_scenario_values() {
        let mut m = model("healthy");
        m.set_weight(25.0);
        m.advance_to(60_000);
        let (stable, s_err, s_p95) = read(&m, Version::Stable);
        let (canary, c_err, c_p95) = read(&m, Version::Canary);
        assert!(
            (stable / 60.0 - 7500.0).abs() < 150.0,
            "stable rps {}",
            stable / 60.0
        );
        assert!(
            (canary / 60.0 - 2500.0).abs() < 50.0,
            "canary rps {}",
            canary / 60.0
        );
        for (total, errors, p95) in [(stable, s_err, s_p95), (canary, c_err, c_p95)] {
            // Errors are Poisson: within four standard deviations of 0.02%.
            let expected = total * 0.0002;
            assert!(
                (errors - expected).abs() < 4.0 * expected.sqrt(),
                "{errors} errors in {total}"
            );
            assert!((p95 - 150.0).abs() < 8.0, "p95 {p95}");
        }
    }

    #[test]
    fn weight_triggered_fault_hits_only_the_canary_and_is_reported_once() {
        let mut m = model("error-burst");
        m.set_weight(5.0);
        assert!(m.advance_to(30_000).is_empty());
        m.set_weight(25.0);
        let changes = m.advance_to(90_000);
        assert_eq!(changes.len(), 1);
        assert!(changes[0].active && changes[0].at_ms == 30_000);
        assert_eq!(m.conditions(Version::Canary).error_rate, 2.0);
        assert!(m.conditions(Version::Stable).error_rate < 0.1);
        // Rolled back: the fault stays on, but the canary has no traffic left.
        m.set_weight(0.0);
        assert!(m.advance_to(120_000).is_empty());
    }

    #[test]
    fn latency_ramp_climbs_to_its_target() {
        let mut m = model("latency-creep");
        m.set_weight(25.0);
        m.advance_to(180_000);
        let half = m.conditions(Version::Canary).p95_ms;
        assert!((half - 425.0).abs() < 1.0, "{half}");
        m.advance_to(600_000);
        assert_eq!(m.conditions(Version::Canary).p95_ms, 700.0);
    }

    #[test]
    fn restart_resets_the_canary_counters_only() {
        let mut m = model("counter-reset");
        m.set_weight(25.0);
        m.advance_to(89_900);
        let before = read(&m, Version::Canary).0;
        m.advance_to(90_000);
        assert!(before > 200_000.0);
        assert_eq!(read(&m, Version::Canary).0, 0.0);
        assert!(read(&m, Version::Stable).0 > 600_000.0);
        assert!(
            m.health(Version::Canary, false)
                .1
                .contains("\"uptime_seconds\":0")
        );
    }

    #[test]
    fn outage_is_bounded_and_readiness_fails_with_503() {
        let mut m = model("metrics-outage");
        m.set_weight(25.0);
        let changes = m.advance_to(300_000);
        let on_off: Vec<_> = changes.iter().map(|c| (c.at_ms, c.active)).collect();
        assert_eq!(on_off, [(60_000, true), (240_000, false)]);
        let mut r = model("readiness-failing");
        r.set_weight(25.0);
        r.advance_to(61_000);
        let (code, body) = r.health(Version::Canary, true);
        assert_eq!(code, 503);
        assert!(body.contains("disconnected"), "{body}");
        assert_eq!(r.health(Version::Canary, false).0, 200);
        assert_eq!(r.health(Version::Stable, true).0, 200);
    }

    #[test]
    fn same_seed_same_exposition() {
        let run = || {
            let mut m = model("noisy-healthy");
            m.set_weight(5.0);
            m.advance_to(45_000);
            m.set_weight(25.0);
            m.advance_to(200_000);
            m.exposition(Version::Canary)
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn exposition_is_cumulative_and_counts_add_up() {
        let mut m = model("healthy");
        m.set_weight(50.0);
        m.advance_to(10_000);
        let page = m.exposition(Version::Canary);
        let values: Vec<f64> = page
            .lines()
            .filter(|l| l.starts_with("http_request_duration_seconds_bucket"))
            .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
            .collect();
        assert!(values.windows(2).all(|w| w[0] <= w[1]), "{page}");
        let requests: f64 = page
            .lines()
            .filter(|l| l.starts_with("http_requests_total"))
            .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
            .sum();
        assert!((requests - values.last().unwrap()).abs() <= 2.0, "{page}");
        assert!(page.contains(r#"version="2.0.0",method="GET",code="500"}"#));
    }
}
