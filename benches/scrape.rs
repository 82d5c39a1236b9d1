//! One direct-scrape poll (fetch + parse + compute of the default error
//! rate, p95 and success rate) of a ~1.3 MB, ~17k-line exposition, beside
//! a real Prometheus scraping the same target in the same run (its own
//! `scrape_duration_seconds`). Prints medians and their ratio.
//!
//!     cargo bench --bench scrape

#[path = "../tests/metrics_support/mod.rs"]
mod metrics_support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cockpit::httpd::{self, Response};
use cockpit::metrics::Sources;
use cockpit::metrics::exposition::{self, Wanted};
use cockpit::rollout::Reading;

const SERVICES: usize = 50;
const ROUTES: usize = 20;
const BOUNDS: [&str; 13] = [
    "0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "0.75", "1", "2.5", "5",
    "+Inf",
];
const POLLS: usize = 25;

/// The page after `tick` seconds of traffic: every series grows each tick.
fn page(tick: u64) -> String {
    let mut out = String::with_capacity(1_400_000);
    out += "# HELP http_requests_total Requests served.\n# TYPE http_requests_total counter\n";
    for s in 0..SERVICES {
        for r in 0..ROUTES {
            let base = (s * ROUTES + r) as u64;
            for (code, per_tick) in [("200", 97), ("500", 3)] {
                out += &format!(
                    "http_requests_total{{service=\"svc{s:02}\",route=\"/r{r:02}\",code=\"{code}\"}} {}\n",
                    base * 1000 + per_tick * tick
                );
            }
        }
    }
    out += "# HELP http_request_duration_seconds Request latency.\n# TYPE http_request_duration_seconds histogram\n";
    for s in 0..SERVICES {
        for r in 0..ROUTES {
            let labels = format!("service=\"svc{s:02}\",route=\"/r{r:02}\"");
            for (i, le) in BOUNDS.iter().enumerate() {
                let cumulative = (i as u64 + 1) * 7 * (tick + 1);
                out += &format!(
                    "http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {cumulative}\n"
                );
            }
            let count = BOUNDS.len() as u64 * 7 * (tick + 1);
            out += &format!(
                "http_request_duration_seconds_sum{{{labels}}} {}\n",
                count as f64 * 0.21
            );
            out += &format!("http_request_duration_seconds_count{{{labels}}} {count}\n");
        }
    }
    out
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    // `cargo test --benches` runs this with --bench absent; do the work only under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let sample = page(1);
    println!(
        "exposition: {:.2} MB, {} lines, {SERVICES} services x {ROUTES} routes",
        sample.len() as f64 / 1e6,
        sample.lines().count()
    );

    // Parse + record in the window alone, no HTTP: most of what one poll costs.
    let wanted = Wanted::families(["http_requests_total", "http_request_duration_seconds"]);
    let mut history = cockpit::metrics::window::History::new(1);
    let mut parse_ms = Vec::new();
    for _ in 0..POLLS {
        let t = Instant::now();
        let snapshot = exposition::parse(&sample, &wanted).unwrap();
        std::hint::black_box(history.record(&snapshot, Instant::now()));
        parse_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }

    // The target: a new page every second as counters grow, built off the
    // request path so neither scraper pays for building it.
    let current: Arc<Mutex<Arc<Vec<u8>>>> = Arc::new(Mutex::new(Arc::new(page(0).into_bytes())));
    let writer = current.clone();
    let ticker = tokio::spawn(async move {
        for tick in 1u64.. {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let next = tokio::task::spawn_blocking(move || page(tick).into_bytes())
                .await
                .unwrap();
            *writer.lock().unwrap() = Arc::new(next);
        }
    });
    let (addr, server) = httpd::serve(0, move |_| {
        let body = current.lock().unwrap().clone();
        async move { Response::text(200, body.as_ref().clone()) }
    })
    .await
    .unwrap();
    let _server = metrics_support::Tasks(vec![server, ticker]);
    let prometheus = metrics_support::Prometheus::start("bench", &[addr]);

    let config =
        metrics_support::config(&format!("[scrape]\ncanary = [\"http://{addr}/metrics\"]\n"));
    let mut sources = Sources::from_config(&config).unwrap();
    // The same target read over `window = "1m"`: 12 scrapes at the default 5s.
    let windowed = metrics_support::config(&format!(
        "[scrape]\ncanary = [\"http://{addr}/metrics\"]\nwindow = \"1m\"\n"
    ));
    let mut windowed = Sources::from_config(&windowed).unwrap();
    sources.poll().await;
    windowed.poll().await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (mut poll_ms, mut window_ms) = (Vec::new(), Vec::new());
    let mut complete = 0;
    for _ in 0..POLLS {
        // Longer than the page's 1 s tick, so every poll sees counters move.
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let t = Instant::now();
        let readings = sources.poll().await;
        poll_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        if readings
            .iter()
            .all(|(_, _, r)| matches!(r, Reading::Value { .. }))
        {
            complete += 1;
        }
        let t = Instant::now();
        windowed.poll().await;
        window_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    assert!(complete > 0, "no poll produced every value");
    let poll = median(poll_ms);
    // The first 12 windowed polls fill the window; judge the full ones.
    let window = median(window_ms.split_off(12.min(window_ms.len())));
    println!(
        "parse + window only:  median {:.2} ms over {POLLS} runs",
        median(parse_ms)
    );
    println!(
        "one poll (cockpit):   median {poll:.2} ms over {POLLS} polls, {complete} with every value (HTTP fetch + parse + error rate, p95, success rate)"
    );
    println!(
        "one poll, window 1m:  median {window:.2} ms once the window holds 12 scrapes ({:.2}x the one-interval poll)",
        window / poll
    );

    let Some(prom) = prometheus else {
        println!("prometheus scrape:    SKIP: prometheus not installed");
        return;
    };
    let scrapes = scrape_durations(&prom).await;
    if scrapes.is_empty() {
        println!(
            "prometheus scrape:    no scrape_duration_seconds samples\n{}",
            prom.log()
        );
        return;
    }
    let scrape = median(scrapes.clone()) * 1000.0;
    println!(
        "prometheus scrape:    median {scrape:.2} ms over {} scrapes (scrape_duration_seconds, same target, same run)",
        scrapes.len()
    );
    println!("ratio poll / scrape:  {:.2}", poll / scrape);
}

/// Every `scrape_duration_seconds` sample of the last 30 s, in seconds.
async fn scrape_durations(prom: &metrics_support::Prometheus) -> Vec<f64> {
    let url = format!("{}/api/v1/query", prom.url());
    let Ok(resp) = reqwest::Client::new()
        .get(&url)
        .query(&[("query", r#"scrape_duration_seconds{job="bench"}[30s]"#)])
        .send()
        .await
    else {
        return Vec::new();
    };
    let v: serde_json::Value = resp.json().await.unwrap_or_default();
    v["data"]["result"][0]["values"]
        .as_array()
        .map(|points| {
            points
                .iter()
                .filter_map(|p| p[1].as_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}
