//! The evidence judge at its edges, through the code that reads a
//! `/metrics` page (parser, window, counter arithmetic) and the track that
//! counts each reading once: zero requests, zero errors, a stable version
//! with no errors, a counter reset inside the window, and a p95 line that
//! falls between two bucket bounds.

use std::time::{Duration, Instant};

use cockpit::config::Config;
use cockpit::config::model::Judge as JudgeKind;
use cockpit::metrics::scrape::{ScrapeMetric, Scraper};
use cockpit::rollout::track::Track;
use cockpit::rollout::verdict::stage_rules;
use cockpit::rollout::{Group, Level, Reading};

/// One version's counters: requests by status, and the latency histogram
/// as (bound in seconds, requests at or under it).
#[derive(Clone)]
struct Counters {
    ok: f64,
    errors: f64,
    buckets: Vec<(f64, f64)>,
}

impl Counters {
    fn new(bounds: &[f64]) -> Counters {
        Counters {
            ok: 0.0,
            errors: 0.0,
            buckets: bounds.iter().map(|b| (*b, 0.0)).collect(),
        }
    }

    /// `n` more requests, `errors` of them 500s, `slow` of them slower
    /// than every finite bound, the rest under the first.
    fn serve(&mut self, n: f64, errors: f64, slow: &[(f64, f64)]) {
        self.ok += n - errors;
        self.errors += errors;
        for (bound, count) in self.buckets.iter_mut() {
            let over: f64 = slow.iter().filter(|(at, _)| at > bound).map(|s| s.1).sum();
            *count += n - over;
        }
    }

    fn page(&self) -> String {
        let mut t = String::from("# TYPE http_requests_total counter\n");
        t += &format!("http_requests_total{{code=\"200\"}} {}\n", self.ok);
        t += &format!("http_requests_total{{code=\"500\"}} {}\n", self.errors);
        t += "# TYPE http_request_duration_seconds histogram\n";
        for (bound, count) in &self.buckets {
            t += &format!("http_request_duration_seconds_bucket{{le=\"{bound}\"}} {count}\n");
        }
        let all = self.ok + self.errors;
        t += &format!("http_request_duration_seconds_bucket{{le=\"+Inf\"}} {all}\n");
        t += &format!(
            "http_request_duration_seconds_count {all}\nhttp_request_duration_seconds_sum 0\n"
        );
        t
    }
}

/// The page reader and one track per metric, fed five seconds apart.
struct Judge {
    scraper: Scraper,
    tracks: Vec<Track>,
    start: Instant,
    now_ms: u64,
}

impl Judge {
    fn new() -> Judge {
        // The drill's config: a scrape of both versions, error rate first,
        // then p95, judged by evidence with the defaults.
        let scenario = cockpit::sim::Scenario::load("plain-healthy").unwrap();
        let config: Config = cockpit::sim::batch::config(&scenario, JudgeKind::Evidence).unwrap();
        let metrics = config
            .metrics
            .iter()
            .enumerate()
            .filter_map(|(i, m)| ScrapeMetric::from_spec(m).unwrap().map(|s| (i, s)))
            .collect();
        let scraper = Scraper::new(config.scrape.as_ref().unwrap(), metrics).unwrap();
        let tracks = stage_rules(&config, 0)
            .into_iter()
            .map(|r| Track::new(r, 0))
            .collect();
        Judge {
            scraper,
            tracks,
            start: Instant::now(),
            now_ms: 0,
        }
    }

    /// One poll of both pages; returns the canary's readings.
    fn poll(&mut self, canary: &Counters, stable: &Counters) -> Vec<Reading> {
        self.now_ms += 5000;
        let at = self.start + Duration::from_millis(self.now_ms);
        let pages = [Ok((canary.page(), at)), Ok((stable.page(), at))];
        let mut read = Vec::new();
        for (i, group, reading) in self.scraper.absorb(&pages) {
            if group == Group::Canary {
                read.push(reading.clone());
            }
            self.tracks[i].record(self.now_ms, group, reading);
        }
        for t in &mut self.tracks {
            t.refresh(self.now_ms, 60_000);
        }
        read
    }

    fn verdict(&self, metric: usize) -> (Level, String) {
        let v = &self.tracks[metric].verdict;
        (v.level, v.reason.clone())
    }
}

const BOUNDS: [f64; 5] = [0.1, 0.3, 0.5, 1.0, 2.5];

#[test]
fn zero_requests_are_never_ok() {
    let mut j = Judge::new();
    let (canary, stable) = (Counters::new(&BOUNDS), Counters::new(&BOUNDS));
    for _ in 0..30 {
        j.poll(&canary, &stable);
    }
    for m in 0..2 {
        let (level, reason) = j.verdict(m);
        assert!(!level.is_judgeable(), "{level:?}: {reason}");
    }
}

#[test]
fn zero_errors_become_ok_with_enough_requests_and_say_so_before() {
    let mut j = Judge::new();
    let (mut canary, mut stable) = (Counters::new(&BOUNDS), Counters::new(&BOUNDS));
    j.poll(&canary, &stable);
    canary.serve(100.0, 0.0, &[]);
    stable.serve(2000.0, 0.0, &[]);
    j.poll(&canary, &stable);
    let (level, reason) = j.verdict(0);
    assert_eq!(level, Level::LowEvidence, "{reason}");
    // 100 requests in 5 s: the words say when a real regression would show.
    assert!(
        reason.contains("not enough evidence yet: 0 errors in 100"),
        "{reason}"
    );
    assert!(
        reason.contains("a real 2x regression would show in ~"),
        "{reason}"
    );
    // ln(10) / 0.05% ~ 4,600 requests without an error show the canary
    // under the floor at 90%.
    for _ in 0..48 {
        canary.serve(100.0, 0.0, &[]);
        stable.serve(2000.0, 0.0, &[]);
        j.poll(&canary, &stable);
    }
    // Stable without errors too: the floor, not 2x of zero, is the limit.
    for m in 0..2 {
        let (level, reason) = j.verdict(m);
        assert_eq!(level, Level::Ok, "{reason}");
    }
}

#[test]
fn a_canary_four_times_stable_is_never_ok_and_one_like_stable_is() {
    // steady-4x at 5% of 400 req/s: an error every 12.5 polls at 0.08%
    // against stable's 0.02%; the 0.05% floor it is held to is under it.
    let mut j = Judge::new();
    let (mut bad, mut stable) = (Counters::new(&BOUNDS), Counters::new(&BOUNDS));
    j.poll(&bad, &stable);
    for i in 1..=240 {
        let error = if i % 12 == 6 { 1.0 } else { 0.0 };
        bad.serve(100.0, error, &[]);
        stable.serve(1900.0, if i % 5 == 0 { 1.9 } else { 0.0 }, &[]);
        j.poll(&bad, &stable);
        let (level, reason) = j.verdict(0);
        assert_ne!(level, Level::Ok, "poll {i}: {reason}");
    }
    // The same traffic with stable's error rate: OK within 20 minutes.
    let mut j = Judge::new();
    let (mut good, mut stable) = (Counters::new(&BOUNDS), Counters::new(&BOUNDS));
    j.poll(&good, &stable);
    for i in 1..=240 {
        good.serve(100.0, if i % 50 == 25 { 1.0 } else { 0.0 }, &[]);
        stable.serve(1900.0, if i % 5 == 0 { 1.9 } else { 0.0 }, &[]);
        j.poll(&good, &stable);
    }
    let (level, reason) = j.verdict(0);
    assert_eq!(level, Level::Ok, "{reason}");
}

#[test]
fn one_canary_error_against_a_stable_without_errors_is_not_a_breach() {
    let mut j = Judge::new();
    let (mut canary, mut stable) = (Counters::new(&BOUNDS), Counters::new(&BOUNDS));
    j.poll(&canary, &stable);
    for i in 0..12 {
        canary.serve(100.0, if i == 6 { 1.0 } else { 0.0 }, &[]);
        stable.serve(2000.0, 0.0, &[]);
        j.poll(&canary, &stable);
        let (level, reason) = j.verdict(0);
        assert!(!level.is_breach(), "poll {i}: {reason}");
    }
}

#[test]
fn a_counter_reset_inside_the_window_counts_the_new_requests() {
    let mut j = Judge::new();
    let (mut canary, mut stable) = (Counters::new(&BOUNDS), Counters::new(&BOUNDS));
    canary.serve(5000.0, 0.0, &[]);
    j.poll(&canary, &stable);
    // The canary restarts: its counters start again from zero and have
    // counted 200 requests, 20 of them errors, by the next scrape.
    let mut restarted = Counters::new(&BOUNDS);
    restarted.serve(200.0, 20.0, &[]);
    stable.serve(4000.0, 2.0, &[]);
    let read = j.poll(&restarted, &stable);
    match &read[0] {
        Reading::Value {
            value,
            requests: Some(n),
            ..
        } => assert_eq!((*value, *n), (10.0, 200.0)),
        other => panic!("{other:?}"),
    }
    let seen = j.tracks[0].evidence.canary;
    assert_eq!((seen.bad, seen.total), (20.0, 200.0));
    // 10% errors: shown past the critical line at once, no `for`.
    let (level, reason) = j.verdict(0);
    assert_eq!(level, Level::Critical, "{reason}");
    assert!(
        reason.contains("10% (20 of 200) > 0.5% critical"),
        "{reason}"
    );
}

#[test]
fn a_p95_line_between_buckets_counts_the_whole_bucket_as_slower() {
    // No bound at 300 ms: the warning line falls inside (250, 350].
    let bounds = [0.1, 0.25, 0.35, 0.5, 1.0];
    let mut j = Judge::new();
    let (mut canary, mut stable) = (Counters::new(&bounds), Counters::new(&bounds));
    j.poll(&canary, &stable);
    let mut polls = 0;
    while !j.verdict(1).0.is_breach() {
        // 8% between 250 and 350 ms (some may be under 300), none over 350.
        canary.serve(500.0, 0.0, &[(0.3, 40.0)]);
        stable.serve(5000.0, 0.0, &[]);
        j.poll(&canary, &stable);
        polls += 1;
        assert!(polls < 30, "{:?}", j.verdict(1));
    }
    let (level, reason) = j.verdict(1);
    assert_eq!(level, Level::Warning, "{reason}");
    assert!(reason.starts_with("p95 over 300 ms: 8% of "), "{reason}");
    assert!(
        reason.contains("requests slower than 300 ms (limit 5%)"),
        "{reason}"
    );
    assert!(
        reason.contains(
            "no bucket at 300 ms: every request between 250 ms and 350 ms counted as slower"
        ),
        "{reason}"
    );
}

#[test]
fn a_p95_line_on_a_bound_is_counted_exactly_and_a_fast_canary_is_ok() {
    let mut j = Judge::new();
    let (mut canary, mut stable) = (Counters::new(&BOUNDS), Counters::new(&BOUNDS));
    j.poll(&canary, &stable);
    for _ in 0..20 {
        // 2% between 300 and 500 ms: under the 5% a p95 of 300 ms allows.
        canary.serve(500.0, 0.0, &[(0.4, 10.0)]);
        stable.serve(5000.0, 0.0, &[]);
        j.poll(&canary, &stable);
        assert!(!j.verdict(1).0.is_breach(), "{:?}", j.verdict(1));
    }
    let (level, reason) = j.verdict(1);
    assert_eq!(level, Level::Ok, "{reason}");
    assert!(
        reason.contains("0 of 10,000 slower than 500 ms"),
        "{reason}"
    );
}
