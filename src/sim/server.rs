//! The simulator on loopback: each version serves `/metrics`, `/health` and
//! `/ready` on its own port; a third port is the load balancer's control
//! endpoint, which the drill's stage hooks call to move traffic.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use super::Scenario;
use super::model::{FaultChange, Model, Version};
use crate::clock::Clock;
use crate::httpd::{self, Request, Response};

/// The model, and what the simulated clock read when the simulator started.
struct Shared {
    model: Mutex<Model>,
    clock: Clock,
    start: crate::rollout::At,
    faults: Option<UnboundedSender<FaultChange>>,
}

impl Shared {
    /// Brings the model up to the clock and announces faults that switched.
    fn advance(&self) -> std::sync::MutexGuard<'_, Model> {
        let mut model = self.model.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.clock.now().saturating_sub(self.start);
        for change in model.advance_to(now) {
            if let Some(tx) = &self.faults {
                let _ = tx.send(change);
            }
        }
        model
    }
}

pub struct Simulator {
    pub stable: SocketAddr,
    pub canary: SocketAddr,
    pub control: SocketAddr,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

/// Where the simulator listens; 0 is any free port.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ports {
    pub canary: u16,
    pub stable: u16,
    pub control: u16,
}

impl Ports {
    /// `CANARY,STABLE[,CONTROL]`, as `cockpit simulate --ports` takes it.
    pub fn parse(text: &str) -> Result<Ports, String> {
        let ports: Vec<u16> = text
            .split(',')
            .map(|p| {
                p.trim()
                    .parse()
                    .map_err(|_| format!("{p:?} is not a port number (0-65535)"))
            })
            .collect::<Result<_, _>>()?;
        match ports.as_slice() {
            [canary, stable] => Ok(Ports {
                canary: *canary,
                stable: *stable,
                control: 0,
            }),
            [canary, stable, control] => Ok(Ports {
                canary: *canary,
                stable: *stable,
                control: *control,
            }),
            _ => Err(format!(
                "--ports {text}: give CANARY,STABLE or CANARY,STABLE,CONTROL, e.g. 9101,9102"
            )),
        }
    }
}

impl Simulator {
    /// Serves on free loopback ports. `faults` hears every fault switching
    /// on or off (within a simulated second).
    pub async fn start(
        scenario: Scenario,
        clock: Clock,
        faults: Option<UnboundedSender<FaultChange>>,
    ) -> std::io::Result<Simulator> {
        Simulator::start_on(scenario, clock, faults, Ports::default()).await
    }

    /// The same on chosen loopback ports (0: any free one), so that a
    /// Prometheus config written once keeps finding it.
    pub async fn start_on(
        scenario: Scenario,
        clock: Clock,
        faults: Option<UnboundedSender<FaultChange>>,
        ports: Ports,
    ) -> std::io::Result<Simulator> {
        let shared = Arc::new(Shared {
            model: Mutex::new(Model::new(scenario)),
            clock,
            start: clock.now(),
            faults,
        });
        let (stable, stable_task) =
            serve_version(shared.clone(), Version::Stable, ports.stable).await?;
        let (canary, canary_task) =
            serve_version(shared.clone(), Version::Canary, ports.canary).await?;
        let s = shared.clone();
        let (control, control_task) = httpd::serve(ports.control, move |req| {
            std::future::ready(control(&s, &req))
        })
        .await?;
        let ticker = {
            let shared = shared.clone();
            tokio::spawn(async move {
                let every = shared.clock.real(Duration::from_secs(1));
                loop {
                    drop(shared.advance());
                    tokio::time::sleep(every).await;
                }
            })
        };
        Ok(Simulator {
            stable,
            canary,
            control,
            shared,
            tasks: vec![stable_task, canary_task, control_task, ticker],
        })
    }

    pub fn metrics_url(&self, v: Version) -> String {
        format!("{}/metrics", self.base(v))
    }

    pub fn base(&self, v: Version) -> String {
        let addr = match v {
            Version::Stable => self.stable,
            Version::Canary => self.canary,
        };
        format!("http://{addr}")
    }

    pub fn weight_url(&self) -> String {
        format!("http://{}/control/weight", self.control)
    }

    /// Where a drill's config points: scrape targets, probe, control.
    pub fn endpoints(&self) -> super::drill::Endpoints {
        let (old_version, new_version) = self.versions();
        super::drill::Endpoints {
            stable_metrics: self.metrics_url(Version::Stable),
            canary_metrics: self.metrics_url(Version::Canary),
            canary_ready: format!("{}/ready", self.base(Version::Canary)),
            weight_url: self.weight_url(),
            service: self.service(),
            old_version,
            new_version,
        }
    }

    pub fn versions(&self) -> (String, String) {
        self.shared.advance().versions().clone()
    }

    pub fn service(&self) -> String {
        self.shared.advance().service().to_string()
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn serve_version(
    shared: Arc<Shared>,
    v: Version,
    port: u16,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    httpd::serve(port, move |req: Request| {
        let model = shared.advance();
        let resp = match req.path.split('?').next().unwrap_or("") {
            "/metrics" if model.conditions(v).outage => Response::text(
                503,
                "metrics unavailable: the scenario's outage fault is on\n",
            ),
            "/metrics" => Response::text(200, model.exposition(v)),
            "/health" => {
                let (code, body) = model.health(v, false);
                Response::json(code, body)
            }
            "/ready" => {
                let (code, body) = model.health(v, true);
                Response::json(code, body)
            }
            other => Response::text(
                404,
                format!("no {other} here: try /metrics, /health or /ready\n"),
            ),
        };
        drop(model);
        std::future::ready(resp)
    })
    .await
}

/// `POST /control/weight`: a stage hook moving traffic. `GET` (or `GET /`)
/// shows the simulator's state.
fn control(shared: &Shared, req: &Request) -> Response {
    let mut model = shared.advance();
    let path = req.path.split('?').next().unwrap_or("");
    match (req.method.as_str(), path) {
        ("POST", "/control/weight") => match requested_weight(req) {
            Ok(w) => {
                model.set_weight(w);
                Response::json(200, serde_json::json!({ "weight": w }).to_string())
            }
            Err(e) => Response::json(400, serde_json::json!({ "error": e }).to_string()),
        },
        ("GET", "/" | "/control/weight") => {
            let state = serde_json::json!({
                "scenario": model.scenario.name,
                "simulated_seconds": model.now_ms() / 1000,
                "weight": model.weight(),
                "active_faults": model.active(),
            });
            Response::json(200, state.to_string())
        }
        _ => Response::text(
            404,
            "POST /control/weight with {\"weight\": N}, or GET / for the state\n",
        ),
    }
}

/// The weight a hook asks for: `?weight=N`, a bare number, `{"weight": N}`,
/// or the cockpit's hook context, where an `undo` goes back to
/// `previous_weight`.
pub fn requested_weight(req: &Request) -> Result<f64, String> {
    let from_query = req
        .path
        .split_once('?')
        .and_then(|(_, q)| q.split('&').find_map(|kv| kv.strip_prefix("weight=")));
    if let Some(w) = from_query {
        return parse_weight(&serde_json::Value::String(w.to_string()));
    }
    let body = String::from_utf8_lossy(&req.body);
    let value: serde_json::Value = serde_json::from_str(body.trim()).map_err(|_| {
        format!("body is not JSON: send {{\"weight\": 25}} or ?weight=25 (got {body:?})")
    })?;
    if value.is_number() {
        return parse_weight(&value);
    }
    let key = if value["event"] == "undo" {
        "previous_weight"
    } else {
        "weight"
    };
    parse_weight(&value[key]).map_err(|e| format!("`{key}`: {e}"))
}

fn parse_weight(v: &serde_json::Value) -> Result<f64, String> {
    let w = match v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().trim_end_matches('%').parse().ok(),
        _ => None,
    };
    match w {
        Some(w) if (0.0..=100.0).contains(&w) => Ok(w),
        _ => Err(format!("weight must be a percentage 0..100, got {v}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(body: &str, path: &str) -> Request {
        Request {
            method: "POST".into(),
            path: path.into(),
            headers: vec![],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn hook_context_enter_sets_weight_and_undo_goes_back() {
        let enter = r#"{"event":"enter","weight":"25","previous_weight":"5"}"#;
        let undo = r#"{"event":"undo","weight":"25","previous_weight":"5"}"#;
        assert_eq!(requested_weight(&post(enter, "/control/weight")), Ok(25.0));
        assert_eq!(requested_weight(&post(undo, "/control/weight")), Ok(5.0));
        assert_eq!(requested_weight(&post("50", "/control/weight")), Ok(50.0));
        assert_eq!(
            requested_weight(&post("", "/control/weight?weight=0")),
            Ok(0.0)
        );
    }

    #[test]
    fn bad_weights_are_refused_with_the_fix() {
        let e = requested_weight(&post("{\"weight\": 150}", "/")).unwrap_err();
        assert!(e.contains("0..100"), "{e}");
        let e = requested_weight(&post("fifty", "/")).unwrap_err();
        assert!(e.contains("?weight=25"), "{e}");
    }

    #[tokio::test]
    async fn serves_metrics_health_and_moves_traffic_over_http() {
        let scenario = Scenario::load("error-burst").unwrap();
        let sim = Simulator::start(scenario, Clock::new(60.0), None)
            .await
            .unwrap();
        let client = reqwest::Client::new();
        let r = client
            .post(sim.weight_url())
            .body(r#"{"event":"enter","weight":"25"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let page = reqwest::get(sim.metrics_url(Version::Canary))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let errors: f64 = page
            .lines()
            .find(|l| l.starts_with("http_requests_total") && l.contains("code=\"500\""))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap();
        assert!(errors > 0.0, "{page}");
        let health = reqwest::get(format!("{}/health", sim.base(Version::Stable)))
            .await
            .unwrap();
        assert_eq!(health.status(), 200);
        let body: serde_json::Value = health.json().await.unwrap();
        assert_eq!(body["version"], "1.9.3");
        assert_eq!(body["database"]["status"], "connected");
    }
}
