//! The Prometheus HTTP API (`/api/v1/query`, `/api/v1/query_range`), as
//! Prometheus, Thanos, Mimir and VictoriaMetrics all serve it: the client
//! and its polls here; the freshness checks (`fresh.rs`), history over a
//! range (`history.rs`), the queries a config asks for (`queries.rs`) and
//! the API's answers read (`answer.rs`) beside it.

mod answer;
mod fresh;
mod history;
mod queries;

use futures::future::join_all;
use serde_json::Value;

use super::fetch::{self, shown};
use super::templates::Promql;
use crate::config::Config;
use crate::config::model::PrometheusSpec;
use crate::duration::Span;
use crate::rollout::reading::Histogram;
use crate::rollout::{Group, Reading};
use answer::{api_data, sample_value};
use fresh::Freshness;
use queries::metric_queries;

pub use answer::{NO_SERIES, instant_answer, range_answer};
pub use history::Recorded;
pub use queries::fill;

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
