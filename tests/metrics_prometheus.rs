//! Against a real Prometheus (Debian's `prometheus`) on loopback: the API
//! source returns what PromQL computes, the direct scrape agrees with
//! Prometheus' own `rate` and `histogram_quantile` within 2%, our parser
//! reads the same series and values Prometheus stores, and a Prometheus
//! that stops and restarts is no data, then data again. One serves HTTPS
//! with a private CA (`tests/fixtures/tls`), read through `ca_file`.
//!
//! The API agreement, the NO DATA cases (the server down, a target it can
//! no longer scrape) and backfill run against each `Backend`: Prometheus
//! and a VictoriaMetrics single-node scraping the same fixtures.

mod metrics_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cockpit::metrics::Sources;
use cockpit::rollout::{Group, Reading};
use metrics_support::{BASELINE, Backend, CANARY, Prometheus, Tasks, close, config};

fn value_of(
    samples: &[(usize, Group, Reading)],
    metric: usize,
    group: Group,
) -> Option<(f64, Option<f64>)> {
    samples
        .iter()
        .find(|(m, g, _)| *m == metric && *g == group)
        .and_then(|(_, _, r)| match r {
            Reading::Value {
                value, requests, ..
            } => Some((*value, *requests)),
            Reading::NoData { .. } => None,
        })
}

/// Polls (bounded) until every default metric has a value for both groups.
async fn poll_until_complete(sources: &mut Sources) -> Vec<(usize, Group, Reading)> {
    let mut last = Vec::new();
    for _ in 0..60 {
        last = sources.poll().await;
        let complete = (0..3).all(|m| {
            value_of(&last, m, Group::Canary).is_some()
                && value_of(&last, m, Group::Baseline).is_some()
        });
        if complete {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("sources never produced every value: {last:?}");
}

/// Name, sorted labels, value as text (so NaN compares equal).
type Series = (String, Vec<(String, String)>, String);

const PROMQL_ERRORS: &str = r#"100 * sum(rate(http_requests_total{version="V",code=~"5.."}[15s])) / sum(rate(http_requests_total{version="V"}[15s]))"#;
const PROMQL_P95: &str = r#"1000 * histogram_quantile(0.95, sum(rate(http_request_duration_seconds_bucket{version="V"}[15s])) by (le))"#;

/// The share of requests slower than `line` ms the judge counts from a
/// reading's histogram buckets.
fn slow_share(samples: &[(usize, Group, Reading)], metric: usize, group: Group, line: f64) -> f64 {
    let found = samples.iter().find(|(m, g, _)| *m == metric && *g == group);
    let Some((
        _,
        _,
        Reading::Value {
            histogram: Some(h), ..
        },
    )) = found
    else {
        panic!("no histogram in {found:?}");
    };
    let slow = cockpit::rollout::counted::slower(h, line).expect("a +Inf bucket");
    slow.tally.bad / slow.tally.total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_and_direct_scrape_agree_with_promql() {
    api_and_direct_scrape_agree_with(Backend::Prometheus).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn victoria_metrics_api_and_direct_scrape_agree_with_its_promql() {
    api_and_direct_scrape_agree_with(Backend::VictoriaMetrics).await;
}

async fn api_and_direct_scrape_agree_with(backend: Backend) {
    let (canary, mut tasks) = CANARY.serve().await;
    let (baseline, more) = BASELINE.serve().await;
    tasks.extend(more);
    let _tasks = Tasks(tasks);
    let Some(prom) = Prometheus::start_on(backend, "shop", &[canary, baseline]) else {
        return;
    };
    // Wait for enough scrapes for a 15s rate to exist for both versions.
    for v in ["2.0.0", "1.0.0"] {
        prom.value(&PROMQL_P95.replace('V', v)).await;
    }

    // The API source, default metrics through the prometheus-client template.
    let api_cfg = config(&format!(
        "[prometheus]\nurl = \"{}\"\nrate_window = \"15s\"\nevery = \"1s\"\n",
        prom.url()
    ));
    let mut api = Sources::from_config(&api_cfg).unwrap();
    let got = poll_until_complete(&mut api).await;

    // The direct scrape of the same targets, two polls 2 s apart.
    let scrape_cfg = config(&format!(
        "[scrape]\ncanary = [\"http://{canary}/metrics\"]\nbaseline = [\"http://{baseline}/metrics\"]\n"
    ));
    let mut direct = Sources::from_config(&scrape_cfg).unwrap();
    direct.poll().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let scraped = direct.poll().await;

    for (group, v, errors, p95) in [
        (Group::Canary, "2.0.0", 4.0, 1600.0),
        (Group::Baseline, "1.0.0", 1.0, 375.0),
    ] {
        let promql_errors = prom.value(&PROMQL_ERRORS.replace('V', v)).await;
        let promql_p95 = prom.value(&PROMQL_P95.replace('V', v)).await;
        // The fixture's mix is fixed, so PromQL itself must land on it.
        assert!(
            close(promql_errors, errors, 0.02),
            "PromQL error rate {promql_errors} for {v}"
        );
        assert!(
            close(promql_p95, p95, 0.02),
            "PromQL p95 {promql_p95} for {v}"
        );

        let (api_err, api_requests) = value_of(&got, 0, group).unwrap();
        let (api_p95, _) = value_of(&got, 1, group).unwrap();
        let (api_success, _) = value_of(&got, 2, group).unwrap();
        assert!(
            close(api_err, promql_errors, 0.02),
            "API error rate {api_err} vs PromQL {promql_errors}"
        );
        assert!(
            close(api_p95, promql_p95, 0.02),
            "API p95 {api_p95} vs PromQL {promql_p95}"
        );
        assert!(
            close(api_success, 100.0 - promql_errors, 0.02),
            "API success {api_success}"
        );
        // 100 requests a tick, 10 ticks a second, over 15 s: well over min_requests.
        assert!(
            api_requests.is_some_and(|n| n > 1000.0),
            "API requests {api_requests:?}"
        );

        let (err, requests) = value_of(&scraped, 0, group).expect("scraped error rate");
        let (p95_direct, _) = value_of(&scraped, 1, group).expect("scraped p95");
        assert!(
            close(err, promql_errors, 0.02),
            "scraped error rate {err} vs PromQL {promql_errors}"
        );
        assert!(
            close(p95_direct, promql_p95, 0.02),
            "scraped p95 {p95_direct} vs PromQL {promql_p95}"
        );
        assert!(
            requests.is_some_and(|n| n >= 1000.0),
            "scraped requests {requests:?}"
        );
        // The judge counts requests slower than the 500 ms line from the
        // buckets: through the API's `sum by (le)` and the page alike.
        let (api_slow, page_slow) = (
            slow_share(&got, 1, group, 500.0),
            slow_share(&scraped, 1, group, 500.0),
        );
        assert!(
            (api_slow - page_slow).abs() < 0.02,
            "slower than 500 ms: API {api_slow}, page {page_slow}"
        );
        // A p95 past the line has more than 5% slower than it, one under it less.
        assert_eq!(api_slow > 0.05, p95 > 500.0, "API {api_slow} at p95 {p95}");
    }

    // Backfill: the canary's recent history, from query_range.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let history = api.backfill(now).await;
    let errors = history
        .iter()
        .find(|(m, _)| *m == 0)
        .map(|(_, p)| p)
        .expect("error rate history");
    assert!(errors.len() >= 2, "{errors:?}");
    assert!(
        errors
            .iter()
            .all(|(t, v)| *t <= now && close(*v, 4.0, 0.02)),
        "{errors:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_parser_reads_the_series_and_values_prometheus_stores() {
    let page = metrics_support::Page::default();
    let (addr, server) = page.serve().await;
    let ticker = {
        let page = page.clone();
        tokio::spawn(async move {
            loop {
                // The explicit timestamp must be recent, or the TSDB refuses it.
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_millis();
                let text = include_str!("fixtures/metrics/tricky.prom")
                    .replace("TIMESTAMP", &(now - 500).to_string());
                page.set(200, text);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let _tasks = Tasks(vec![server, ticker]);
    let Some(prom) = Prometheus::start("tricky", &[addr]) else {
        return;
    };
    prom.value(r#"up{job="tricky"}"#).await;
    let mut stored = Vec::new();
    for _ in 0..40 {
        stored = prom.query(r#"{job="tricky"}"#).await;
        if stored.len() > 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let internal = [
        "up",
        "scrape_duration_seconds",
        "scrape_samples_scraped",
        "scrape_samples_post_metric_relabeling",
        "scrape_series_added",
    ];
    let mut theirs: Vec<Series> = stored
        .into_iter()
        .filter_map(|(labels, v)| {
            let name = labels.get("__name__")?.as_str()?.to_string();
            if internal.contains(&name.as_str()) {
                return None;
            }
            let mut l: Vec<(String, String)> = labels
                .iter()
                .filter(|(k, _)| !["__name__", "job", "instance"].contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect();
            l.sort();
            Some((name, l, format!("{v}")))
        })
        .collect();
    theirs.sort();

    let page = include_str!("fixtures/metrics/tricky.prom").replace("TIMESTAMP", "1");
    let ours =
        cockpit::metrics::exposition::parse(&page, &cockpit::metrics::exposition::Wanted::all())
            .unwrap();
    let mut mine: Vec<Series> = ours
        .samples
        .into_iter()
        .map(|s| {
            let mut l: Vec<(String, String)> = s
                .labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            l.sort();
            (s.name.to_string(), l, format!("{}", s.value))
        })
        .collect();
    mine.sort();
    assert_eq!(
        mine,
        theirs,
        "our parse (left) vs what Prometheus stored (right)\nlog:\n{}",
        prom.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_down_is_no_data_and_recovers_after_restart() {
    server_down_is_no_data_and_recovers_after_restart(Backend::Prometheus).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn victoria_metrics_down_is_no_data_and_recovers_after_restart() {
    server_down_is_no_data_and_recovers_after_restart(Backend::VictoriaMetrics).await;
}

async fn server_down_is_no_data_and_recovers_after_restart(backend: Backend) {
    let (canary, tasks) = CANARY.serve().await;
    let _tasks = Tasks(tasks);
    let Some(mut prom) = Prometheus::start_on(backend, "shop", &[canary]) else {
        return;
    };
    let (mut sources, up) = canary_error_rate_from(&prom).await;
    // No baseline series exist: that group is no data, not 0%.
    assert!(value_of(&up, 0, Group::Baseline).is_none(), "{up:?}");

    prom.stop();
    // The first poll may meet a pooled connection Prometheus closed as it
    // died; from then on nothing listens. Both are no data naming the URL.
    for attempt in 0..2 {
        let down = sources.poll().await;
        let reason = match &down
            .iter()
            .find(|(m, g, _)| *m == 0 && *g == Group::Canary)
            .unwrap()
            .2
        {
            Reading::NoData { reason, .. } => reason.clone(),
            other => panic!("expected no data while Prometheus is down, got {other:?}"),
        };
        assert!(
            reason.contains(&format!("{}/api/v1/query", prom.url())),
            "{reason}"
        );
        if attempt == 1 {
            assert!(reason.starts_with("cannot connect to"), "{reason}");
        }
    }

    prom.run();
    canary_errors_read_again(&mut sources, "the source recovers once Prometheus is back").await;
}

/// The templated error rate read from `prom` once PromQL has a rate
/// (15 s window), and its first poll, where the canary reads the 4%.
async fn canary_error_rate_from(prom: &Prometheus) -> (Sources, Vec<(usize, Group, Reading)>) {
    prom.value(&PROMQL_ERRORS.replace('V', "2.0.0")).await;
    let cfg = config(&format!(
        "[prometheus]\nurl = \"{}\"\nrate_window = \"15s\"\ntimeout = \"2s\"\n\n\
         [[metric]]\nname = \"error_rate\"\nkind = \"error_rate\"\ntemplate = \"prometheus-client\"\n",
        prom.url()
    ));
    let mut sources = Sources::from_config(&cfg).unwrap();
    let first = sources.poll().await;
    assert!(
        close(value_of(&first, 0, Group::Canary).unwrap().0, 4.0, 0.02),
        "{first:?}"
    );
    (sources, first)
}

/// Polls (bounded) until the canary's error rate has a value: the
/// fixture's 4%.
async fn canary_errors_read_again(sources: &mut Sources, why: &str) {
    for _ in 0..120 {
        if let Some((v, _)) = value_of(&sources.poll().await, 0, Group::Canary) {
            assert!(close(v, 4.0, 0.02), "{v}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("no value: {why}");
}

/// A canary target that stops answering: Prometheus' `rate` keeps
/// answering from the samples still in its window, but the API source
/// checks `up` and reads no data naming the target; back up, values again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_target_prometheus_cannot_scrape_is_no_data() {
    a_canary_target_the_server_cannot_scrape_is_no_data(Backend::Prometheus).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_target_victoria_metrics_cannot_scrape_is_no_data() {
    a_canary_target_the_server_cannot_scrape_is_no_data(Backend::VictoriaMetrics).await;
}

async fn a_canary_target_the_server_cannot_scrape_is_no_data(backend: Backend) {
    let page = metrics_support::Page::default();
    page.set(200, CANARY.page(0));
    let (addr, server) = page.serve().await;
    let down = Arc::new(AtomicBool::new(false));
    let ticker = {
        let (page, down) = (page.clone(), down.clone());
        tokio::spawn(async move {
            for tick in 1u64.. {
                if down.load(Ordering::SeqCst) {
                    page.set(503, "down for maintenance");
                } else {
                    page.set(200, CANARY.page(tick));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let _tasks = Tasks(vec![server, ticker]);
    let Some(prom) = Prometheus::start_on(backend, "shop", &[addr]) else {
        return;
    };
    let errors = PROMQL_ERRORS.replace('V', "2.0.0");
    let (mut sources, _) = canary_error_rate_from(&prom).await;

    down.store(true, Ordering::SeqCst);
    prom.value(r#"up{job="shop"} == 0"#).await;
    assert!(
        !prom.query(&errors).await.is_empty(),
        "rate still answers from old samples: the case this test is about"
    );
    let samples = sources.poll().await;
    let reason = match &samples[0].2 {
        Reading::NoData { reason, .. } => reason.clone(),
        other => panic!("a canary Prometheus cannot scrape read {other:?}"),
    };
    let (said, when) = (format!("canary target {addr} down since "), " (up == 0)");
    assert!(
        reason.starts_with(&said) && reason.ends_with(when),
        "{reason}"
    );

    down.store(false, Ordering::SeqCst);
    canary_errors_read_again(&mut sources, "the target answers again").await;
}

/// A Prometheus behind TLS with a private CA: with `ca_file` the cockpit
/// reads it; without, the unknown issuer is no data naming the URL, never
/// a value and never a crash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prometheus_behind_tls_is_read_only_with_its_ca_file() {
    let Some(prom) = Prometheus::start_tls("none", &[]) else {
        return;
    };
    let with_ca = |ca: &str| {
        config(&format!(
            "[prometheus]\nurl = \"{}\"\ntimeout = \"2s\"\n{ca}\n\
             [[metric]]\nname = \"answer\"\nkind = \"custom\"\nunit = \"things\"\ndirection = \"higher_is_worse\"\nwarning = 100\ncritical = 200\nquery = \"vector(42)\"\n",
            prom.url()
        ))
    };
    let trusted = with_ca(&format!(
        "ca_file = \"{}\"\n",
        metrics_support::test_ca().display()
    ));
    let metric = trusted
        .metrics
        .iter()
        .position(|m| m.name == "answer")
        .unwrap();
    let mut sources = Sources::from_config(&trusted).unwrap();
    let mut last = Vec::new();
    for _ in 0..60 {
        last = sources.poll().await;
        if value_of(&last, metric, Group::Canary).is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        value_of(&last, metric, Group::Canary).map(|(v, _)| v),
        Some(42.0),
        "{last:?}\nlog:\n{}",
        prom.log()
    );

    let mut untrusted = Sources::from_config(&with_ca("")).unwrap();
    let samples = untrusted.poll().await;
    let reason = samples
        .iter()
        .find(|(m, g, _)| *m == metric && *g == Group::Canary)
        .map(|(_, _, r)| match r {
            Reading::NoData { reason, .. } => reason.clone(),
            other => panic!("an unverified server gave {other:?}"),
        })
        .unwrap();
    assert!(
        reason.contains(&prom.url()) && reason.contains("certificate"),
        "{reason}"
    );
}
