//! A target's recent good scrapes, so counters can be read over a window
//! of several scrape intervals, as PromQL's `increase(x[1m])` reads them.
//! Each scrape adds what grew since the one before to a running total per
//! series; a restart inside the window then counts as `increase` counts
//! it (the new value in full), not as a drop.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::compute::{self, SeriesValues};
use super::exposition::MetricSnapshot;

#[derive(Clone)]
struct Seen {
    at: Instant,
    /// The page's values, to tell the next scrape's resets.
    raw: SeriesValues,
    /// Reset-corrected totals; only their differences mean anything.
    running: SeriesValues,
}

/// What grew over the window that ends at one scrape.
#[derive(Debug, Default)]
pub struct Window {
    /// Series id -> increase; a series first seen in this scrape is absent.
    pub grown: SeriesValues,
    /// Real time from the window's first scrape to this one.
    pub span: Duration,
    /// Scrape intervals the window covers (fewer while it fills up).
    pub intervals: usize,
}

#[derive(Clone)]
pub struct History {
    intervals: usize,
    seen: VecDeque<Seen>,
}

impl History {
    /// Windows of `intervals` scrape intervals (at least one).
    pub fn new(intervals: usize) -> History {
        History {
            intervals: intervals.max(1),
            seen: VecDeque::new(),
        }
    }

    /// Records a good scrape and returns the window ending at it; None for
    /// a target's first scrape, which has nothing to compare with.
    pub fn record(&mut self, page: &MetricSnapshot, at: Instant) -> Option<Window> {
        let mut raw = SeriesValues::default();
        let mut running = SeriesValues::default();
        for s in &page.samples {
            raw.insert(s.series, s.value);
            // Continue from the newest scrape that had the series; a series
            // never seen before starts at 0 and counts from its next scrape.
            let before = self.seen.iter().rev().find_map(|h| {
                h.running
                    .get(&s.series)
                    .map(|total| total + compute::increase(&h.raw, s))
            });
            running.insert(s.series, before.unwrap_or(0.0));
        }
        let window = self.seen.front().map(|first| Window {
            grown: running
                .iter()
                .filter_map(|(id, now)| {
                    let then = self.seen.iter().find_map(|h| h.running.get(id))?;
                    Some((*id, now - then))
                })
                .collect(),
            span: at.duration_since(first.at),
            intervals: self.seen.len(),
        });
        self.seen.push_back(Seen { at, raw, running });
        if self.seen.len() > self.intervals {
            self.seen.pop_front();
        }
        window
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::exposition::{self, Wanted};

    fn page(text: &str) -> MetricSnapshot<'_> {
        exposition::parse(text, &Wanted::families(["c"])).unwrap()
    }

    /// The increase of the page's only series over the window.
    fn grew(h: &mut History, value: f64, t: Instant) -> Option<f64> {
        let text = format!("# TYPE c counter\nc_total {value}\n");
        let p = page(&text);
        let id = p.samples[0].series;
        h.record(&p, t)
            .map(|w| w.grown.get(&id).copied().unwrap_or(0.0))
    }

    #[test]
    fn one_interval_is_the_difference_between_two_scrapes() {
        let t = Instant::now();
        let mut h = History::new(1);
        assert_eq!(grew(&mut h, 10.0, t), None, "first scrape");
        assert_eq!(grew(&mut h, 15.0, t), Some(5.0));
        assert_eq!(grew(&mut h, 3.0, t), Some(3.0), "a restart counts in full");
        assert_eq!(grew(&mut h, 4.0, t), Some(1.0));
    }

    #[test]
    fn a_window_sums_its_intervals_across_a_restart() {
        let t = Instant::now();
        let mut h = History::new(3);
        grew(&mut h, 100.0, t);
        assert_eq!(grew(&mut h, 110.0, t), Some(10.0), "filling: 1 interval");
        assert_eq!(grew(&mut h, 5.0, t), Some(15.0), "restart: +5");
        assert_eq!(grew(&mut h, 12.0, t), Some(22.0), "3 intervals: 10 + 5 + 7");
        assert_eq!(grew(&mut h, 20.0, t), Some(20.0), "5 + 7 + 8");
    }

    #[test]
    fn span_and_intervals_grow_until_the_window_is_full() {
        let t = Instant::now();
        let mut h = History::new(2);
        let p = page("c_total 1\n");
        assert!(h.record(&p, t).is_none());
        let w = h.record(&p, t + Duration::from_secs(5)).unwrap();
        assert_eq!((w.span, w.intervals), (Duration::from_secs(5), 1));
        let w = h.record(&p, t + Duration::from_secs(10)).unwrap();
        assert_eq!((w.span, w.intervals), (Duration::from_secs(10), 2));
        let w = h.record(&p, t + Duration::from_secs(15)).unwrap();
        assert_eq!((w.span, w.intervals), (Duration::from_secs(10), 2));
    }

    #[test]
    fn a_series_that_appears_mid_window_counts_from_its_first_scrape() {
        let t = Instant::now();
        let mut h = History::new(3);
        let errors = |n: u32| format!("c_total{{code=\"200\"}} 100\nc_total{{code=\"500\"}} {n}\n");
        h.record(&page("c_total{code=\"200\"} 100\n"), t);
        let text = errors(2);
        let p = page(&text);
        let id = p.samples[1].series;
        let w = h.record(&p, t).unwrap();
        assert_eq!(w.grown.get(&id), None, "first seen: nothing yet");
        let text = errors(5);
        let w = h.record(&page(&text), t).unwrap();
        assert_eq!(w.grown.get(&id), Some(&3.0));
    }
}
