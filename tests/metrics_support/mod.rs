//! Shared by the metric-source tests: a real Prometheus on a free loopback
//! port (killed on Drop), fixture `/metrics` targets, and bounded waits.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cockpit::config::{self, Config};
use cockpit::httpd::{self, Response};

/// A server of the Prometheus HTTP API that scrapes the fixture targets
/// itself. The same test bodies run against each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Prometheus,
    /// VictoriaMetrics single-node, scraping with its `-promscrape.config`.
    VictoriaMetrics,
}

impl Backend {
    pub const ALL: [Backend; 2] = [Backend::Prometheus, Backend::VictoriaMetrics];

    /// The program and the Debian package that installs it.
    fn program(self) -> (&'static str, &'static str) {
        match self {
            Backend::Prometheus => ("prometheus", "prometheus"),
            Backend::VictoriaMetrics => ("victoria-metrics", "victoria-metrics"),
        }
    }

    /// The binary, or None after a loud SKIP line; under CI=true a missing
    /// binary fails the test instead.
    pub fn binary(self) -> Option<PathBuf> {
        let (program, package) = self.program();
        let found = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(program))
                .find(|p| p.is_file())
        });
        if found.is_none() {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!(
                    "{program} not installed, and CI=true: install Debian's `{package}` package"
                );
            }
            eprintln!("SKIP: {program} not installed (apt-get install {package})");
        }
        found
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A Prometheus (or another backend) scraping `targets` every second, with
/// its own storage.
pub struct Prometheus {
    pub backend: Backend,
    binary: PathBuf,
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
    /// Serving HTTPS with `tests/fixtures/tls`'s certificate.
    tls: bool,
}

/// The test CA's certificate; it signed the server certificate for
/// 127.0.0.1 beside it, and its key was thrown away.
pub fn test_ca() -> PathBuf {
    tls_fixture("ca.pem")
}

fn tls_fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

impl Prometheus {
    pub fn start(job: &str, targets: &[SocketAddr]) -> Option<Prometheus> {
        Prometheus::launch(Backend::Prometheus, job, targets, false)
    }

    /// `backend` scraping `targets`, or None (SKIP) when it is not installed.
    pub fn start_on(backend: Backend, job: &str, targets: &[SocketAddr]) -> Option<Prometheus> {
        Prometheus::launch(backend, job, targets, false)
    }

    /// The same, serving its API over HTTPS only.
    pub fn start_tls(job: &str, targets: &[SocketAddr]) -> Option<Prometheus> {
        Prometheus::launch(Backend::Prometheus, job, targets, true)
    }

    fn launch(
        backend: Backend,
        job: &str,
        targets: &[SocketAddr],
        tls: bool,
    ) -> Option<Prometheus> {
        let binary = backend.binary()?;
        let dir = tempfile::tempdir().expect("temp dir");
        let list: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
        let yaml = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: {job}\n    static_configs:\n      - targets: [{}]\n",
            list.join(", ")
        );
        std::fs::write(dir.path().join("prometheus.yml"), yaml).unwrap();
        let web = format!(
            "tls_server_config:\n  cert_file: {}\n  key_file: {}\n",
            tls_fixture("server.pem").display(),
            tls_fixture("server.key").display()
        );
        std::fs::write(dir.path().join("web.yml"), web).unwrap();
        let mut p = Prometheus {
            backend,
            binary,
            child: None,
            port: free_port(),
            dir,
            tls,
        };
        p.run();
        Some(p)
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// Starts (or restarts) the process on the same port and storage.
    pub fn run(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("prometheus.log")).unwrap();
        let mut command = Command::new(&self.binary);
        let (config, data) = (
            self.dir.path().join("prometheus.yml"),
            self.dir.path().join("data"),
        );
        if self.backend == Backend::VictoriaMetrics {
            let child = command
                .arg(format!("-promscrape.config={}", config.display()))
                .arg("-promscrape.config.strictParse=false")
                .arg(format!("-storageDataPath={}", data.display()))
                .arg(format!("-httpListenAddr=127.0.0.1:{}", self.port))
                // By default the newest 30 s are hidden from queries (and an
                // instant query at "now" is answered 30 s back); a second is
                // enough for samples scraped every second.
                .arg("-search.latencyOffset=1s")
                // A test's history is seconds old: never answer from the cache.
                .arg("-search.disableCache")
                .arg("-loggerLevel=WARN")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("victoria-metrics starts");
            self.child = Some(child);
            return;
        }
        if self.tls {
            command.arg(format!(
                "--web.config.file={}",
                self.dir.path().join("web.yml").display()
            ));
        }
        let child = command
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{}", self.port))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("prometheus starts");
        self.child = Some(child);
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// Runs an instant query; the vector's series as (labels, value).
    pub async fn query(
        &self,
        promql: &str,
    ) -> Vec<(serde_json::Map<String, serde_json::Value>, f64)> {
        let url = format!("{}/api/v1/query", self.url());
        let Ok(resp) = reqwest::Client::new()
            .get(&url)
            .query(&[("query", promql)])
            .send()
            .await
        else {
            return Vec::new();
        };
        let v: serde_json::Value = resp.json().await.unwrap_or_default();
        v["data"]["result"]
            .as_array()
            .map(|series| {
                series
                    .iter()
                    .map(|s| {
                        let value = s["value"][1]
                            .as_str()
                            .unwrap_or("NaN")
                            .parse()
                            .unwrap_or(f64::NAN);
                        (s["metric"].as_object().cloned().unwrap_or_default(), value)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The one value of `promql`, waiting (bounded) until there is one.
    pub async fn value(&self, promql: &str) -> f64 {
        for _ in 0..120 {
            if let [(_, v)] = self.query(promql).await.as_slice()
                && v.is_finite()
            {
                return *v;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("Prometheus never answered {promql}\nlog:\n{}", self.log());
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A `/metrics` target serving whatever page the test puts in it.
#[derive(Clone)]
pub struct Page(Arc<Mutex<Response>>);

impl Default for Page {
    fn default() -> Page {
        Page(Arc::new(Mutex::new(Response::text(200, ""))))
    }
}

impl Page {
    pub fn set(&self, status: u16, body: impl Into<Vec<u8>>) {
        *self.0.lock().unwrap() = Response::text(status, body);
    }

    /// Every request gets a `status` redirect to `location`.
    pub fn redirect(&self, status: u16, location: &str) {
        *self.0.lock().unwrap() = Response::redirect(status, location);
    }

    pub async fn serve(&self) -> (SocketAddr, tokio::task::JoinHandle<()>) {
        let page = self.clone();
        httpd::serve(0, move |_req| {
            let page = page.clone();
            async move { page.0.lock().unwrap().clone() }
        })
        .await
        .expect("fixture server binds")
    }
}

/// Deterministic shop traffic: every tick adds the same mix, so any two
/// scrapes, and any PromQL window, see the same ratios and quantiles.
pub struct Mix {
    pub version: &'static str,
    /// (route, code, requests per tick)
    pub requests: &'static [(&'static str, &'static str, u64)],
    /// (route, cumulative counts per tick for each bound in `BOUNDS`)
    pub latency: &'static [(&'static str, [u64; 7])],
}

pub const BOUNDS: [&str; 7] = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"];

/// 4% errors; p95 = 1.6 s (rank 95 of 100: 2 of the 5 in (1, 2.5]).
pub const CANARY: Mix = Mix {
    version: "2.0.0",
    requests: &[
        ("/cart", "200", 60),
        ("/cart", "500", 1),
        ("/pay", "200", 36),
        ("/pay", "503", 3),
    ],
    latency: &[
        ("/cart", [20, 40, 50, 55, 58, 60, 61]),
        ("/pay", [5, 10, 20, 30, 35, 38, 39]),
    ],
};

/// 1% errors; p95 = 375 ms (rank 95: 2 of the 4 in (0.25, 0.5]).
pub const BASELINE: Mix = Mix {
    version: "1.0.0",
    requests: &[
        ("/cart", "200", 70),
        ("/cart", "500", 0),
        ("/pay", "200", 29),
        ("/pay", "503", 1),
    ],
    latency: &[
        ("/cart", [50, 65, 68, 69, 70, 70, 70]),
        ("/pay", [10, 20, 25, 28, 29, 30, 30]),
    ],
};

impl Mix {
    /// The page after `ticks` ticks, in the prometheus-client shape the
    /// simulator serves (plus a `service` and `version` label).
    pub fn page(&self, ticks: u64) -> String {
        let v = self.version;
        let mut out = String::from(
            "# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\n",
        );
        for (route, code, n) in self.requests {
            out += &format!(
                "http_requests_total{{service=\"shop\",version=\"{v}\",route=\"{route}\",code=\"{code}\"}} {}\n",
                n * ticks
            );
        }
        out += "# TYPE http_request_duration_seconds histogram\n";
        for (route, counts) in self.latency {
            let labels = format!("service=\"shop\",version=\"{v}\",route=\"{route}\"");
            for (le, c) in BOUNDS.iter().zip(counts) {
                out += &format!(
                    "http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {}\n",
                    c * ticks
                );
            }
            out += &format!(
                "http_request_duration_seconds_sum{{{labels}}} {}\n",
                0.2 * (counts[6] * ticks) as f64
            );
            out += &format!(
                "http_request_duration_seconds_count{{{labels}}} {}\n",
                counts[6] * ticks
            );
        }
        out
    }

    /// Serves the page, ticking every 100 ms until the task is dropped.
    pub async fn serve(&'static self) -> (SocketAddr, Vec<tokio::task::JoinHandle<()>>) {
        let page = Page::default();
        page.set(200, self.page(0));
        let (addr, server) = page.serve().await;
        let ticker = tokio::spawn(async move {
            for tick in 1u64.. {
                tokio::time::sleep(Duration::from_millis(100)).await;
                page.set(200, self.page(tick));
            }
        });
        (addr, vec![server, ticker])
    }
}

/// Aborts fixture tasks when the test ends, even on panic.
pub struct Tasks(pub Vec<tokio::task::JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

pub const ROLLOUT: &str = r#"
[rollout]
name = "shop 2.0.0"
service = "shop"
old_version = "1.0.0"
new_version = "2.0.0"

[hooks]
undo = { exec = ["true"] }

[window]
enabled = false
"#;

/// A config of the base rollout plus `extra` (sources, metrics).
pub fn config(extra: &str) -> Config {
    let text = format!("{ROLLOUT}\n{extra}");
    config::parse(std::path::Path::new("test.toml"), &text).unwrap_or_else(|e| panic!("{}", e[0]))
}

pub fn close(actual: f64, expected: f64, tolerance: f64) -> bool {
    (actual - expected).abs() <= tolerance * expected.abs().max(1e-9)
}

/// A `[[metric]]` of kind custom reading `query` for both versions (its
/// lines are arbitrary: the tests that use it look at the query, not at
/// the judgement).
pub fn custom_metric(name: &str, query: &str) -> String {
    format!(
        "[[metric]]\nname = \"{name}\"\nkind = \"custom\"\nunit = \"jobs\"\n\
         direction = \"higher_is_worse\"\nwarning = 1\ncritical = 2\n\
         query = '{query}'\nbaseline_query = '{query}'\n"
    )
}
