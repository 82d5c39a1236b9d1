//! The pipeline: every stage in one line, the current one with its
//! observation bar and the share of traffic it set and saw.

use ratatui::text::{Line, Span};

use crate::config::model::Stage;
use crate::duration::Span as Dur;
use crate::rollout::{At, Phase, Rollout};
use crate::tui::screen::Screen;

/// Stage names when they fit, else exposures only with a shorter bar.
pub(super) fn line<'a>(s: &Screen, r: &Rollout, now: At, width: u16) -> Line<'a> {
    let wide = spans(s, r, now, true, 10);
    if Line::from(wide.clone()).width() <= width as usize {
        return Line::from(wide);
    }
    Line::from(spans(s, r, now, false, 6))
}

/// The current stage's set weight and seen share: "25% set · 24.3% seen";
/// a stage without a weight shows its exposure beside the seen share.
pub(super) fn stage_share(r: &Rollout, now: At) -> Option<String> {
    let t = r.traffic(now);
    let share = crate::format::share(t.set, t.seen)?;
    match (t.set, r.config.stages.get(r.state.stage)) {
        (None, Some(stage)) => Some(format!("{} · {share}", stage.exposure())),
        _ => Some(share),
    }
}

fn spans<'a>(s: &Screen, r: &Rollout, now: At, names: bool, bar: usize) -> Vec<Span<'a>> {
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
                spans.extend(observing(s, r, now, stage, label, names, bar));
                continue;
            } else {
                ("·", t.dim, format!(" {}", stage.wait))
            };
        spans.push(Span::styled(format!("{sym} {label}{extra}"), style));
    }
    spans
}

/// The stage under observation: its share, the bar, the time observed of
/// the time it needs, and a stopped clock's reason.
fn observing<'a>(
    s: &Screen,
    r: &Rollout,
    now: At,
    stage: &Stage,
    label: String,
    names: bool,
    bar: usize,
) -> Vec<Span<'a>> {
    let t = &s.theme;
    let st = &r.state;
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
    let mut spans = vec![
        Span::styled(format!("▶ {label} "), style),
        Span::styled("█".repeat(filled), t.progress),
        Span::styled("░".repeat(bar - filled), t.dim),
        Span::raw(format!(
            " {}/{}",
            Dur::whole_secs(st.observed_ms),
            stage.wait
        )),
    ];
    if let Some(blind) = r.blind() {
        let why = blind.verdict.level.word().to_lowercase();
        let text = if names {
            format!(" clock stopped: {why}")
        } else {
            " ⏹".to_string()
        };
        spans.push(Span::styled(text, t.no_data));
    }
    spans
}
