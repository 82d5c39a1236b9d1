//! A scraped metric's value from what grew between a target's scrapes.

use super::{Outcome, ScrapeMetric};
use crate::config::model::MetricKind;
use crate::metrics::compute::{self, Buckets, Requests, SeriesValues};
use crate::metrics::exposition::MetricSnapshot;
use crate::metrics::matcher::Matchers;
use crate::metrics::window::Window;
use crate::rollout::Reading;

/// One metric for one group, summed over the group's targets. Any target
/// that failed makes the whole group no data: a sum missing a pod is not
/// the group's value.
pub(super) fn reading(m: &ScrapeMetric, observed: &[&Outcome], speed: f64) -> Reading {
    let failures: Vec<&str> = observed
        .iter()
        .filter_map(|o| match o {
            Outcome::Failed(why) => Some(why.as_str()),
            Outcome::Read { .. } => None,
        })
        .collect();
    if let Some(first) = failures.first() {
        return Reading::no_data(if observed.len() == 1 {
            first.to_string()
        } else {
            format!(
                "{} of {} targets failed: {first}",
                failures.len(),
                observed.len()
            )
        });
    }
    let pairs: Vec<Pair> = observed
        .iter()
        .filter_map(|o| match o {
            Outcome::Read {
                snapshot, window, ..
            } => Some(Pair {
                window: window.as_ref(),
                snapshot,
                secs: window
                    .as_ref()
                    .map_or(0.0, |w| w.span.as_secs_f64() * speed),
            }),
            Outcome::Failed(_) => None,
        })
        .collect();
    let mut reading = compute_reading(m, &pairs);
    if let Reading::Value {
        value, histogram, ..
    } = &mut reading
    {
        *value *= m.scale;
        // The bounds are in the family's unit, as the value was.
        for (le, _) in histogram.iter_mut().flatten() {
            *le *= m.scale;
        }
    }
    reading
}

/// A target's page, what grew over the window ending at it (none on its
/// first scrape), and the service's seconds the window spans.
struct Pair<'a> {
    window: Option<&'a Window>,
    snapshot: &'a MetricSnapshot<'a>,
    secs: f64,
}

const WAITING: &str = "waiting for a second scrape";

fn compute_reading(m: &ScrapeMetric, pairs: &[Pair]) -> Reading {
    let counter = pairs
        .first()
        .is_some_and(|p| compute::is_counter(p.snapshot, &m.family));
    let deltas_needed = m.quantile.is_some()
        || counter
        || matches!(
            m.kind,
            MetricKind::ErrorRate | MetricKind::SuccessRate | MetricKind::DbErrors
        );
    if deltas_needed && pairs.iter().any(|p| p.window.is_none()) {
        return Reading::no_data(WAITING);
    }
    if let Some(q) = m.quantile {
        return quantile(m, q, pairs);
    }
    match m.kind {
        MetricKind::ErrorRate | MetricKind::SuccessRate => rate_of_errors(m, pairs),
        MetricKind::DbErrors => {
            per_second(m, pairs).map_or_else(Reading::no_data, |r| Reading::value(r * 60.0, None))
        }
        // A counter of alerts counts the new ones; a gauge is read as is.
        MetricKind::SecurityAlerts if counter => Reading::value(total_increase(m, pairs), None),
        MetricKind::Custom if counter => {
            per_second(m, pairs).map_or_else(Reading::no_data, |r| Reading::value(r, None))
        }
        _ => gauge(m, pairs),
    }
}

fn grown<'a>(p: &Pair<'a>) -> &'a SeriesValues {
    static EMPTY: std::sync::OnceLock<SeriesValues> = std::sync::OnceLock::new();
    p.window
        .map_or_else(|| EMPTY.get_or_init(SeriesValues::default), |w| &w.grown)
}

/// Why a group with pages but no requests has no value.
fn quiet(pairs: &[Pair]) -> String {
    match pairs
        .iter()
        .filter_map(|p| p.window)
        .map(|w| w.intervals)
        .max()
    {
        Some(n) if n > 1 => format!("no requests in the last {n} scrape intervals"),
        _ => "no requests between the last two scrapes".into(),
    }
}

fn rate_of_errors(m: &ScrapeMetric, pairs: &[Pair]) -> Reading {
    let mut sum = Requests::default();
    for p in pairs {
        sum += compute::requests(grown(p), p.snapshot, &m.family, &m.labels, &m.errors);
    }
    if !pairs.iter().any(|p| has_family(p.snapshot, &m.family)) {
        return Reading::no_data(format!("no {} series on the page", m.family));
    }
    if sum.total == 0.0 {
        return Reading::quiet(quiet(pairs));
    }
    let errors = 100.0 * sum.errors / sum.total;
    let value = if m.kind == MetricKind::SuccessRate {
        100.0 - errors
    } else {
        errors
    };
    Reading::value(value, Some(sum.total))
}

fn has_family(s: &MetricSnapshot, family: &str) -> bool {
    s.samples
        .iter()
        .any(|x| compute::is_counter_sample(family, x.name))
}

fn total_increase(m: &ScrapeMetric, pairs: &[Pair]) -> f64 {
    let none = Matchers::default();
    pairs
        .iter()
        .map(|p| compute::requests(grown(p), p.snapshot, &m.family, &m.labels, &none).total)
        .sum()
}

/// Summed per-second increase of a counter over each target's own interval.
fn per_second(m: &ScrapeMetric, pairs: &[Pair]) -> Result<f64, String> {
    let none = Matchers::default();
    let mut rate = 0.0;
    for p in pairs {
        let window = p.window.ok_or(WAITING)?;
        if p.secs <= 0.0 {
            return Err(WAITING.into());
        }
        rate += compute::requests(&window.grown, p.snapshot, &m.family, &m.labels, &none).total
            / p.secs;
    }
    Ok(rate)
}

fn gauge(m: &ScrapeMetric, pairs: &[Pair]) -> Reading {
    if !pairs.iter().any(|p| has_family(p.snapshot, &m.family)) {
        return Reading::no_data(format!("no {} series on the page", m.family));
    }
    let sum = pairs
        .iter()
        .map(|p| compute::current_sum(p.snapshot, &m.family, &m.labels))
        .sum();
    Reading::value(sum, None)
}

fn quantile(m: &ScrapeMetric, q: f64, pairs: &[Pair]) -> Reading {
    let mut buckets = Buckets::new();
    for p in pairs {
        compute::bucket_increases(grown(p), p.snapshot, &m.family, &m.labels, &mut buckets);
    }
    if buckets.is_empty() {
        return Reading::no_data(format!("no {}_bucket series on the page", m.family));
    }
    let observed = buckets
        .iter()
        .find(|(le, _)| *le == f64::INFINITY)
        .map(|(_, n)| *n);
    let Some(requests) = observed else {
        return Reading::no_data(format!("{}_bucket has no le=\"+Inf\" bucket", m.family));
    };
    if requests == 0.0 {
        return Reading::quiet(quiet(pairs));
    }
    let value = compute::histogram_quantile(q, &buckets);
    Reading::value(value, Some(requests)).with_histogram(compute::cumulative(buckets))
}
