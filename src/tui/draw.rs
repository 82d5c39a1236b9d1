//! Drawing: a function of the rollout and the screen state, nothing else.
//! Panels collapse on small terminals: the trend column goes first, then
//! the log shrinks, never the decision line or the footer.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::keys::Action;
use super::screen::{Mode, Screen};
use super::theme::{Theme, symbol};
use crate::config::model::Direction;
use crate::duration::Span as Dur;
use crate::preflight::Kind;
use crate::rollout::track::Track;
use crate::rollout::{At, Level, Now, Phase, Reading, Rollout, Rule};

const LOG_MIN: u16 = 3;

pub fn draw(frame: &mut Frame, s: &Screen, r: &Rollout, now: At) {
    let area = frame.area();
    frame.render_widget(Block::default().style(s.theme.text), area);
    let t = &s.theme;
    let (panel, panel_lines) = middle(s, r, now, area.width);
    let failure = failure_panel(s, r);
    let decision = decision_lines(s, r, now, area.width);
    let decision_h = decision.len() as u16;
    let fixed = 2 + 1 + decision_h + 1;
    let room = area.height.saturating_sub(fixed + LOG_MIN);
    let panel_h = (panel_lines + 2).min(room);
    let failure_h = failure.as_ref().map_or(0, |f| {
        (f.len() as u16 + 2).min(room.saturating_sub(panel_h))
    });
    let [header, pipeline, mid, fail, decision_area, log, footer] = rows(
        area,
        [
            Some(2),
            Some(1),
            Some(panel_h),
            Some(failure_h),
            Some(decision_h),
            None,
            Some(1),
        ],
    );
    draw_header(frame, s, r, now, header);
    frame.render_widget(
        Paragraph::new(pipeline_line(s, r, now, pipeline.width)),
        pipeline,
    );
    let (title, border) = panel_title(r, now);
    frame.render_widget(
        Paragraph::new(panel).block(
            Block::bordered()
                .title(Span::styled(title, t.title))
                .border_style(border(t)),
        ),
        mid,
    );
    if let Some(lines) = failure {
        let block = Block::bordered()
            .title(Span::styled(" hook failed ", t.critical))
            .border_style(t.critical);
        frame.render_widget(Paragraph::new(lines).block(block), fail);
    }
    frame.render_widget(Paragraph::new(decision), decision_area);
    let log_block = Block::default()
        .borders(Borders::TOP)
        .border_style(t.border)
        .title(Span::styled(" log ", t.dim));
    frame.render_widget(s.log.widget(t).block(log_block), log);
    frame.render_widget(Paragraph::new(footer_line(s, r, now)), footer);
    match &s.mode {
        Mode::Normal => {}
        mode => draw_prompt(frame, t, mode, area),
    }
    if s.help {
        draw_help(frame, s, area);
    }
}

// ----- header ---------------------------------------------------------------

fn draw_header(frame: &mut Frame, s: &Screen, r: &Rollout, now: At, area: Rect) {
    let t = &s.theme;
    let ro = &r.config.rollout;
    let sep = || Span::styled(" · ", t.dim);
    let first = Line::from(vec![
        Span::styled(ro.name.clone(), t.title),
        sep(),
        Span::raw(format!("{}/{}", ro.service, ro.environment)),
        sep(),
        Span::styled(format!("{} → {}", ro.old_version, ro.new_version), t.title),
        sep(),
        Span::raw(ro.strategy.to_string()),
    ]);
    let who = if r.state.operator.is_empty() {
        &s.operator
    } else {
        &r.state.operator
    };
    let watching = match s.following {
        Some(_) => Span::styled("WATCHING · ", t.warning),
        None => Span::raw(""),
    };
    let driver = Line::from(vec![
        watching,
        Span::styled("driver ", t.dim),
        Span::styled(who.clone(), t.title),
        Span::styled(if s.ssh { " (SSH)" } else { "" }, t.warning),
        Span::styled(watched_by(&s.watchers), t.dim),
        Span::styled(super::wheel::standing(s.offer.as_ref()), t.warning),
    ]);
    let since = r.state.started_at.map_or_else(
        || "not started".to_string(),
        |at| format!("T+{}", Dur::whole_secs(now.saturating_sub(at))),
    );
    let window = s.window(r, now);
    // Only drills skip the checks: the window does not apply to a rehearsal.
    let skipped = r.state.checks_skipped.is_some();
    let window_style = if window.needs_reason() && r.state.window_override.is_none() && !skipped {
        t.warning
    } else {
        t.dim
    };
    let mut window_text = if skipped {
        "window: skipped (drill)".to_string()
    } else {
        format!("window: {}", window.describe())
    };
    if window.needs_reason() && r.state.window_override.is_some() && !skipped {
        window_text.push_str(" (overridden)");
    }
    let second = Line::from(vec![
        Span::styled(s.time_of_day(now), t.title),
        sep(),
        Span::raw(since),
        sep(),
        Span::styled(window_text, window_style),
    ]);
    let [top, bottom] = rows(area, [Some(1), Some(1)]);
    for ((left, right), row) in [(first, driver), (second, badge(s, r, now))]
        .into_iter()
        .zip([top, bottom])
    {
        // The right side may take what the left leaves, and at least half.
        let room = row.width.saturating_sub(left.width() as u16 + 1);
        let right_w = (right.width() as u16 + 1).min(room.max(row.width / 2));
        let l = Rect {
            width: row.width - right_w,
            ..row
        };
        let r = Rect {
            x: row.x + l.width,
            width: right_w,
            ..row
        };
        frame.render_widget(Paragraph::new(left), l);
        frame.render_widget(Paragraph::new(right).right_aligned(), r);
    }
}

/// Who follows with `cockpit watch`: a name, or how many.
fn watched_by(who: &[String]) -> String {
    match who {
        [] => String::new(),
        [one] => format!(" · {one} watching"),
        many => format!(" · {} watching", many.len()),
    }
}

/// The phase in one word, top right, from the engine's `Now`.
fn badge<'a>(s: &Screen, r: &Rollout, now: At) -> Line<'a> {
    let t = &s.theme;
    let (text, style) = match r.now(now) {
        Now::HookFailed { .. } => ("HOOK FAILED", t.critical),
        Now::NotStarted | Now::Blocked { .. } | Now::Starting => ("WAITING", t.warning),
        Now::AtGate { .. } => ("AT GATE", t.warning),
        Now::Entering { .. } => ("ENTERING", t.title),
        Now::Countdown { .. } => ("COUNTDOWN", t.alarm),
        Now::Held { .. } => ("HELD", t.warning),
        Now::Paused => ("PAUSED", t.warning),
        Now::Critical { .. } => ("CRITICAL", t.critical),
        Now::Ready(_) | Now::Holding { .. } => ("OBSERVING", t.title),
        Now::RollingBack { .. } => ("ROLLING BACK", t.critical),
        Now::Verifying { .. } => ("VERIFYING", t.critical),
        Now::Promoted => ("PROMOTED", t.ok),
        Now::RolledBack { .. } => ("ROLLED BACK", t.critical),
    };
    Line::from(Span::styled(text, style))
}

// ----- pipeline -------------------------------------------------------------

fn pipeline_line<'a>(s: &Screen, r: &Rollout, now: At, width: u16) -> Line<'a> {
    let wide = pipeline_spans(s, r, now, true, 10);
    if Line::from(wide.clone()).width() <= width as usize {
        return Line::from(wide);
    }
    Line::from(pipeline_spans(s, r, now, false, 6))
}

/// The current stage's set weight and seen share: "25% set · 24.3% seen";
/// a stage without a weight shows its exposure beside the seen share.
fn stage_share(r: &Rollout, now: At) -> Option<String> {
    let t = r.traffic(now);
    let share = crate::format::share(t.set, t.seen)?;
    match (t.set, r.config.stages.get(r.state.stage)) {
        (None, Some(stage)) => Some(format!("{} · {share}", stage.exposure())),
        _ => Some(share),
    }
}

fn pipeline_spans<'a>(s: &Screen, r: &Rollout, now: At, names: bool, bar: usize) -> Vec<Span<'a>> {
    let t = &s.theme;
    let st = &r.state;
    let mut spans = Vec::new();
    for (i, stage) in r.config.stages.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled("  ", t.dim));
        }
        let label = if names && stage.name != stage.exposure() {
            format!("{} {}", stage.name, stage.exposure())
        } else {
            stage.exposure()
        };
        let current = i == st.stage;
        let (sym, style, extra) =
            if st.phase == Phase::Promoted || i < st.stage && st.rollback.is_none() {
                ("✓", t.ok, String::new())
            } else if st.rollback.is_some() && i < st.entered {
                ("↺", t.critical, " undone".to_string())
            } else if current && st.failed.is_some() {
                ("✗", t.critical, " failed".to_string())
            } else if current && st.phase == Phase::Gate {
                ("⏸", t.warning, " gate".to_string())
            } else if current && st.phase == Phase::Entering {
                ("▶", t.title, " entering".to_string())
            } else if current && st.phase == Phase::Observing {
                let wait = stage.wait.as_millis();
                let seen = st.observed_ms.min(wait);
                let filled = if wait == 0 {
                    bar
                } else {
                    (seen as usize * bar) / wait as usize
                };
                let label = match stage_share(r, now) {
                    Some(share) if names && stage.name != stage.exposure() => {
                        format!("{} {share}", stage.name)
                    }
                    Some(share) => share,
                    None => label,
                };
                let style = if r.traffic_stuck() { t.alarm } else { t.title };
                spans.push(Span::styled(format!("▶ {label} "), style));
                spans.push(Span::styled("█".repeat(filled), t.progress));
                spans.push(Span::styled("░".repeat(bar - filled), t.dim));
                spans.push(Span::raw(format!(
                    " {}/{}",
                    Dur::whole_secs(st.observed_ms),
                    stage.wait
                )));
                if let Some(blind) = r.blind() {
                    let why = blind.verdict.level.word().to_lowercase();
                    let text = if names {
                        format!(" clock stopped: {why}")
                    } else {
                        " ⏹".to_string()
                    };
                    spans.push(Span::styled(text, s.theme.no_data));
                }
                continue;
            } else {
                ("·", t.dim, format!(" {}", stage.wait))
            };
        spans.push(Span::styled(format!("{sym} {label}{extra}"), style));
    }
    spans
}

// ----- middle panel ---------------------------------------------------------

/// Splits `area` into rows of the given heights, top down; `None` takes
/// what is left. Plain arithmetic: the layout solver would cost more than
/// the rest of the frame.
fn rows<const N: usize>(area: Rect, heights: [Option<u16>; N]) -> [Rect; N] {
    let fixed: u16 = heights.iter().flatten().sum();
    let rest = area.height.saturating_sub(fixed);
    let mut y = area.y;
    heights.map(|h| {
        let h = h.unwrap_or(rest).min(area.bottom().saturating_sub(y));
        let row = Rect::new(area.x, y, area.width, h);
        y += h;
        row
    })
}

fn panel_title(r: &Rollout, now: At) -> (String, fn(&Theme) -> Style) {
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
            let share = stage_share(r, now).unwrap_or_else(|| s.exposure());
            format!("{} ({share})", s.name)
        });
    (format!(" metrics: {stage} "), |t| t.border)
}

/// What the middle of the screen holds now, and its height without borders.
fn middle<'a>(s: &Screen, r: &Rollout, now: At, width: u16) -> (Vec<Line<'a>>, u16) {
    let lines = match r.state.phase {
        Phase::Waiting => waiting_lines(s, r, now, width.saturating_sub(2)),
        Phase::Verifying { .. } | Phase::RolledBack { .. } => after_rollback(s, r),
        _ => metrics_table(s, r, width.saturating_sub(2)),
    };
    let n = lines.len() as u16;
    (lines, n)
}

fn waiting_lines<'a>(s: &Screen, r: &Rollout, now: At, width: u16) -> Vec<Line<'a>> {
    let t = &s.theme;
    let st = &r.state;
    let done = st.checklist.iter().filter(|x| **x).count();
    // A failed pre-flight is what the operator must read first.
    let preflight = if st.started_at.is_none() {
        preflight_lines(s, width)
    } else {
        vec![]
    };
    let (mut lines, after) = if s.preflight_blocker().is_some() {
        (preflight, vec![])
    } else {
        (vec![], preflight)
    };
    lines.push(Line::from(vec![
        Span::styled("Pre-deploy checklist", t.title),
        Span::styled(
            format!(
                " ({done} of {} ticked; 1-9 ticks an item)",
                st.checklist.len()
            ),
            t.dim,
        ),
    ]));
    for (i, (item, ticked)) in r
        .config
        .checklist
        .items
        .iter()
        .zip(&st.checklist)
        .enumerate()
    {
        let (mark, style) = if *ticked {
            ("[x]", t.ok)
        } else {
            ("[ ]", t.warning)
        };
        lines.push(Line::from(vec![
            Span::styled(format!(" {} ", i + 1), t.key),
            Span::styled(mark, style),
            Span::raw(format!(" {item}")),
        ]));
    }
    let window = s.window(r, now);
    let mut w = vec![
        Span::styled("Deploy window: ", t.title),
        Span::raw(window.describe()),
    ];
    if let Some(reason) = &st.window_override {
        w.push(Span::styled(
            format!("; overridden: \"{reason}\""),
            t.warning,
        ));
    }
    lines.push(Line::from(w));
    if s.outside_window(r, now)
        && let Some(next) = s.next_window(now)
    {
        lines.push(Line::from(vec![
            Span::styled("Next window: ", t.title),
            Span::styled(next, t.warning),
        ]));
    }
    lines.extend(after);
    let next = match (st.started_at, r.blocker()) {
        // The decision line says what a failed pre-flight leaves to do.
        (None, _) if s.preflight_blocker().is_some() => return lines,
        (None, _) if s.outside_window(r, now) => format!(
            "{} starts the rollout now, with a typed reason",
            s.keys.first(Action::OverrideWindow)
        ),
        (None, _) => format!("{} starts the rollout", s.keys.first(Action::Start)),
        (Some(_), Some(b)) => format!("started; waiting for: {b}"),
        (Some(_), None) => "starting".into(),
    };
    lines.push(Line::from(Span::styled(next, t.key)));
    lines
}

/// The pre-flight in the start panel: one line when all is well, else
/// every failed check with what was sent and the error, wrapped whole.
fn preflight_lines<'a>(s: &Screen, width: u16) -> Vec<Line<'a>> {
    let Some(p) = &s.preflight else {
        return vec![];
    };
    let t = &s.theme;
    let failed: Vec<_> = p.failures().collect();
    let expected = p
        .items
        .iter()
        .filter(|i| matches!(i.status, crate::preflight::Status::Expected(_)))
        .count();
    if failed.is_empty() {
        let also = match expected {
            0 => String::new(),
            1 => " (a canary reading empty before traffic, as expected)".into(),
            n => format!(" ({n} canary readings empty before traffic, as expected)"),
        };
        let mut lines = vec![Line::from(vec![
            Span::styled("Pre-flight: ", t.title),
            Span::styled(format!("{} checks passed{also}", p.items.len()), t.ok),
        ])];
        // What each metric read, one line per metric: baseline, then canary.
        let read_kind = |i: &&crate::preflight::Item| matches!(i.kind, Kind::Metric | Kind::Probe);
        let mut names: Vec<&str> = Vec::new();
        for i in p.items.iter().filter(read_kind) {
            if !names.contains(&i.name.as_str()) {
                names.push(&i.name);
            }
        }
        for name in names {
            let read: Vec<String> = p
                .items
                .iter()
                .filter(read_kind)
                .filter(|i| i.name == name)
                .map(|i| {
                    let group = i.group.map_or("", |g| match g {
                        crate::rollout::Group::Canary => "canary ",
                        crate::rollout::Group::Baseline => "baseline ",
                    });
                    let value = match &i.status {
                        crate::preflight::Status::Expected(_) => "empty (no traffic yet)".into(),
                        _ => i.value_text(),
                    };
                    format!("{group}{value}")
                })
                .collect();
            lines.push(Line::from(vec![
                Span::styled(" ✓ ", t.ok),
                Span::raw(format!("{name}: {}", read.join(", "))),
            ]));
        }
        return lines;
    }
    let mut lines = vec![Line::from(vec![
        Span::styled("Pre-flight: ", t.title),
        Span::styled(
            format!("{} of {} checks failed", failed.len(), p.items.len()),
            t.critical,
        ),
    ])];
    let wrap = |text: &str, style: Style| -> Vec<Line<'a>> {
        super::logpane::wrap(text, width as usize, 4)
            .into_iter()
            .map(|l| Line::from(Span::styled(l, style)))
            .collect()
    };
    for i in failed {
        let style = if i.blocks_start {
            t.critical
        } else {
            t.warning
        };
        lines.extend(wrap(&format!(" ✗ {}: {}", i.label(), i.target), style));
        if let crate::preflight::Status::Failed(why) = &i.status {
            lines.extend(wrap(&format!("   {why}"), t.text));
        }
    }
    lines
}

fn metric_value(slot: &Option<(At, Reading)>) -> Option<f64> {
    match slot {
        Some((_, Reading::Value { value, .. })) => Some(*value),
        _ => None,
    }
}

fn line_text(rule: &Rule, v: f64) -> String {
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
fn evidence(n: f64) -> String {
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

/// `text` cut or padded to `width` columns, then the column gap.
fn cell<'a>(text: String, width: u16, style: Style) -> Span<'a> {
    let w = width as usize;
    let mut t: String = text.chars().take(w).collect();
    let pad = w.saturating_sub(t.chars().count()) + 1;
    t.extend(std::iter::repeat_n(' ', pad));
    Span::styled(t, style)
}

/// The table as fixed-width lines: every column width is known.
fn metrics_table<'a>(s: &Screen, r: &Rollout, width: u16) -> Vec<Line<'a>> {
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
    for track in &r.tracks {
        let rule = &track.rule;
        let canary = metric_value(&track.canary);
        let base = metric_value(&track.baseline);
        // CANARY and BASELINE share a width; values round to fit it.
        let show =
            |v: Option<f64>| v.map_or_else(|| "-".into(), |v| rule.show_within(v, COLUMNS[1].1));
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
        let mut spans: Vec<Span> = texts
            .into_iter()
            .zip(COLUMNS)
            .map(|((text, style), (_, w))| cell(text, w, style))
            .collect();
        let reason = row_reason(track);
        match (&reason, with_trend) {
            (Some(why), true) => spans.push(Span::styled(shortened(why, trend), t.level(level))),
            (None, true) => spans.extend(sparkline(t, track, trend as usize).spans),
            _ => {}
        }
        lines.push(Line::from(spans));
        // Too narrow for a trend: a blind metric's reason goes under its row.
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

/// A metric that cannot be judged says why in its own row, without its
/// name (a breach keeps its trend: its reason is the row's own columns,
/// and the decision line and the log give it whole).
fn row_reason(track: &Track) -> Option<String> {
    if track.verdict.level.is_judgeable() {
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

/// `text` cut to `width` columns, with `…` where it was cut.
fn shortened(text: &str, width: u16) -> String {
    let w = width as usize;
    if text.chars().count() <= w {
        return text.to_string();
    }
    let mut out: String = text.chars().take(w.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// After a rollback the stable version carries the traffic: its values
/// against each line, and whether each metric recovered.
fn after_rollback<'a>(s: &Screen, r: &Rollout) -> Vec<Line<'a>> {
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

fn sparkline<'a>(t: &Theme, track: &Track, width: usize) -> Line<'a> {
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

// ----- failure, decision, footer -------------------------------------------

fn failure_panel<'a>(s: &Screen, r: &Rollout) -> Option<Vec<Line<'a>>> {
    let f = r.state.failed.as_ref()?;
    let t = &s.theme;
    let mut lines = vec![Line::from(Span::styled(f.summary.clone(), t.critical))];
    if s.hook_output.is_empty() {
        lines.push(Line::from(Span::styled("(no output)", t.dim)));
    }
    for l in &s.hook_output {
        lines.push(Line::from(Span::styled(format!("  | {l}"), t.dim)));
    }
    let mut keys = vec![
        Span::styled(s.keys.first(Action::Retry), t.key),
        Span::raw(" retry  "),
        Span::styled(s.keys.first(Action::Skip), t.key),
        Span::raw(" skip with a typed reason"),
    ];
    if r.state.rollback.is_none() {
        keys.push(Span::raw("  "));
        keys.push(Span::styled(s.keys.first(Action::Rollback), t.key));
        keys.push(Span::raw(" roll back"));
    }
    lines.push(Line::from(keys));
    Some(lines)
}

fn decision_style(t: &Theme, r: &Rollout, now: At) -> Style {
    match r.now(now) {
        Now::Countdown { .. } => t.alarm,
        Now::Held { .. } | Now::Paused => t.warning,
        Now::HookFailed { .. }
        | Now::Critical { .. }
        | Now::RollingBack { .. }
        | Now::Verifying { .. }
        | Now::RolledBack { .. } => t.critical,
        Now::Promoted | Now::Ready(_) => t.ok,
        Now::Holding { .. } => r
            .tracks
            .iter()
            .map(|t| t.verdict.level)
            .filter(|l| *l != Level::Ok)
            .max()
            .map_or(t.warning, |l| t.level(l)),
        _ => t.warning,
    }
}

/// The decision line, wrapped (up to three lines) so it is always read whole.
fn decision_lines<'a>(s: &Screen, r: &Rollout, now: At, width: u16) -> Vec<Line<'a>> {
    let t = &s.theme;
    let blocked = r.state.started_at.is_none() && s.preflight_blocker().is_some();
    let (text, style) = if blocked {
        let text = format!(
            "Not started: the pre-flight failed; {} refuses until it passes, {} starts anyway with a typed reason",
            s.keys.first(Action::Start),
            s.keys.first(Action::ForceStart)
        );
        (text, t.critical)
    } else {
        (s.decision_text(r, now), decision_style(t, r, now))
    };
    let style = style.add_modifier(Modifier::BOLD);
    let mut lines: Vec<Line> = super::logpane::wrap(&format!("» {text}"), width as usize, 2)
        .into_iter()
        .take(3)
        .map(|l| Line::from(Span::styled(l, style)))
        .collect();
    if let Some(text) = traffic_warning(r, now) {
        let alarm = t.alarm.add_modifier(Modifier::BOLD);
        lines.extend(
            super::logpane::wrap(&format!("■ {}", text.to_uppercase()), width as usize, 2)
                .into_iter()
                .take(2)
                .map(|l| Line::from(Span::styled(l, alarm))),
        );
    }
    lines.extend(follower_word(s, width));
    if let Some(flash) = s.flash_now(r, now) {
        lines.push(Line::from(Span::styled(format!("  {flash}"), t.warning)));
    }
    lines
}

/// "traffic did not move: ..." while it holds, with how long so far.
fn traffic_warning(r: &Rollout, now: At) -> Option<String> {
    if !r.traffic_stuck() {
        return None;
    }
    let t = &r.state.traffic;
    let set = r.set_share()?;
    let seen = r.traffic(now).seen?;
    let since = t.in_line_at.or(t.set_at)?;
    Some(crate::rollout::traffic::did_not_move(
        set,
        seen,
        now.saturating_sub(since),
        t.hook_skipped,
    ))
}

/// What a follower must know beyond the driver's screen: the driver is
/// gone quiet, or has left.
fn follower_word<'a>(s: &Screen, width: u16) -> Vec<Line<'a>> {
    let Some(f) = s.following.as_ref() else {
        return vec![];
    };
    let t = &s.theme;
    let (text, style) = match (&f.ended, f.silent_ms) {
        (Some(ended), _) => (format!("■ {ended}"), t.warning),
        (None, Some(ms)) => (
            format!(
                "■ NO WORD FROM THE DRIVER FOR {}: their cockpit may be gone (a dropped \
                 connection?); the journal lets it be resumed with cockpit run --resume",
                Dur::whole_secs(ms)
            ),
            t.alarm,
        ),
        (None, None) => return vec![],
    };
    let style = style.add_modifier(Modifier::BOLD);
    super::logpane::wrap(&text, width as usize, 2)
        .into_iter()
        .take(2)
        .map(|l| Line::from(Span::styled(l, style)))
        .collect()
}

/// The keys that apply now; what does not fit is in help.
pub fn footer_line<'a>(s: &Screen, r: &Rollout, now: At) -> Line<'a> {
    let t = &s.theme;
    let hint = |k: &str, what: &str| {
        vec![
            Span::styled(k.to_string(), t.key),
            Span::styled(format!(" {what}  "), t.dim),
        ]
    };
    let spans: Vec<Span> = match &s.mode {
        Mode::Typing { .. } => [hint("enter", "save"), hint("esc", "cancel")].concat(),
        Mode::ConfirmRollback | Mode::ConfirmQuit => {
            [hint("y", "yes"), hint("any other key", "no")].concat()
        }
        Mode::Normal => {
            let mut spans = Vec::new();
            if s.following.is_some() {
                spans.push(Span::styled("read-only  ", t.warning));
            }
            if r.state.phase == Phase::Waiting && r.state.checklist.contains(&false) {
                spans.extend(hint("1-9", "tick"));
            }
            let current = r.now(now);
            for a in s.available(r, now) {
                let what = match a {
                    Action::Pause if current == Now::Paused => "resume",
                    Action::Hold if matches!(current, Now::Held { .. }) => "release",
                    Action::Help if s.help => "close help (also q, esc)",
                    other => other.short(),
                };
                spans.extend(hint(&s.keys.first(a), what));
            }
            spans
        }
    };
    Line::from(spans)
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn draw_prompt(frame: &mut Frame, t: &Theme, mode: &Mode, area: Rect) {
    let (title, body, style) = match mode {
        Mode::ConfirmRollback => (
            " roll back ".to_string(),
            "Roll back now? Traffic returns to the old version. y/N".to_string(),
            t.alarm,
        ),
        Mode::ConfirmQuit => (
            " quit ".to_string(),
            "Quit? The rollout stays where it is (nothing is rolled back or promoted); \
             the journal resumes it. y/N"
                .to_string(),
            t.warning,
        ),
        Mode::Typing { ask, text } => (format!(" {} ", ask.title()), format!("> {text}█"), t.title),
        Mode::Normal => return,
    };
    let width = area.width.saturating_sub(4).min(100);
    let lines = super::logpane::wrap(&body, width.saturating_sub(2) as usize, 0);
    let rect = centered(area, width, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .title(Span::styled(title, style))
        .border_style(style)
        .style(t.text);
    let text: Vec<Line> = lines.into_iter().map(Line::from).collect();
    frame.render_widget(Paragraph::new(text).block(block), rect);
}

fn draw_help(frame: &mut Frame, s: &Screen, area: Rect) {
    let t = &s.theme;
    let rows = s.keys.help_rows();
    let key_w = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(4)
        .max(3);
    let mut lines: Vec<Line> = rows
        .into_iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!("{k:>key_w$}"), t.key),
                Span::raw(format!("  {what}")),
            ])
        })
        .collect();
    lines.push(Line::from(vec![
        Span::styled(format!("{:>key_w$}", "1-9"), t.key),
        Span::raw("  tick a pre-deploy checklist item (before the start)"),
    ]));
    let mut legend = vec![Span::styled("States: ", t.title)];
    for level in [
        Level::Ok,
        Level::Warning,
        Level::Critical,
        Level::NoData,
        Level::LowEvidence,
    ] {
        legend.push(Span::styled(
            format!("{} {}", symbol(level), level.word()),
            t.level(level),
        ));
        legend.push(Span::raw("  "));
    }
    lines.push(Line::from(legend));
    // The footer stays visible; a terminal too short for the trend column
    // (it goes first) does not need its legend either.
    if lines.len() as u16 + 4 <= area.height {
        lines.push(Line::from(Span::styled(
            format!(
                "Trend: taller is worse; ▅▆ past warning, ▇█ past critical. Theme: {}",
                t.name
            ),
            t.dim,
        )));
    }
    let width = area.width.saturating_sub(2).min(96);
    let rect = centered(area, width, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .title(Span::styled(" help: keys from [ui] keys ", t.title))
        .border_style(t.key)
        .style(t.text);
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
