//! One metric opened from the table: what is asked and answered, the rule
//! in words, a chart of the stage so far against its lines, and how its
//! verdict changed. Built from the screen's `opened::Stage`, so a follower
//! sees what the driver sees.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType, Paragraph};

use super::{rows, wrapped};
use crate::config::model::Direction;
use crate::duration::Span as Dur;
use crate::rollout::track::Track;
use crate::rollout::{At, Group, Reading, Rollout, Rule};
use crate::tui::opened::Seen;
use crate::tui::screen::Screen;
use crate::tui::theme::symbol;

/// Lines of verdict history shown under the chart at most.
const HISTORY_SHOWN: usize = 6;

pub(super) fn draw(frame: &mut Frame, s: &Screen, r: &Rollout, m: usize, now: At, area: Rect) {
    let t = &s.theme;
    let track = &r.tracks[m];
    let empty = Seen::default();
    let seen = s.stage.metrics.get(m).unwrap_or(&empty);
    let block = Block::bordered()
        .title(Span::styled(title(r, track, m), t.title))
        .border_style(t.level(track.verdict.level));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let facts = facts(s, r, track, m, now, inner.width);
    // The chart keeps five rows; the newest verdicts up to a third of the
    // rest; the words what is left.
    let history_h = (seen.verdicts.len() as u16 + 1)
        .min(HISTORY_SHOWN as u16 + 1)
        .min(inner.height.saturating_sub(5) / 3);
    let history = history(s, seen, inner.width, history_h.saturating_sub(1) as usize);
    let facts_h = (facts.len() as u16).min(inner.height.saturating_sub(5 + history_h));
    let [top, chart, bottom] = rows(inner, [Some(facts_h), None, Some(history_h)]);
    frame.render_widget(Paragraph::new(facts), top);
    draw_chart(frame, s, r, track, seen, now, chart);
    frame.render_widget(Paragraph::new(history), bottom);
}

fn title(r: &Rollout, track: &Track, m: usize) -> String {
    let stage = r
        .config
        .stages
        .get(r.state.stage)
        .map_or_else(String::new, |st| format!(" in {}", st.name));
    format!(
        " {} ({} of {}){stage} ",
        track.rule.label(),
        m + 1,
        r.tracks.len()
    )
}

/// Query, answers, the rule, the verdict: each wrapped whole.
fn facts<'a>(
    s: &Screen,
    r: &Rollout,
    track: &Track,
    m: usize,
    now: At,
    width: u16,
) -> Vec<Line<'a>> {
    let t = &s.theme;
    let sent = s.sent.as_ref().and_then(|q| q.get(m));
    let mut lines = Vec::new();
    for (group, slot) in [
        (Group::Canary, &track.canary),
        (Group::Baseline, &track.baseline),
    ] {
        let word = match group {
            Group::Canary => "canary",
            Group::Baseline => "baseline",
        };
        let i = usize::from(group == Group::Baseline);
        if let Some(q) = sent.map(|q| q[i].as_str()).filter(|q| !q.is_empty()) {
            lines.extend(wrapped(&format!("{word} asks: {q}"), width, 4, t.dim));
        }
        let said = answer(s, &track.rule, slot, now);
        let style = match slot {
            Some((_, Reading::Value { .. })) => t.text,
            _ => t.no_data,
        };
        lines.extend(wrapped(&format!("{word} said: {said}"), width, 4, style));
    }
    if let Some(ev) = evidence(track) {
        lines.extend(wrapped(&format!("evidence: {ev}"), width, 4, t.text));
    }
    lines.extend(wrapped(
        &format!("rule: {}", rule_words(&track.rule)),
        width,
        4,
        t.text,
    ));
    let level = track.verdict.level;
    let verdict = format!(
        "now: {} {} since {}: {}",
        symbol(level),
        level.word(),
        s.time_of_day(track.since.max(r.state.started_at.unwrap_or(0))),
        track.verdict.reason
    );
    lines.extend(wrapped(&verdict, width, 4, t.level(level)));
    // Last: on a small screen the source's own words are what is cut.
    for (word, slot) in [("canary", &track.canary), ("baseline", &track.baseline)] {
        lines.extend(raw(s, word, slot, width));
    }
    lines
}

/// What the source answered for the last value, as it said it, under
/// the time it said it. An error is the reason in "said:" already.
fn raw<'a>(s: &Screen, word: &str, slot: &Option<(At, Reading)>, width: u16) -> Vec<Line<'a>> {
    let t = &s.theme;
    let Some((at, reading @ Reading::Value { .. })) = slot else {
        return Vec::new();
    };
    let head = format!("{word} answer at {}:", s.time_of_day(*at));
    let Some(text) = reading.raw() else {
        // The live feed carries values, not answers: see `Raw`.
        return match s.following {
            Some(_) => wrapped(
                &format!("{head} on the driver's screen only"),
                width,
                4,
                t.dim,
            ),
            None => Vec::new(),
        };
    };
    // The first line beside the time: a one-series answer takes one row.
    let mut said = text.lines();
    let first = said.next().unwrap_or_default();
    let mut lines = wrapped(&format!("{head} {first}"), width, 4, t.dim);
    for line in said {
        lines.extend(wrapped(&format!("    {line}"), width, 8, t.dim));
    }
    lines
}

/// The last answer or error, with its time and age.
fn answer(s: &Screen, rule: &Rule, slot: &Option<(At, Reading)>, now: At) -> String {
    let Some((at, reading)) = slot else {
        return "nothing yet".into();
    };
    let when = format!(
        "at {} ({} ago)",
        s.time_of_day(*at),
        Dur::whole_secs(now.saturating_sub(*at))
    );
    match reading {
        Reading::Value {
            value,
            requests,
            detail,
            ..
        } => {
            let reqs = requests.map_or_else(String::new, |n| {
                format!(" on {} requests", crate::format::count(n))
            });
            let detail = detail
                .as_ref()
                .map_or_else(String::new, |d| format!(" ({d})"));
            format!("{}{reqs}{detail} {when}", rule.show(*value))
        }
        Reading::NoData { reason, .. } => format!("no data: {reason} {when}"),
    }
}

/// The stage's counts, canary against stable, when the metric has them.
fn evidence(track: &Track) -> Option<String> {
    let ev = &track.evidence;
    let side = |bad: f64, total: f64| {
        let n = crate::format::count;
        format!("{} bad of {} requests", n(bad), n(total))
    };
    (ev.canary.total > 0.0 || ev.baseline.total > 0.0).then(|| {
        format!(
            "canary {}; stable {}",
            side(ev.canary.bad, ev.canary.total),
            side(ev.baseline.bad, ev.baseline.total)
        )
    })
}

/// The rule as the plan and the journal say it: "warn > 0.2%, crit >
/// 0.5%, for 1m", and the baseline and evidence conditions it has.
fn rule_words(rule: &Rule) -> String {
    let sign = match rule.direction {
        Direction::HigherIsWorse => ">",
        Direction::LowerIsWorse => "<",
    };
    let mut words = format!(
        "warn {sign} {}, crit {sign} {}, for {}",
        rule.show(rule.warning),
        rule.show(rule.critical),
        Dur::from_millis(rule.for_ms)
    );
    if let Some(x) = rule.baseline_ratio {
        words.push_str(&format!("; and {}x the baseline", crate::format::number(x)));
    }
    if let Some(floor) = rule.baseline_floor {
        words.push_str(&format!(" (baseline at least {})", rule.show(floor)));
    }
    if let Some(n) = rule.min_requests {
        words.push_str(&format!(
            "; judged from {} requests",
            crate::format::number(n)
        ));
    }
    words
}

/// This metric's last `shown` verdicts in the stage, newest last.
fn history<'a>(s: &Screen, seen: &Seen, width: u16, shown: usize) -> Vec<Line<'a>> {
    let t = &s.theme;
    let skip = seen.verdicts.len().saturating_sub(shown);
    let mut lines = vec![Line::from(Span::styled("verdicts in this stage:", t.title))];
    for j in seen.verdicts.iter().skip(skip) {
        let text = format!(
            "{} {} {}: {}",
            s.time_of_day(j.at),
            symbol(j.level),
            j.level.word(),
            j.reason
        );
        let text = super::shortened(&text, width);
        lines.push(Line::from(Span::styled(text, t.level(j.level))));
    }
    lines
}

/// Canary and baseline over the stage so far, seconds since it began on
/// the time axis, with the warning and critical lines across.
fn draw_chart(
    frame: &mut Frame,
    s: &Screen,
    r: &Rollout,
    track: &Track,
    seen: &Seen,
    now: At,
    area: Rect,
) {
    let t = &s.theme;
    let rule = &track.rule;
    let from = s.stage.stage.map_or(now, |(_, at)| at);
    let x = |at: At| at.saturating_sub(from) as f64 / 1000.0;
    let canary: Vec<(f64, f64)> = seen
        .points
        .iter()
        .filter_map(|p| Some((x(p.at), p.canary?)))
        .collect();
    let baseline: Vec<(f64, f64)> = seen
        .points
        .iter()
        .filter_map(|p| Some((x(p.at), p.baseline?)))
        .collect();
    let end = x(now).max(1.0);
    let (low, high) = bounds(rule, canary.iter().chain(&baseline).map(|p| p.1));
    let across = |v: f64| vec![(0.0, v), (end, v)];
    let (warn, crit) = (across(rule.warning), across(rule.critical));
    let line = |name: &'static str, data, style: Style, marker| {
        Dataset::default()
            .name(name)
            .marker(marker)
            .graph_type(GraphType::Line)
            .style(style)
            .data(data)
    };
    let datasets = vec![
        line("critical", &crit, t.critical, Marker::Dot),
        line("warning", &warn, t.warning, Marker::Dot),
        line("baseline", &baseline, t.dim, Marker::Braille),
        line("canary", &canary, t.title, Marker::Braille),
    ];
    let (x_axis, y_axis) = axes(s, r, rule, end, (low, high));
    let chart = Chart::new(datasets)
        .x_axis(x_axis)
        .y_axis(y_axis)
        .hidden_legend_constraints((
            ratatui::layout::Constraint::Percentage(40),
            ratatui::layout::Constraint::Percentage(60),
        ));
    frame.render_widget(chart, area);
}

/// Time since the stage began across, the metric's unit up.
fn axes<'a>(
    s: &Screen,
    r: &Rollout,
    rule: &Rule,
    end: f64,
    (low, high): (f64, f64),
) -> (Axis<'a>, Axis<'a>) {
    let t = &s.theme;
    let stage = r
        .config
        .stages
        .get(r.state.stage)
        .map_or("", |st| st.name.as_str());
    let x_axis = Axis::default()
        .title(Span::styled(format!("since {stage} began"), t.dim))
        .style(t.dim)
        .bounds([0.0, end])
        .labels([
            "0s".to_string(),
            Dur::whole_secs(((end * 1000.0) as u64) / 2).to_string(),
            Dur::whole_secs((end * 1000.0) as u64).to_string(),
        ]);
    let y_axis = Axis::default()
        .title(Span::styled(rule.unit.clone(), t.dim))
        .style(t.dim)
        .bounds([low, high])
        .labels([
            rule.show(low),
            rule.show((low + high) / 2.0),
            rule.show(high),
        ]);
    (x_axis, y_axis)
}

/// The value axis: every point and both lines, with a little room.
fn bounds(rule: &Rule, values: impl Iterator<Item = f64>) -> (f64, f64) {
    let lines = [rule.warning, rule.critical]
        .into_iter()
        .filter(|v| v.is_finite());
    let all: Vec<f64> = values.chain(lines).filter(|v| v.is_finite()).collect();
    let low = all.iter().copied().fold(f64::INFINITY, f64::min);
    let high = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !low.is_finite() || !high.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((high - low) * 0.1)
        .max(high.abs() * 0.01)
        .max(f64::EPSILON);
    let low = if low >= 0.0 {
        (low - pad).max(0.0)
    } else {
        low - pad
    };
    (low, high + pad)
}
