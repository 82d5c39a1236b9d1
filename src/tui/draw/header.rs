//! The two header lines: the rollout and its driver, then the time, how
//! long since the start and the deploy window, with the phase badge.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::rows;
use crate::rollout::{At, Now, Rollout};
use crate::tui::screen::Screen;
use crate::tui::theme::Theme;

pub(super) fn draw(frame: &mut Frame, s: &Screen, r: &Rollout, now: At, area: Rect) {
    let [top, bottom] = rows(area, [Some(1), Some(1)]);
    let lines = [
        (what(s, r), driver(s, r), top),
        (when(s, r, now), badge(s, r, now), bottom),
    ];
    for (left, right, row) in lines {
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

fn sep<'a>(t: &Theme) -> Span<'a> {
    Span::styled(" · ", t.dim)
}

/// "checkout 2.0 · checkout/prod · 1.9 → 2.0 · canary".
fn what<'a>(s: &Screen, r: &Rollout) -> Line<'a> {
    let t = &s.theme;
    let ro = &r.config.rollout;
    Line::from(vec![
        Span::styled(ro.name.clone(), t.title),
        sep(t),
        Span::raw(format!("{}/{}", ro.service, ro.environment)),
        sep(t),
        Span::styled(format!("{} → {}", ro.old_version, ro.new_version), t.title),
        sep(t),
        Span::raw(ro.strategy.to_string()),
    ])
}

/// Who drives, over SSH or not, and who watches.
fn driver<'a>(s: &Screen, r: &Rollout) -> Line<'a> {
    let t = &s.theme;
    let who = if r.state.operator.is_empty() {
        &s.operator
    } else {
        &r.state.operator
    };
    let watching = match s.following {
        Some(_) => Span::styled("WATCHING · ", t.warning),
        None => Span::raw(""),
    };
    Line::from(vec![
        watching,
        Span::styled("driver ", t.dim),
        Span::styled(who.clone(), t.title),
        Span::styled(if s.ssh { " (SSH)" } else { "" }, t.warning),
        Span::styled(watched_by(&s.watchers), t.dim),
        Span::styled(super::super::wheel::standing(s.offer.as_ref()), t.warning),
    ])
}

/// The time of day, T+ since the start, and the deploy window.
fn when<'a>(s: &Screen, r: &Rollout, now: At) -> Line<'a> {
    let t = &s.theme;
    let since = r.state.started_at.map_or_else(
        || "not started".to_string(),
        |at| crate::format::offset(now.saturating_sub(at) as i64),
    );
    let window = s.window(r, now);
    // Only drills skip the checks: the window does not apply to a rehearsal.
    let skipped = r.state.checks_skipped.is_some();
    let overridden = r.state.window_override.is_some();
    let window_style = if window.needs_reason() && !overridden && !skipped {
        t.warning
    } else {
        t.dim
    };
    let mut window_text = if skipped {
        "window: skipped (drill)".to_string()
    } else {
        format!("window: {}", window.describe())
    };
    if window.needs_reason() && overridden && !skipped {
        window_text.push_str(" (overridden)");
    }
    Line::from(vec![
        Span::styled(s.time_of_day(now), t.title),
        sep(t),
        Span::raw(since),
        sep(t),
        Span::styled(window_text, window_style),
    ])
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
