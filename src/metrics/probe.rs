//! `/health` and `/ready` probes: 1 when the canary says it is ready, 0
//! when it says it is not (HTTP 503, an unhealthy status) or does not
//! answer at all; the version it reports goes beside the value.

use serde_json::Value;

use super::fetch::{self, shown};
use crate::duration::Span;
use crate::rollout::Reading;
use crate::rollout::reading::Raw;

pub struct Probe {
    pub metric: usize,
    pub url: String,
    /// The version the canary should report (`rollout.new_version`).
    pub expect_version: String,
}

/// Status words that mean "serving"; anything else reported means not.
const HEALTHY: [&str; 7] = [
    "healthy",
    "ok",
    "ready",
    "up",
    "pass",
    "connected",
    "available",
];

impl Probe {
    pub async fn read(&self, client: &reqwest::Client, timeout: Span) -> Reading {
        match fetch::send(client.get(&self.url), &self.url, timeout).await {
            // A canary that cannot be reached is not ready: Kubernetes
            // reads a refused or timed-out probe the same way.
            Err(reason) => not_ready(format!("no answer: {reason}")),
            Ok(got) => judge(got.status, &got.body, &self.url, &self.expect_version),
        }
    }
}

fn not_ready(detail: String) -> Reading {
    Reading::Value {
        value: 0.0,
        requests: None,
        detail: Some(detail),
        histogram: None,
        raw: Default::default(),
    }
}

/// Pure: the reading for one probe response.
pub fn judge(status: u16, body: &[u8], url: &str, expect_version: &str) -> Reading {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let mut words = Vec::new();
    let version = json.as_ref().and_then(|j| j["version"].as_str());
    match version {
        Some(v) if v == expect_version || expect_version.is_empty() => {
            words.push(format!("version {v}"))
        }
        Some(v) => words.push(format!("version {v} (expected {expect_version})")),
        None => words.push("no version reported".into()),
    }
    let status_word = json.as_ref().and_then(|j| j["status"].as_str());
    let mut ready = (200..300).contains(&status);
    if let Some(s) = status_word {
        ready &= HEALTHY.contains(&s.to_ascii_lowercase().as_str());
    }
    if !(200..300).contains(&status) {
        words.push(format!("HTTP {status} from {}", shown(url)));
    } else if let Some(s) = status_word.filter(|_| !ready) {
        words.push(format!("status {s}"));
    }
    if let Some(j) = &json {
        words.extend(dependencies(j));
    }
    Reading::Value {
        value: if ready { 1.0 } else { 0.0 },
        requests: None,
        detail: Some(words.join(", ")),
        histogram: None,
        raw: Raw(Some(super::raw::probe(status, body))),
    }
}

/// `"database": {"status": "connected", "latency_ms": 2}` -> "database connected 2ms".
fn dependencies(j: &Value) -> Vec<String> {
    let Some(map) = j.as_object() else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(name, v)| {
            let status = v.get("status")?.as_str()?;
            let latency = v
                .get("latency_ms")
                .and_then(Value::as_f64)
                .map(|ms| format!(" {}ms", crate::format::number(ms)))
                .unwrap_or_default();
            Some(format!("{name} {status}{latency}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = r#"{"status":"healthy","version":"2.0.0","database":{"status":"connected","latency_ms":2},"uptime_seconds":3600}"#;

    fn value_and_detail(r: Reading) -> (f64, String) {
        match r {
            Reading::Value { value, detail, .. } => (value, detail.unwrap_or_default()),
            other => panic!("expected a value, got {other:?}"),
        }
    }

    #[test]
    fn healthy_json_is_ready_with_version_and_dependencies() {
        let (v, d) = value_and_detail(judge(200, BODY.as_bytes(), "http://x/ready", "2.0.0"));
        assert_eq!(v, 1.0);
        assert_eq!(d, "version 2.0.0, database connected 2ms");
    }

    #[test]
    fn http_503_is_not_ready_even_with_a_healthy_body() {
        let (v, d) = value_and_detail(judge(503, BODY.as_bytes(), "http://x/ready", "2.0.0"));
        assert_eq!(v, 0.0);
        assert!(d.contains("HTTP 503 from http://x/ready"), "{d}");
    }

    #[test]
    fn unhealthy_status_and_wrong_version_are_shown() {
        let body = r#"{"status":"degraded","version":"1.9.0"}"#;
        let (v, d) = value_and_detail(judge(200, body.as_bytes(), "http://x/ready", "2.0.0"));
        assert_eq!(v, 0.0);
        assert_eq!(d, "version 1.9.0 (expected 2.0.0), status degraded");
    }
}
