//! Drawing: a function of the rollout and the screen state, nothing else.
//! Panels collapse on small terminals: the trend column goes first, then
//! the log shrinks, never the decision line or the footer.
//!
//! - `header`: who, what, when, and the phase badge.
//! - `pipeline`: the stages in one line.
//! - `start`: the panel before the rollout (pre-flight, checklist, window).
//! - `table`: the metrics table, and the stable version after a rollback.
//! - `footer`: the failed hook, the decision line, the keys that apply.
//! - `help`: the prompts and the help overlay.
//! - `detail`: one metric opened from the table.

mod detail;
mod footer;
mod header;
mod help;
mod pipeline;
mod start;
mod table;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::screen::{Mode, Screen};
use super::theme::Theme;
use crate::rollout::{At, Phase, Rollout};

pub use footer::footer_line;
pub use table::height;

const LOG_MIN: u16 = 3;

pub fn draw(frame: &mut Frame, s: &Screen, r: &Rollout, now: At) {
    let area = frame.area();
    frame.render_widget(Block::default().style(s.theme.text), area);
    let decision = footer::decision_lines(s, r, now, area.width);
    let decision_h = decision.len() as u16;
    if let Some(open) = s.opened(r) {
        let [header, body, decision_area, footer_area] =
            rows(area, [Some(2), None, Some(decision_h), Some(1)]);
        header::draw(frame, s, r, now, header);
        detail::draw(frame, s, r, open, now, body);
        frame.render_widget(Paragraph::new(decision), decision_area);
        frame.render_widget(Paragraph::new(footer_line(s, r, now)), footer_area);
        overlays(frame, s, area);
        return;
    }
    draw_main(frame, s, r, now, decision);
    overlays(frame, s, area);
}

/// The main screen: header, stages, the metrics or start panel, a failed
/// hook, the decision, the log and the keys, top to bottom.
fn draw_main(frame: &mut Frame, s: &Screen, r: &Rollout, now: At, decision: Vec<Line>) {
    let area = frame.area();
    let t = &s.theme;
    let decision_h = decision.len() as u16;
    let (panel, panel_lines) = middle(s, r, now, area.width);
    let failure = footer::failure_panel(s, r);
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
    header::draw(frame, s, r, now, header);
    frame.render_widget(
        Paragraph::new(pipeline::line(s, r, now, pipeline.width)),
        pipeline,
    );
    let (title, border) = table::panel_title(r, now);
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
    draw_log(frame, s, log);
    frame.render_widget(Paragraph::new(footer_line(s, r, now)), footer);
}

/// The log under a rule, newest at the bottom; says when it is scrolled
/// back, since new lines then arrive out of sight.
fn draw_log(frame: &mut Frame, s: &Screen, area: Rect) {
    let t = &s.theme;
    let title = if s.log.is_following() {
        " log ".to_string()
    } else {
        " log (scrolled back; newer lines below) ".to_string()
    };
    let block = Block::default()
        .borders(Borders::TOP)
        .border_style(t.border)
        .title(Span::styled(title, t.dim));
    let inner = block.inner(area);
    let lines = s.log.view(t, inner.width, inner.height);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// A prompt or the help, over whatever is drawn.
fn overlays(frame: &mut Frame, s: &Screen, area: Rect) {
    match &s.mode {
        Mode::Normal => {}
        mode => help::draw_prompt(frame, &s.theme, mode, area),
    }
    if s.help {
        help::draw_help(frame, s, area);
    }
}

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

/// What the middle of the screen holds now, and its height without borders.
fn middle<'a>(s: &Screen, r: &Rollout, now: At, width: u16) -> (Vec<Line<'a>>, u16) {
    let lines = match r.state.phase {
        Phase::Waiting => start::lines(s, r, now, width.saturating_sub(2)),
        Phase::Verifying { .. } | Phase::RolledBack { .. } => table::after_rollback(s, r),
        _ => table::metrics_table(s, r, width.saturating_sub(2)),
    };
    let n = lines.len() as u16;
    (lines, n)
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

/// `text` cut or padded to `width` columns, then the column gap.
fn cell<'a>(text: String, width: u16, style: Style) -> Span<'a> {
    let w = width as usize;
    let mut t: String = text.chars().take(w).collect();
    let pad = w.saturating_sub(t.chars().count()) + 1;
    t.extend(std::iter::repeat_n(' ', pad));
    Span::styled(t, style)
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

/// `text` wrapped to `width`, continuation lines indented, in one style.
fn wrapped<'a>(text: &str, width: u16, indent: usize, style: Style) -> Vec<Line<'a>> {
    super::logpane::wrap(text, width as usize, indent)
        .into_iter()
        .map(|l| Line::from(Span::styled(l, style)))
        .collect()
}

/// A style picked from the theme, for a panel border chosen by state.
type Pick = fn(&Theme) -> Style;
