//! The panel before the rollout: the pre-flight, the checklist, the
//! deploy window and what starts it.

use ratatui::text::{Line, Span};

use super::wrapped;
use crate::preflight::{Item, Kind, Preflight, Status};
use crate::rollout::{At, Group, Rollout};
use crate::tui::keys::Action;
use crate::tui::screen::Screen;

pub(super) fn lines<'a>(s: &Screen, r: &Rollout, now: At, width: u16) -> Vec<Line<'a>> {
    let t = &s.theme;
    let st = &r.state;
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
    lines.extend(checklist(s, r));
    lines.extend(window(s, r, now));
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

fn checklist<'a>(s: &Screen, r: &Rollout) -> Vec<Line<'a>> {
    let t = &s.theme;
    let ticks = &r.state.checklist;
    let done = ticks.iter().filter(|x| **x).count();
    let mut lines = vec![Line::from(vec![
        Span::styled("Pre-deploy checklist", t.title),
        Span::styled(
            format!(" ({done} of {} ticked; 1-9 ticks an item)", ticks.len()),
            t.dim,
        ),
    ])];
    let items = r.config.checklist.items.iter().zip(ticks);
    for (i, (item, ticked)) in items.enumerate() {
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
    lines
}

/// The deploy window, its override, and when the next one opens.
fn window<'a>(s: &Screen, r: &Rollout, now: At) -> Vec<Line<'a>> {
    let t = &s.theme;
    let mut w = vec![
        Span::styled("Deploy window: ", t.title),
        Span::raw(s.window(r, now).describe()),
    ];
    if let Some(reason) = &r.state.window_override {
        w.push(Span::styled(
            format!("; overridden: \"{reason}\""),
            t.warning,
        ));
    }
    let mut lines = vec![Line::from(w)];
    if s.outside_window(r, now)
        && let Some(next) = s.next_window(now)
    {
        lines.push(Line::from(vec![
            Span::styled("Next window: ", t.title),
            Span::styled(next, t.warning),
        ]));
    }
    lines
}

/// The pre-flight in the start panel: one line when all is well, else
/// every failed check with what was sent and the error, wrapped whole.
fn preflight_lines<'a>(s: &Screen, width: u16) -> Vec<Line<'a>> {
    let Some(p) = &s.preflight else {
        return vec![];
    };
    if p.failures().next().is_none() {
        passed(s, p)
    } else {
        failed(s, p, width)
    }
}

fn passed<'a>(s: &Screen, p: &Preflight) -> Vec<Line<'a>> {
    let t = &s.theme;
    let expected = p
        .items
        .iter()
        .filter(|i| matches!(i.status, Status::Expected(_)))
        .count();
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
    let read = |i: &&Item| matches!(i.kind, Kind::Metric | Kind::Probe);
    let mut names: Vec<&str> = Vec::new();
    for i in p.items.iter().filter(read) {
        if !names.contains(&i.name.as_str()) {
            names.push(&i.name);
        }
    }
    for name in names {
        let values: Vec<String> = p
            .items
            .iter()
            .filter(read)
            .filter(|i| i.name == name)
            .map(|i| {
                let group = i.group.map_or("", |g| match g {
                    Group::Canary => "canary ",
                    Group::Baseline => "baseline ",
                });
                let value = match &i.status {
                    Status::Expected(_) => "empty (no traffic yet)".into(),
                    _ => i.value_text(),
                };
                format!("{group}{value}")
            })
            .collect();
        lines.push(Line::from(vec![
            Span::styled(" ✓ ", t.ok),
            Span::raw(format!("{name}: {}", values.join(", "))),
        ]));
    }
    lines
}

fn failed<'a>(s: &Screen, p: &Preflight, width: u16) -> Vec<Line<'a>> {
    let t = &s.theme;
    let failed: Vec<_> = p.failures().collect();
    let mut lines = vec![Line::from(vec![
        Span::styled("Pre-flight: ", t.title),
        Span::styled(
            format!("{} of {} checks failed", failed.len(), p.items.len()),
            t.critical,
        ),
    ])];
    for i in failed {
        let style = if i.blocks_start {
            t.critical
        } else {
            t.warning
        };
        let what = format!(" ✗ {}: {}", i.label(), i.target);
        lines.extend(wrapped(&what, width, 4, style));
        if let Status::Failed(why) = &i.status {
            lines.extend(wrapped(&format!("   {why}"), width, 4, t.text));
        }
    }
    lines
}
