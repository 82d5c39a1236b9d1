//! The raw answer a reading keeps for the detail view, against the real
//! thing: a real Prometheus (Debian's `prometheus`) scraping the fixture
//! targets on loopback, and the same targets scraped directly. What the
//! reading keeps must be what was answered: the series Prometheus returns
//! for the query as sent, the family's lines the page holds.

mod metrics_support;

use std::net::SocketAddr;
use std::time::Duration;

use cockpit::metrics::Sources;
use cockpit::rollout::{Group, Reading};
use metrics_support::{BASELINE, CANARY, Prometheus, Tasks, config, custom_metric};

/// The canary's value and raw answer of metric 0, polling (bounded)
/// until there is one.
async fn canary_answer(sources: &mut Sources) -> (f64, String) {
    let mut last = Vec::new();
    for _ in 0..60 {
        last = sources.poll().await;
        let found = last.iter().find_map(|(m, g, r)| match r {
            Reading::Value { value, .. } if *m == 0 && *g == Group::Canary => {
                Some((*value, r.raw().map(str::to_string)))
            }
            _ => None,
        });
        if let Some((value, raw)) = found {
            return (value, raw.expect("a value without its raw answer"));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("no canary value: {last:?}");
}

/// The fixture targets, canary and baseline, served until dropped.
async fn targets() -> (SocketAddr, SocketAddr, Tasks) {
    let (canary, mut tasks) = CANARY.serve().await;
    let (baseline, more) = BASELINE.serve().await;
    tasks.extend(more);
    (canary, baseline, Tasks(tasks))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_raw_answer_holds_the_series_prometheus_returned() {
    let (canary, baseline, _tasks) = targets().await;
    let Some(prom) = Prometheus::start("shop", &[canary, baseline]) else {
        return;
    };
    let query = r#"sum by (version, job) (rate(http_requests_total{version="2.0.0"}[15s]))"#;
    prom.value(query).await;
    let cfg = config(&format!(
        "[prometheus]\nurl = \"{}\"\nevery = \"1s\"\n{}",
        prom.url(),
        custom_metric("requests per second", query)
    ));
    let mut sources = Sources::from_config(&cfg).unwrap();
    let (value, raw) = canary_answer(&mut sources).await;

    // The series as Prometheus labels it, asked again on its own.
    let series = prom.query(query).await;
    let [(labels, _)] = series.as_slice() else {
        panic!("expected one series: {series:?}");
    };
    assert_eq!(labels.len(), 2, "{labels:?}");
    for (k, v) in labels {
        let pair = format!("{k}={:?}", v.as_str().unwrap());
        assert!(raw.contains(&pair), "{pair} missing from {raw:?}");
    }
    // One series, one line: its labels, then the very value read.
    assert_eq!(raw.lines().count(), 1, "{raw:?}");
    let said = raw.rsplit_once(' ').expect("labels then value").1;
    assert_eq!(said.parse::<f64>().unwrap(), value, "{raw:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_raw_answer_of_a_scrape_is_the_family_lines_on_the_page() {
    let (canary, baseline, _tasks) = targets().await;
    let cfg = config(&format!(
        "[scrape]\ncanary = [\"http://{canary}/metrics\"]\nbaseline = [\"http://{baseline}/metrics\"]\n"
    ));
    let mut sources = Sources::from_config(&cfg).unwrap();
    // The error rate (metric 0) needs two scrapes; the second is polled
    // in `canary_answer`.
    sources.poll().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (_, raw) = canary_answer(&mut sources).await;
    let page = reqwest::get(format!("http://{canary}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = raw.lines().collect();
    assert!(!lines.is_empty() && lines.len() <= 6, "{raw}");
    for line in lines.iter().filter(|l| !l.ends_with(" more lines")) {
        assert!(line.starts_with("http_requests_total"), "{line}");
        // The same series on the page (its count moves on between reads).
        let series = line.rsplit_once(' ').unwrap().0;
        assert!(page.contains(series), "{series} not on the page:\n{page}");
    }
}
