//! Numbers that parse but mean nothing: `nan` and `inf` (TOML accepts
//! both), counts below zero, percentages past 100, ratios that make a
//! canary breach for being as good as the stable version.

use super::problem;
use crate::at;
use crate::config::error::{Problem, Seg};
use crate::config::model::{Config, MetricSpec};

/// TOML's spelling, which is what the operator wrote.
fn toml_number(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        crate::format::number(v)
    }
}

/// A number that is not finite is reported here; callers skip their own
/// checks on it.
pub fn finite(path: Vec<Seg>, v: f64, out: &mut Vec<Problem>) -> bool {
    if v.is_finite() {
        return true;
    }
    let key = match path.last() {
        Some(Seg::Key(k)) => k.clone(),
        _ => "value".into(),
    };
    out.push(problem(
        path,
        format!("{key} = {} is not a finite number", toml_number(v)),
        "write a number: a line at nan is never compared and one at inf is never crossed, so nothing would ever fire",
    ));
    false
}

/// Percent metrics: rates in percent, 0 to 100.
fn is_percent(m: &MetricSpec) -> bool {
    m.unit.as_deref() == Some("%")
}

fn percent(path: Vec<Seg>, metric: &str, v: f64, out: &mut Vec<Problem>) {
    if (0.0..=100.0).contains(&v) {
        return;
    }
    let key = match path.last() {
        Some(Seg::Key(k)) => k.clone(),
        _ => "value".into(),
    };
    out.push(problem(
        path,
        format!(
            "{key} {} is outside 0..100: {metric} is a percentage",
            toml_number(v)
        ),
        "rates are written in percent: 0.5 means 0.5%, 99.5 means 99.5%",
    ));
}

pub(super) fn check_numbers(config: &Config, out: &mut Vec<Problem>) {
    policy_numbers(config, out);
    stage_numbers(config, out);
    metric_numbers(config, out);
}

/// The rollout's traffic and the policy's numbers, each in its range.
fn policy_numbers(config: &Config, out: &mut Vec<Problem>) {
    if let Some(t) = config.rollout.traffic
        && finite(at!["rollout", "traffic"], t, out)
        && t <= 0.0
    {
        out.push(problem(
            at!["rollout", "traffic"],
            format!("traffic {} is not above 0", toml_number(t)),
            "write the requests per second both versions serve together, e.g. traffic = 400, or leave it out",
        ));
    }
    let c = config.policy.confidence;
    if finite(at!["policy", "confidence"], c, out) && !(0.5..1.0).contains(&c) {
        out.push(problem(
            at!["policy", "confidence"],
            format!("confidence {} is outside 0.5..1", toml_number(c)),
            "write how sure the evidence judge must be before it calls a breach, e.g. 0.99; 1 could never be reached",
        ));
    }
    let m = config.policy.traffic_margin;
    if finite(at!["policy", "traffic_margin"], m, out) && !(m > 0.0 && m < 100.0) {
        out.push(problem(
            at!["policy", "traffic_margin"],
            format!(
                "traffic_margin {} is outside 0..100 (percentage points)",
                toml_number(m)
            ),
            "write how many points the seen share may be from the set weight, e.g. 5; 0 would warn on every poll",
        ));
    }
}

/// Stage weights and per-stage thresholds: finite, percentages in 0..100.
fn stage_numbers(config: &Config, out: &mut Vec<Problem>) {
    for (i, s) in config.stages.iter().enumerate() {
        if let Some(w) = s.weight {
            finite(at!["stage", i, "weight"], w, out);
        }
        for (name, o) in &s.thresholds {
            let metric = config.metrics.iter().find(|m| &m.name == name);
            for (key, v) in [("warning", o.warning), ("critical", o.critical)] {
                let Some(v) = v else { continue };
                let path = at!["stage", i, "thresholds", name, key];
                if finite(path.clone(), v, out) && metric.is_some_and(is_percent) {
                    percent(path, name, v, out);
                }
            }
        }
    }
}

/// A metric's lines and factors: finite, percentages in 0..100, counts
/// not below zero, a baseline ratio above 1.
fn metric_numbers(config: &Config, out: &mut Vec<Problem>) {
    for (i, m) in config.metrics.iter().enumerate() {
        let numbers = [
            ("scale", m.scale),
            ("warning", m.warning),
            ("critical", m.critical),
            ("immediate", m.immediate),
            ("baseline_ratio", m.baseline_ratio),
            ("baseline_floor", m.baseline_floor),
            ("min_requests", m.min_requests),
        ];
        let percent_keys = ["warning", "critical", "immediate", "baseline_floor"];
        for (key, v) in numbers {
            let Some(v) = v else { continue };
            let path = at!["metric", i, key];
            if finite(path.clone(), v, out) && is_percent(m) && percent_keys.contains(&key) {
                percent(path, &m.name, v, out);
            }
        }
        if let Some(q) = m.scrape.as_ref().and_then(|s| s.quantile) {
            finite(at!["metric", i, "scrape", "quantile"], q, out);
        }
        if let Some(n) = m.min_requests.filter(|n| *n < 0.0) {
            out.push(problem(
                at!["metric", i, "min_requests"],
                format!("min_requests {} is negative", toml_number(n)),
                "write how many requests a value needs before it is judged: 0 judges every value, the rates' default is 50",
            ));
        }
        if let Some(x) = m.baseline_ratio.filter(|x| *x <= 1.0) {
            check_ratio(i, m, x, out);
        }
    }
}

fn check_ratio(i: usize, m: &MetricSpec, x: f64, out: &mut Vec<Problem>) {
    let who = if x >= 1.0 {
        "a canary the least bit worse than the stable version"
    } else {
        "even a canary better than the stable version"
    };
    let factor =
        "write a factor above 1 (2: the canary may reach twice the stable version's value)";
    let fix = match crate::config::defaults::kind_defaults(m.kind).and_then(|d| d.baseline_ratio) {
        // Left out, these kinds get seed 000's ratio back: say so.
        Some(d) => format!(
            "{factor}; left out, {} keeps the default {}x",
            m.name,
            toml_number(d)
        ),
        None => format!("{factor}, or leave `baseline_ratio` out to turn the rule off"),
    };
    out.push(problem(
        at!["metric", i, "baseline_ratio"],
        format!(
            "baseline_ratio {} is not above 1: {who} would breach",
            toml_number(x)
        ),
        fix,
    ));
}
