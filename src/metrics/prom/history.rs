//! A metric's past from `query_range`: the backfill a screen opens with
//! and the history a replay reads.

use std::time::Duration;

use futures::future::join_all;

use super::Api;
use super::answer::range_answer;
use super::fetch;
use crate::rollout::{At, Group};

impl Api {
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

pub(super) fn scaled(points: Vec<(At, f64)>, scale: f64) -> Vec<(At, f64)> {
    points.into_iter().map(|(t, v)| (t, v * scale)).collect()
}
