//! The traffic model's tests: counts, faults and pages read back what the
//! scenario sets.

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
