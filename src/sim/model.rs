//! The simulated service, pure: a stable and a canary version whose request
//! counters and latency histograms grow with simulated time and the canary's
//! share of traffic. No IO and no clock: time is passed in, so a drill
//! replays the same numbers for the same seed and the same stage timings.
//!
//! Counts grow by their expectation (with fractional carry) times a seeded
//! jitter, not by sampling single requests: the error rate and p95 a scraper
//! or Prometheus computes are the ones the scenario sets, at any traffic.

use std::borrow::Cow;
use std::fmt::Write;

use super::rng::Rng;
use super::scenario::{Fault, Scenario, Target};
use crate::metrics::exposition::{FamilyType, Labels, MetricSnapshot, Sample, series_id};

mod latency;
use latency::Latency;

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

/// One series of a version's page, named and labelled once.
#[derive(Debug, Clone)]
struct Series {
    name: &'static str,
    labels: Vec<(&'static str, String)>,
    id: u64,
}

/// The series `exposition` writes, in its order: requests by code, the
/// buckets, `+Inf`, sum and count.
fn shape(service: &str, version: &str) -> Vec<Series> {
    let series = |name: &'static str, more: &[(&'static str, String)]| {
        let mut labels = vec![
            ("service", service.to_string()),
            ("version", version.to_string()),
        ];
        labels.extend(more.iter().cloned());
        let borrowed: Labels = labels
            .iter()
            .map(|(k, v)| (*k, Cow::Borrowed(v.as_str())))
            .collect();
        let id = series_id(name, &borrowed);
        Series { name, labels, id }
    };
    let mut out: Vec<Series> = ["200", "404", "500"]
        .iter()
        .map(|code| {
            let more = [("method", "GET".to_string()), ("code", code.to_string())];
            series("http_requests_total", &more)
        })
        .collect();
    let bucket = "http_request_duration_seconds_bucket";
    let bounds = BUCKETS
        .iter()
        .map(|b| b.to_string())
        .chain(["+Inf".to_string()]);
    out.extend(bounds.map(|le| series(bucket, &[("le", le)])));
    out.push(series("http_request_duration_seconds_sum", &[]));
    out.push(series("http_request_duration_seconds_count", &[]));
    out
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
    versions: (String, String),
    service: String,
    /// Each version's page series: stable's, canary's.
    shapes: (Vec<Series>, Vec<Series>),
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
            shapes: (shape("checkout", "1.9.3"), shape("checkout", "2.0.0")),
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

    /// The version labels: stable's, canary's.
    pub fn versions(&self) -> &(String, String) {
        &self.versions
    }

    pub fn service(&self) -> &str {
        &self.service
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

    /// The same page as `exposition`, already read into samples: what a
    /// batch drill hands the scraper instead of text to write and parse
    /// (a test shows both give the same readings). The series are named
    /// and labelled once; only their values are read here.
    pub fn page(&self, v: Version) -> MetricSnapshot<'_> {
        let c = self.counters(v);
        let total = c.total().floor();
        let buckets = c.buckets.iter().map(|count| count.floor().min(total));
        // As the page writes it: to the millisecond.
        let sum = format!("{:.3}", c.sum_seconds)
            .parse()
            .unwrap_or(c.sum_seconds);
        let values = [c.ok, c.not_found, c.errors]
            .map(f64::floor)
            .into_iter()
            .chain(buckets)
            .chain([total, sum, total]);
        let shape = match v {
            Version::Stable => &self.shapes.0,
            Version::Canary => &self.shapes.1,
        };
        let samples = shape
            .iter()
            .zip(values)
            .map(|(series, value)| Sample {
                name: series.name,
                labels: series
                    .labels
                    .iter()
                    .map(|(k, v)| (*k, Cow::Borrowed(v.as_str())))
                    .collect(),
                value,
                timestamp: None,
                series: series.id,
            })
            .collect();
        let types = [
            ("http_requests_total", FamilyType::Counter),
            ("http_request_duration_seconds", FamilyType::Histogram),
        ];
        MetricSnapshot {
            samples,
            types: types.map(|(k, t)| (k.to_string(), t)).into_iter().collect(),
            duplicates: Vec::new(),
        }
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

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
