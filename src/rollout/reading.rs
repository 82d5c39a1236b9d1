//! What a metric source hands the core: a value with its evidence, or the
//! reason there is none.

use serde::{Deserialize, Serialize};

use crate::config::model::{MetricKind, MetricSpec};
use crate::format::with_unit;

/// Canary (new version) or baseline (stable, old version).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    Canary,
    Baseline,
}

/// A window's histogram: (upper bound in the metric's unit, requests at
/// or under it), cumulative as Prometheus' `le` buckets are, ending at +Inf.
pub type Histogram = Vec<(f64, f64)>;

/// Bytes of a source's answer kept with a reading at most: a screenful.
pub const RAW_MAX: usize = 2048;

/// What the source answered, as it said it (Prometheus' `data.result`,
/// the scraped family's exposition lines, a probe's status and first
/// line), shortened and redacted, for the metric's detail view.
///
/// Kept on the driver only: serde skips it, so it is never journalled and
/// the live feed stays small (a few hundred bytes per metric per poll
/// would multiply a follower's bytes). It is no part of what the reading
/// means: two readings that differ only in it are equal.
#[derive(Debug, Clone, Default)]
pub struct Raw(pub Option<String>);

impl PartialEq for Raw {
    fn eq(&self, _: &Raw) -> bool {
        true
    }
}

impl Raw {
    /// `text` cut to `RAW_MAX` bytes at a character boundary.
    pub fn bounded(text: &str) -> Raw {
        if text.len() <= RAW_MAX {
            return Raw(Some(text.to_string()));
        }
        let mut end = RAW_MAX - "…".len();
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        Raw(Some(format!("{}…", &text[..end])))
    }

    pub fn text(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

/// One observation of one metric for one group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Reading {
    /// A finite value in the metric's unit, with the requests it stands on
    /// (None when the source cannot say, e.g. a raw PromQL query).
    Value {
        value: f64,
        requests: Option<f64>,
        /// Extra words to show beside it, e.g. "version 2.0.0".
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
        /// The counts a latency quantile was computed from, when the
        /// source read them: the judge counts the requests slower than a
        /// line from them.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            with = "super::counted::bounds"
        )]
        histogram: Option<Histogram>,
        /// The source's own answer it was read from, shortened: see `Raw`.
        #[serde(skip)]
        raw: Raw,
    },
    /// No usable value, and why: "query returned no series", "timeout after 5s".
    /// `requests` is `Some(0)` when the source knows no request came (a
    /// version that gets no traffic), None when it cannot say.
    NoData {
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        requests: Option<f64>,
    },
}

/// One reading of one metric for one group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub metric: usize,
    pub group: Group,
    pub reading: Reading,
}

impl Reading {
    pub fn value(value: f64, requests: Option<f64>) -> Reading {
        if value.is_finite() {
            Reading::Value {
                value,
                requests,
                detail: None,
                histogram: None,
                raw: Raw::default(),
            }
        } else {
            Reading::NoData {
                reason: format!("value is {value}"),
                // A rate of nothing: the count still says no traffic came.
                requests: requests.filter(|n| *n == 0.0),
            }
        }
    }

    /// The same reading with the histogram its value was computed from.
    pub fn with_histogram(self, buckets: Histogram) -> Reading {
        match self {
            Reading::Value {
                value,
                requests,
                detail,
                raw,
                ..
            } => Reading::Value {
                value,
                requests,
                detail,
                histogram: Some(buckets),
                raw,
            },
            other => other,
        }
    }

    /// The same reading with the source's answer it was read from, as
    /// given: `Secrets::reading` bounds it after redacting it, so a cut
    /// never leaves the first half of a secret. A reading without a value
    /// keeps its reason only.
    pub fn with_raw(self, text: &str) -> Reading {
        match self {
            Reading::Value {
                value,
                requests,
                detail,
                histogram,
                ..
            } => Reading::Value {
                value,
                requests,
                detail,
                histogram,
                raw: Raw(Some(text.to_string())),
            },
            other => other,
        }
    }

    /// The source's answer kept with the reading, if any.
    pub fn raw(&self) -> Option<&str> {
        match self {
            Reading::Value { raw, .. } => raw.text(),
            Reading::NoData { .. } => None,
        }
    }

    pub fn no_data(reason: impl Into<String>) -> Reading {
        Reading::NoData {
            reason: reason.into(),
            requests: None,
        }
    }

    /// No value because no request came in the window: the traffic share
    /// can still be read from it (zero).
    pub fn quiet(reason: impl Into<String>) -> Reading {
        Reading::NoData {
            reason: reason.into(),
            requests: Some(0.0),
        }
    }

    /// The requests this reading stands on, when the source counted them.
    pub fn requests(&self) -> Option<f64> {
        match self {
            Reading::Value { requests, .. } | Reading::NoData { requests, .. } => *requests,
        }
    }

    /// The reading `metric` may be judged on: a value its kind and unit
    /// cannot take (a percentage outside 0-100, a negative latency or
    /// count, readiness other than 0-1) or a negative request count is no
    /// data, whatever the source. Float noise at an edge is clamped.
    pub fn within_range(self, metric: &MetricSpec) -> Reading {
        let Reading::Value {
            value,
            requests,
            detail,
            histogram,
            raw,
        } = self
        else {
            return self;
        };
        if let Some(n) = requests.filter(|n| *n < 0.0 || !n.is_finite()) {
            return Reading::no_data(format!(
                "request count {} is not a count",
                crate::format::number(n)
            ));
        }
        let unit = metric.unit.as_deref().unwrap_or_default();
        let Some((low, high)) = valid_range(metric.kind, unit) else {
            return Reading::Value {
                value,
                requests,
                detail,
                histogram,
                raw,
            };
        };
        const NOISE: f64 = 1e-9;
        if value < low - NOISE || value > high + NOISE {
            let range = if high == f64::INFINITY {
                format!("below {}", with_unit(low, unit))
            } else {
                format!("outside {}-{}", with_unit(low, unit), with_unit(high, unit))
            };
            return Reading::no_data(format!("{} is {range}", with_unit(value, unit)));
        }
        Reading::Value {
            value: value.clamp(low, high),
            requests,
            detail,
            histogram,
            raw,
        }
    }
}

/// What a metric of `kind` in `unit` can read; None: anything finite.
fn valid_range(kind: MetricKind, unit: &str) -> Option<(f64, f64)> {
    if unit == "%" {
        return Some((0.0, 100.0));
    }
    match kind {
        MetricKind::Readiness => Some((0.0, 1.0)),
        MetricKind::Custom => None,
        _ => Some((0.0, f64::INFINITY)),
    }
}
