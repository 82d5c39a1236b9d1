//! Batch drills: the calls of many seeded runs, for the scenarios whose
//! right call is a rate; and the batch's page path reads what a real scrape
//! of the same pages reads. The big numbers are `benches/drill_batch.rs`'s;
//! these counts prove the point in seconds.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cockpit::config::model::Judge;
use cockpit::httpd::{self, Response};
use cockpit::metrics::scrape::{ScrapeMetric, Scraper};
use cockpit::rollout::Reading;
use cockpit::sim::Scenario;
use cockpit::sim::batch::{self, Summary};
use cockpit::sim::model::{Model, Version};

const RUNS: usize = 60;

fn summary(name: &str, judge: Judge) -> Summary {
    let scenario = Scenario::load(name).unwrap();
    let rows = batch::batch(&[scenario], RUNS, 1, judge).unwrap();
    rows.into_iter().next().unwrap()
}

#[test]
fn healthy_canaries_are_not_rolled_back_and_never_advance_blind() {
    for name in [
        "healthy",
        "noisy-healthy",
        "plain-healthy",
        "flaky-dependency",
    ] {
        let s = summary(name, Judge::Evidence);
        assert_eq!(s.false_rollbacks, 0, "{name}: {s:?}");
        assert_eq!(s.blind_advances, 0, "{name}: {s:?}");
        // At 20 req/s at 5% a good release shows it is within 2x stable
        // in 4-10 minutes, longer after an unlucky run of errors: about
        // one plain-healthy run in twenty is still held after 30 minutes
        // (never rolled back), as the benchmark's 1,000 runs show.
        assert!(s.right >= RUNS * 17 / 20, "{name}: {s:?}");
    }
}

#[test]
fn two_percent_errors_at_five_percent_are_rolled_back_within_30s() {
    let s = summary("errors-at-five", Judge::Evidence);
    assert_eq!(s.right, RUNS, "{s:?}");
    assert!(s.detection(95.0).unwrap() <= 30_000, "{s:?}");
    // The same config judged by point values held for `for` is slower.
    let old = summary("errors-at-five", Judge::Thresholds);
    assert!(
        old.detection(50.0).unwrap() > s.detection(95.0).unwrap(),
        "{old:?}"
    );
}

#[test]
fn a_canary_four_times_worse_than_stable_is_not_promoted() {
    let s = summary("steady-4x", Judge::Evidence);
    assert_eq!(s.false_promotions, 0, "{s:?}");
    // Its rate estimate under the allowed one after ~3,000 requests used to
    // let a third of the runs past 5%; the bound on its errors lets a few,
    // and those are caught at 25% or 50%.
    assert!(s.false_advances <= RUNS / 10, "{s:?}");
    assert!(s.rolled_back >= RUNS * 9 / 10, "{s:?}");
    assert_eq!(s.blind_advances, 0, "{s:?}");
    // Judged by point values it is promoted every time: the ratio rule never
    // holds for `for` when errors come once a minute.
    let old = summary("steady-4x", Judge::Thresholds);
    assert!(old.false_promotions > RUNS / 2, "{old:?}");
}

/// The batch hands the simulator's counters to the scraper as samples; a
/// live drill fetches its page over HTTP and parses it. They read the same.
#[tokio::test]
async fn the_batch_path_reads_what_a_real_scrape_of_the_same_pages_reads() {
    let scenario = Scenario::load("errors-at-five").unwrap();
    let config = batch::config(&scenario, Judge::Evidence).unwrap();
    let page = Arc::new(Mutex::new(String::new()));
    let served = page.clone();
    let (addr, task) = httpd::serve(0, move |_| {
        let text = served.lock().unwrap().clone();
        async move { Response::text(200, text) }
    })
    .await
    .unwrap();
    let mut spec = config.scrape.clone().unwrap();
    spec.canary = vec![format!("http://{addr}/metrics")];
    spec.baseline = vec![];
    let metrics: Vec<(usize, ScrapeMetric)> = config
        .metrics
        .iter()
        .enumerate()
        .filter_map(|(i, m)| ScrapeMetric::from_spec(m).unwrap().map(|sm| (i, sm)))
        .collect();
    let mut live = Scraper::new(&spec, metrics.clone()).unwrap();
    let mut offline = Scraper::new(&spec, metrics).unwrap();
    let mut model = Model::new(scenario).with_step(1000);
    model.set_weight(5.0);
    let base = Instant::now();
    let mut compared = 0;
    for step in 1..=24u64 {
        model.advance_to(step * 5000);
        let text = model.exposition(Version::Canary);
        *page.lock().unwrap() = text.clone();
        let fetched = live.poll().await;
        let at = base + Duration::from_millis(step * 5000);
        let absorbed = offline.absorb_read(vec![Ok((model.page(Version::Canary), at))]);
        assert_eq!(fetched.len(), absorbed.len());
        for ((m, g, a), (_, _, b)) in fetched.iter().zip(&absorbed) {
            match (a, b) {
                (
                    Reading::Value {
                        value: x,
                        requests: rx,
                        ..
                    },
                    Reading::Value {
                        value: y,
                        requests: ry,
                        ..
                    },
                ) => {
                    // Ratios and counts do not depend on when the page was read.
                    assert_eq!(rx, ry, "metric {m} {g:?} at step {step}");
                    assert!((x - y).abs() <= 1e-9 * x.abs().max(1.0), "{x} vs {y}");
                    compared += 1;
                }
                (a, b) => assert_eq!(a, b, "metric {m} at step {step}"),
            }
        }
    }
    task.abort();
    assert!(compared >= 40, "only {compared} values compared");
}
