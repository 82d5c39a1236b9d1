//! The simulated latency: a distribution given by its p95.

/// A latency distribution with a given p95: a floor plus an exponential
/// tail, so the CDF has a closed form and `histogram_quantile` reads back
/// the p95 that was set.
#[derive(Debug, Clone, Copy)]
pub(super) struct Latency {
    floor: f64,
    scale: f64,
}

impl Latency {
    pub(super) fn with_p95(p95: f64) -> Latency {
        let p95 = p95.max(0.001);
        Latency {
            floor: 0.4 * p95,
            scale: 0.6 * p95 / 20f64.ln(),
        }
    }

    pub(super) fn cdf(&self, x: f64) -> f64 {
        if x <= self.floor {
            0.0
        } else {
            1.0 - (-(x - self.floor) / self.scale).exp()
        }
    }

    pub(super) fn mean(&self) -> f64 {
        self.floor + self.scale
    }
}
