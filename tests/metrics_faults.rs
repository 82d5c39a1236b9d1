//! Every way a source can fail becomes NO DATA with its reason, and the
//! source recovers when the target does. Fixture servers on loopback; no
//! Prometheus needed here (see metrics_prometheus.rs for the real one).

mod metrics_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cockpit::httpd::{self, Response};
use cockpit::metrics::{Batch, Sources};
use cockpit::rollout::{Group, Reading};
use metrics_support::{Page, Tasks, config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn reading(samples: &[(usize, Group, Reading)], metric: usize, group: Group) -> Reading {
    samples
        .iter()
        .find(|(m, g, _)| *m == metric && *g == group)
        .map(|(_, _, r)| r.clone())
        .unwrap_or_else(|| panic!("no reading for metric {metric} {group:?} in {samples:?}"))
}

fn reason(r: &Reading) -> String {
    match r {
        Reading::NoData { reason, .. } => reason.clone(),
        other => panic!("expected no data, got {other:?}"),
    }
}

fn value(r: &Reading) -> (f64, Option<f64>) {
    match r {
        Reading::Value {
            value, requests, ..
        } => (*value, *requests),
        other => panic!("expected a value, got {other:?}"),
    }
}

/// The prometheus-client shape the simulator serves: requests by code
/// and a latency histogram, at given totals.
fn page(ok: u64, errors: u64, buckets: [u64; 4]) -> String {
    let mut p = format!(
        "# TYPE http_requests_total counter\nhttp_requests_total{{code=\"200\"}} {ok}\nhttp_requests_total{{code=\"500\"}} {errors}\n"
    );
    p += "# TYPE http_request_duration_seconds histogram\n";
    for (le, n) in ["0.1", "0.25", "0.5", "+Inf"].iter().zip(buckets) {
        p += &format!("http_request_duration_seconds_bucket{{le=\"{le}\"}} {n}\n");
    }
    p
}

/// Default metrics (error_rate 0, latency_p95 1, success_rate 2) read
/// straight from one canary target. `extra` follows the `[scrape]` keys:
/// more of them, then any `[[metric]]` tables.
fn scrape_config(url: &str, extra: &str) -> cockpit::config::Config {
    config(&format!(
        "[scrape]\ncanary = [\"{url}\"]\ntimeout = \"1s\"\n{extra}"
    ))
}

/// A fixture target on loopback: its `/metrics` URL, and the task serving
/// it for as long as the returned `Tasks` lives.
async fn serving(target: &Page) -> (String, Tasks) {
    let (addr, server) = target.serve().await;
    (format!("http://{addr}/metrics"), Tasks(vec![server]))
}

#[tokio::test]
async fn scraped_rates_follow_counter_deltas_resets_and_recover_after_failures() {
    let target = Page::default();
    target.set(200, page(990, 10, [500, 900, 990, 1000]));
    let (url, _tasks) = serving(&target).await;
    let mut sources = Sources::from_config(&scrape_config(&url, "")).unwrap();

    let first = sources.poll().await;
    for m in 0..3 {
        assert_eq!(
            reason(&reading(&first, m, Group::Canary)),
            "waiting for a second scrape"
        );
    }

    // +100 requests, 3 of them errors; latency: 60 <= 0.1 s, 30 more <= 0.25, 10 more <= 0.5.
    target.set(200, page(1087, 13, [560, 990, 1090, 1100]));
    let s = sources.poll().await;
    assert_eq!(value(&reading(&s, 0, Group::Canary)), (3.0, Some(100.0)));
    assert_eq!(value(&reading(&s, 2, Group::Canary)), (97.0, Some(100.0)));
    // p95: rank 95 is 5 of the 10 in (0.25, 0.5] -> 0.375 s, shown in ms.
    let (p95, n) = value(&reading(&s, 1, Group::Canary));
    assert!((p95 - 375.0).abs() < 1e-9, "p95 {p95}");
    assert_eq!(n, Some(100.0));

    // The process restarted: counters start over. Like `rate`, the new
    // values count in full: 40 requests, 10 errors.
    target.set(200, page(30, 10, [40, 40, 40, 40]));
    let s = sources.poll().await;
    assert_eq!(value(&reading(&s, 0, Group::Canary)), (25.0, Some(40.0)));
    // All 40 in the first bucket: rank 38 of 40 -> 0.095 s.
    assert!((value(&reading(&s, 1, Group::Canary)).0 - 95.0).abs() < 1e-9);

    // The target fails: no data with the reason, for every metric.
    target.set(500, "oops");
    let s = sources.poll().await;
    for m in 0..3 {
        assert_eq!(
            reason(&reading(&s, m, Group::Canary)),
            format!("HTTP 500 from {url}")
        );
    }
    target.set(200, "<html><body>Bad gateway</body></html>");
    let why = reason(&reading(&sources.poll().await, 0, Group::Canary));
    assert!(
        why.starts_with(&format!(
            "cannot read {url}: line 1: expected a metric name"
        )),
        "{why}"
    );

    // Back up: the delta spans the gap from the last good scrape.
    target.set(200, page(120, 20, [140, 140, 140, 140]));
    let s = sources.poll().await;
    assert_eq!(value(&reading(&s, 0, Group::Canary)), (10.0, Some(100.0)));
}

/// A NaN bucket or an infinite counter is no data with its reason, and
/// the next good page reads as if the bad one had never been scraped.
#[tokio::test]
async fn a_nan_bucket_or_infinite_counter_is_no_data_and_the_next_page_recovers() {
    let target = Page::default();
    target.set(200, page(990, 10, [500, 900, 990, 1000]));
    let (url, _tasks) = serving(&target).await;
    let mut sources = Sources::from_config(&scrape_config(&url, "")).unwrap();
    sources.poll().await;
    // Every good page adds 200 requests, 6 errors, p95 375 ms.
    let good = |n: u64| {
        page(
            990 + 194 * n,
            10 + 6 * n,
            [500 + 60 * n, 900 + 180 * n, 990 + 200 * n, 1000 + 200 * n],
        )
    };
    let bad = [
        (
            good(2).replace("le=\"0.25\"} 1260", "le=\"0.25\"} NaN"),
            "http_request_duration_seconds_bucket{le=\"0.25\"} is NaN",
        ),
        (
            good(5).replace("code=\"200\"} 1960", "code=\"200\"} +Inf"),
            "http_requests_total{code=\"200\"} is +Inf",
        ),
    ];
    let mut n = 1;
    for (text, why) in bad {
        target.set(200, good(n));
        let s = sources.poll().await;
        assert_eq!(value(&reading(&s, 0, Group::Canary)), (3.0, Some(200.0)));
        target.set(200, text);
        let s = sources.poll().await;
        for m in 0..3 {
            assert_eq!(
                reason(&reading(&s, m, Group::Canary)),
                format!("cannot use {url}: {why}")
            );
        }
        target.set(200, good(n + 2));
        let s = sources.poll().await;
        assert_eq!(value(&reading(&s, 0, Group::Canary)), (3.0, Some(400.0)));
        let (p95, _) = value(&reading(&s, 1, Group::Canary));
        assert!((p95 - 375.0).abs() < 1e-9, "p95 {p95} after {why}");
        n += 3;
    }
}

/// A page that writes a series twice is read as Prometheus reads it: the
/// first copy only, never the sum of both.
#[tokio::test]
async fn a_series_written_twice_counts_once() {
    let target = Page::default();
    let twice = |ok, errors, buckets| {
        page(ok, errors, buckets) + &format!("http_requests_total{{code=\"500\"}} {errors}\n")
    };
    target.set(200, twice(990, 10, [500, 900, 990, 1000]));
    let (url, _tasks) = serving(&target).await;
    let mut sources = Sources::from_config(&scrape_config(&url, "")).unwrap();
    sources.poll().await;
    target.set(200, twice(1087, 13, [560, 990, 1090, 1100]));
    let s = sources.poll().await;
    assert_eq!(value(&reading(&s, 0, Group::Canary)), (3.0, Some(100.0)));
}

/// A p95 whose histogram family is written out is in ms like the default
/// one: a 375 ms p95 must not read as 0.375.
#[tokio::test]
async fn an_explicit_seconds_histogram_reads_in_milliseconds() {
    let target = Page::default();
    target.set(200, page(990, 10, [500, 900, 990, 1000]));
    let (url, _tasks) = serving(&target).await;
    let cfg = scrape_config(
        &url,
        "[[metric]]\nname = \"p95\"\nkind = \"latency_p95\"\n\
         scrape = { family = \"http_request_duration_seconds\" }\n",
    );
    let mut sources = Sources::from_config(&cfg).unwrap();
    sources.poll().await;
    target.set(200, page(1087, 13, [560, 990, 1090, 1100]));
    let (p95, _) = value(&reading(&sources.poll().await, 0, Group::Canary));
    assert!((p95 - 375.0).abs() < 1e-9, "p95 {p95}");
}

/// `window = "3s"` at `every = "1s"`: rates and evidence come from the
/// last three intervals, so a quiet canary gathers enough requests to be
/// judged, and a restart inside the window still counts as `increase`
/// counts it.
#[tokio::test]
async fn a_scrape_window_sums_several_intervals_across_a_restart() {
    let target = Page::default();
    let (url, _tasks) = serving(&target).await;
    let cfg = scrape_config(&url, "every = \"1s\"\nwindow = \"3s\"\n");
    let mut sources = Sources::from_config(&cfg).unwrap();
    // (ok, errors) totals at each scrape: +20 requests a scrape, one of
    // them an error; the process restarts before the fourth scrape.
    let totals = [(100, 0), (119, 1), (138, 2), (19, 1), (38, 2)];
    let mut got = Vec::new();
    for (ok, errors) in totals {
        target.set(200, page(ok, errors, [0, 0, 0, ok + errors]));
        got.push(reading(&sources.poll().await, 0, Group::Canary));
    }
    assert_eq!(reason(&got[0]), "waiting for a second scrape");
    assert_eq!(value(&got[1]), (5.0, Some(20.0)), "one interval so far");
    assert_eq!(value(&got[2]), (5.0, Some(40.0)));
    assert_eq!(value(&got[3]), (5.0, Some(60.0)), "the restart adds its 20");
    assert_eq!(
        value(&got[4]),
        (5.0, Some(60.0)),
        "the oldest interval left"
    );

    // The target goes down for a scrape: no data, and the window keeps its
    // last three good scrapes, so the next one spans the gap.
    target.set(503, "down");
    let down = reading(&sources.poll().await, 0, Group::Canary);
    assert_eq!(reason(&down), format!("HTTP 503 from {url}"));
    target.set(200, page(57, 3, [0, 0, 0, 60]));
    let back = reading(&sources.poll().await, 0, Group::Canary);
    assert_eq!(value(&back), (5.0, Some(60.0)), "back up");

    for _ in 0..3 {
        sources.poll().await;
    }
    assert_eq!(
        reason(&reading(&sources.poll().await, 0, Group::Canary)),
        "no requests in the last 3 scrape intervals"
    );
}

#[tokio::test]
async fn no_requests_and_missing_families_are_no_data() {
    let target = Page::default();
    target.set(200, page(10, 0, [10, 10, 10, 10]));
    let (url, _tasks) = serving(&target).await;
    let mut sources = Sources::from_config(&scrape_config(&url, "")).unwrap();
    sources.poll().await;
    let s = sources.poll().await;
    assert_eq!(
        reason(&reading(&s, 0, Group::Canary)),
        "no requests between the last two scrapes"
    );
    assert_eq!(
        reason(&reading(&s, 1, Group::Canary)),
        "no requests between the last two scrapes"
    );

    target.set(200, "other_metric 1\n");
    sources.poll().await;
    let s = sources.poll().await;
    assert_eq!(
        reason(&reading(&s, 0, Group::Canary)),
        "no http_requests_total series on the page"
    );
    assert_eq!(
        reason(&reading(&s, 1, Group::Canary)),
        "no http_request_duration_seconds_bucket series on the page"
    );
}

/// `db_errors` is a counter's increase per minute of the watched service's
/// clock. A drill's simulator at 10x counts ten times faster than real
/// time, so the same increase over the same real interval is a tenth as
/// many errors per (simulated) minute.
#[tokio::test]
async fn db_errors_is_an_increase_per_minute_of_the_watched_clock() {
    let target = Page::default();
    let (url, _tasks) = serving(&target).await;
    let config = scrape_config(
        &url,
        "[[metric]]\nname = \"db_errors\"\nkind = \"db_errors\"\n\
         scrape = { family = \"db_errors_total\" }\n",
    );
    let metric = config
        .metrics
        .iter()
        .position(|m| m.name == "db_errors")
        .unwrap();
    for speed in [1.0, 10.0] {
        target.set(200, "# TYPE db_errors_total counter\ndb_errors_total 100\n");
        let mut sources = Sources::from_config(&config).unwrap();
        sources.set_speed(speed);
        let began = std::time::Instant::now();
        sources.poll().await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        target.set(200, "# TYPE db_errors_total counter\ndb_errors_total 700\n");
        let s = sources.poll().await;
        // The two scrapes were at least 1 s and at most `spent` apart.
        let spent = began.elapsed().as_secs_f64();
        let (per_minute, _) = value(&reading(&s, metric, Group::Canary));
        let most = 600.0 * 60.0 / speed;
        assert!(
            (most / spent..=most).contains(&per_minute),
            "at {speed}x: {per_minute}/min, expected {:.0}..={most}",
            most / spent
        );
    }
}

#[tokio::test]
async fn a_huge_body_and_a_body_that_never_ends_are_no_data() {
    let huge = Page::default();
    huge.set(200, "x_total 1\n".repeat(1_100_000));
    let (huge_addr, server) = huge.serve().await;
    // A server that sends headers, then a line every 50 ms, forever.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endless_addr = listener.local_addr().unwrap();
    let endless = tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = sock.read(&mut request).await;
                let _ = sock
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n",
                    )
                    .await;
                for i in 0u64.. {
                    if sock
                        .write_all(format!("slow_total {i}\n").as_bytes())
                        .await
                        .is_err()
                    {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            });
        }
    });
    let _tasks = Tasks(vec![server, endless]);
    let cfg = config(&format!(
        "[scrape]\ncanary = [\"http://{huge_addr}/metrics\"]\nbaseline = [\"http://{endless_addr}/metrics\"]\ntimeout = \"1s\"\n"
    ));
    let mut sources = Sources::from_config(&cfg).unwrap();
    let s = sources.poll().await;
    assert_eq!(
        reason(&reading(&s, 0, Group::Canary)),
        format!("response from http://{huge_addr}/metrics is larger than 8 MiB")
    );
    assert_eq!(
        reason(&reading(&s, 0, Group::Baseline)),
        format!("timeout after 1s from http://{endless_addr}/metrics")
    );
}

#[tokio::test]
async fn a_target_that_is_down_names_the_url() {
    let port = metrics_support::free_port();
    let mut sources = Sources::from_config(&scrape_config(
        &format!("http://127.0.0.1:{port}/metrics"),
        "",
    ))
    .unwrap();
    let why = reason(&reading(&sources.poll().await, 0, Group::Canary));
    assert!(
        why.starts_with(&format!(
            "cannot connect to http://127.0.0.1:{port}/metrics"
        )),
        "{why}"
    );
}

/// A fake Prometheus API answering every query with the current canned body.
/// Status, body and delay in milliseconds.
type Answer = (u16, String, u64);

/// Answers every query with `answer`, except those holding the key of a
/// route (`increase%28` for the request counts, `last_over_time` for the
/// `up` check, `timestamp%28` for the sample age check).
struct FakeApi {
    answer: Arc<Mutex<Answer>>,
    routes: Arc<Mutex<Vec<(&'static str, Answer)>>>,
    seen: Arc<Mutex<Vec<cockpit::httpd::Request>>>,
}

impl FakeApi {
    async fn start() -> (FakeApi, std::net::SocketAddr, tokio::task::JoinHandle<()>) {
        let answer = Arc::new(Mutex::new((200, String::new(), 0)));
        let routes: Arc<Mutex<Vec<(&str, Answer)>>> = Arc::default();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (a, r, s) = (answer.clone(), routes.clone(), seen.clone());
        let (addr, task) = httpd::serve(0, move |req| {
            let (a, r, s) = (a.clone(), r.clone(), s.clone());
            async move {
                let routed = r
                    .lock()
                    .unwrap()
                    .iter()
                    .find(|(key, _)| req.path.contains(key))
                    .map(|(_, answer)| answer.clone());
                s.lock().unwrap().push(req);
                let (status, body, delay) = routed.unwrap_or_else(|| a.lock().unwrap().clone());
                tokio::time::sleep(Duration::from_millis(delay)).await;
                Response::json(status, body)
            }
        })
        .await
        .unwrap();
        (
            FakeApi {
                answer,
                routes,
                seen,
            },
            addr,
            task,
        )
    }

    /// Queries holding `key` get this answer from now on.
    fn route(&self, key: &'static str, answer: Answer) {
        let mut routes = self.routes.lock().unwrap();
        routes.retain(|(k, _)| *k != key);
        routes.push((key, answer));
    }

    fn answer(&self, status: u16, body: &str) {
        *self.answer.lock().unwrap() = (status, body.to_string(), 0);
    }
}

fn vector(value: &str) -> String {
    format!(
        r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[1700000000,"{value}"]}}]}}}}"#
    )
}

#[tokio::test]
async fn prometheus_api_failures_each_have_their_reason() {
    let (api, addr, task) = FakeApi::start().await;
    let _tasks = Tasks(vec![task]);
    let cfg = config(&format!(
        r#"[prometheus]
url = "http://{addr}/prefix/"
timeout = "1s"

[[metric]]
name = "errors"
kind = "error_rate"
query = "sum(rate(errors{{{{selector}}}}[{{rate_window}}]))"
"#
    ));
    let mut sources = Sources::from_config(&cfg).unwrap();
    let endpoint = format!("http://{addr}/prefix/api/v1/query");
    let cases: Vec<(u16, String, String)> = vec![
        (503, "upstream down".into(), format!("HTTP 503 from {endpoint}")),
        (200, "{not json".into(), format!("malformed JSON from {endpoint}: key must be a string at line 1 column 2")),
        (
            422,
            r#"{"status":"error","errorType":"execution","error":"query timed out"}"#.into(),
            format!("HTTP 422 from {endpoint}: execution: query timed out"),
        ),
        (
            200,
            r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#.into(),
            format!("Prometheus error from {endpoint}: bad_data: parse error"),
        ),
        (
            200,
            r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#.into(),
            "query returned no series".into(),
        ),
        (200, vector("NaN"), "query returned NaN".into()),
        (200, vector("+Inf"), "query returned +Inf".into()),
        (
            200,
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"1"},"value":[1,"1"]},{"metric":{"a":"2"},"value":[1,"2"]}]}}"#.into(),
            "query returned 2 series, expected one: aggregate it, e.g. sum(...)".into(),
        ),
    ];
    for (status, body, expected) in cases {
        api.answer(status, &body);
        let r = reading(&sources.poll().await, 0, Group::Canary);
        assert_eq!(reason(&r), expected, "for HTTP {status} {body}");
    }
    // Slower than the timeout.
    *api.answer.lock().unwrap() = (200, vector("1"), 3000);
    let r = reading(&sources.poll().await, 0, Group::Canary);
    assert_eq!(reason(&r), format!("timeout after 1s from {endpoint}"));

    // Recovers, shows warnings, and the templated query went out filled in.
    api.answer(
        200,
        &vector("0.25").replace(
            r#""status":"success","#,
            r#""status":"success","warnings":["partial response"],"#,
        ),
    );
    let r = reading(&sources.poll().await, 0, Group::Canary);
    assert_eq!(
        r,
        Reading::Value {
            value: 0.25,
            requests: None,
            histogram: None,
            raw: Default::default(),
            detail: Some("warning: partial response".into())
        }
    );
    let last = api
        .seen
        .lock()
        .unwrap()
        .iter()
        .rfind(|r| r.path.contains("errors%7B"))
        .unwrap()
        .clone();
    assert!(
        last.path.starts_with("/prefix/api/v1/query?query="),
        "{}",
        last.path
    );
    let query = last.path.split_once("query=").unwrap().1;
    assert!(
        query.contains("service%3D%22shop%22%2Cversion%3D%222.0.0%22"),
        "{query}"
    );
    assert!(query.contains("%5B1m%5D"), "{query}");
}

/// A probe that never answers and a Prometheus query that hangs are no
/// data at their timeout; every other metric keeps its own interval, and
/// each message is one metric's poll, canary and baseline together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_source_never_delays_the_other_metrics() {
    let target = Page::default();
    target.set(200, page(990, 10, [500, 900, 990, 1000]));
    let (target_addr, server) = target.serve().await;
    let (api, api_addr, api_task) = FakeApi::start().await;
    api.answer(200, &vector("1"));
    api.route("slow_total", (200, vector("1"), 60_000));
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent = listener.local_addr().unwrap();
    let hang = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    let _tasks = Tasks(vec![server, api_task, hang]);
    let custom = |name: &str, source: &str| {
        format!(
            "[[metric]]\nname = \"{name}\"\nkind = \"custom\"\nunit = \"n\"\n\
             direction = \"higher_is_worse\"\nwarning = 5\ncritical = 9\n{source}\n"
        )
    };
    let cfg = config(&format!(
        "[scrape]\ncanary = [\"http://{target_addr}/metrics\"]\nbaseline = [\"http://{target_addr}/metrics\"]\n\
         every = \"1s\"\ntimeout = \"3s\"\n\n\
         [prometheus]\nurl = \"http://{api_addr}\"\ntimeout = \"3s\"\n\n\
         [[metric]]\nname = \"errors\"\nkind = \"error_rate\"\n\
         scrape = {{ family = \"http_requests_total\", errors = {{ code = \"~5..\" }} }}\n\n\
         {}{}{}\
         [[metric]]\nname = \"ready\"\nkind = \"readiness\"\nprobe = \"http://{silent}/ready\"\n",
        custom("fast", "query = \"fast_total\""),
        custom("slow", "query = \"slow_total\""),
        custom(
            "twin",
            "query = \"twin_total\"\nbaseline_query = \"twin_total\""
        ),
    ));
    let names: Vec<&str> = cfg.metrics.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["errors", "fast", "slow", "twin", "ready"]);
    let sources = Sources::from_config(&cfg).unwrap();
    let started = std::time::Instant::now();
    let got: Arc<Mutex<Vec<(Duration, Batch)>>> = Arc::default();
    let record = got.clone();
    let deliver = move |batch, _warnings| {
        record.lock().unwrap().push((started.elapsed(), batch));
        true
    };
    let run = tokio::time::timeout(
        Duration::from_millis(6500),
        sources.run(Duration::from_secs(1), deliver),
    );
    assert!(run.await.is_err(), "runs until stopped");
    let got = got.lock().unwrap().clone();
    let arrivals = |metric: usize| -> Vec<(Duration, Batch)> {
        got.iter()
            .filter(|(_, b)| b[0].0 == metric)
            .cloned()
            .collect()
    };
    for (metric, groups) in [(0, 2), (1, 1), (3, 2)] {
        let seen = arrivals(metric);
        assert!(seen.len() >= 6, "metric {metric}: {} polls", seen.len());
        for (at, batch) in &seen {
            assert!(
                batch.iter().all(|(m, _, _)| *m == metric),
                "{batch:?} at {at:?}"
            );
            assert_eq!(batch.len(), groups, "metric {metric}: {batch:?}");
        }
        // On average within 10% of `every`, and no single poll held up
        // anywhere near the 3 s the hanging ones take (a shared machine
        // may stall one poll for a moment).
        let gaps: Vec<u128> = seen
            .windows(2)
            .map(|p| (p[1].0 - p[0].0).as_millis())
            .collect();
        let mean = gaps.iter().sum::<u128>() / gaps.len() as u128;
        assert!((900..=1100).contains(&mean), "metric {metric}: {gaps:?} ms");
        assert!(
            gaps.iter().all(|g| *g < 1500),
            "metric {metric}: {gaps:?} ms"
        );
    }
    for (metric, why) in [
        (
            2,
            format!("timeout after 3s from http://{api_addr}/api/v1/query"),
        ),
        (
            4,
            format!("no answer: timeout after 3s from http://{silent}/ready"),
        ),
    ] {
        let seen = arrivals(metric);
        assert!(!seen.is_empty(), "metric {metric} never reported");
        let (at, batch) = &seen[0];
        assert!(at.as_millis() >= 2900, "metric {metric} at {at:?}");
        match &batch[0].2 {
            Reading::NoData { reason, .. } => assert_eq!(reason, &why),
            Reading::Value { detail, .. } => {
                assert_eq!(detail.as_deref(), Some(why.as_str()), "metric {metric}")
            }
        }
    }
}

/// A fake API answering 0.1 to everything, and a templated error rate
/// read from it, 1 s timeout; the query endpoint's URL.
async fn templated_error_rate() -> (FakeApi, Sources, String, Tasks) {
    let (api, addr, task) = FakeApi::start().await;
    let cfg = config(&format!(
        "[prometheus]\nurl = \"http://{addr}\"\ntimeout = \"1s\"\n\n\
         [[metric]]\nname = \"errors\"\nkind = \"error_rate\"\ntemplate = \"prometheus-client\"\n"
    ));
    let sources = Sources::from_config(&cfg).unwrap();
    api.answer(200, &vector("0.1"));
    let endpoint = format!("http://{addr}/api/v1/query");
    (api, sources, endpoint, Tasks(vec![task]))
}

/// Without its request count a value cannot be judged against
/// `min_requests`: a failed count is no data, with the count's reason.
#[tokio::test]
async fn a_request_count_that_fails_is_no_data() {
    let (api, mut sources, endpoint, _tasks) = templated_error_rate().await;
    let no_series = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
    let cases = [
        (
            (500, "oops".to_string(), 0),
            format!("HTTP 500 from {endpoint}"),
        ),
        (
            (200, no_series.to_string(), 0),
            "query returned no series".into(),
        ),
        ((200, vector("NaN"), 0), "query returned NaN".into()),
        (
            (200, vector("1000"), 3000),
            format!("timeout after 1s from {endpoint}"),
        ),
    ];
    for (evidence, expected) in cases {
        api.route("increase%28", evidence);
        let r = reading(&sources.poll().await, 0, Group::Canary);
        assert_eq!(reason(&r), format!("request count: {expected}"));
    }
    api.route("increase%28", (200, vector("1000"), 0));
    let r = reading(&sources.poll().await, 0, Group::Canary);
    assert_eq!(value(&r), (0.1, Some(1000.0)));
}

/// A templated query reads the group's selector, so the group's `up` and
/// its newest sample's age are checked too: `rate` answers from old
/// samples for a whole window after a target stopped being scraped.
#[tokio::test]
async fn a_target_down_or_samples_too_old_are_no_data() {
    let (api, mut sources, endpoint, _tasks) = templated_error_rate().await;
    let up = |value: &str| {
        vector(value).replace(
            r#""metric":{}"#,
            r#""metric":{"job":"shop","instance":"10.0.0.7:9100"}"#,
        )
    };
    let no_series = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
    // `up` of that target over the rate window: 1, 1, then 0 from 1700000002.
    api.route(
        "up%7Bjob",
        (
            200,
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1700000000,"1"],[1700000001,"1"],[1700000002,"0"],[1700000003,"0"]]}]}}"#.into(),
            0,
        ),
    );
    let since = chrono::DateTime::from_timestamp(1_700_000_002, 0)
        .unwrap()
        .with_timezone(&chrono::Local)
        .format("%H:%M:%S");
    let cases = [
        (
            up("0"),
            vector("1"),
            format!("canary target 10.0.0.7:9100 down since {since} (up == 0)"),
        ),
        (
            up("1"),
            vector("45"),
            "newest canary sample 45s old (stale after 30s)".into(),
        ),
        (
            no_series.to_string(),
            no_series.to_string(),
            "no fresh canary sample: its series went stale (target gone?)".into(),
        ),
        (
            "oops".into(),
            vector("1"),
            format!("canary up check: HTTP 500 from {endpoint}"),
        ),
    ];
    for (up_answer, age, expected) in cases {
        let status = if up_answer == "oops" { 500 } else { 200 };
        api.route("last_over_time", (status, up_answer, 0));
        api.route("timestamp%28", (200, age, 0));
        let r = reading(&sources.poll().await, 0, Group::Canary);
        assert_eq!(reason(&r), expected);
    }
    api.route("last_over_time", (200, up("1"), 0));
    api.route("timestamp%28", (200, vector("2"), 0));
    let r = reading(&sources.poll().await, 0, Group::Canary);
    assert_eq!(value(&r).0, 0.1);
}

/// A value the metric cannot take is no data, never judged: the same
/// check for every source.
#[tokio::test]
async fn out_of_range_values_are_no_data() {
    let (api, addr, task) = FakeApi::start().await;
    let _tasks = Tasks(vec![task]);
    let metric = |name: &str, kind: &str| {
        format!("[[metric]]\nname = \"{name}\"\nkind = \"{kind}\"\nquery = \"q\"\n")
    };
    let cfg = config(&format!(
        "[prometheus]\nurl = \"http://{addr}\"\ntimeout = \"1s\"\n\n{}{}{}{}\
         unit = \"req/s\"\ndirection = \"higher_is_worse\"\nwarning = 1\ncritical = 2\n",
        metric("errors", "error_rate"),
        metric("success", "success_rate"),
        metric("p95", "latency_p95"),
        metric("delta", "custom"),
    ));
    let mut sources = Sources::from_config(&cfg).unwrap();
    api.answer(200, &vector("-0.1"));
    let s = sources.poll().await;
    assert_eq!(
        reason(&reading(&s, 0, Group::Canary)),
        "-0.1% is outside 0%-100%"
    );
    assert_eq!(
        reason(&reading(&s, 2, Group::Canary)),
        "-0.1 ms is below 0 ms"
    );
    assert_eq!(
        value(&reading(&s, 3, Group::Canary)).0,
        -0.1,
        "custom: any value"
    );

    api.answer(200, &vector("150"));
    let s = sources.poll().await;
    assert_eq!(
        reason(&reading(&s, 1, Group::Canary)),
        "150% is outside 0%-100%"
    );
    assert_eq!(value(&reading(&s, 2, Group::Canary)).0, 150.0);
}

#[tokio::test]
async fn credentials_come_from_the_environment_and_never_show() {
    let (api, addr, task) = FakeApi::start().await;
    let _tasks = Tasks(vec![task]);
    api.answer(503, "down");
    // SAFETY: set once by this test only, with names no other test reads.
    unsafe {
        std::env::set_var("METRICS_TEST_TOKEN", "s3cr3t-token");
        std::env::set_var("METRICS_TEST_TENANT", "team-a");
    }
    let cfg = config(&format!(
        r#"[prometheus]
url = "http://{addr}"
token_env = "METRICS_TEST_TOKEN"
headers = {{ "X-Scope-OrgID" = "env:METRICS_TEST_TENANT", "X-Extra" = "plain" }}
"#
    ));
    let mut sources = Sources::from_config(&cfg).unwrap();
    let samples = sources.poll().await;
    assert!(!samples.is_empty());
    for (_, _, r) in &samples {
        assert!(!format!("{r:?}").contains("s3cr3t"), "{r:?}");
    }
    let seen = api.seen.lock().unwrap().clone();
    // Default metrics through the prometheus-client template: value and request-count queries.
    assert!(seen.len() >= 6, "{} requests", seen.len());
    for req in &seen {
        assert_eq!(req.header("authorization"), Some("Bearer s3cr3t-token"));
        assert_eq!(req.header("x-scope-orgid"), Some("team-a"));
        assert_eq!(req.header("x-extra"), Some("plain"));
    }

    // Basic auth from `user:password` in the environment.
    // SAFETY: as above, a name only this test uses.
    unsafe { std::env::set_var("METRICS_TEST_BASIC", "user:pass") };
    let basic = config(&format!(
        "[prometheus]\nurl = \"http://{addr}\"\nbasic_auth_env = \"METRICS_TEST_BASIC\"\n"
    ));
    let before = api.seen.lock().unwrap().len();
    Sources::from_config(&basic).unwrap().poll().await;
    let seen = api.seen.lock().unwrap().clone();
    assert!(seen.len() > before);
    for req in &seen[before..] {
        assert_eq!(req.header("authorization"), Some("Basic dXNlcjpwYXNz"));
    }

    let missing = config(&format!(
        "[prometheus]\nurl = \"http://{addr}\"\nbasic_auth_env = \"METRICS_TEST_UNSET\"\n"
    ));
    let err = Sources::from_config(&missing)
        .err()
        .expect("a missing variable stops the start");
    assert_eq!(
        err,
        "[prometheus] basic_auth_env: environment variable METRICS_TEST_UNSET is not set; export it before starting"
    );
}

/// One readiness metric probing `url`, nothing scraped.
fn probe_config(url: &str) -> cockpit::config::Config {
    config(&format!(
        r#"[[metric]]
name = "ready"
kind = "readiness"
probe = "{url}"
"#
    ))
}

#[tokio::test]
async fn readiness_probe_reads_status_and_version() {
    let ready = Arc::new(Mutex::new((200u16, String::new())));
    let r2 = ready.clone();
    let (addr, task) = httpd::serve(0, move |_| {
        let r = r2.clone();
        async move {
            let (status, body) = r.lock().unwrap().clone();
            Response::json(status, body)
        }
    })
    .await
    .unwrap();
    let _tasks = Tasks(vec![task]);
    let cfg = probe_config(&format!("http://{addr}/ready"));
    let mut sources = Sources::from_config(&cfg).unwrap();
    *ready.lock().unwrap() = (
        200,
        r#"{"status":"healthy","version":"2.0.0","database":{"status":"connected","latency_ms":2},"uptime_seconds":3600}"#.into(),
    );
    let s = sources.poll().await;
    assert_eq!(
        reading(&s, 0, Group::Canary),
        Reading::Value {
            value: 1.0,
            requests: None,
            histogram: None,
            raw: Default::default(),
            detail: Some("version 2.0.0, database connected 2ms".into())
        }
    );
    *ready.lock().unwrap() = (
        503,
        r#"{"status":"unhealthy","version":"2.0.0","database":{"status":"disconnected"}}"#.into(),
    );
    let s = sources.poll().await;
    assert_eq!(
        reading(&s, 0, Group::Canary),
        Reading::Value {
            value: 0.0,
            requests: None,
            histogram: None,
            raw: Default::default(),
            detail: Some(format!(
                "version 2.0.0, HTTP 503 from http://{addr}/ready, database disconnected"
            ))
        }
    );
}

#[tokio::test]
async fn no_source_follows_a_redirect_to_another_origin() {
    // Where every redirect points: it must never be asked anything.
    let (elsewhere, other, task) = FakeApi::start().await;
    elsewhere.answer(200, &vector("0.5"));
    let redirecting = |status: u16, path: &str| {
        let page = Page::default();
        page.redirect(status, &format!("http://{other}{path}?tenant=x"));
        page
    };
    let (prom, t1) = redirecting(302, "/api/v1/query").serve().await;
    let (target, t2) = redirecting(307, "/metrics").serve().await;
    let (probe, t3) = redirecting(301, "/ready").serve().await;
    let _tasks = Tasks(vec![task, t1, t2, t3]);
    // SAFETY: a name only this test uses.
    unsafe { std::env::set_var("METRICS_TEST_REDIRECT_TENANT", "tenant-redirect-9") };
    let not_followed =
        |path: &str| format!("redirected to http://{other}{path}: not followed (another origin)");

    let cfg = config(&format!(
        r#"[prometheus]
url = "http://{prom}"
timeout = "1s"
headers = {{ "X-Scope-OrgID" = "env:METRICS_TEST_REDIRECT_TENANT" }}

[[metric]]
name = "errors"
kind = "error_rate"
query = "sum(rate(errors[1m]))"
"#
    ));
    let why = reason(&reading(
        &Sources::from_config(&cfg).unwrap().poll().await,
        0,
        Group::Canary,
    ));
    assert!(why.ends_with(&not_followed("/api/v1/query")), "{why}");

    let cfg = scrape_config(&format!("http://{target}/metrics"), "");
    let why = reason(&reading(
        &Sources::from_config(&cfg).unwrap().poll().await,
        0,
        Group::Canary,
    ));
    assert!(why.ends_with(&not_followed("/metrics")), "{why}");

    let cfg = probe_config(&format!("http://{probe}/ready"));
    let r = reading(
        &Sources::from_config(&cfg).unwrap().poll().await,
        0,
        Group::Canary,
    );
    let Reading::Value { value, detail, .. } = r else {
        panic!("a probe that does not answer is not ready: {r:?}");
    };
    assert_eq!(value, 0.0);
    let detail = detail.unwrap_or_default();
    assert!(detail.ends_with(&not_followed("/ready")), "{detail}");

    let asked = elsewhere.seen.lock().unwrap().clone();
    assert!(asked.is_empty(), "followed to another origin: {asked:?}");
}
