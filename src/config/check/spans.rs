//! Spans that are intervals or limits: 0s would spin, fail at once or
//! decide on one sample. Each is a row: where, the span, what 0s would
//! do, the fix.

use super::problem;
use crate::at;
use crate::config::error::{Problem, Seg};
use crate::config::model::Config;
use crate::duration::Span;

/// Where a span is written, the span, what 0s would do, the fix.
type Row = (Vec<Seg>, Span, &'static str, &'static str);

pub(super) fn check_intervals(config: &Config, out: &mut Vec<Problem>) {
    let mut spans = policy_spans(config);
    spans.extend(source_spans(config));
    spans.extend(item_spans(config));
    for (path, span, message, fix) in spans {
        if span == Span::ZERO {
            out.push(problem(path, message, fix));
        }
    }
}

/// `[policy]` and `[journal]`.
fn policy_spans(config: &Config) -> Vec<Row> {
    vec![
        (
            at!["policy", "stale_after"],
            config.policy.stale_after,
            "stale_after = \"0s\" makes every reading stale at once: every metric would be NO DATA",
            "set how old a reading may be, a few polling intervals such as \"30s\", or leave it out (30s)",
        ),
        (
            at!["policy", "traffic_grace"],
            config.policy.traffic_grace,
            "traffic_grace = \"0s\" would warn on the first poll after a weight change, whose requests mostly predate it",
            "set how long the seen share may lag the set weight, e.g. \"1m\", or leave it out (1m)",
        ),
        (
            at!["journal", "snapshot_every"],
            config.journal.snapshot_every,
            "snapshot_every = \"0s\" would write a snapshot on every update",
            "set an interval such as \"60s\", or leave it out (60s)",
        ),
    ]
}

/// How often and how long the metric sources are read.
fn source_spans(config: &Config) -> Vec<Row> {
    let mut spans = Vec::new();
    if let Some(p) = &config.prometheus {
        spans.extend([
            (
                at!["prometheus", "every"],
                p.every,
                "every = \"0s\" would query Prometheus without a pause",
                "set how often to poll, e.g. \"10s\", or leave it out (10s)",
            ),
            (
                at!["prometheus", "timeout"],
                p.timeout,
                "a timeout of 0s fails every query before it is sent",
                "set a timeout such as \"5s\", or leave it out (5s)",
            ),
            (
                at!["prometheus", "rate_window"],
                p.rate_window,
                "rate_window = \"0s\" is an empty range: rate(...[0s]) has no samples",
                "set a range of a few scrape intervals, e.g. \"1m\", or leave it out (1m)",
            ),
        ]);
    }
    if let Some(a) = &config.alertmanager {
        spans.push((
            at!["alertmanager", "timeout"],
            a.timeout,
            "a timeout of 0s fails every request before it is sent",
            "set a timeout such as \"5s\", or leave it out (5s)",
        ));
    }
    if let Some(s) = &config.scrape {
        spans.extend([
            (
                at!["scrape", "every"],
                s.every,
                "every = \"0s\" would scrape the targets without a pause",
                "set how often to scrape, e.g. \"5s\", or leave it out (5s)",
            ),
            (
                at!["scrape", "timeout"],
                s.timeout,
                "a timeout of 0s fails every scrape before it is sent",
                "set a timeout such as \"5s\", or leave it out (5s)",
            ),
        ]);
    }
    spans
}

/// Each metric's and stage threshold's `for`, each gate's `every`.
fn item_spans(config: &Config) -> Vec<Row> {
    let for_message = "for = \"0s\": one bad sample would count as a sustained breach";
    let for_fix = "set how long a breach must hold, e.g. \"1m\"; for a line that counts at once, set the metric's `immediate`";
    let mut spans = Vec::new();
    for (i, m) in config.metrics.iter().enumerate() {
        if let Some(f) = m.for_ {
            spans.push((at!["metric", i, "for"], f, for_message, for_fix));
        }
    }
    for (i, s) in config.stages.iter().enumerate() {
        for (name, o) in &s.thresholds {
            if let Some(f) = o.for_ {
                let path = at!["stage", i, "thresholds", name, "for"];
                spans.push((path, f, for_message, for_fix));
            }
        }
        if let Some(g) = &s.gate {
            spans.push((
                at!["stage", i, "gate", "every"],
                g.every,
                "every = \"0s\" would poll the gate without a pause",
                "set how often to poll the gate, e.g. \"10s\", or leave it out (10s)",
            ));
        }
    }
    spans
}
