//! Whether a group's targets still answer: `rate` keeps answering from
//! old samples for a whole window after a target stops being scraped.

use serde_json::Value;

use super::Api;
use super::answer::{NO_SERIES, api_data, sample_value};
use crate::duration::Span;
use crate::rollout::Group;

/// Two checks on the series a value is computed from (one metric name
/// with the group's selector, e.g. `http_requests_total{service="shop",...}`;
/// `timestamp()` of several names would clash once it drops the names).
pub(super) struct Freshness {
    /// `up` of every target that served the series in the window.
    up: String,
    /// Seconds since the newest sample of the series.
    age: String,
    stale_after: Span,
    /// The rate window, as PromQL writes it.
    window: String,
}

impl Freshness {
    pub(super) fn new(series: &str, window: &str, stale_after: Span) -> Freshness {
        Freshness {
            up: format!(
                "up * on (job, instance) group by (job, instance) (last_over_time({series}[{window}]))"
            ),
            age: format!("time() - max(timestamp({series}))"),
            stale_after,
            window: window.to_string(),
        }
    }
}

/// The series a hand-written query reads through `{selector}`: the metric
/// name written just before it (`errors{{selector}}`), if any.
pub(super) fn watched_in(query: &str) -> Option<String> {
    let at = query.find("{{selector}")?;
    let before = &query[..at];
    let start = before
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .map_or(0, |i| i + 1);
    let name = &before[start..];
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == ':');
    valid.then(|| format!("{name}{{{{selector}}}}"))
}

impl Api {
    /// Err with the reason when a target of the group is down or its
    /// newest sample is older than `stale_after`, as the direct scrape
    /// reads a target that does not answer.
    pub(super) async fn fresh(&self, f: &Freshness, group: Group) -> Result<(), String> {
        let group = match group {
            Group::Canary => "canary",
            Group::Baseline => "baseline",
        };
        let (up, age) = tokio::join!(self.vector(&f.up), self.instant(&f.age));
        let up = up.map_err(|e| format!("{group} up check: {e}"))?;
        let down = up.iter().filter(|(_, v)| *v == 0.0).count();
        if let Some((labels, _)) = up.iter().find(|(_, v)| *v == 0.0) {
            let instance = labels["instance"].as_str().unwrap_or("?");
            let more = match down {
                1 => String::new(),
                n => format!(" and {} more", n - 1),
            };
            let since = match self.down_since(labels, &f.window).await {
                Some(Some(at)) => format!(" since {at}"),
                Some(None) => format!(" for over {}", f.window),
                None => String::new(),
            };
            return Err(format!(
                "{group} target {instance}{more} down{since} (up == 0)"
            ));
        }
        match age {
            Err(e) if e == NO_SERIES => Err(format!(
                "no fresh {group} sample: its series went stale (target gone?)"
            )),
            Err(e) => Err(format!("{group} sample age check: {e}")),
            Ok(a) if a.value > f.stale_after.as_millis() as f64 / 1000.0 => Err(format!(
                "newest {group} sample {}s old (stale after {})",
                a.value.round(),
                f.stale_after
            )),
            Ok(_) => Ok(()),
        }
    }

    /// When a target's `up` last turned 0 within `window`, as local
    /// `HH:MM:SS`: Some(None) when it was 0 all along, None when the
    /// history cannot be read.
    async fn down_since(&self, labels: &Value, window: &str) -> Option<Option<String>> {
        let (job, instance) = (labels["job"].as_str()?, labels["instance"].as_str()?);
        let promql = format!("up{{job={job:?},instance={instance:?}}}[{window}]");
        let (got, url) = self.query(&promql).await.ok()?;
        let (data, _) = api_data(got.status, &got.body, &url).ok()?;
        let samples = data["result"][0]["values"].as_array()?;
        let last_up = samples.iter().rposition(|p| sample_value(p) == Some(1.0));
        let first_down = match last_up {
            Some(i) => samples.get(i + 1)?,
            None => return Some(None),
        };
        let at =
            chrono::DateTime::from_timestamp_millis((first_down[0].as_f64()? * 1000.0) as i64)?;
        Some(Some(
            at.with_timezone(&chrono::Local)
                .format("%H:%M:%S")
                .to_string(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_queries_are_checked_through_the_series_named_before_the_selector() {
        assert_eq!(
            watched_in("sum(rate(app:errors_total{{selector}}[1m]))").as_deref(),
            Some("app:errors_total{{selector}}")
        );
        assert_eq!(watched_in("sum(rate({{selector}}[1m]))"), None);
        assert_eq!(watched_in("vector(42)"), None);
    }
}
