//! Metric sources: the Prometheus HTTP API, direct `/metrics` scraping,
//! health probes and Alertmanager's firing alerts. Everything a source can get wrong becomes a `NoData`
//! reading with its reason; nothing here decides anything.
//!
//! Each Prometheus metric, each probe, and the scraped targets (whose
//! metrics all read the same scrape) poll on their own schedule, so a
//! slow one is no data at its timeout and never delays the others.
//!
//! The runtime's edges call only these, so a source kind is added here
//! without touching the loop:
//! - `Sources::from_config(&Config) -> Result<Sources, String>`
//! - `Sources::every(&self) -> std::time::Duration` (simulated time between polls)
//! - `Sources::run(self, every, deliver)`: polls until `deliver` returns
//!   false, handing it one `Batch` per metric per poll
//! - `Sources::poll(&mut self) -> Vec<(usize, Group, Reading)>` (every
//!   poller once, at once; metric index into `config.metrics`, bounded by
//!   the configured timeouts)
//! - `Sources::backfill(&mut self, now: At) -> Vec<(usize, Vec<(At, f64)>)>`
//!   (recent canary history per metric, for sparklines; may be empty)
//! - `Sources::take_warnings(&mut self) -> Vec<Warning>` (what Prometheus
//!   warned about in the last `poll`, redacted; `run` hands them over with
//!   each batch)
//!
//! Every reason and detail leaves here redacted (`crate::secrets`): a
//! server that echoes our credentials in an error body is outside text.

pub mod alerts;
pub mod compute;
pub mod exposition;
pub mod fetch;
pub mod matcher;
pub mod probe;
pub mod prom;
pub mod raw;
pub mod scrape;
pub mod templates;
pub mod window;

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use tokio::task::JoinSet;

use crate::config::Config;
use crate::config::model::MetricSpec;
use crate::duration::Span;
use crate::rollout::{At, Group, Reading};
use crate::secrets::Secrets;
use alerts::AlertCount;
use probe::Probe;
use prom::Api;
use scrape::{ScrapeMetric, Scraper};

/// How far back `backfill` reaches.
pub const BACKFILL: Duration = Duration::from_secs(5 * 60);

/// One metric's readings of one poll: its canary and baseline together,
/// so the core never judges a canary against another poll's baseline.
pub type Batch = Vec<(usize, Group, Reading)>;

/// What polls on its own schedule.
enum Poller {
    /// One metric's queries, canary and baseline.
    Api {
        api: Arc<Api>,
        metric: usize,
    },
    /// Every scraped metric: they read the same scrape of the same targets.
    Scrape(Scraper),
    Probe(Probe),
    /// One metric's firing alerts in Alertmanager, canary and baseline.
    Alerts(AlertCount),
}

/// What every poller reads but none owns.
struct Shared {
    probe_client: reqwest::Client,
    probe_timeout: Span,
    /// Every metric's spec, by index: what range its readings may take.
    specs: Vec<MetricSpec>,
    secrets: Secrets,
}

/// A warning (or info) the Prometheus API sent with one query's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    pub metric: usize,
    pub group: Group,
    pub text: String,
}

impl Poller {
    /// One batch per metric, each reading in its metric's range and
    /// redacted, with the warnings Prometheus sent for it.
    async fn poll(&mut self, shared: &Shared) -> Vec<(Batch, Vec<Warning>)> {
        let mut warnings = Vec::new();
        let readings = match self {
            Poller::Api { api, metric } => {
                let answered = api.poll(*metric).await;
                let mut readings = Vec::new();
                for (metric, group, reading, said) in answered {
                    warnings.extend(said.iter().map(|w| Warning {
                        metric,
                        group,
                        text: shared.secrets.redact(w),
                    }));
                    readings.push((metric, group, reading));
                }
                readings
            }
            Poller::Scrape(scraper) => scraper.poll().await,
            Poller::Probe(p) => {
                let r = p.read(&shared.probe_client, shared.probe_timeout).await;
                vec![(p.metric, Group::Canary, r)]
            }
            Poller::Alerts(a) => a.read().await,
        };
        let mut batches: Vec<(Batch, Vec<Warning>)> = Vec::new();
        for (i, group, r) in readings {
            let r = shared.secrets.reading(r.within_range(&shared.specs[i]));
            match batches.iter_mut().find(|b| b.0[0].0 == i) {
                Some(batch) => batch.0.push((i, group, r)),
                None => {
                    let said = warnings.iter().filter(|w| w.metric == i).cloned().collect();
                    batches.push((vec![(i, group, r)], said));
                }
            }
        }
        batches
    }
}

pub struct Sources {
    every: Duration,
    api: Option<Arc<Api>>,
    pollers: Vec<Poller>,
    shared: Arc<Shared>,
    /// The last `poll`'s Prometheus warnings, until taken.
    warnings: Vec<Warning>,
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
            Some(spec) => Some(Arc::new(Api::from_config(config, spec)?)),
            None => None,
        };
        let pollers = pollers(config, api.as_ref())?;
        let probe_timeout = config
            .scrape
            .as_ref()
            .map(|s| s.timeout)
            .or(config.prometheus.as_ref().map(|p| p.timeout))
            .unwrap_or(Span::secs(5));
        Ok(Sources {
            every,
            api: api.filter(|a| !a.is_empty()),
            pollers,
            shared: Arc::new(Shared {
                probe_client: crate::net::client_builder(&reqwest::Method::GET)
                    .build()
                    .map_err(|e| format!("probes: cannot build the HTTP client: {e}"))?,
                probe_timeout,
                specs: config.metrics.clone(),
                secrets: Secrets::from_config(config),
            }),
            warnings: Vec::new(),
        })
    }

    /// Watching a simulator that runs `speed` times faster than real time:
    /// counter rates per second are per simulated second.
    pub fn set_speed(&mut self, speed: f64) {
        for p in &mut self.pollers {
            if let Poller::Scrape(s) = p {
                s.set_speed(speed);
            }
        }
    }

    pub fn every(&self) -> Duration {
        self.every
    }

    /// Every poller once, all at once; each request is bounded by its timeout.
    pub async fn poll(&mut self) -> Vec<(usize, Group, Reading)> {
        let shared = &self.shared;
        let polled = join_all(self.pollers.iter_mut().map(|p| p.poll(shared))).await;
        let mut out = Vec::new();
        for (batch, warnings) in polled.into_iter().flatten() {
            out.extend(batch);
            self.warnings.extend(warnings);
        }
        out
    }

    /// The Prometheus API client, when any metric reads it.
    pub fn prometheus(&self) -> Option<&Api> {
        self.api.as_deref()
    }

    pub fn take_warnings(&mut self) -> Vec<Warning> {
        std::mem::take(&mut self.warnings)
    }

    /// Polls every source on its own `every` (real time) until `deliver`
    /// says no one listens. A poll that runs late delays only its own next
    /// poll. A poller that panics takes the whole run down with it, so the
    /// task supervising it sees the panic instead of a metric going quiet.
    pub async fn run<F>(self, every: Duration, deliver: F)
    where
        F: Fn(Batch, Vec<Warning>) -> bool + Clone + Send + 'static,
    {
        self.run_paced(move || every, deliver).await
    }

    /// `run`, with the real interval asked again before every poll: a drill
    /// on screen changes pace, and a poll must stay `every` simulated
    /// seconds apart at either pace.
    pub async fn run_paced<E, F>(self, every: E, deliver: F)
    where
        E: Fn() -> Duration + Clone + Send + Sync + 'static,
        F: Fn(Batch, Vec<Warning>) -> bool + Clone + Send + 'static,
    {
        let mut tasks = JoinSet::new();
        for mut poller in self.pollers {
            let (shared, deliver) = (self.shared.clone(), deliver.clone());
            let every = every.clone();
            tasks.spawn(async move {
                loop {
                    let polled = tokio::time::Instant::now();
                    for (batch, warnings) in poller.poll(&shared).await {
                        if !deliver(batch, warnings) {
                            return;
                        }
                    }
                    wait_one_interval(&every, polled.elapsed()).await;
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            if let Err(e) = done
                && e.is_panic()
            {
                std::panic::resume_unwind(e.into_panic());
            }
        }
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

/// One poller per source a metric reads: a Prometheus query, the scraper
/// of all scraped metrics, a probe, an Alertmanager count.
fn pollers(config: &Config, api: Option<&Arc<Api>>) -> Result<Vec<Poller>, String> {
    let mut pollers: Vec<Poller> = Vec::new();
    if let Some(api) = api {
        for metric in api.metrics() {
            pollers.push(Poller::Api {
                api: api.clone(),
                metric,
            });
        }
    }
    let mut scraped = Vec::new();
    for (i, m) in config.metrics.iter().enumerate() {
        if let Some(sm) = ScrapeMetric::from_spec(m)? {
            scraped.push((i, sm));
        }
    }
    if let Some(spec) = &config.scrape
        && !scraped.is_empty()
    {
        pollers.push(Poller::Scrape(Scraper::new(spec, scraped)?));
    }
    for (i, m) in config.metrics.iter().enumerate() {
        if let Some(url) = &m.probe {
            pollers.push(Poller::Probe(Probe {
                metric: i,
                url: url.clone(),
                expect_version: config.rollout.new_version.clone(),
            }));
        }
    }
    if let Some(spec) = &config.alertmanager {
        let client = fetch::client(&spec.endpoint())?;
        for (i, m) in config.metrics.iter().enumerate() {
            if let Some(sel) = &m.alerts {
                pollers.push(Poller::Alerts(AlertCount::new(
                    i,
                    spec,
                    sel,
                    client.clone(),
                )?));
            }
        }
    }
    Ok(pollers)
}

/// Sleeps what is left of one poll interval after `spent`, in slices, the
/// interval asked again for each: when a drill's pace changes mid-wait, the
/// rest of the wait follows the new pace instead of the old one.
async fn wait_one_interval(every: &impl Fn() -> Duration, spent: Duration) {
    const SLICE: Duration = Duration::from_millis(100);
    let share = |d: Duration| d.as_secs_f64() / every().as_secs_f64().max(1e-3);
    let mut done = share(spent);
    while done < 1.0 {
        let slice = SLICE
            .min(every().mul_f64(1.0 - done))
            .max(Duration::from_millis(1));
        tokio::time::sleep(slice).await;
        done += share(slice);
    }
}
