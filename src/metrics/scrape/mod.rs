//! Direct scraping of `/metrics` pages, no Prometheus in between: every
//! value is computed from what changed over a window of a target's recent
//! scrapes (by default one interval: the last two scrapes).
//! What a metric reads (`metric.rs`) and how its value is computed from
//! the pages (`reading.rs`) live beside the scraper.

mod metric;
mod reading;

use std::collections::HashSet;
use std::time::Instant;

use futures::future::join_all;

use super::compute;
use super::exposition::{self, MetricSnapshot, Wanted};
use super::fetch::{self, shown};
use super::window::{History, Window};
use crate::config::model::ScrapeSpec;
use crate::duration::Span;
use crate::rollout::{Group, Reading};
use reading::reading;

pub use metric::{ScrapeMetric, plan_source};

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
        [(_, page)] => crate::metrics::raw::exposition(page, family),
        _ => pages
            .iter()
            .map(|(url, page)| {
                format!(
                    "{}:\n{}",
                    shown(url),
                    crate::metrics::raw::exposition(page, family)
                )
            })
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

#[cfg(test)]
mod tests {
    use super::*;
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
}
