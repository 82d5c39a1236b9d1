//! A real Prometheus scrapes `cockpit simulate`, and what its PromQL says
//! about error rate and p95 is what the scenario sets: the simulator's
//! `/metrics` is a faithful prometheus-client exposition, counters and
//! histogram buckets included, so a team can point their own Prometheus
//! (or a second cockpit) at a drill.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cockpit::sim::Scenario;

const PROMETHEUS: &str = "/usr/bin/prometheus";

/// Kills the child it holds when the test ends, pass or fail.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `cockpit simulate` and reads the addresses it prints.
fn simulate(scenario: &str) -> (Reaped, String, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cockpit"))
        .args(["simulate", "--scenario", scenario, "--speed", "20"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = Reaped(child);
    let mut found = std::collections::HashMap::new();
    for line in BufReader::new(stdout).lines().take(4) {
        let line = line.unwrap();
        let mut words = line.split_whitespace();
        if let (Some(role), Some(url)) = (words.next(), words.next()) {
            found.insert(role.to_string(), url.to_string());
        }
    }
    let host = |role: &str| found[role].trim_start_matches("http://").to_string();
    let control = found["control"].clone();
    (child, host("stable"), host("canary"), control)
}

/// The test's HTTP client: async reqwest on a small runtime of its own.
struct Http {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Http {
    fn new() -> Http {
        Http {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap(),
        }
    }

    fn post(&self, url: &str, body: &str) -> u16 {
        let request = self.client.post(url).body(body.to_string());
        self.rt
            .block_on(async { request.send().await })
            .unwrap()
            .status()
            .as_u16()
    }

    fn get_json(&self, url: &str, query: &[(&str, &str)]) -> Option<serde_json::Value> {
        let request = self.client.get(url).query(query);
        self.rt
            .block_on(async { request.send().await.ok()?.json().await.ok() })
    }
}

fn query(http: &Http, port: u16, promql: &str) -> Option<f64> {
    let url = format!("http://127.0.0.1:{port}/api/v1/query");
    let body = http.get_json(&url, &[("query", promql)])?;
    body["data"]["result"][0]["value"][1]
        .as_str()?
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
}

fn close(what: &str, got: f64, want: f64, tolerance: f64) {
    assert!(
        (got - want).abs() <= tolerance,
        "{what}: Prometheus reads {got}, the scenario sets {want} (tolerance {tolerance})"
    );
}

#[test]
fn prometheus_reads_the_error_rate_and_p95_the_scenario_sets() {
    if !std::path::Path::new(PROMETHEUS).exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "prometheus is not installed, and CI=true"
        );
        eprintln!("SKIP: prometheus not installed ({PROMETHEUS})");
        return;
    }
    let scenario = Scenario::load("fails-under-load").unwrap();
    let fault = &scenario.faults[0];
    let (_sim, stable, canary, control) = simulate("fails-under-load");
    let http = Http::new();
    // Half the traffic on the canary: the scenario's overload fault is on.
    assert_eq!(http.post(&control, "50"), 200);

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: sim\n    static_configs:\n      - targets: ['{stable}', '{canary}']\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let _prometheus = Reaped(
        Command::new(PROMETHEUS)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    let error_rate = |v: &str| {
        format!(
            "100 * sum(rate(http_requests_total{{version=\"{v}\",code=~\"5..\"}}[10s])) / sum(rate(http_requests_total{{version=\"{v}\"}}[10s]))"
        )
    };
    let p95 = |v: &str| {
        format!(
            "1000 * histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{{version=\"{v}\"}}[10s])))"
        )
    };
    // Bounded: Prometheus needs a few scrapes; give up after a minute.
    let begun = Instant::now();
    let mut readings = None;
    while begun.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_secs(1));
        let got: Vec<Option<f64>> = [
            error_rate("2.0.0"),
            p95("2.0.0"),
            error_rate("1.9.3"),
            p95("1.9.3"),
        ]
        .iter()
        .map(|q| query(&http, port, q))
        .collect();
        // Once the 10s window holds only traffic after the weight moved.
        if got.iter().all(Option::is_some) && begun.elapsed() > Duration::from_secs(14) {
            readings = Some(got.into_iter().map(Option::unwrap).collect::<Vec<_>>());
            break;
        }
    }
    let r = readings.expect("Prometheus returned no values within a minute");
    eprintln!(
        "Prometheus: canary {:.3}% p95 {:.0} ms; stable {:.4}% p95 {:.0} ms",
        r[0], r[1], r[2], r[3]
    );
    let want_err = fault.error_rate.unwrap();
    let want_p95 = fault.p95_ms.unwrap();
    close("canary error rate %", r[0], want_err, want_err * 0.1);
    close("canary p95 ms", r[1], want_p95, want_p95 * 0.1);
    let t = &scenario.traffic;
    close("stable error rate %", r[2], t.error_rate, 0.01);
    close("stable p95 ms", r[3], t.p95_ms, t.p95_ms * 0.1);
}
