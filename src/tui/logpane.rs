//! The log pane: a plain ring of lines in the screen state, scrolled by
//! line. Drawing reads it and changes nothing, so a frame is a function of
//! the state (see DEVELOPMENT.md, dependency notes, for why not tui-logger).

use std::collections::VecDeque;

use ratatui::text::{Line, Span};

use super::theme::Theme;

/// Lines kept: hours of a busy rollout; the journal keeps everything.
const KEPT: usize = 2000;

/// Continuation lines start under the message, past "HH:MM:SS ".
const INDENT: usize = 9;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Info,
    Warn,
    Error,
}

impl From<log::Level> for Severity {
    fn from(level: log::Level) -> Severity {
        match level {
            log::Level::Error => Severity::Error,
            log::Level::Warn => Severity::Warn,
            _ => Severity::Info,
        }
    }
}

#[derive(Debug, Default)]
pub struct LogPane {
    lines: VecDeque<(Severity, String)>,
    /// Screen lines scrolled back from the newest; 0 follows the newest.
    back: usize,
}

impl LogPane {
    pub fn new() -> LogPane {
        LogPane::default()
    }

    /// One line, already carrying its time of day.
    pub fn push(&mut self, level: impl Into<Severity>, text: &str) {
        if self.lines.len() == KEPT {
            self.lines.pop_front();
        }
        self.lines.push_back((level.into(), text.to_string()));
        // Reading back keeps its place while new lines arrive below.
        if self.back > 0 {
            self.back += 1;
        }
    }

    /// Back (positive) or forward (negative) by `lines` screen lines;
    /// never past the newest (the drawing stops at the oldest).
    pub fn scroll(&mut self, lines: isize) {
        // Bounded by the lines kept, so scrolling forward again from far
        // back takes no more presses than it took to get there.
        self.back = self.back.saturating_add_signed(lines).min(self.lines.len());
    }

    pub fn follow(&mut self) {
        self.back = 0;
    }

    pub fn is_following(&self) -> bool {
        self.back == 0
    }

    /// The `height` screen lines that show now at `width` columns, oldest
    /// first, each wrapped under its time.
    pub fn view<'a>(&self, theme: &Theme, width: u16, height: u16) -> Vec<Line<'a>> {
        let height = height as usize;
        let mut shown: Vec<Line> = Vec::new();
        // Wrap from the newest back only as far as the screen needs.
        let need = height + self.back;
        for (level, text) in self.lines.iter().rev() {
            let style = match level {
                Severity::Error => theme.critical,
                Severity::Warn => theme.warning,
                Severity::Info => theme.text,
            };
            let wrapped = wrap(text, width as usize, INDENT);
            shown.extend(
                wrapped
                    .into_iter()
                    .rev()
                    .map(|l| Line::from(Span::styled(l, style))),
            );
            if shown.len() >= need {
                break;
            }
        }
        let back = self.back.min(shown.len().saturating_sub(height));
        shown
            .into_iter()
            .skip(back)
            .take(height)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
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

#[cfg(test)]
mod ring_tests {
    use super::*;

    fn texts(pane: &LogPane, height: u16) -> Vec<String> {
        let theme = Theme::load("dark", false).unwrap();
        pane.view(&theme, 40, height)
            .iter()
            .map(|l| l.to_string())
            .collect()
    }

    #[test]
    fn scrolls_by_line_and_follows_the_newest() {
        let mut pane = LogPane::new();
        for i in 0..10 {
            pane.push(log::Level::Info, &format!("line {i}"));
        }
        assert_eq!(texts(&pane, 3), ["line 7", "line 8", "line 9"]);
        pane.scroll(1);
        assert_eq!(texts(&pane, 3), ["line 6", "line 7", "line 8"]);
        // A new line keeps the place of the one being read.
        pane.push(log::Level::Info, "line 10");
        assert_eq!(texts(&pane, 3), ["line 6", "line 7", "line 8"]);
        pane.scroll(100);
        assert_eq!(texts(&pane, 3), ["line 0", "line 1", "line 2"]);
        pane.follow();
        assert_eq!(texts(&pane, 3), ["line 8", "line 9", "line 10"]);
    }
}
