//! The metrics table (each metric's values, lines, state and trend or
//! reason) and, after a rollback, the stable version against each line.

use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

use super::{Pick, cell, shortened};
use crate::config::model::Direction;
use crate::rollout::track::Track;
use crate::rollout::{At, Level, Phase, Reading, Rollout, Rule};
use crate::tui::screen::Screen;
use crate::tui::theme::{Theme, symbol};

pub(super) fn panel_title(r: &Rollout, now: At) -> (String, Pick) {
    if r.state.phase == Phase::Waiting {
        return (" before the rollout ".into(), |t| t.warning);
    }
    if matches!(
        r.state.phase,
        Phase::Verifying { .. } | Phase::RolledBack { .. }
    ) {
        let ro = &r.config.rollout;
        let canary = crate::format::share(r.set_share(), r.traffic(now).seen)
            .map_or_else(String::new, |share| format!("; canary {share}"));
        return (
            format!(" after the rollback: stable {}{canary} ", ro.old_version),
            |t| t.critical,
        );
    }
    let stage = r
        .config
        .stages
        .get(r.state.stage)
        .map_or_else(String::new, |s| {
            let share = super::pipeline::stage_share(r, now).unwrap_or_else(|| s.exposure());
            format!("{} ({share})", s.name)
        });
    (format!(" metrics: {stage} "), |t| t.border)
}

pub(super) fn metric_value(slot: &Option<(At, Reading)>) -> Option<f64> {
    match slot {
        Some((_, Reading::Value { value, .. })) => Some(*value),
        _ => None,
    }
}

pub(super) fn line_text(rule: &Rule, v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let sign = match rule.direction {
        Direction::HigherIsWorse => ">",
        Direction::LowerIsWorse => "<",
    };
    format!("{sign} {}", rule.show(v))
}

/// Requests as a short number: 850, 12.3k, 4.1M.
pub(super) fn evidence(n: f64) -> String {
    match n {
        n if n >= 1e6 => format!("{:.1}M", n / 1e6),
        n if n >= 1e4 => format!("{:.1}k", n / 1e3),
        n => format!("{}", n.round() as i64),
    }
}

/// Column (title, width); the trend takes what is left.
const COLUMNS: [(&str, u16); 8] = [
    ("METRIC", 12),
    ("CANARY", 8),
    ("BASELINE", 8),
    ("RATIO", 5),
    ("WARN", 8),
    ("CRIT", 8),
    ("REQS", 6),
    ("STATE", 14),
];

/// The table as fixed-width lines: every column width is known.
pub(super) fn metrics_table<'a>(s: &Screen, r: &Rollout, width: u16) -> Vec<Line<'a>> {
    let t = &s.theme;
    let fixed: u16 = COLUMNS.iter().map(|(_, w)| w + 1).sum();
    let trend = width.saturating_sub(fixed).min(60);
    let with_trend = trend >= 8;
    let head = t.dim.add_modifier(Modifier::BOLD);
    let mut titles: Vec<Span> = COLUMNS
        .iter()
        .map(|(n, w)| cell(n.to_string(), *w, head))
        .collect();
    if with_trend {
        titles.push(cell("TREND (taller is worse)".into(), trend, head));
    }
    let mut lines = vec![Line::from(titles)];
    for (i, track) in r.tracks.iter().enumerate() {
        let level = track.verdict.level;
        let mut spans = columns(s, track);
        // The selection `enter` opens: the name cell, reversed.
        if i == s.selected.min(r.tracks.len().saturating_sub(1)) {
            spans[0].style = spans[0].style.add_modifier(Modifier::REVERSED);
        }
        let reason = row_reason(track);
        match (&reason, with_trend) {
            // A breach keeps a short trend before its reason.
            (Some(why), true) if level.is_judgeable() => {
                let short = (trend / 3).max(4);
                let mut line = sparkline(t, track, short as usize);
                let pad = (short as usize + 1).saturating_sub(line.width());
                spans.append(&mut line.spans);
                let room = trend.saturating_sub(short + 1);
                spans.push(Span::styled(
                    format!("{}{}", " ".repeat(pad), shortened(why, room)),
                    t.level(level),
                ));
            }
            (Some(why), true) => spans.push(Span::styled(shortened(why, trend), t.level(level))),
            (None, true) => spans.extend(sparkline(t, track, trend as usize).spans),
            _ => {}
        }
        lines.push(Line::from(spans));
        // Too narrow for a trend: the reason goes under its row.
        if let (Some(why), false) = (&reason, with_trend) {
            let room = width.saturating_sub(4);
            lines.push(Line::from(Span::styled(
                format!("  └ {}", shortened(why, room)),
                t.level(level),
            )));
        }
    }
    lines
}

/// One metric's fixed columns, each cut or padded to its width.
fn columns<'a>(s: &Screen, track: &Track) -> Vec<Span<'a>> {
    let t = &s.theme;
    let rule = &track.rule;
    let canary = metric_value(&track.canary);
    let base = metric_value(&track.baseline);
    // CANARY and BASELINE share a width; values round to fit it.
    let show = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| rule.show_within(v, COLUMNS[1].1));
    let ratio = match (canary, base) {
        (Some(c), Some(b)) if b > 0.0 => format!("{:.1}x", c / b),
        _ => "-".into(),
    };
    let reqs = match &track.canary {
        Some((
            _,
            Reading::Value {
                requests: Some(n), ..
            },
        )) => evidence(*n),
        _ => "-".into(),
    };
    let level = track.verdict.level;
    let texts = [
        (rule.label(), t.text),
        (show(canary), t.title),
        (show(base), t.text),
        (ratio, t.text),
        (line_text(rule, rule.warning), t.dim),
        (line_text(rule, rule.critical), t.dim),
        (reqs, t.text),
        (
            format!("{} {}", symbol(level), level.word()),
            t.level(level),
        ),
    ];
    texts
        .into_iter()
        .zip(COLUMNS)
        .map(|((text, style), (_, w))| cell(text, w, style))
        .collect()
}

/// A metric that is not OK says why in its own row, without its name;
/// shortened to fit there, whole in its detail view.
pub(super) fn row_reason(track: &Track) -> Option<String> {
    if track.verdict.level == Level::Ok {
        return None;
    }
    let reason = &track.verdict.reason;
    let label = track.rule.label();
    let own = reason
        .strip_prefix(&format!("{label}: "))
        .or_else(|| reason.strip_prefix(&format!("{label} ")))
        .unwrap_or(reason);
    Some(own.to_string())
}

/// After a rollback the stable version carries the traffic: its values
/// against each line, and whether each metric recovered.
pub(super) fn after_rollback<'a>(s: &Screen, r: &Rollout) -> Vec<Line<'a>> {
    const AFTER: [(&str, u16); 6] = [
        ("METRIC", 12),
        ("STABLE", 8),
        ("WARN", 8),
        ("CRIT", 8),
        ("REQS", 6),
        ("STATE", 16),
    ];
    let t = &s.theme;
    let head = t.dim.add_modifier(Modifier::BOLD);
    let mut lines = vec![Line::from(
        AFTER
            .iter()
            .map(|(n, w)| cell(n.to_string(), *w, head))
            .collect::<Vec<_>>(),
    )];
    let done = matches!(r.state.phase, Phase::RolledBack { .. });
    for track in &r.tracks {
        let rule = &track.rule;
        let value = metric_value(&track.baseline);
        let reqs = track
            .baseline
            .as_ref()
            .and_then(|(_, reading)| reading.requests())
            .map_or_else(|| "-".into(), evidence);
        let (state, style) = match value {
            None => ("? NO DATA".to_string(), t.no_data),
            Some(v) if !rule.beyond(v, rule.warning) => ("✓ RECOVERED".into(), t.ok),
            Some(_) if done => ("✗ NOT RECOVERED".into(), t.critical),
            Some(_) => ("… NOT YET".into(), t.warning),
        };
        let texts = [
            (rule.label(), t.text),
            (
                value.map_or_else(|| "-".into(), |v| rule.show_within(v, AFTER[1].1)),
                t.title,
            ),
            (line_text(rule, rule.warning), t.dim),
            (line_text(rule, rule.critical), t.dim),
            (reqs, t.text),
            (state, style),
        ];
        lines.push(Line::from(
            texts
                .into_iter()
                .zip(AFTER)
                .map(|((text, style), (_, w))| cell(text, w, style))
                .collect::<Vec<_>>(),
        ));
    }
    lines
}

/// Heights in eighths: 1-4 under the warning line, 5-6 between warning and
/// critical, 7-8 past critical. The band is readable without colour.
pub fn height(rule: &Rule, v: f64) -> usize {
    let (w, c) = (rule.warning, rule.critical);
    if !w.is_finite() || !c.is_finite() {
        return 1;
    }
    // Badness grows upward whichever way the metric goes.
    let (b, w, c) = match rule.direction {
        Direction::HigherIsWorse => (v, w, c),
        Direction::LowerIsWorse => (-v, -w, -c),
    };
    let span = (c - w).abs().max(f64::EPSILON);
    let floor = match rule.direction {
        Direction::HigherIsWorse => 0.0_f64.min(w),
        Direction::LowerIsWorse => w - 3.0 * span,
    };
    if rule.beyond(v, rule.critical) {
        if b < c + span { 7 } else { 8 }
    } else if rule.beyond(v, rule.warning) {
        if b < w + span / 2.0 { 5 } else { 6 }
    } else {
        let f = ((b - floor) / (w - floor).max(f64::EPSILON)).clamp(0.0, 1.0);
        1 + (f * 3.0).floor().min(3.0) as usize
    }
}

pub(super) fn sparkline<'a>(t: &Theme, track: &Track, width: usize) -> Line<'a> {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let rule = &track.rule;
    let skip = track.history.len().saturating_sub(width);
    // Runs of one style make one span: fewer cells to style, fewer allocations.
    let mut spans: Vec<Span> = Vec::new();
    let mut run = String::new();
    let mut run_style = None;
    for (_, v) in track.history.iter().skip(skip) {
        let h = height(rule, *v);
        let style = match h {
            7.. => t.critical,
            5..=6 => t.warning,
            _ if !rule.warning.is_finite() => t.dim,
            _ => t.ok,
        };
        if run_style.is_some_and(|s| s != style) {
            spans.push(Span::styled(
                std::mem::take(&mut run),
                run_style.unwrap_or_default(),
            ));
        }
        run_style = Some(style);
        run.push(BARS[h - 1]);
    }
    if let Some(style) = run_style {
        spans.push(Span::styled(run, style));
    }
    Line::from(spans)
}
