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

/// A group's lines of one family on its pages, for the detail view.
type RawLines<'a> = dyn Fn(Group, &str) -> String + 'a;

/// A target's page already read into samples, or why there is none.
pub type Page<'a> = Result<(MetricSnapshot<'a>, Instant), String>;

/// A page read: refused like a failed scrape when a counter is not a
/// finite number, so the window skips it and the next one spans the gap.
fn accept<'a>(snapshot: MetricSnapshot<'a>, at: Instant, url: &str) -> Outcome<'a> {
    match compute::non_finite_counter(&snapshot) {
        Some(why) => Outcome::Failed(format!("cannot use {}: {why}", shown(url))),
        None => Outcome::Read {
            snapshot,
            at,
            window: None,
        },
    }
}

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
    /// HTTP and a drill's simulator serves them; both go through the same
    /// parser, window and arithmetic.
    pub fn absorb(&mut self, bodies: &[Body]) -> Vec<(usize, Group, Reading)> {
        let outcomes: Vec<Outcome> = self
            .targets
            .iter()
            .zip(bodies)
            .map(|(t, body)| match body {
                Err(reason) => Outcome::Failed(reason.clone()),
                Ok((text, at)) => match exposition::parse(text, &self.wanted) {
                    Ok(snapshot) => accept(snapshot, *at, &t.url),
                    Err(e) => Outcome::Failed(format!("cannot read {}: {e}", shown(&t.url))),
                },
            })
            .collect();
        // The answer's own lines, for the detail view: each group's pages
        // gathered once per poll, not once per metric.
        let of = |group: Group| -> Vec<(String, &str)> {
            self.targets
                .iter()
                .zip(bodies)
                .filter(|(t, _)| t.group == group)
                .filter_map(|(t, b)| Some((t.url.clone(), b.as_ref().ok()?.0.as_str())))
                .collect()
        };
        let (canary, baseline) = (of(Group::Canary), of(Group::Baseline));
        let raw = |group: Group, family: &str| {
            let pages = match group {
                Group::Canary => &canary,
                Group::Baseline => &baseline,
            };
            read_lines(pages, family)
        };
        self.judge(outcomes, Some(&raw))
    }

    /// Readings from pages already read into samples, one per target: a
    /// batch drill's simulator hands over its counters without writing and
    /// parsing text a thousand times a run. The window and arithmetic are
    /// `absorb`'s; the readings carry no raw lines (no one looks at them).
    pub fn absorb_read(&mut self, pages: Vec<Page<'_>>) -> Vec<(usize, Group, Reading)> {
        let outcomes = pages
            .into_iter()
            .zip(&self.targets)
            .map(|(page, t)| match page {
                Err(reason) => Outcome::Failed(reason),
                Ok((mut snapshot, at)) => {
                    snapshot.samples.retain(|s| self.wanted.keeps(s.name));
                    accept(snapshot, at, &t.url)
                }
            })
            .collect();
        self.judge(outcomes, None)
    }

    /// Records each good page in its target's window, then reads every
    /// metric of each group from the group's windows, with the lines of
    /// the answer `raw` finds for a group and family.
    fn judge(
        &mut self,
        mut outcomes: Vec<Outcome>,
        raw: Option<&RawLines>,
    ) -> Vec<(usize, Group, Reading)> {
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
            for (i, m) in &self.metrics {
                let r = match (reading(m, &observed, self.speed), raw) {
                    (r @ Reading::Value { .. }, Some(raw)) => r.with_raw(&raw(group, &m.family)),
                    (r, _) => r,
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
}

/// The family's lines on each of a group's pages, each page under its
/// URL when the group has more than one.
fn read_lines(pages: &[(String, &str)], family: &str) -> String {
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
