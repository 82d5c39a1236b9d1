//! Direct scraping of `/metrics` pages, no Prometheus in between: every
//! value is computed from what changed over a window of a target's recent
//! scrapes (by default one interval: the last two scrapes).

use std::collections::HashSet;
use std::time::Instant;

use futures::future::join_all;

use super::compute::{self, Buckets, Requests, SeriesValues};
use super::exposition::{self, MetricSnapshot, Wanted};
use super::fetch::{self, shown};
use super::matcher::Matchers;
use super::window::{History, Window};
use crate::config::expand::histogram_unit;
use crate::config::model::{MetricKind, MetricSpec, ScrapeSelector, ScrapeSpec};
use crate::duration::Span;
use crate::rollout::{Group, Reading};

/// What one metric reads from the pages, with its matchers compiled.
#[derive(Debug, Clone)]
pub struct ScrapeMetric {
    pub kind: MetricKind,
    pub family: String,
    pub labels: Matchers,
    pub errors: Matchers,
    pub quantile: Option<f64>,
    pub scale: f64,
}

impl ScrapeMetric {
    pub fn from_spec(m: &MetricSpec) -> Result<Option<ScrapeMetric>, String> {
        let Some(sel) = &m.scrape else {
            return Ok(None);
        };
        let what = format!("metric \"{}\" scrape", m.name);
        let errors = Matchers::from_config(&sel.errors, &format!("{what}.errors"))?;
        let needs_errors = matches!(m.kind, MetricKind::ErrorRate | MetricKind::SuccessRate);
        if needs_errors && errors.is_empty() {
            return Err(format!(
                "{what}: an error or success rate needs `errors`, e.g. errors = {{ code = \"~5..\" }}"
            ));
        }
        let quantile = sel
            .quantile
            .or((m.kind == MetricKind::LatencyP95).then_some(0.95));
        Ok(Some(ScrapeMetric {
            kind: m.kind,
            family: sel.family.clone(),
            labels: Matchers::from_config(&sel.labels, &format!("{what}.labels"))?,
            errors,
            quantile,
            scale: m.scale.unwrap_or(1.0),
        }))
    }
}

/// How `check` names a scraped metric's source: the family and, for a
/// histogram, the unit it counts in and the scale that makes it the metric's.
pub fn plan_source(m: &MetricSpec, sel: &ScrapeSelector) -> String {
    let histogram = sel.quantile.is_some() || m.kind == MetricKind::LatencyP95;
    let read = histogram_unit(&sel.family).filter(|_| histogram);
    let scale = m.scale.map(crate::format::number);
    let unit = m.unit.as_deref().unwrap_or_default();
    match (read, scale) {
        (Some(read), Some(x)) => format!("scrape {} in {read}, x{x} to {unit}", sel.family),
        (Some(read), None) => format!("scrape {} in {read}", sel.family),
        (None, Some(x)) => format!("scrape {}, x{x}", sel.family),
        (None, None) => format!("scrape {}", sel.family),
    }
}

#[derive(Clone)]
struct Target {
    url: String,
    group: Group,
    history: History,
}

/// This poll's result for one target; a read page borrows its body.
enum Outcome<'a> {
    Failed(String),
    Read {
        snapshot: MetricSnapshot<'a>,
        at: Instant,
        /// None on a target's first good scrape.
        window: Option<Window>,
    },
}

/// A target's page and when it was read, or why there is none.
pub type Body = Result<(String, Instant), String>;

/// Cloned before its first poll, a fresh scraper of the same targets (a
/// batch drill makes one per run without building an HTTP client each time).
#[derive(Clone)]
pub struct Scraper {
    client: reqwest::Client,
    timeout: Span,
    wanted: Wanted,
    targets: Vec<Target>,
    metrics: Vec<(usize, ScrapeMetric)>,
    /// Seconds of the service's clock per real second: 1, or a drill's
    /// `--speed`, whose simulator counts that much faster.
    speed: f64,
    /// Duplicate series already noted, by target URL and series.
    noted: HashSet<String>,
}

impl Scraper {
    pub fn new(spec: &ScrapeSpec, metrics: Vec<(usize, ScrapeMetric)>) -> Result<Scraper, String> {
        let client = crate::net::client_builder(&reqwest::Method::GET)
            .build()
            .map_err(|e| format!("[scrape]: cannot build the HTTP client: {e}"))?;
        let intervals = spec.window_intervals();
        let targets = spec
            .canary
            .iter()
            .map(|u| (u, Group::Canary))
            .chain(spec.baseline.iter().map(|u| (u, Group::Baseline)))
            .map(|(url, group)| Target {
                url: url.clone(),
                group,
                history: History::new(intervals),
            })
            .collect();
        Ok(Scraper {
            client,
            timeout: spec.timeout,
            wanted: Wanted::families(metrics.iter().map(|(_, m)| m.family.clone())),
            targets,
            metrics,
            speed: 1.0,
            noted: HashSet::new(),
        })
    }

    /// Per-second rates are per second of the watched service's clock.
    pub fn set_speed(&mut self, speed: f64) {
        self.speed = speed;
    }

    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty()
    }

    pub async fn poll(&mut self) -> Vec<(usize, Group, Reading)> {
        let bodies: Vec<Body> = join_all(self.targets.iter().map(|t| self.fetch(&t.url))).await;
        self.absorb(&bodies)
    }

    /// Readings from one page (or failure) per target, in the order the
    /// targets were configured, read at `at`. `poll` fetches them over
    /// HTTP; a batch drill hands over the simulator's pages directly, so
    /// both go through the same parser, window and arithmetic.
    pub fn absorb(&mut self, bodies: &[Body]) -> Vec<(usize, Group, Reading)> {
        let mut outcomes: Vec<Outcome> = self
            .targets
            .iter()
            .zip(bodies)
            .map(|(t, body)| self.read(&t.url, body))
            .collect();
        // A failed scrape records nothing: the next window then spans the
        // gap, as `rate` does over missed scrapes.
        for (target, outcome) in self.targets.iter_mut().zip(&mut outcomes) {
            if let Outcome::Read {
                snapshot,
                at,
                window,
            } = outcome
            {
                *window = target.history.record(snapshot, *at);
                for note in new_duplicates(&mut self.noted, &target.url, snapshot) {
                    log::warn!("{note}");
                }
            }
        }
        let mut out = Vec::new();
        for group in [Group::Canary, Group::Baseline] {
            let observed: Vec<&Outcome> = self
                .targets
                .iter()
                .zip(&outcomes)
                .filter(|(t, _)| t.group == group)
                .map(|(_, o)| o)
                .collect();
            if observed.is_empty() {
                continue;
            }
            let pages: Vec<(&str, &str)> = self
                .targets
                .iter()
                .zip(bodies)
                .filter(|(t, _)| t.group == group)
                .filter_map(|(t, b)| Some((t.url.as_str(), b.as_ref().ok()?.0.as_str())))
                .collect();
            for (i, m) in &self.metrics {
                let r = reading(m, &observed, self.speed);
                let r = match r {
                    Reading::Value { .. } => r.with_raw(&read_lines(&pages, &m.family)),
                    other => other,
                };
                out.push((*i, group, r));
            }
        }
        out
    }

    async fn fetch(&self, url: &str) -> Body {
        let request = self
            .client
            .get(url)
            .header("Accept", "text/plain;version=0.0.4;q=0.9,*/*;q=0.1");
        let got = fetch::send(request, url, self.timeout).await?;
        let at = Instant::now();
        if got.status != 200 {
            return Err(format!("HTTP {} from {}", got.status, shown(url)));
        }
        let text =
            String::from_utf8(got.body).map_err(|_| format!("{} is not UTF-8 text", shown(url)))?;
        Ok((text, at))
    }

    fn read<'a>(&self, url: &str, body: &'a Body) -> Outcome<'a> {
        match body {
            Err(reason) => Outcome::Failed(reason.clone()),
            // Refused like a failed scrape, so the window skips it and the
            // next good page is read against the last good one.
            Ok((text, at)) => match exposition::parse(text, &self.wanted) {
                Ok(snapshot) => match compute::non_finite_counter(&snapshot) {
                    Some(why) => Outcome::Failed(format!("cannot use {}: {why}", shown(url))),
                    None => Outcome::Read {
                        snapshot,
                        at: *at,
                        window: None,
                    },
                },
                Err(e) => Outcome::Failed(format!("cannot read {}: {e}", shown(url))),
            },
        }
    }
}

/// The family's lines on each of a group's pages, each page under its
/// URL when the group has more than one.
fn read_lines(pages: &[(&str, &str)], family: &str) -> String {
    match pages {
        [(_, page)] => super::raw::exposition(page, family),
        _ => pages
            .iter()
            .map(|(url, page)| format!("{}:\n{}", shown(url), super::raw::exposition(page, family)))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// The notes for the page's duplicate series not noted before: each
/// series once per target, not on every poll.
fn new_duplicates(noted: &mut HashSet<String>, url: &str, page: &MetricSnapshot) -> Vec<String> {
    page.duplicates
        .iter()
        .filter(|series| noted.insert(format!("{url} {series}")))
        .map(|series| {
            format!(
                "{}: {series} appears more than once on the page; the first copy is read, as Prometheus reads it",
                shown(url)
            )
        })
        .collect()
}

/// One metric for one group, summed over the group's targets. Any target
/// that failed makes the whole group no data: a sum missing a pod is not
/// the group's value.
fn reading(m: &ScrapeMetric, observed: &[&Outcome], speed: f64) -> Reading {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(metric: &str) -> crate::config::Config {
        let text = format!(
            "[rollout]\nname = \"r\"\nservice = \"s\"\nold_version = \"1\"\nnew_version = \"2\"\n\
             [hooks]\nundo = {{ exec = [\"true\"] }}\n[window]\nenabled = false\n\
             [scrape]\ncanary = [\"http://127.0.0.1:9/metrics\"]\n{metric}"
        );
        crate::config::parse(std::path::Path::new("t.toml"), &text)
            .unwrap_or_else(|e| panic!("{}", e[0]))
    }

    #[test]
    fn metrics_note_a_duplicate_series_once_and_read_its_first_copy() {
        let text = "m_total{code=\"500\"} 4\nm_total{code=\"200\"} 9\nm_total{code=\"500\"} 5\n";
        let page = exposition::parse(text, &Wanted::all()).unwrap();
        let values: Vec<f64> = page.samples.iter().map(|s| s.value).collect();
        assert_eq!(values, [4.0, 9.0], "the first copy, once");
        let mut noted = HashSet::new();
        let url = "http://127.0.0.1:9/metrics";
        assert_eq!(
            new_duplicates(&mut noted, url, &page),
            [format!(
                "{url}: m_total{{code=\"500\"}} appears more than once on the page; the first copy is read, as Prometheus reads it"
            )]
        );
        assert!(
            new_duplicates(&mut noted, url, &page).is_empty(),
            "next poll"
        );
    }

    /// The same histogram in seconds is scaled to ms whether its family is
    /// written out or defaulted, and `check` says so.
    #[test]
    fn metrics_from_a_seconds_histogram_are_scaled_to_ms_written_out_or_defaulted() {
        let written = resolved(
            "[[metric]]\nname = \"p95\"\nkind = \"latency_p95\"\n\
             scrape = { family = \"http_request_duration_seconds\" }\n",
        );
        let defaulted = resolved("");
        let in_ms = resolved(
            "[[metric]]\nname = \"p95\"\nkind = \"latency_p95\"\n\
             scrape = { family = \"rpc_latency_milliseconds\" }\n",
        );
        let p95 = |c: &crate::config::Config| {
            let m = c
                .metrics
                .iter()
                .find(|m| m.kind == MetricKind::LatencyP95)
                .unwrap();
            (m.scale, plan_source(m, m.scrape.as_ref().unwrap()))
        };
        let seconds = "scrape http_request_duration_seconds in s, x1000 to ms".to_string();
        assert_eq!(p95(&written), (Some(1000.0), seconds.clone()));
        assert_eq!(p95(&defaulted), (Some(1000.0), seconds));
        assert_eq!(
            p95(&in_ms),
            (None, "scrape rpc_latency_milliseconds in ms".to_string())
        );
    }
}
