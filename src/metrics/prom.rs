//! The Prometheus HTTP API (`/api/v1/query`, `/api/v1/query_range`), as
//! Prometheus, Thanos, Mimir and VictoriaMetrics all serve it.

use std::time::Duration;

use futures::future::join_all;
use serde_json::Value;

use super::compute::promql_number;
use super::fetch::{self, shown};
use super::templates::{self, Promql};
use crate::config::Config;
use crate::config::model::{MetricSpec, PrometheusSpec};
use crate::duration::Span;
use crate::rollout::reading::Histogram;
use crate::rollout::{At, Group, Reading};

/// One metric's queries for one group.
struct Query {
    metric: usize,
    group: Group,
    promql: Promql,
    scale: f64,
    /// Whether the group's targets still answer, when the query reads the
    /// group's selector: `rate` keeps answering from old samples for a
    /// whole window after a target stops being scraped.
    fresh: Option<Freshness>,
}

/// Two checks on the series a value is computed from (one metric name
/// with the group's selector, e.g. `http_requests_total{service="shop",...}`;
/// `timestamp()` of several names would clash once it drops the names).
struct Freshness {
    /// `up` of every target that served the series in the window.
    up: String,
    /// Seconds since the newest sample of the series.
    age: String,
    stale_after: Span,
    /// The rate window, as PromQL writes it.
    window: String,
}

impl Freshness {
    fn new(series: &str, window: &str, stale_after: Span) -> Freshness {
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
fn watched_in(query: &str) -> Option<String> {
    let at = query.find("{{selector}")?;
    let before = &query[..at];
    let start = before
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .map_or(0, |i| i + 1);
    let name = &before[start..];
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == ':');
    valid.then(|| format!("{name}{{{{selector}}}}"))
}

pub struct Api {
    client: reqwest::Client,
    base: String,
    timeout: Span,
    queries: Vec<Query>,
}

/// An instant query's single number, and the warnings that came with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub value: f64,
    pub warnings: Vec<String>,
    /// `data.result` as Prometheus sent it, shortened (`raw::prometheus`).
    pub raw: String,
}

impl Api {
    /// Builds the client and every query up front, so a missing token or a
    /// template that cannot serve a kind stops the start, not a poll.
    pub fn from_config(config: &Config, spec: &PrometheusSpec) -> Result<Api, String> {
        let client = fetch::client(&spec.endpoint())?;
        let mut queries = Vec::new();
        let (window, stale_after) = (spec.rate_window.to_string(), config.policy.stale_after);
        for (i, m) in config.metrics.iter().enumerate() {
            for (group, promql, watched) in metric_queries(config, spec, m)? {
                queries.push(Query {
                    metric: i,
                    group,
                    promql,
                    scale: m.scale.unwrap_or(1.0),
                    fresh: watched.map(|w| Freshness::new(&w, &window, stale_after)),
                });
            }
        }
        Ok(Api {
            client,
            base: spec.url.trim_end_matches('/').to_string(),
            timeout: spec.timeout,
            queries,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.queries.is_empty()
    }

    /// The metrics it has queries for, each once.
    pub fn metrics(&self) -> Vec<usize> {
        let mut metrics: Vec<usize> = self.queries.iter().map(|q| q.metric).collect();
        metrics.dedup();
        metrics
    }

    /// One metric's readings, canary and baseline of the same poll, and
    /// the warnings Prometheus sent with each.
    pub async fn poll(&self, metric: usize) -> Vec<(usize, Group, Reading, Vec<String>)> {
        join_all(
            self.queries
                .iter()
                .filter(|q| q.metric == metric)
                .map(|q| async move {
                    let (reading, warnings) = self.reading(q).await;
                    (q.metric, q.group, reading, warnings)
                }),
        )
        .await
    }

    /// A metric with an evidence query has no judgement without it: a
    /// request count that fails is no data, never a value judged without
    /// `min_requests`.
    async fn reading(&self, q: &Query) -> (Reading, Vec<String>) {
        let requests = async {
            match &q.promql.requests {
                Some(r) => match self.instant(r).await {
                    Ok(a) => Ok(Some(a.value)),
                    Err(e) => Err(format!("request count: {e}")),
                },
                None => Ok(None),
            }
        };
        let fresh = async {
            match &q.fresh {
                Some(f) => self.fresh(f, q.group).await,
                None => Ok(()),
            }
        };
        let buckets = async {
            match &q.promql.buckets {
                Some((b, to_unit)) => self.histogram(b, to_unit * q.scale).await.map(Some),
                None => Ok(None),
            }
        };
        let (answer, requests, fresh, buckets) =
            tokio::join!(self.instant(&q.promql.value), requests, fresh, buckets);
        match (answer, requests, fresh, buckets) {
            (Err(reason), ..) | (_, Err(reason), ..) | (_, _, Err(reason), _) => {
                (Reading::no_data(reason), Vec::new())
            }
            (_, _, _, Err(reason)) => (Reading::no_data(reason), Vec::new()),
            (Ok(a), Ok(requests), Ok(()), Ok(buckets)) => {
                let mut reading = Reading::value(a.value * q.scale, requests).with_raw(&a.raw);
                if let Some(h) = buckets {
                    reading = reading.with_histogram(h);
                }
                (with_warnings(reading, &a.warnings), a.warnings)
            }
        }
    }

    /// `sum by (le) (increase(F_bucket[...]))` as a cumulative histogram
    /// with its bounds in the metric's unit.
    async fn histogram(&self, promql: &str, to_unit: f64) -> Result<Histogram, String> {
        let series = self
            .vector(promql)
            .await
            .map_err(|e| format!("latency buckets: {e}"))?;
        let buckets = series
            .iter()
            .filter_map(|(labels, n)| {
                let le = labels["le"].as_str()?.parse::<f64>().ok()?;
                Some((le * to_unit, *n))
            })
            .collect();
        Ok(super::compute::cumulative(buckets))
    }

    /// Err with the reason when a target of the group is down or its
    /// newest sample is older than `stale_after`, as the direct scrape
    /// reads a target that does not answer.
    async fn fresh(&self, f: &Freshness, group: Group) -> Result<(), String> {
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

    /// An instant query's every series: labels and value.
    async fn vector(&self, promql: &str) -> Result<Vec<(Value, f64)>, String> {
        let (got, url) = self.query(promql).await?;
        let (data, _) = api_data(got.status, &got.body, &url)?;
        let series = data["result"]
            .as_array()
            .ok_or_else(|| format!("vector result from {} is not a list", shown(&url)))?;
        Ok(series
            .iter()
            .filter_map(|s| Some((s["metric"].clone(), sample_value(&s["value"])?)))
            .collect())
    }

    /// The value query sent for one metric and group, exactly as sent
    /// (placeholders filled), for the pre-flight table.
    pub fn sent(&self, metric: usize, group: Group) -> Option<&str> {
        self.queries
            .iter()
            .find(|q| q.metric == metric && q.group == group)
            .map(|q| q.promql.value.as_str())
    }

    /// The label sets of every series named `name` Prometheus holds now
    /// (`/api/v1/series`), for a query that found none.
    pub async fn series(&self, name: &str) -> Result<Vec<serde_json::Map<String, Value>>, String> {
        let url = format!("{}/api/v1/series", self.base);
        // A sample is enough to suggest labels (older servers ignore `limit`).
        let request = self
            .client
            .get(&url)
            .query(&[("match[]", name), ("limit", "500")]);
        let got = fetch::send(request, &url, self.timeout).await?;
        let (data, _) = api_data(got.status, &got.body, &url)?;
        let list = data
            .as_array()
            .ok_or_else(|| format!("series result from {} is not a list", shown(&url)))?;
        Ok(list.iter().filter_map(|s| s.as_object().cloned()).collect())
    }

    pub async fn instant(&self, promql: &str) -> Result<Answer, String> {
        let (got, url) = self.query(promql).await?;
        instant_answer(got.status, &got.body, &url)
    }

    /// One `/api/v1/query` response, and the URL it came from.
    async fn query(&self, promql: &str) -> Result<(fetch::Fetched, String), String> {
        let url = format!("{}/api/v1/query", self.base);
        let request = self.client.get(&url).query(&[("query", promql)]);
        let got = fetch::send(request, &url, self.timeout).await?;
        Ok((got, url))
    }

    /// The canary's recent history of every templated or queried metric,
    /// `span` back from `now`, one point per `step`.
    pub async fn backfill(
        &self,
        now: At,
        span: Duration,
        step: Duration,
    ) -> Vec<(usize, Vec<(At, f64)>)> {
        let canary = self.queries.iter().filter(|q| q.group == Group::Canary);
        let got = join_all(canary.map(|q| async move {
            let points = self.range(&q.promql.value, now, span, step).await;
            (q.metric, points.map(|p| scaled(p, q.scale)))
        }))
        .await;
        got.into_iter()
            .filter_map(|(m, points)| points.ok().filter(|p| !p.is_empty()).map(|p| (m, p)))
            .collect()
    }

    async fn range(
        &self,
        promql: &str,
        now: At,
        span: Duration,
        step: Duration,
    ) -> Result<Vec<(At, f64)>, String> {
        let from = now.saturating_sub(span.as_millis() as u64);
        let step = Duration::from_secs(step.as_secs().max(1));
        self.range_between(promql, from, now, step).await
    }

    /// `/api/v1/query_range` from `from` to `to` (both included when on a
    /// step), one point per `step`.
    async fn range_between(
        &self,
        promql: &str,
        from: At,
        to: At,
        step: Duration,
    ) -> Result<Vec<(At, f64)>, String> {
        let url = format!("{}/api/v1/query_range", self.base);
        let seconds = |at: At| format!("{:.3}", at as f64 / 1000.0);
        let request = self.client.get(&url).query(&[
            ("query", promql.to_string()),
            ("start", seconds(from)),
            ("end", seconds(to)),
            ("step", format!("{}", step.as_secs_f64())),
        ]);
        let got = fetch::send(request, &url, self.timeout).await?;
        range_answer(got.status, &got.body, &url)
    }

    /// Every metric's history from `from` to `to`, one point per `step`:
    /// what a poll at each step would have read, values and request
    /// counts, from `query_range`. The freshness checks are not part of
    /// it: a step where a series has no point is simply missing.
    pub async fn history(
        &self,
        from: At,
        to: At,
        step: Duration,
    ) -> Result<Vec<Recorded>, (usize, String)> {
        let got = join_all(self.queries.iter().map(|q| async move {
            let requests = async {
                match &q.promql.requests {
                    Some(r) => self.range_in_chunks(r, from, to, step).await.map(Some),
                    None => Ok(None),
                }
            };
            let (values, requests) = tokio::join!(
                self.range_in_chunks(&q.promql.value, from, to, step),
                requests
            );
            let group = match q.group {
                Group::Canary => "canary",
                Group::Baseline => "baseline",
            };
            let values = values.map_err(|e| (q.metric, format!("{group} query: {e}")))?;
            let requests =
                requests.map_err(|e| (q.metric, format!("{group} request count: {e}")))?;
            Ok(Recorded {
                metric: q.metric,
                group: q.group,
                values: scaled(values, q.scale),
                requests,
            })
        }))
        .await;
        got.into_iter().collect()
    }

    /// A long range in pieces: Prometheus refuses more than 11,000 points
    /// per series in one query.
    async fn range_in_chunks(
        &self,
        promql: &str,
        from: At,
        to: At,
        step: Duration,
    ) -> Result<Vec<(At, f64)>, String> {
        let step_ms = (step.as_millis() as u64).max(1);
        let mut points = Vec::new();
        let mut start = from;
        while start <= to {
            let end = (start + step_ms * (MAX_POINTS - 1)).min(to);
            points.extend(self.range_between(promql, start, end, step).await?);
            start = end + step_ms;
        }
        Ok(points)
    }
}

/// Points per query_range request (Prometheus' limit is 11,000).
const MAX_POINTS: u64 = 10_000;

/// One metric's recorded history for one group: its values (scaled to the
/// metric's unit) and, for a metric with an evidence query, the request
/// counts, each as (time, value) at the steps where there was a point.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub metric: usize,
    pub group: Group,
    pub values: Vec<(At, f64)>,
    pub requests: Option<Vec<(At, f64)>>,
}

fn scaled(points: Vec<(At, f64)>, scale: f64) -> Vec<(At, f64)> {
    points.into_iter().map(|(t, v)| (t, v * scale)).collect()
}

fn with_warnings(reading: Reading, warnings: &[String]) -> Reading {
    match reading {
        Reading::Value {
            value,
            requests,
            histogram,
            raw,
            ..
        } if !warnings.is_empty() => Reading::Value {
            value,
            requests,
            detail: Some(format!("warning: {}", warnings.join("; "))),
            histogram,
            raw,
        },
        other => other,
    }
}

/// Placeholders a query or selector may use, filled from `[rollout]`.
pub fn fill(text: &str, config: &Config, group: Group, selector: &str, window: &str) -> String {
    let r = &config.rollout;
    let version = match group {
        Group::Canary => &r.new_version,
        Group::Baseline => &r.old_version,
    };
    text.replace("{selector}", selector)
        .replace("{service}", &r.service)
        .replace("{new_version}", &r.new_version)
        .replace("{old_version}", &r.old_version)
        .replace("{version}", version)
        .replace("{environment}", &r.environment)
        .replace("{rate_window}", window)
}

/// The canary and baseline queries of one metric, or none when the metric
/// reads another source; with the series the value is computed from, when
/// known, for the freshness checks.
fn metric_queries(
    config: &Config,
    spec: &PrometheusSpec,
    m: &MetricSpec,
) -> Result<Vec<(Group, Promql, Option<String>)>, String> {
    let window = spec.rate_window.to_string();
    let selector = |group: Group, template: Option<&str>| {
        let (mut canary, mut baseline) = (
            spec.canary_selector.as_str(),
            spec.baseline_selector.as_str(),
        );
        if let Some((c, b)) = template.and_then(templates::default_selectors) {
            // Only the generic defaults are swapped: a selector the team wrote wins.
            if canary == r#"service="{service}",version="{new_version}""# {
                canary = c;
            }
            if baseline == r#"service="{service}",version="{old_version}""# {
                baseline = b;
            }
        }
        let raw = if group == Group::Canary {
            canary
        } else {
            baseline
        };
        fill(raw, config, group, "", &window)
    };
    let mut out = Vec::new();
    if let Some(query) = &m.query {
        // Only a query that reads a series through the selector can be
        // checked through it.
        let plain = |q: &str, g| {
            let sel = selector(g, None);
            let promql = Promql {
                value: fill(q, config, g, &sel, &window),
                requests: None,
                buckets: None,
            };
            let watched = watched_in(q).map(|w| fill(&w, config, g, &sel, &window));
            (g, promql, watched)
        };
        out.push(plain(query, Group::Canary));
        if let Some(b) = &m.baseline_query {
            out.push(plain(b, Group::Baseline));
        }
    } else if let Some(t) = &m.template {
        for g in [Group::Canary, Group::Baseline] {
            let sel = selector(g, Some(t));
            let q = templates::queries(t, m.kind, &sel, &window).ok_or_else(|| {
                format!(
                    "metric \"{}\": template \"{t}\" has no query for kind {:?}; set `query` instead",
                    m.name, m.kind
                )
            })?;
            out.push((g, q, templates::watched(t, m.kind, &sel)));
        }
    }
    Ok(out)
}

pub const NO_SERIES: &str = "query returned no series";

/// Turns an `/api/v1/query` response into one number or the reason there is none.
pub fn instant_answer(status: u16, body: &[u8], url: &str) -> Result<Answer, String> {
    let data = api_data(status, body, url)?;
    let warnings = data.1;
    let data = data.0;
    let result = &data["result"];
    let sample = match data["resultType"].as_str() {
        Some("scalar") => result,
        Some("vector") => {
            let series = result.as_array().ok_or("vector result is not a list")?;
            match series.len() {
                0 => return Err(NO_SERIES.into()),
                1 => &series[0]["value"],
                n => {
                    return Err(format!(
                        "query returned {n} series, expected one: aggregate it, e.g. sum(...)"
                    ));
                }
            }
        }
        Some("matrix") => {
            return Err(
                "query returned a range vector: drop the [range] or wrap it in rate()".into(),
            );
        }
        other => {
            return Err(format!(
                "unexpected result type {other:?} from {}",
                shown(url)
            ));
        }
    };
    let value = sample_value(sample)
        .ok_or_else(|| format!("malformed sample in the response from {}", shown(url)))?;
    if !value.is_finite() {
        return Err(format!("query returned {}", promql_number(value)));
    }
    let raw = super::raw::prometheus(body).unwrap_or_default();
    Ok(Answer {
        value,
        warnings,
        raw,
    })
}

/// Turns an `/api/v1/query_range` response into points of its one series.
pub fn range_answer(status: u16, body: &[u8], url: &str) -> Result<Vec<(At, f64)>, String> {
    let (data, _) = api_data(status, body, url)?;
    let series = data["result"]
        .as_array()
        .ok_or("range result is not a list")?;
    let one = match series.as_slice() {
        // Nothing recorded in the range: no points, which callers read as
        // no data at every step.
        [] => return Ok(Vec::new()),
        [one] => one,
        more => {
            return Err(format!(
                "range query returned {} series, expected one: aggregate it, e.g. sum(...)",
                more.len()
            ));
        }
    };
    let values = one["values"]
        .as_array()
        .ok_or("range series has no values")?;
    Ok(values
        .iter()
        .filter_map(|p| {
            let at = (p.get(0)?.as_f64()? * 1000.0).round() as At;
            let v = sample_value(p)?;
            v.is_finite().then_some((at, v))
        })
        .collect())
}

/// The `data` of a successful API response with its warnings, or why not.
fn api_data(status: u16, body: &[u8], url: &str) -> Result<(Value, Vec<String>), String> {
    let parsed: Result<Value, _> = serde_json::from_slice(body);
    let api_error = |v: &Value| {
        v["error"].as_str().map(|e| {
            let kind = v["errorType"].as_str().unwrap_or("error");
            format!("{kind}: {e}")
        })
    };
    if !(200..300).contains(&status) {
        let why = parsed.as_ref().ok().and_then(api_error);
        return Err(match why {
            Some(why) => format!("HTTP {status} from {}: {why}", shown(url)),
            None => format!("HTTP {status} from {}", shown(url)),
        });
    }
    let v = parsed.map_err(|e| format!("malformed JSON from {}: {e}", shown(url)))?;
    match v["status"].as_str() {
        Some("success") => {}
        Some("error") => {
            let why = api_error(&v).unwrap_or_else(|| "no reason given".into());
            return Err(format!("Prometheus error from {}: {why}", shown(url)));
        }
        _ => {
            return Err(format!(
                "response from {} has no \"status\"; is this a Prometheus API?",
                shown(url)
            ));
        }
    }
    let mut warnings: Vec<String> = Vec::new();
    for key in ["warnings", "infos"] {
        if let Some(list) = v[key].as_array() {
            warnings.extend(list.iter().filter_map(|w| w.as_str().map(String::from)));
        }
    }
    Ok((v["data"].clone(), warnings))
}

/// A `[timestamp, "value"]` pair's value; Prometheus writes numbers as strings.
fn sample_value(pair: &Value) -> Option<f64> {
    pair.get(1)?.as_str()?.parse().ok()
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
