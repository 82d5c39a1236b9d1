//! The bottom of the screen: a failed hook's panel, the decision line
//! (with the traffic alarm, a follower's word and the feedback), and the
//! keys that apply now.

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::wrapped;
use crate::duration::Span as Dur;
use crate::rollout::{At, Level, Now, Phase, Rollout};
use crate::tui::keys::Action;
use crate::tui::screen::{Mode, Screen};
use crate::tui::theme::Theme;

pub(super) fn failure_panel<'a>(s: &Screen, r: &Rollout) -> Option<Vec<Line<'a>>> {
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
pub(super) fn decision_lines<'a>(s: &Screen, r: &Rollout, now: At, width: u16) -> Vec<Line<'a>> {
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
    let mut lines = wrapped(&format!("» {text}"), width, 2, style);
    lines.truncate(3);
    if let Some(text) = traffic_warning(r, now) {
        let alarm = t.alarm.add_modifier(Modifier::BOLD);
        let text = format!("■ {}", text.to_uppercase());
        lines.extend(wrapped(&text, width, 2, alarm).into_iter().take(2));
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

/// What a follower must know beyond the driver's screen: the link to the
/// host is down, the driver is gone quiet, or has left.
fn follower_word<'a>(s: &Screen, width: u16) -> Vec<Line<'a>> {
    let Some(f) = s.following.as_ref() else {
        return vec![];
    };
    let t = &s.theme;
    let (text, style) = match (&s.link_down, &f.ended, f.silent_ms) {
        // The link first: while it is down, all else shown is old news.
        (Some(down), _, _) => (
            format!("■ {}", super::super::list::link_words(down)),
            t.alarm,
        ),
        (None, Some(ended), _) => (format!("■ {ended}"), t.warning),
        (None, None, Some(ms)) => (
            format!(
                "■ NO WORD FROM THE DRIVER FOR {}: their cockpit may be gone (a dropped \
                 connection?); the journal lets it be resumed with cockpit run --resume",
                Dur::whole_secs(ms)
            ),
            t.alarm,
        ),
        (None, None, None) => return vec![],
    };
    let style = style.add_modifier(Modifier::BOLD);
    let mut lines = wrapped(&text, width, 2, style);
    lines.truncate(2);
    lines
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
            let close = format!(
                "close help (also {}, {})",
                s.keys.first(Action::Quit),
                s.keys.first(Action::Back)
            );
            for a in s.available(r, now) {
                let what = match a {
                    Action::Pause if current == Now::Paused => "resume",
                    Action::Hold if matches!(current, Now::Held { .. }) => "release",
                    Action::Help if s.help => &close,
                    other => other.short(),
                };
                spans.extend(hint(&s.keys.first(a), what));
            }
            spans
        }
    };
    Line::from(spans)
}
