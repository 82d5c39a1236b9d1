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
//! - `Sources::take_warnings(&mut self) -> Vec<Warning>` (what Prometheus
//!   warned about in the last poll, redacted)
//!
//! Every reason and detail leaves here redacted (`crate::secrets`): a
//! server that echoes our credentials in an error body is outside text.

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
use crate::duration::Span;
use crate::rollout::{At, Group, Reading};
use crate::secrets::Secrets;
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
    secrets: Secrets,
    /// The last poll's Prometheus warnings, until taken.
    warnings: Vec<Warning>,
}

/// A warning (or info) the Prometheus API sent with one query's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    pub metric: usize,
    pub group: Group,
    pub text: String,
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
            probe_client: crate::net::client_builder(&reqwest::Method::GET)
                .build()
                .map_err(|e| format!("probes: cannot build the HTTP client: {e}"))?,
            probe_timeout,
            secrets: Secrets::from_config(config),
            warnings: Vec::new(),
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
        let (answered, scraped, probed) = tokio::join!(api, scraped, probes);
        let mut out = Vec::new();
        for (metric, group, reading, warnings) in answered {
            self.warnings.extend(warnings.iter().map(|w| Warning {
                metric,
                group,
                text: self.secrets.redact(w),
            }));
            out.push((metric, group, reading));
        }
        out.extend(scraped);
        out.extend(probed);
        out.into_iter()
            .map(|(m, g, r)| (m, g, self.secrets.reading(r)))
            .collect()
    }

    /// The warnings of the polls since the last call, redacted.
    pub fn take_warnings(&mut self) -> Vec<Warning> {
        std::mem::take(&mut self.warnings)
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
