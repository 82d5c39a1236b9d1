//! Over the screen: the y/N and typed-reason prompts, and the help built
//! from the key map.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::centered;
use crate::rollout::Level;
use crate::tui::screen::{Mode, Screen};
use crate::tui::theme::{Theme, symbol};

pub(super) fn draw_prompt(frame: &mut Frame, t: &Theme, mode: &Mode, area: Rect) {
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
    let lines = crate::tui::logpane::wrap(&body, width.saturating_sub(2) as usize, 0);
    let rect = centered(area, width, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .title(Span::styled(title, style))
        .border_style(style)
        .style(t.text);
    let text: Vec<Line> = lines.into_iter().map(Line::from).collect();
    frame.render_widget(Paragraph::new(text).block(block), rect);
}

pub(super) fn draw_help(frame: &mut Frame, s: &Screen, area: Rect) {
    let t = &s.theme;
    let width = area.width.saturating_sub(2).min(96);
    let mut rows = s.keys.help_rows();
    rows.push((
        "1-9".into(),
        "tick a pre-deploy checklist item (before the start)",
    ));
    // Rows, the legend and the borders; the footer stays visible.
    let single = rows.len() as u16 + 3 < area.height;
    let mut lines = if single {
        key_rows(t, &rows, width.saturating_sub(2))
    } else {
        two_columns(t, &rows, width.saturating_sub(2))
    };
    lines.push(legend(t));
    // A terminal too short for the trend column (it goes first) does not
    // need its legend either.
    if lines.len() as u16 + 4 <= area.height {
        lines.push(Line::from(Span::styled(
            format!(
                "Trend: taller is worse; ▅▆ past warning, ▇█ past critical. Theme: {}",
                t.name
            ),
            t.dim,
        )));
    }
    let rect = centered(area, width, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .title(Span::styled(" help: keys from [ui] keys ", t.title))
        .border_style(t.key)
        .style(t.text);
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}

/// One row per action: its keys right-aligned, then what it does, cut to
/// `width` when it must be.
fn key_rows<'a>(t: &Theme, rows: &[(String, &str)], width: u16) -> Vec<Line<'a>> {
    let key_w = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(4)
        .max(3);
    let room = width.saturating_sub(key_w as u16 + 2);
    rows.iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!("{k:>key_w$}"), t.key),
                Span::raw(format!("  {}", super::shortened(what, room))),
            ])
        })
        .collect()
}

/// Too short for a row each: two columns side by side, each cut to half.
fn two_columns<'a>(t: &Theme, rows: &[(String, &str)], width: u16) -> Vec<Line<'a>> {
    let half = rows.len().div_ceil(2);
    let col = width / 2;
    let left = key_rows(t, &rows[..half], col.saturating_sub(1));
    let right = key_rows(t, &rows[half..], col.saturating_sub(1));
    left.into_iter()
        .enumerate()
        .map(|(i, l)| {
            let pad = (col as usize).saturating_sub(l.width());
            let mut spans = l.spans;
            spans.push(Span::raw(" ".repeat(pad)));
            if let Some(r) = right.get(i) {
                spans.extend(r.spans.iter().cloned());
            }
            Line::from(spans)
        })
        .collect()
}

fn legend<'a>(t: &Theme) -> Line<'a> {
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
    Line::from(legend)
}
