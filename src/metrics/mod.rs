//! Metric sources: the Prometheus HTTP API, direct `/metrics` scraping and
//! health probes. Everything a source can get wrong becomes a `NoData`
//! reading with its reason; nothing here decides anything.
//!
//! INTERFACE (used by `run::edges`; keep these signatures):
//! - `Sources::from_config(&Config) -> Result<Sources, String>`
//! - `Sources::every(&self) -> std::time::Duration` (simulated time between polls)
//! - `Sources::poll(&mut self) -> Vec<(usize, Group, Reading)>` (metric index
//!   into `config.metrics`, bounded by the configured timeouts)
//! - `Sources::backfill(&mut self, now: At) -> Vec<(usize, Vec<(At, f64)>)>`
//!   (recent canary history per metric, for sparklines; may be empty)

pub mod compute;
pub mod exposition;
pub mod fetch;
pub mod matcher;
pub mod probe;
pub mod prom;
pub mod scrape;
pub mod templates;
pub mod window;

use std::time::Duration;

use futures::future::join_all;

use crate::config::Config;
use crate::config::model::MetricSpec;
use crate::duration::Span;
use crate::rollout::{At, Group, Reading};
use probe::Probe;
use prom::Api;
use scrape::{ScrapeMetric, Scraper};

/// How far back `backfill` reaches.
pub const BACKFILL: Duration = Duration::from_secs(5 * 60);

pub struct Sources {
    every: Duration,
    api: Option<Api>,
    scraper: Option<Scraper>,
    probes: Vec<Probe>,
    probe_client: reqwest::Client,
    probe_timeout: Span,
    /// Every metric's spec, by index: what range its readings may take.
    specs: Vec<MetricSpec>,
}

impl Sources {
    pub fn from_config(config: &Config) -> Result<Sources, String> {
        let every = config
            .scrape
            .as_ref()
            .map(|s| s.every)
            .or(config.prometheus.as_ref().map(|p| p.every))
            .map_or(Duration::from_secs(5), |s| {
                Duration::from_millis(s.as_millis())
            });
        let api = match &config.prometheus {
            Some(spec) => Some(Api::from_config(config, spec)?),
            None => None,
        };
        let mut scraped = Vec::new();
        for (i, m) in config.metrics.iter().enumerate() {
            if let Some(sm) = ScrapeMetric::from_spec(m)? {
                scraped.push((i, sm));
            }
        }
        let scraper = match &config.scrape {
            Some(spec) if !scraped.is_empty() => Some(Scraper::new(spec, scraped)?),
            _ => None,
        };
        let probes = config
            .metrics
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                m.probe.as_ref().map(|url| Probe {
                    metric: i,
                    url: url.clone(),
                    expect_version: config.rollout.new_version.clone(),
                })
            })
            .collect();
        let probe_timeout = config
            .scrape
            .as_ref()
            .map(|s| s.timeout)
            .or(config.prometheus.as_ref().map(|p| p.timeout))
            .unwrap_or(Span::secs(5));
        Ok(Sources {
            every,
            api: api.filter(|a| !a.is_empty()),
            scraper: scraper.filter(|s| !s.is_empty()),
            probes,
            probe_client: reqwest::Client::new(),
            probe_timeout,
            specs: config.metrics.clone(),
        })
    }

    /// Watching a simulator that runs `speed` times faster than real time:
    /// counter rates per second are per simulated second.
    pub fn set_speed(&mut self, speed: f64) {
        if let Some(s) = &mut self.scraper {
            s.set_speed(speed);
        }
    }

    pub fn every(&self) -> Duration {
        self.every
    }

    /// Every source at once; each request is bounded by its timeout.
    pub async fn poll(&mut self) -> Vec<(usize, Group, Reading)> {
        let api = async {
            match &self.api {
                Some(api) => api.poll().await,
                None => Vec::new(),
            }
        };
        let scraped = async {
            match &mut self.scraper {
                Some(s) => s.poll().await,
                None => Vec::new(),
            }
        };
        let (client, timeout) = (&self.probe_client, self.probe_timeout);
        let probes = join_all(
            self.probes
                .iter()
                .map(|p| async move { (p.metric, Group::Canary, p.read(client, timeout).await) }),
        );
        let (mut out, scraped, probed) = tokio::join!(api, scraped, probes);
        out.extend(scraped);
        out.extend(probed);
        self.in_range(out)
    }

    /// The one place every source's readings pass: out-of-range is no data.
    fn in_range(&self, batch: Vec<(usize, Group, Reading)>) -> Vec<(usize, Group, Reading)> {
        batch
            .into_iter()
            .map(|(i, g, r)| (i, g, r.within_range(&self.specs[i])))
            .collect()
    }

    /// The canary's last five minutes from Prometheus, one point per poll
    /// interval; scraped targets and probes have no history to offer.
    pub async fn backfill(&mut self, now: At) -> Vec<(usize, Vec<(At, f64)>)> {
        match &self.api {
            Some(api) => api.backfill(now, BACKFILL, self.every).await,
            None => Vec::new(),
        }
    }
}
