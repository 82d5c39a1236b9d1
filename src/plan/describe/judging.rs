//! `check`'s words about judging by evidence: stages whose wait is short
//! for their traffic, and latency lines no bucket bound falls on. With
//! `--live` they use what the pre-flight read (the measured traffic, the
//! bucket bounds the page has); without, the `[rollout] traffic` hint.

use crate::config::Config;
use crate::config::model::MetricKind;
use crate::duration::Span;
use crate::format::{count, number};
use crate::rollout::counted::slower;
use crate::rollout::verdict::stage_rules;
use crate::rollout::{Group, Reading};

/// The stages whose wait is shorter than the time their share of `rps`
/// needs to show the canary within N x stable: the stage clock will wait
/// for the evidence, so the rollout takes longer than its waits add up to.
/// `from` says where the traffic figure came from.
pub fn wait_warnings(c: &Config, rps: Option<f64>, from: &str) -> Vec<String> {
    let Some(rps) = rps.filter(|r| *r > 0.0) else {
        return vec![];
    };
    let Some(rule) = stage_rules(c, 0)
        .into_iter()
        .find(|r| r.lines().is_some_and(|l| l.ratio.is_some()))
    else {
        return vec![];
    };
    let floor = rule.baseline_floor.unwrap_or(0.0) / 100.0;
    let needed = crate::rollout::evidence::requests_to_judge(floor);
    let mut out = Vec::new();
    for s in &c.stages {
        let Some(weight) = s.weight.filter(|w| *w > 0.0 && *w < 100.0) else {
            continue;
        };
        let canary = rps * weight / 100.0;
        let secs = (needed / canary).ceil() as u64;
        if secs * 1000 > s.wait.as_millis() {
            out.push(format!(
                "stage {}: at ~{} req/s the canary needs ~{} ({} requests) to show {} within {}x stable; wait is {}: the stage clock waits for the evidence (traffic {from})",
                s.name,
                number(canary),
                Span::secs(secs),
                count(needed),
                rule.label(),
                number(rule.baseline_ratio.unwrap_or(1.0)),
                s.wait
            ));
        }
    }
    out
}

/// What `check --live` adds from its readings: the wait warnings at the
/// traffic it measured, and each p95 line that falls between two of the
/// histogram's bucket bounds.
pub fn live_warnings(c: &Config, readings: &[(usize, Group, Reading)]) -> Vec<String> {
    let mut out = wait_warnings(c, measured_rps(c, readings), "measured by check --live");
    let rules = stage_rules(c, 0);
    let mut named = Vec::new();
    for (i, _, reading) in readings {
        let (
            Some(rule),
            Reading::Value {
                histogram: Some(h), ..
            },
        ) = (rules.get(*i), reading)
        else {
            continue;
        };
        if rule.kind != MetricKind::LatencyP95 || named.contains(i) {
            continue;
        }
        named.push(*i);
        let scale = c.metrics[*i].scale.unwrap_or(1.0);
        for line in [rule.warning, rule.critical] {
            let Some((low, high)) = slower(h, line).and_then(|s| s.between) else {
                continue;
            };
            out.push(format!(
                "{}: no bucket at {}: it falls between the bounds {} and {}, and the judge counts every request between them as slower (never a false OK, but a slower rollback call); add a bucket at le=\"{}\"",
                rule.name,
                rule.show(line),
                rule.show(low),
                rule.show(high),
                number(line / scale)
            ));
        }
    }
    out
}

/// Requests per second both versions served, from the first metric that
/// counted requests for each: what the stages will split.
fn measured_rps(c: &Config, readings: &[(usize, Group, Reading)]) -> Option<f64> {
    let counted = |i: usize, g: Group| {
        readings
            .iter()
            .find(|(m, group, _)| *m == i && *group == g)
            .and_then(|(_, _, r)| r.requests())
    };
    c.metrics.iter().enumerate().find_map(|(i, m)| {
        let secs = c.counts_window_ms(m) as f64 / 1000.0;
        let both = counted(i, Group::Canary)? + counted(i, Group::Baseline)?;
        (secs > 0.0).then(|| both / secs)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::Judge;

    #[test]
    fn the_live_check_warns_at_the_measured_traffic_and_names_the_missing_bucket() {
        // The drill's config: a scrape of both versions, error rate and p95.
        let scenario = crate::sim::Scenario::load("plain-healthy").unwrap();
        let config = crate::sim::batch::config(&scenario, Judge::Evidence).unwrap();
        // Without a hint or a measurement, nothing to say about waits.
        assert!(wait_warnings(&config, config.rollout.traffic, "hint").is_empty());
        // 100 requests in a 5 s window: 20 req/s, 1 req/s at 5%.
        let h = vec![
            (250.0, 90.0),
            (350.0, 99.0),
            (500.0, 100.0),
            (f64::INFINITY, 100.0),
        ];
        let p95 = Reading::value(260.0, Some(95.0)).with_histogram(h);
        let readings = vec![
            (0, Group::Canary, Reading::value(0.0, Some(5.0))),
            (0, Group::Baseline, Reading::value(0.0, Some(95.0))),
            (1, Group::Baseline, p95),
        ];
        let words = live_warnings(&config, &readings).join("\n");
        assert!(
            words.contains("stage 5%: at ~1 req/s the canary needs")
                && words.contains("(traffic measured by check --live)"),
            "{words}"
        );
        assert!(
            words.contains(
                "latency_p95: no bucket at 300 ms: it falls between the bounds 250 ms and 350 ms"
            ),
            "{words}"
        );
        assert!(words.contains("add a bucket at le=\"0.3\""), "{words}");
        assert!(!words.contains("no bucket at 500 ms"), "{words}");
    }
}
