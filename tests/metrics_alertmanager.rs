//! Alertmanager as a metric source, against a real Alertmanager (Debian's
//! `prometheus-alertmanager`) on loopback: firing alerts are counted and
//! named, silenced ones are not, a stopped Alertmanager is NO DATA; and a
//! headless rollout rolls back the moment an alert fires for the canary,
//! its reason naming the alert, while PagerDuty (a loopback stand-in that
//! checks the Events API v2 schema) gets a trigger and then a resolve.

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cockpit::config;
use cockpit::metrics::Sources;
use cockpit::rollout::{Group, Reading};
use serde_json::{Value, json};

/// The binary, or None after a loud SKIP; under CI=true a missing binary fails.
fn alertmanager_binary() -> Option<PathBuf> {
    let found = ["/usr/bin/prometheus-alertmanager", "/usr/bin/alertmanager"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "prometheus-alertmanager not installed, and CI=true: install Debian's `prometheus-alertmanager`"
        );
        eprintln!(
            "SKIP: prometheus-alertmanager not installed (apt-get install prometheus-alertmanager)"
        );
    }
    found
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// An Alertmanager with its own config and storage, no clustering; killed
/// (by its pid, it is our child) on drop.
struct Alertmanager {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    http: reqwest::Client,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Alertmanager {
    async fn start() -> Option<Alertmanager> {
        let binary = alertmanager_binary()?;
        let dir = tempfile::tempdir().unwrap();
        // A maintenance alert inhibits the scanner's alerts.
        let yaml = "route:\n  receiver: nobody\nreceivers:\n  - name: nobody\n\
                    inhibit_rules:\n  - source_matchers: ['alertname=\"Maintenance\"']\n    \
                    target_matchers: ['alertname=\"InhibitedScan\"']\n";
        std::fs::write(dir.path().join("alertmanager.yml"), yaml).unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("alertmanager.log")).unwrap();
        let child = Command::new(binary)
            .arg(format!(
                "--config.file={}",
                dir.path().join("alertmanager.yml").display()
            ))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("alertmanager starts");
        let am = Alertmanager {
            child: Some(child),
            port,
            dir,
            http: reqwest::Client::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = am.http.get(format!("{}/-/ready", am.url())).send().await;
            if matches!(ready, Ok(r) if r.status().is_success()) {
                return Some(am);
            }
            assert!(Instant::now() < deadline, "not ready: {}", am.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("alertmanager.log")).unwrap_or_default()
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    async fn post(&self, path: &str, body: Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.url()))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
    }

    /// Fires an alert through the API, as Prometheus would.
    async fn fire(&self, name: &str, summary: &str, labels: &[(&str, &str)]) {
        let mut l = serde_json::Map::new();
        l.insert("alertname".into(), name.into());
        for (k, v) in labels {
            l.insert(k.to_string(), (*v).into());
        }
        let alert = json!([{
            "labels": l,
            "annotations": { "summary": summary },
            "startsAt": chrono::Utc::now().to_rfc3339(),
        }]);
        self.post("/api/v2/alerts", alert).await;
    }

    /// How Alertmanager itself sees an alert: `active` or `suppressed`
    /// (silenced or inhibited); None while it does not have it.
    async fn state(&self, name: &str) -> Option<String> {
        let url = format!("{}/api/v2/alerts", self.url());
        let filter = format!("alertname=\"{name}\"");
        let resp = self
            .http
            .get(url)
            .query(&[("filter", filter)])
            .send()
            .await
            .ok()?;
        let alerts: Value = resp.json().await.ok()?;
        alerts[0]["status"]["state"].as_str().map(str::to_string)
    }

    /// Silences every alert with this alertname for an hour.
    async fn silence(&self, name: &str) {
        let now = chrono::Utc::now();
        let silence = json!({
            "matchers": [{ "name": "alertname", "value": name, "isRegex": false, "isEqual": true }],
            "startsAt": now.to_rfc3339(),
            "endsAt": (now + chrono::Duration::hours(1)).to_rfc3339(),
            "createdBy": "cockpit tests",
            "comment": "known, being fixed",
        });
        self.post("/api/v2/silences", silence).await;
    }
}

/// Every config here rolls out the same service.
const ROLLOUT: &str = r#"
[rollout]
name = "checkout 2.0"
service = "checkout"
old_version = "1.9"
new_version = "2.0"
"#;

const CANARY: &[(&str, &str)] = &[("service", "checkout"), ("version", "2.0")];
const BASELINE: &[(&str, &str)] = &[("service", "checkout"), ("version", "1.9")];

fn sources(am_url: &str) -> Sources {
    sources_with(am_url, "")
}

/// `auth` goes into the [alertmanager] table.
fn sources_with(am_url: &str, auth: &str) -> Sources {
    let text = format!(
        r#"{ROLLOUT}
[hooks]
undo = {{ exec = ["true"] }}
[alertmanager]
url = "{am_url}"
timeout = "2s"
{auth}
[[metric]]
name = "security"
kind = "security_alerts"
alerts = {{ canary = {{ service = "checkout", version = "2.0" }}, baseline = {{ service = "checkout", version = "~1\\..*" }} }}
"#
    );
    let (cfg, problems) =
        config::resolve_text(Path::new("alertmanager.toml"), &text).expect("config parses");
    assert!(problems.is_empty(), "{problems:?}");
    Sources::from_config(&cfg).unwrap()
}

fn reading(polled: &[(usize, Group, Reading)], group: Group) -> Reading {
    polled
        .iter()
        .find(|(_, g, _)| *g == group)
        .map(|(_, _, r)| r.clone())
        .expect("a reading for the group")
}

/// Polls until the canary reads `want` (Alertmanager takes a moment to
/// process what it was sent); the last poll.
async fn poll_until(s: &mut Sources, want: f64) -> Vec<(usize, Group, Reading)> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let polled = s.poll().await;
        let hit = matches!(reading(&polled, Group::Canary), Reading::Value { value, .. } if value == want);
        if hit || Instant::now() > deadline {
            return polled;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn firing_alerts_are_counted_and_named_and_silenced_ones_are_not() {
    let Some(mut am) = Alertmanager::start().await else {
        return;
    };
    let mut s = sources(&am.url());
    let quiet = s.poll().await;
    assert!(
        matches!(reading(&quiet, Group::Canary), Reading::Value { value, .. } if value == 0.0),
        "{quiet:?}"
    );

    am.silence("KnownScanFinding").await;
    am.fire("KnownScanFinding", "old finding, silenced", CANARY)
        .await;
    am.fire(
        "Maintenance",
        "database upgrade",
        &[("service", "platform")],
    )
    .await;
    am.fire("InhibitedScan", "scan during maintenance", CANARY)
        .await;
    am.fire("BaselineCVE", "CVE in the stable build", BASELINE)
        .await;
    // Until Alertmanager has them all and says the canary's two are
    // suppressed; a canary count that never drops to 0 fails below.
    let deadline = Instant::now() + Duration::from_secs(20);
    let polled = loop {
        let polled = s.poll().await;
        let settled = [
            am.state("KnownScanFinding").await,
            am.state("InhibitedScan").await,
        ] == [Some("suppressed".into()), Some("suppressed".into())];
        let quiet =
            matches!(reading(&polled, Group::Canary), Reading::Value { value, .. } if value == 0.0);
        let base = matches!(reading(&polled, Group::Baseline), Reading::Value { value, .. } if value == 1.0);
        if (settled && quiet && base) || Instant::now() > deadline {
            break polled;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        reading(&polled, Group::Baseline),
        Reading::Value {
            value: 1.0,
            requests: None,
            detail: Some("firing: BaselineCVE (CVE in the stable build)".into()),
            histogram: None,
            raw: Default::default(),
        }
    );
    assert_eq!(
        reading(&polled, Group::Canary),
        Reading::Value {
            value: 0.0,
            requests: None,
            detail: None,
            histogram: None,
            raw: Default::default(),
        },
        "a silenced or inhibited alert counted"
    );

    am.fire("CanaryCVE", "CVE-2026-0001 in libfoo", CANARY)
        .await;
    let polled = poll_until(&mut s, 1.0).await;
    assert_eq!(
        reading(&polled, Group::Canary),
        Reading::Value {
            value: 1.0,
            requests: None,
            detail: Some("firing: CanaryCVE (CVE-2026-0001 in libfoo)".into()),
            histogram: None,
            raw: Default::default(),
        }
    );

    am.stop();
    // The first poll may meet the pooled connection closing; the next
    // finds nobody listening. Both are NO DATA, never "no alerts".
    for _ in 0..2 {
        match reading(&s.poll().await, Group::Canary) {
            Reading::NoData { reason, .. } => assert!(
                reason.contains(&format!("{}/api/v2/alerts", am.url())),
                "{reason}"
            ),
            other => panic!("a stopped Alertmanager must be NO DATA, got {other:?}"),
        }
    }
    match reading(&s.poll().await, Group::Canary) {
        Reading::NoData { reason, .. } => assert!(
            reason.starts_with(&format!("cannot connect to {}/api/v2/alerts", am.url())),
            "{reason}"
        ),
        other => panic!("a stopped Alertmanager must be NO DATA, got {other:?}"),
    }
}

/// The token goes out as a bearer token, and a server that refuses it and
/// echoes it back is NO DATA with the echo redacted.
#[tokio::test]
async fn the_token_is_sent_as_for_prometheus_and_never_shown() {
    let (addr, task) = cockpit::httpd::serve(0, |req: cockpit::httpd::Request| {
        let auth = req.header("authorization").unwrap_or("-").to_string();
        async move {
            if auth == "Bearer am-s3cr3t-token" {
                cockpit::httpd::Response::json(200, "[]")
            } else {
                cockpit::httpd::Response::text(401, format!("bad credentials: {auth}\n"))
            }
        }
    })
    .await
    .unwrap();
    // SAFETY: only this test reads these variables.
    unsafe {
        std::env::set_var("COCKPIT_TEST_AM_GOOD", "am-s3cr3t-token");
        std::env::set_var("COCKPIT_TEST_AM_OLD", "am-0ld-token-xyz");
    }
    let url = format!("http://{addr}");
    let mut good = sources_with(&url, "token_env = \"COCKPIT_TEST_AM_GOOD\"");
    assert!(
        matches!(reading(&good.poll().await, Group::Canary), Reading::Value { value, .. } if value == 0.0)
    );
    let mut old = sources_with(&url, "token_env = \"COCKPIT_TEST_AM_OLD\"");
    match reading(&old.poll().await, Group::Canary) {
        Reading::NoData { reason, .. } => {
            assert!(reason.starts_with("HTTP 401 from "), "{reason}");
            assert!(reason.contains("Bearer [redacted]"), "{reason}");
            assert!(!reason.contains("0ld-token"), "{reason}");
        }
        other => panic!("a refused token must be NO DATA, got {other:?}"),
    }
    task.abort();
}

/// A `/metrics` page with 100 more requests per scrape and no errors.
async fn healthy_target() -> String {
    let scrapes = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let (addr, _task) = cockpit::httpd::serve(0, move |_req| {
        let n = scrapes.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        async move {
            cockpit::httpd::Response::text(
                200,
                format!(
                    "# TYPE http_requests_total counter\nhttp_requests_total{{code=\"200\"}} {}\n",
                    100 * n
                ),
            )
        }
    })
    .await
    .unwrap();
    format!("http://{addr}/metrics")
}

/// Stands in for PagerDuty: records each event, 400 for one that breaks
/// the Events API v2 schema, 202 otherwise.
async fn pagerduty() -> (String, Arc<Mutex<Vec<Value>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let (addr, _task) = cockpit::httpd::serve(0, move |req: cockpit::httpd::Request| {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
        let valid = body["routing_key"].is_string()
            && body["dedup_key"].is_string()
            && match body["event_action"].as_str() {
                Some("trigger") => {
                    let p = &body["payload"];
                    p["summary"].is_string()
                        && p["source"].as_str().is_some_and(|s| !s.is_empty())
                        && ["critical", "error", "warning", "info"]
                            .contains(&p["severity"].as_str().unwrap_or_default())
                }
                Some("resolve") => true,
                _ => false,
            };
        if valid {
            log.lock().unwrap().push(body);
        }
        let status = if valid { 202 } else { 400 };
        async move { cockpit::httpd::Response::json(status, r#"{"status":"success"}"#) }
    })
    .await
    .unwrap();
    (format!("http://{addr}/v2/enqueue"), seen)
}

#[test]
fn an_alert_firing_for_the_canary_rolls_the_rollout_back_and_pages() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(am) = rt.block_on(Alertmanager::start()) else {
        return;
    };
    let target = rt.block_on(healthy_target());
    let (pd_url, paged) = rt.block_on(pagerduty());
    rt.block_on(async {
        am.silence("KnownScanFinding").await;
        am.fire("KnownScanFinding", "old finding, silenced", CANARY)
            .await;
    });
    let dir = tempfile::tempdir().unwrap();
    let hooks_log = dir.path().join("hooks.log");
    let hook = |what: &str| {
        format!(
            "{{ exec = [\"sh\", \"-c\", \"echo {what} $COCKPIT_STAGE >> '{}'\"] }}",
            hooks_log.display()
        )
    };
    let cfg = dir.path().join("cockpit.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"{ROLLOUT}
[hooks]
enter = {enter}
undo = {undo}
on_event = {{ http = "{pd_url}", format = "pagerduty", routing_key = "env:COCKPIT_TEST_PD_ROUTING", retries = 0 }}

[[stage]]
name = "10%"
weight = 10
wait = "2m"

[scrape]
canary = ["{target}"]
every = "200ms"

[alertmanager]
url = "{am}"
timeout = "2s"

[[metric]]
name = "error_rate"
kind = "error_rate"
min_requests = 0

[[metric]]
name = "security"
kind = "security_alerts"
alerts = {{ canary = {{ service = "checkout", version = "2.0" }} }}

[policy]
rollback_verify_within = "20s"

[checklist]
items = []

[window]
enabled = false

[journal]
dir = "{journal}"
"#,
            enter = hook("enter"),
            undo = hook("undo"),
            am = am.url(),
            journal = dir.path().join("journal").display()
        ),
    )
    .unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_cockpit"))
        .args(["run", "--headless", "--auto-advance", "--config"])
        .arg(&cfg)
        .env(
            "COCKPIT_TEST_PD_ROUTING",
            "R0UT1NGKEY0000000000000000000000",
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut seen = String::new();
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if line.contains("\"event\":\"stage_observing\"") {
                let _ = tx.send(());
            }
            seen.push_str(&line);
            seen.push('\n');
        }
        seen
    });
    let observing = rx.recv_timeout(Duration::from_secs(60)).is_ok();
    if observing {
        // A few polls with only the silenced alert firing: nothing happens.
        std::thread::sleep(Duration::from_secs(2));
        rt.block_on(am.fire("CanaryCVE", "CVE-2026-0001 in libfoo", CANARY));
    }
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = reader.join().unwrap();
    let mut stderr = String::new();
    let _ = err.read_to_string(&mut stderr);
    assert!(observing, "never observed the stage: {stdout}{stderr}");
    // Rolled back, and the error rate (healthy all along) recovered.
    assert_eq!(status.and_then(|s| s.code()), Some(3), "{stdout}{stderr}");
    let rollback = stdout
        .lines()
        .find(|l| l.contains("\"action\":\"rollback\""))
        .unwrap_or_else(|| panic!("no rollback: {stdout}"));
    assert!(rollback.contains("\"by\":\"policy\""), "{rollback}");
    assert!(
        rollback.contains("firing: CanaryCVE (CVE-2026-0001 in libfoo)"),
        "{rollback}"
    );
    assert!(!stdout.contains("KnownScanFinding"), "{stdout}");
    // Past the immediate line: no countdown first.
    assert!(!stdout.contains("countdown_started"), "{stdout}");
    let hooks = std::fs::read_to_string(&hooks_log).unwrap();
    assert_eq!(hooks, "enter 10%\nundo 10%\n");

    // Notifications are fire-and-forget: give the last one a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    while paged.lock().unwrap().len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let paged = paged.lock().unwrap();
    let actions: Vec<&str> = paged
        .iter()
        .map(|b| b["event_action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["trigger", "resolve"], "{paged:?}");
    assert_eq!(paged[0]["dedup_key"], paged[1]["dedup_key"]);
    let summary = paged[0]["payload"]["summary"].as_str().unwrap();
    assert!(summary.contains("CanaryCVE"), "{summary}");
}
