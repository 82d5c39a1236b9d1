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

use std::time::Duration;

use crate::config::Config;
use crate::rollout::{At, Group, Reading};

pub struct Sources {
    metrics: usize,
    every: Duration,
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
        Ok(Sources {
            metrics: config.metrics.len(),
            every,
        })
    }

    pub fn every(&self) -> Duration {
        self.every
    }

    pub async fn poll(&mut self) -> Vec<(usize, Group, Reading)> {
        (0..self.metrics)
            .map(|i| {
                (
                    i,
                    Group::Canary,
                    Reading::no_data("metric sources not built yet"),
                )
            })
            .collect()
    }

    pub async fn backfill(&mut self, _now: At) -> Vec<(usize, Vec<(At, f64)>)> {
        Vec::new()
    }
}
