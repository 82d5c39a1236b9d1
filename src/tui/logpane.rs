//! The log pane: the cockpit's events and hook output through tui-logger.
//!
//! tui-logger is one logger per process, so each screen logs under its own
//! target and its widget shows only that target: two screens in one
//! process (the tests) never see each other's lines.

use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

use log::LevelFilter;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use tui_logger::{ExtLogRecord, LogFormatter, TuiLoggerWidget, TuiWidgetEvent, TuiWidgetState};

use super::theme::Theme;

static INIT: Once = Once::new();
static NEXT: AtomicUsize = AtomicUsize::new(0);

pub struct LogPane {
    target: String,
    state: TuiWidgetState,
}

impl LogPane {
    pub fn new() -> LogPane {
        INIT.call_once(|| {
            // Fails only if another logger is installed; the pane is then empty.
            let _ = tui_logger::init_logger(LevelFilter::Info);
            // Capture defaults to Info per target; say so rather than rely on it.
            tui_logger::set_default_level(LevelFilter::Info);
        });
        let target = format!("cockpit-screen-{}", NEXT.fetch_add(1, Ordering::Relaxed));
        let state = TuiWidgetState::new()
            .set_default_display_level(LevelFilter::Off)
            .set_level_for_target(&target, LevelFilter::Info);
        LogPane { target, state }
    }

    /// One line, already carrying its time of day.
    pub fn push(&self, level: log::Level, text: &str) {
        log::log!(target: &self.target, level, "{text}");
    }

    pub fn scroll(&self, event: TuiWidgetEvent) {
        self.state.transition(event);
    }

    pub fn widget<'a>(&self, theme: &Theme) -> TuiLoggerWidget<'a> {
        // Lines logged a moment ago are still in the hot buffer.
        tui_logger::move_events();
        TuiLoggerWidget::default()
            .formatter(Box::new(Plain {
                text: theme.text,
                warn: theme.warning,
                error: theme.critical,
            }))
            .style(theme.text)
            .state(&self.state)
    }
}

impl Default for LogPane {
    fn default() -> Self {
        LogPane::new()
    }
}

/// The message only, wrapped under its time: the time is our clock's, not
/// the logger's, so a fixed test clock gives a fixed screen.
struct Plain {
    text: Style,
    warn: Style,
    error: Style,
}

const INDENT: usize = 9;

impl LogFormatter for Plain {
    fn min_width(&self) -> u16 {
        INDENT as u16 + 10
    }

    fn format(&self, width: usize, evt: &ExtLogRecord) -> Vec<Line<'_>> {
        let style = match evt.level {
            log::Level::Error => self.error,
            log::Level::Warn => self.warn,
            _ => self.text,
        };
        wrap(evt.msg(), width, INDENT)
            .into_iter()
            .map(|l| Line::from(Span::styled(l, style)))
            .collect()
    }
}

/// Splits `text` into lines of `width` characters, at a space where one
/// is near the end, continuation lines indented by `indent`.
pub fn wrap(text: &str, width: usize, indent: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let width = width.max(indent + 1);
    let mut lines = Vec::new();
    let mut at = 0;
    while at < chars.len() || lines.is_empty() {
        let room = if lines.is_empty() {
            width
        } else {
            width - indent
        };
        let mut end = (at + room).min(chars.len());
        if end < chars.len()
            && let Some(space) = chars[at + room / 2..end].iter().rposition(|c| *c == ' ')
        {
            end = at + room / 2 + space + 1;
        }
        let piece: String = chars[at..end].iter().collect();
        let piece = piece.trim_end().to_string();
        lines.push(if lines.is_empty() {
            piece
        } else {
            format!("{}{piece}", " ".repeat(indent))
        });
        at = end;
    }
    lines
}

#[cfg(test)]
mod tests {
    #[test]
    fn wraps_under_the_time() {
        let lines = super::wrap("abcdefghijklmnopqrst", 14, 9);
        assert_eq!(lines, ["abcdefghijklmn", "         opqrs", "         t"]);
        let lines = super::wrap("12:00:00 ab cdefgh ij", 16, 9);
        assert_eq!(lines, ["12:00:00 ab", "         cdefgh", "         ij"]);
    }
}
