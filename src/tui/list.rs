//! Every live rollout as a list (`cockpit status --watch`, and a bare
//! `cockpit watch` when several are live): one row each, refreshed every
//! second; the selected one opens in `watch` in this same terminal, and
//! leaving it comes back here.
//!
//! The list is state plus a draw function (tested on TestBackend); `run`
//! is the edge that owns the terminal and the key reader.

use std::time::Duration;

use crossterm::event::{self, Event, KeyEvent, KeyEventKind};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row as TableRow, Table, TableState, Wrap};

use super::keys::{Action, KeyMap};
use super::theme::Theme;
use crate::duration::Span as Dur;
use crate::error::Error;
use crate::feed::glance::{Glance, Glancer, Row};
use crate::feed::ssh::{ATTEMPTS, LinkDown};

/// What the list shows and where its selection is.
#[derive(Debug, Clone, Default)]
pub struct List {
    pub rows: Vec<Row>,
    pub selected: usize,
    /// Where the rows come from: `here`, or the host's label.
    pub place: String,
    pub down: Option<LinkDown>,
    /// Nothing came yet.
    pub waiting: bool,
}

/// What a key asks of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    Stay,
    Quit,
    Watch(String),
}

impl List {
    pub fn new(place: &str) -> List {
        List {
            place: place.to_string(),
            waiting: true,
            ..List::default()
        }
    }

    /// Takes a look; the selection stays on the same rollout if it is still there.
    pub fn take(&mut self, glance: Glance) {
        self.waiting = false;
        match glance {
            Glance::Rows(rows) => {
                let was = self.rows.get(self.selected).map(|r| r.rollout.clone());
                self.rows = rows;
                self.down = None;
                self.selected = was
                    .and_then(|w| self.rows.iter().position(|r| r.rollout == w))
                    .unwrap_or(self.selected)
                    .min(self.rows.len().saturating_sub(1));
            }
            Glance::Down(down) => self.down = Some(down),
        }
    }

    pub fn key(&mut self, keys: &KeyMap, key: &KeyEvent) -> Pick {
        match keys.action(key) {
            Some(Action::Quit | Action::Back) => Pick::Quit,
            Some(Action::SelectUp) => {
                self.selected = self.selected.saturating_sub(1);
                Pick::Stay
            }
            Some(Action::SelectDown) => {
                self.selected = (self.selected + 1).min(self.rows.len().saturating_sub(1));
                Pick::Stay
            }
            Some(Action::Open) => self
                .rows
                .get(self.selected)
                .map_or(Pick::Stay, |r| Pick::Watch(r.rollout.clone())),
            _ => Pick::Stay,
        }
    }
}

fn rollouts(n: usize) -> &'static str {
    if n == 1 { "rollout" } else { "rollouts" }
}

/// The banner while a link is down, on the list and on a follower's screen.
pub fn link_words(d: &LinkDown) -> String {
    if d.gave_up {
        format!(
            "ssh: gave up on {} after {ATTEMPTS} attempts ({}); what is shown is no longer live",
            d.host, d.why
        )
    } else {
        format!(
            "ssh: link to {} down, reconnecting in {} s (attempt {} of {ATTEMPTS})",
            d.host, d.retry_in_s, d.attempt
        )
    }
}

pub fn draw(frame: &mut Frame, list: &List, theme: &Theme, keys: &KeyMap) {
    let banner = u16::from(list.down.is_some()) * 2;
    let [title, banner_area, table, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(banner),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let live = list.rows.iter().filter(|r| r.ended.is_none()).count();
    let heading = Line::from(vec![
        Span::styled("cockpit status", theme.title),
        Span::styled(
            format!(" · {live} live {} {}", rollouts(live), list.place),
            theme.dim,
        ),
    ]);
    frame.render_widget(Paragraph::new(heading), title);
    if let Some(down) = &list.down {
        let style = theme.alarm.add_modifier(Modifier::BOLD);
        let text = Paragraph::new(format!("■ {}", link_words(down)))
            .style(style)
            .wrap(Wrap { trim: true });
        frame.render_widget(text, banner_area);
    }
    draw_rows(frame, list, theme, table);
    frame.render_widget(Paragraph::new(footer_line(theme, keys)), footer);
}

fn draw_rows(frame: &mut Frame, list: &List, theme: &Theme, area: ratatui::layout::Rect) {
    if list.rows.is_empty() {
        let said = if list.waiting {
            "looking..."
        } else {
            "no rollouts here: no cockpit has published a live feed in the journal dir"
        };
        frame.render_widget(Paragraph::new(said).style(theme.dim), area);
        return;
    }
    // Narrow terminals keep what tells rollouts apart and how they do.
    let wide = area.width >= 110;
    let header: Vec<&str> = if wide {
        vec![
            "ROLLOUT",
            "STRATEGY",
            "STAGE (SET/SEEN)",
            "PHASE",
            "WORST",
            "DRIVER",
            "WATCHERS",
            "RUNNING",
        ]
    } else {
        vec!["ROLLOUT", "STAGE", "PHASE", "WORST", "DRIVER"]
    };
    // Names and drivers as wide as the longest (within reason); the worst
    // metric takes what is left.
    let widest = |f: &dyn Fn(&Row) -> usize, most: usize| {
        let w = list.rows.iter().map(f).max().unwrap_or(0).clamp(7, most);
        Constraint::Length(w as u16)
    };
    let name = widest(&|r| r.rollout.chars().count(), if wide { 24 } else { 20 });
    let driver = widest(&|r| driver_words(r).chars().count(), 28);
    let fixed = |w: &[u16]| w.iter().map(|&n| Constraint::Length(n)).collect::<Vec<_>>();
    let mut widths = vec![name];
    widths.extend(if wide {
        fixed(&[8, 17, 10])
    } else {
        fixed(&[11, 10])
    });
    widths.push(Constraint::Fill(1));
    widths.push(driver);
    if wide {
        widths.extend(fixed(&[8, 7]));
    }
    let rows = list.rows.iter().map(|r| table_row(r, wide, theme));
    let table = Table::new(rows, widths)
        .header(TableRow::new(header).style(theme.dim))
        .row_highlight_style(theme.selected)
        .highlight_symbol("▶ ");
    let mut state = TableState::default().with_selected(Some(list.selected));
    frame.render_stateful_widget(table, area, &mut state);
}

fn table_row<'a>(r: &Row, wide: bool, theme: &Theme) -> TableRow<'a> {
    let (set, seen) = r.weights();
    let stage = if wide {
        format!("{} {set}/{seen}", r.stage)
    } else {
        format!("{} {set}", r.stage)
    };
    let driver_style = if r.driver_gone {
        theme.alarm
    } else {
        theme.text
    };
    let driver = driver_words(r);
    let phase = if r.ended.is_some() { "ended" } else { &r.phase };
    let worst = r.worst_words();
    let mut worst = worst.strip_prefix("worst ").unwrap_or(&worst).to_string();
    if !wide && let Some(cut) = worst.rfind(" (") {
        worst.truncate(cut); // The colour says the level.
    }
    let worst_style = r.worst.as_ref().map_or(theme.no_data, |w| theme.level(w.1));
    let mut cells = vec![Cell::from(r.rollout.clone()).style(theme.title)];
    if wide {
        cells.push(Cell::from(r.strategy.clone()));
    }
    cells.extend([
        Cell::from(stage),
        Cell::from(phase.to_string()),
        Cell::from(worst).style(worst_style),
        Cell::from(driver).style(driver_style),
    ]);
    if wide {
        cells.push(Cell::from(r.watchers.len().to_string()));
        cells.push(Cell::from(Dur::whole_secs(r.running_ms).to_string()));
    }
    TableRow::new(cells)
}

/// The driver, flagged when gone (unfinished, and silent).
fn driver_words(r: &Row) -> String {
    if r.driver_gone {
        format!("{} DRIVER GONE", r.driver)
    } else {
        r.driver.clone()
    }
}

/// The keys from the key map, so a rebound key is the one shown.
fn footer_line<'a>(theme: &Theme, keys: &KeyMap) -> Line<'a> {
    let hint = |action: Action, what: &str| {
        [
            Span::styled(keys.first(action), theme.key),
            Span::styled(format!(" {what}  "), theme.dim),
        ]
    };
    let spans: Vec<Span> = [
        hint(Action::SelectUp, "up"),
        hint(Action::SelectDown, "down"),
        hint(Action::Open, "watch it"),
        hint(Action::Quit, "quit"),
    ]
    .concat();
    Line::from(spans)
}

/// Owns the terminal until quit: draws when something changed, reads keys,
/// and hands the terminal to `watch` for the selected rollout, then takes
/// it back. `look` starts the lookups again after each watch. A watch that
/// fails ends the list with its error: drawn again, the list would hide
/// the message until quit.
pub fn run(
    list: &mut List,
    look: &dyn Fn() -> Glancer,
    theme: &Theme,
    keys: &KeyMap,
    watch: &mut dyn FnMut(&str) -> Result<i32, Error>,
) -> Result<(), Error> {
    loop {
        let pick = {
            let glancer = look();
            let mut terminal = ratatui::try_init()
                .map_err(|e| Error::failed(format!("cannot set up the terminal: {e}")))?;
            let pick = pick_one(list, &glancer, &mut terminal, theme, keys);
            ratatui::restore();
            pick.map_err(Error::failed)?
        };
        match pick {
            Pick::Watch(rollout) => {
                watch(&rollout)?;
            }
            Pick::Quit | Pick::Stay => return Ok(()),
        }
    }
}

fn pick_one(
    list: &mut List,
    glancer: &Glancer,
    terminal: &mut ratatui::DefaultTerminal,
    theme: &Theme,
    keys: &KeyMap,
) -> Result<Pick, String> {
    let mut dirty = true;
    loop {
        while let Ok(glance) = glancer.updates.try_recv() {
            list.take(glance);
            dirty = true;
        }
        if dirty {
            terminal
                .draw(|f| draw(f, list, theme, keys))
                .map_err(|e| format!("cannot draw: {e}"))?;
            dirty = false;
        }
        let wait = Duration::from_millis(100);
        if !event::poll(wait).map_err(|e| format!("cannot read the terminal: {e}"))? {
            continue;
        }
        match event::read().map_err(|e| format!("cannot read the terminal: {e}"))? {
            Event::Key(key) if key.kind != KeyEventKind::Release => match list.key(keys, &key) {
                Pick::Stay => dirty = true,
                pick => return Ok(pick),
            },
            Event::Resize(..) => dirty = true,
            _ => {}
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::rollout::Level;

    /// A rollout observing its canary at 5%, its worst metric at `level`.
    pub(crate) fn row(rollout: &str, level: Level) -> Row {
        Row {
            rollout: rollout.into(),
            strategy: "canary".into(),
            stage: "canary".into(),
            weight_set: Some(5.0),
            weight_seen: None,
            phase: "observing".into(),
            worst: Some(("error rate".into(), level, Some(2.5), "%".into())),
            driver: "ana@box".into(),
            watchers: vec![],
            running_ms: 60_000,
            driver_gone: false,
            ended: None,
        }
    }

    /// The style of the first cell of the line naming `rollout`, where the
    /// worst metric starts.
    fn worst_cell(t: &Terminal<TestBackend>, rollout: &str) -> ratatui::buffer::Cell {
        let buf = t.backend().buffer();
        let width = buf.area.width as usize;
        let lines: Vec<String> = buf
            .content
            .chunks(width)
            .map(|l| l.iter().map(|c| c.symbol()).collect())
            .collect();
        let y = lines.iter().position(|l| l.contains(rollout)).unwrap();
        let x = lines[y].find("error rate").unwrap();
        let x = lines[y][..x].chars().count();
        buf.content[y * width + x].clone()
    }

    #[test]
    fn each_rows_worst_metric_has_the_colour_of_its_level() {
        let theme = Theme::load("dark", true).unwrap();
        let mut list = List::new("here");
        list.take(Glance::Rows(vec![
            row("checkout", Level::Critical),
            row("search", Level::Warning),
        ]));
        for width in [120, 80] {
            let mut t = Terminal::new(TestBackend::new(width, 10)).unwrap();
            t.draw(|f| draw(f, &list, &theme, &KeyMap::default()))
                .unwrap();
            let crit = worst_cell(&t, "checkout");
            assert_eq!(crit.fg, theme.critical.fg.unwrap(), "CRIT at {width}");
            assert_ne!(crit.fg, theme.warning.fg.unwrap());
            let warn = worst_cell(&t, "search");
            assert_eq!(warn.fg, theme.warning.fg.unwrap(), "WARN at {width}");
        }
    }
}
