//! The report as Markdown: times in UTC so it reads the same wherever it
//! is rendered.

use std::fmt::Write;

use super::model::{AFTER_ROLLBACK, Report};
use crate::duration::Span;
use crate::format::offset;
use crate::rollout::At;
use crate::rollout::event::MetricValue;

/// `at` in UTC as `format`; the raw milliseconds if out of range.
fn utc(at: At, format: &str) -> String {
    chrono::DateTime::from_timestamp_millis(at as i64)
        .map(|t| t.format(format).to_string())
        .unwrap_or_else(|| at.to_string())
}

/// `2026-11-24 10:30:05 UTC`
fn when(at: At) -> String {
    utc(at, "%Y-%m-%d %H:%M:%S UTC")
}

/// `10:30:05`
fn clock(at: At) -> String {
    utc(at, "%H:%M:%S")
}

fn span(ms: u64) -> String {
    Span::whole_secs(ms).to_string()
}

/// Table cells stay on one line and keep their pipes.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn metrics_line(metrics: &[MetricValue]) -> String {
    let parts: Vec<String> = metrics
        .iter()
        .map(|m| {
            let value = m.canary.map_or_else(|| "-".into(), crate::format::number);
            format!("{} {value} {} ({})", m.metric, m.level.word(), m.reason)
        })
        .collect();
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join("; ")
    }
}

pub fn markdown(r: &Report) -> String {
    let mut out = String::new();
    summary(&mut out, r);
    timeline(&mut out, r);
    who_drove(&mut out, r);
    stages(&mut out, r);
    decisions(&mut out, r);
    hooks(&mut out, r);
    notes(&mut out, r);
    if let Some(score) = &r.drill_score {
        drill_score(&mut out, score);
    }
    if r.rolled_back {
        let _ = writeln!(out, "## After the rollback (seed 003)\n");
        for item in AFTER_ROLLBACK {
            let _ = writeln!(out, "- [ ] {item}");
        }
        out.push('\n');
    }
    for w in &r.warnings {
        let _ = writeln!(out, "> warning: {w}");
    }
    out.trim_end().to_string() + "\n"
}

/// The drill's score: when things were seen and decided, in simulated time.
fn drill_score(out: &mut String, d: &crate::rollout::event::DrillScore) {
    let t = |ms: Option<u64>| ms.map_or_else(|| "-".to_string(), |ms| offset(ms as i64));
    let verdict = crate::rollout::words::drill_verdict(d);
    let blind = d
        .blind
        .as_ref()
        .map(|b| format!(" ({b})"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "## Drill score: {}{blind}
",
        d.scenario
    );
    let _ = writeln!(
        out,
        "{verdict}: {} at {} (a good operator: {} at {} within {}).
",
        d.outcome,
        d.stage,
        d.expected_outcome,
        d.expected_stage,
        span(d.expected_within_ms)
    );
    let by = d
        .decided_by
        .as_ref()
        .map_or_else(|| "-".to_string(), |a| a.to_string());
    let rows = [
        ("fault visible", t(d.fault_visible_ms)),
        ("first warning", t(d.first_warning_ms)),
        ("first critical", t(d.first_critical_ms)),
        (
            "operator's first act",
            match &d.operator_first_act {
                Some(what) => format!("{} ({what})", t(d.operator_first_act_ms)),
                None => "-".into(),
            },
        ),
        ("decision", format!("{} by {by}", t(d.decision_ms))),
        ("rollback complete", t(d.rollback_complete_ms)),
        ("ended", t(Some(d.ended_ms))),
    ];
    let _ = writeln!(out, "| moment | since start |\n|---|---|");
    for (what, when) in rows {
        let _ = writeln!(out, "| {what} | {when} |");
    }
    let who = crate::sim::score::who(d);
    let _ = writeln!(out, "\nWho: {who}.\n");
    let _ = writeln!(out, "What a good operator does: {}\n", d.good_operator);
}

fn summary(out: &mut String, r: &Report) {
    let drill = if r.drill { " (drill)" } else { "" };
    let _ = writeln!(out, "# Rollout report: {}{drill}\n", r.rollout);
    let rows = [
        ("Outcome", r.outcome.clone()),
        ("Service", format!("{} ({})", r.service, r.environment)),
        (
            "Versions",
            format!("{} -> {}", r.old_version, r.new_version),
        ),
        ("Strategy", r.strategy.clone()),
        ("Started", when(r.started_at)),
        ("Ended", when(r.ended_at)),
        ("Duration", span(r.duration_ms)),
        ("Driven by", r.operators.join(", ")),
        (
            "SSH connection",
            r.ssh_connection.clone().unwrap_or_else(|| "-".into()),
        ),
        ("Config", format!("{} ({})", r.config_path, r.config_hash)),
    ];
    let _ = writeln!(out, "| | |\n|---|---|");
    for (k, v) in rows {
        let _ = writeln!(out, "| {k} | {} |", cell(&v));
    }
    out.push('\n');
}

fn timeline(out: &mut String, r: &Report) {
    let base = match r.first_breach {
        Some(at) => format!("T+0 is the first breach, {}", clock(at)),
        None => "no breach; T+0 is the start".into(),
    };
    let _ = writeln!(out, "## Timeline\n\n{base}.\n");
    let _ = writeln!(out, "| T | Time (UTC) | What | Detail |\n|---|---|---|---|");
    for m in &r.timeline {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            offset(m.offset_ms),
            clock(m.at),
            m.kind,
            cell(&m.text)
        );
    }
    out.push('\n');
}

fn stages(out: &mut String, r: &Report) {
    let _ = writeln!(out, "## Time in each stage\n");
    let _ = writeln!(
        out,
        "| Stage | Exposure | Traffic | Entered | Left | Wall time | Observed | Ended |\n|---|---|---|---|---|---|---|---|"
    );
    for s in &r.stages {
        let left = s.left_at.map_or_else(|| "-".into(), clock);
        let wall = span(s.left_at.unwrap_or(r.ended_at).saturating_sub(s.entered_at));
        let traffic = s
            .traffic
            .and_then(|t| crate::format::share(t.set, t.seen))
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            out,
            "| {} | {} | {traffic} | {} | {left} | {wall} | {} | {} |",
            cell(&s.name),
            cell(&s.exposure),
            clock(s.entered_at),
            span(s.observed_ms),
            s.ended
        );
    }
    out.push('\n');
}

fn decisions(out: &mut String, r: &Report) {
    let _ = writeln!(out, "## Decisions and the metrics behind them\n");
    let _ = writeln!(
        out,
        "| Time (UTC) | Decision | By | Reason | Traffic | Metrics |\n|---|---|---|---|---|---|"
    );
    for d in &r.decisions {
        let traffic = d
            .traffic
            .and_then(|t| crate::format::share(t.set, t.seen))
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {traffic} | {} |",
            clock(d.at),
            d.action.word(),
            d.by,
            cell(&d.reason),
            cell(&metrics_line(&d.metrics))
        );
    }
    out.push('\n');
}

fn hooks(out: &mut String, r: &Report) {
    let _ = writeln!(out, "## Hooks\n");
    let _ = writeln!(
        out,
        "| # | Hook | Why | Started | Took | Outcome |\n|---|---|---|---|---|---|"
    );
    for h in &r.hooks {
        let took = h
            .ended_at
            .map_or_else(|| "-".into(), |e| span(e.saturating_sub(h.started_at)));
        let outcome = match h.ok {
            Some(true) => format!("ok: {}", h.summary),
            Some(false) => format!("FAILED: {}", h.summary),
            None => h.summary.clone(),
        };
        let why = h.purpose.hook_of(&h.stage_name);
        let _ = writeln!(
            out,
            "| {} | `{}` | {} | {} | {took} | {} |",
            h.id,
            cell(&h.label),
            cell(&why),
            clock(h.started_at),
            cell(&outcome)
        );
    }
    for h in r.hooks.iter().filter(|h| !h.tail.is_empty()) {
        let _ = writeln!(out, "\nOutput of #{} `{}`:\n\n```", h.id, h.label);
        for line in &h.tail {
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(out, "```");
    }
    out.push('\n');
}

/// Every stretch at the wheel; a run one operator drove alone says so in
/// the summary's "Driven by" and needs no table.
fn who_drove(out: &mut String, r: &Report) {
    if r.drivers.len() < 2 {
        return;
    }
    let _ = writeln!(
        out,
        "## Who drove\n\n| From | Driver | Why |\n|---|---|---|"
    );
    for d in &r.drivers {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            when(d.at),
            cell(&d.who),
            cell(&d.why)
        );
    }
    out.push('\n');
}

fn notes(out: &mut String, r: &Report) {
    if r.notes.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Operator notes\n");
    for n in &r.notes {
        let _ = writeln!(out, "- {} {}: {}", clock(n.at), n.by, n.text);
    }
    out.push('\n');
}
