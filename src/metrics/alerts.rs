//! Alertmanager as a source: the number of firing alerts whose labels match
//! a group's matchers is the reading, and their names are its detail, so a
//! breach says which alerts. Silenced and inhibited alerts do not count;
//! an Alertmanager that cannot answer is NO DATA with the reason.

use std::collections::BTreeMap;

use serde_json::Value;

use super::fetch::{self, shown};
use crate::config::model::{AlertSelector, AlertmanagerSpec};
use crate::duration::Span;
use crate::rollout::{Group, Reading};

/// Alerts named in a detail; past this, "and N more".
const NAMED: usize = 3;

pub struct AlertCount {
    pub metric: usize,
    client: reqwest::Client,
    timeout: Span,
    /// Per group, the full query URL.
    queries: Vec<(Group, String)>,
}

impl AlertCount {
    pub fn new(
        metric: usize,
        spec: &AlertmanagerSpec,
        sel: &AlertSelector,
        client: reqwest::Client,
    ) -> Result<AlertCount, String> {
        let mut queries = vec![(Group::Canary, query_url(&spec.url, &sel.canary)?)];
        if !sel.baseline.is_empty() {
            queries.push((Group::Baseline, query_url(&spec.url, &sel.baseline)?));
        }
        Ok(AlertCount {
            metric,
            client,
            timeout: spec.timeout,
            queries,
        })
    }

    /// Both groups at once.
    pub async fn read(&self) -> Vec<(usize, Group, Reading)> {
        let reads = self.queries.iter().map(|(group, url)| async move {
            let got = fetch::send(self.client.get(url), url, self.timeout).await;
            let reading = match got {
                Err(reason) => Reading::no_data(reason),
                Ok(f) if !(200..300).contains(&f.status) => {
                    let snippet: String = String::from_utf8_lossy(&f.body)
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .chars()
                        .take(160)
                        .collect();
                    Reading::no_data(format!("HTTP {} from {}: {snippet}", f.status, shown(url)))
                }
                Ok(f) => count(&f.body, url),
            };
            (self.metric, *group, reading)
        });
        futures::future::join_all(reads).await
    }

    /// How `check` names the source.
    pub fn plan_source(spec: &AlertmanagerSpec, sel: &AlertSelector) -> String {
        let mut out = format!(
            "alertmanager {} firing, not silenced or inhibited: canary {}",
            shown(&spec.url),
            filters(&sel.canary).join(",")
        );
        if !sel.baseline.is_empty() {
            out.push_str(&format!(", baseline {}", filters(&sel.baseline).join(",")));
        }
        out
    }
}

/// `GET /api/v2/alerts` for active alerts, neither silenced nor inhibited,
/// with one `filter` per matcher.
pub fn query_url(base: &str, matchers: &BTreeMap<String, String>) -> Result<String, String> {
    let mut url = reqwest::Url::parse(&format!("{}/api/v2/alerts", base.trim_end_matches('/')))
        .map_err(|e| format!("[alertmanager] url: {e}"))?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("active", "true")
            .append_pair("silenced", "false")
            .append_pair("inhibited", "false");
        for f in filters(matchers) {
            q.append_pair("filter", &f);
        }
    }
    Ok(url.to_string())
}

/// The config's matchers (`value`, `~regex`, `!value`, `!~regex`) in
/// Alertmanager's filter syntax: `service="checkout"`, `version=~"2\\..*"`.
fn filters(matchers: &BTreeMap<String, String>) -> Vec<String> {
    matchers
        .iter()
        .map(|(label, written)| {
            let (negated, rest) = match written.strip_prefix('!') {
                Some(r) => (true, r),
                None => (false, written.as_str()),
            };
            let (regex, value) = match rest.strip_prefix('~') {
                Some(r) => (true, r),
                None => (false, rest),
            };
            let op = match (negated, regex) {
                (false, false) => "=",
                (false, true) => "=~",
                (true, false) => "!=",
                (true, true) => "!~",
            };
            let quoted = value.replace('\\', "\\\\").replace('"', "\\\"");
            format!("{label}{op}\"{quoted}\"")
        })
        .collect()
}

/// Pure: the reading for one answer of `/api/v2/alerts`.
pub fn count(body: &[u8], url: &str) -> Reading {
    let Ok(Value::Array(alerts)) = serde_json::from_slice::<Value>(body) else {
        return Reading::no_data(format!(
            "malformed answer from {}: not a JSON list of alerts",
            shown(url)
        ));
    };
    // The query asked for these only; an older server may ignore a flag.
    let firing: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["status"]["state"].as_str().is_none_or(|s| s == "active"))
        .collect();
    let mut names: Vec<String> = firing.iter().map(|a| name(a)).collect();
    names.sort();
    names.dedup();
    let detail = (!names.is_empty()).then(|| {
        let more = names.len().saturating_sub(NAMED);
        let mut shown: Vec<String> = names.into_iter().take(NAMED).collect();
        if more > 0 {
            shown.push(format!("and {more} more"));
        }
        format!("firing: {}", shown.join("; "))
    });
    Reading::Value {
        value: firing.len() as f64,
        requests: None,
        detail,
        histogram: None,
        raw: Default::default(),
    }
}

/// `CanaryCVE (critical CVE in libfoo)`: alertname and summary.
fn name(alert: &Value) -> String {
    let alertname = alert["labels"]["alertname"]
        .as_str()
        .unwrap_or("(no alertname)");
    match alert["annotations"]["summary"].as_str() {
        Some(s) if !s.is_empty() => format!("{alertname} ({s})"),
        _ => alertname.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_become_alertmanager_filters() {
        let m: BTreeMap<String, String> = [
            ("service", "checkout"),
            ("version", "~2\\..*"),
            ("env", "!staging"),
            ("team", "!~ops|sre"),
            ("note", "say \"hi\""),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            filters(&m),
            [
                r#"env!="staging""#,
                r#"note="say \"hi\"""#,
                r#"service="checkout""#,
                r#"team!~"ops|sre""#,
                r#"version=~"2\\..*""#,
            ]
        );
        let url = query_url("http://am:9093/", &m).unwrap();
        assert!(
            url.starts_with(
                "http://am:9093/api/v2/alerts?active=true&silenced=false&inhibited=false&filter="
            ),
            "{url}"
        );
    }

    #[test]
    fn firing_alerts_are_counted_and_named() {
        let body = br#"[
            {"labels":{"alertname":"CanaryCVE"},"annotations":{"summary":"CVE-2026-1 in libfoo"},"status":{"state":"active"}},
            {"labels":{"alertname":"Waf"},"annotations":{},"status":{"state":"active"}},
            {"labels":{"alertname":"Old"},"annotations":{},"status":{"state":"suppressed"}}
        ]"#;
        assert_eq!(
            count(body, "http://am/api/v2/alerts"),
            Reading::Value {
                value: 2.0,
                requests: None,
                detail: Some("firing: CanaryCVE (CVE-2026-1 in libfoo); Waf".into()),
                histogram: None,
                raw: Default::default(),
            }
        );
        assert_eq!(
            count(b"[]", "http://am/api/v2/alerts"),
            Reading::Value {
                value: 0.0,
                requests: None,
                detail: None,
                histogram: None,
                raw: Default::default(),
            }
        );
    }

    #[test]
    fn an_answer_that_is_not_a_list_is_no_data() {
        assert!(matches!(
            count(b"{\"error\":1}", "http://am/api/v2/alerts"),
            Reading::NoData { .. }
        ));
    }
}
