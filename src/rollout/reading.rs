//! What a metric source hands the core: a value with its evidence, or the
//! reason there is none.

use serde::{Deserialize, Serialize};

/// Canary (new version) or baseline (stable, old version).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    Canary,
    Baseline,
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
    },
    /// No usable value, and why: "query returned no series", "timeout after 5s".
    NoData { reason: String },
}

impl Reading {
    pub fn value(value: f64, requests: Option<f64>) -> Reading {
        if value.is_finite() {
            Reading::Value {
                value,
                requests,
                detail: None,
            }
        } else {
            Reading::NoData {
                reason: format!("value is {value}"),
            }
        }
    }

    pub fn no_data(reason: impl Into<String>) -> Reading {
        Reading::NoData {
            reason: reason.into(),
        }
    }
}
