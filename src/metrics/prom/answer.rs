//! The API's JSON answers read into numbers, or the reason there is none.

use serde_json::Value;

use super::Answer;
use crate::metrics::compute::promql_number;
use crate::metrics::fetch::shown;
use crate::rollout::At;

pub const NO_SERIES: &str = "query returned no series";

/// Turns an `/api/v1/query` response into one number or the reason there is none.
pub fn instant_answer(status: u16, body: &[u8], url: &str) -> Result<Answer, String> {
    let data = api_data(status, body, url)?;
    let warnings = data.1;
    let data = data.0;
    let result = &data["result"];
    let sample = match data["resultType"].as_str() {
        Some("scalar") => result,
        Some("vector") => {
            let series = result.as_array().ok_or("vector result is not a list")?;
            match series.len() {
                0 => return Err(NO_SERIES.into()),
                1 => &series[0]["value"],
                n => {
                    return Err(format!(
                        "query returned {n} series, expected one: aggregate it, e.g. sum(...)"
                    ));
                }
            }
        }
        Some("matrix") => {
            return Err(
                "query returned a range vector: drop the [range] or wrap it in rate()".into(),
            );
        }
        other => {
            return Err(format!(
                "unexpected result type {other:?} from {}",
                shown(url)
            ));
        }
    };
    let value = sample_value(sample)
        .ok_or_else(|| format!("malformed sample in the response from {}", shown(url)))?;
    if !value.is_finite() {
        return Err(format!("query returned {}", promql_number(value)));
    }
    let raw = crate::metrics::raw::prometheus(body).unwrap_or_default();
    Ok(Answer {
        value,
        warnings,
        raw,
    })
}

/// Turns an `/api/v1/query_range` response into points of its one series.
pub fn range_answer(status: u16, body: &[u8], url: &str) -> Result<Vec<(At, f64)>, String> {
    let (data, _) = api_data(status, body, url)?;
    let series = data["result"]
        .as_array()
        .ok_or("range result is not a list")?;
    let one = match series.as_slice() {
        // Nothing recorded in the range: no points, which callers read as
        // no data at every step.
        [] => return Ok(Vec::new()),
        [one] => one,
        more => {
            return Err(format!(
                "range query returned {} series, expected one: aggregate it, e.g. sum(...)",
                more.len()
            ));
        }
    };
    let values = one["values"]
        .as_array()
        .ok_or("range series has no values")?;
    Ok(values
        .iter()
        .filter_map(|p| {
            let at = (p.get(0)?.as_f64()? * 1000.0).round() as At;
            let v = sample_value(p)?;
            v.is_finite().then_some((at, v))
        })
        .collect())
}

/// The `data` of a successful API response with its warnings, or why not.
pub(super) fn api_data(
    status: u16,
    body: &[u8],
    url: &str,
) -> Result<(Value, Vec<String>), String> {
    let parsed: Result<Value, _> = serde_json::from_slice(body);
    let api_error = |v: &Value| {
        v["error"].as_str().map(|e| {
            let kind = v["errorType"].as_str().unwrap_or("error");
            format!("{kind}: {e}")
        })
    };
    if !(200..300).contains(&status) {
        let why = parsed.as_ref().ok().and_then(api_error);
        return Err(match why {
            Some(why) => format!("HTTP {status} from {}: {why}", shown(url)),
            None => format!("HTTP {status} from {}", shown(url)),
        });
    }
    let v = parsed.map_err(|e| format!("malformed JSON from {}: {e}", shown(url)))?;
    match v["status"].as_str() {
        Some("success") => {}
        Some("error") => {
            let why = api_error(&v).unwrap_or_else(|| "no reason given".into());
            return Err(format!("Prometheus error from {}: {why}", shown(url)));
        }
        _ => {
            return Err(format!(
                "response from {} has no \"status\"; is this a Prometheus API?",
                shown(url)
            ));
        }
    }
    let mut warnings: Vec<String> = Vec::new();
    for key in ["warnings", "infos"] {
        if let Some(list) = v[key].as_array() {
            warnings.extend(list.iter().filter_map(|w| w.as_str().map(String::from)));
        }
    }
    Ok((v["data"].clone(), warnings))
}

/// A `[timestamp, "value"]` pair's value; Prometheus writes numbers as strings.
pub(super) fn sample_value(pair: &Value) -> Option<f64> {
    pair.get(1)?.as_str()?.parse().ok()
}
