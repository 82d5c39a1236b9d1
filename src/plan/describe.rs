//! `cockpit check`'s text: what the plan will do, in the order it does it.

use std::fmt::Write;

mod judging;

use super::Plan;
use crate::config::Config;
use crate::config::model::{
    Direction, GroupMay, Hook, HookFormat, MetricKind, MetricSpec, OnCritical, OnNoData,
};
use crate::duration::Span;
use crate::format::number;
use crate::rollout::{Group, Reading, Rule};
use crate::tui::keys::Action;

impl Plan {
    /// The plan as `check` prints it: stages, waits, thresholds, hooks,
    /// total time, sources, screen, warnings.
    pub fn describe(&self) -> String {
        describe(self)
    }

    /// What `check --live` adds from what the pre-flight read: waits
    /// short for the measured traffic, latency lines between buckets.
    pub fn live_warnings(&self, readings: &[(usize, Group, Reading)]) -> Vec<String> {
        judging::live_warnings(&self.config, readings)
    }
}

/// `check`'s text, section by section in the order an operator reads a
/// rollout: what changes, in which stages, judged on what, by which rules.
fn describe(plan: &Plan) -> String {
    let (path, c) = (&plan.path, &plan.config);
    let mut out = String::new();
    let r = &c.rollout;
    let _ = writeln!(out, "{}: ok", path.display());
    let _ = writeln!(
        out,
        "rollout: {}: {} {} -> {} ({}, {})",
        r.name, r.service, r.old_version, r.new_version, r.strategy, r.environment
    );
    stages(&mut out, plan);
    let notices = notifications(c);
    if !notices.is_empty() {
        out.push_str("\nevent hooks:\n");
        for line in notices {
            let _ = writeln!(out, "  {line}");
        }
    }
    out.push_str("\nsources:\n");
    for line in sources(c, plan.sources.every()) {
        let _ = writeln!(out, "  {line}");
    }
    out.push_str("\nmetrics:\n");
    let first = plan.rules.first().cloned().unwrap_or_default();
    for (i, m) in c.metrics.iter().enumerate() {
        metric_line(&mut out, c, m, first.get(i));
    }
    policy(&mut out, c);
    let _ = writeln!(out, "screen: theme {}; {}", plan.theme.name, keys(plan));
    if let Some(line) = journal_sharing(c) {
        let _ = writeln!(out, "{line}");
    }
    let warnings = warnings(c);
    if !warnings.is_empty() {
        out.push_str("\nwarnings:\n");
        for w in warnings {
            let _ = writeln!(out, "  - {w}");
        }
    }
    out
}

/// Who besides the driver may use the journal dir, when anyone may.
fn journal_sharing(c: &Config) -> Option<String> {
    let group = c.journal.group.as_ref()?;
    let may = match c.journal.group_may {
        GroupMay::Follow => "members may follow (read the journals and the live feed)",
        GroupMay::Drive => "members may follow, note and take the wheel",
    };
    Some(format!("journals: shared with group {group}: {may}"))
}

/// Each stage with its hooks and the rules it changes, and the least time
/// they all take.
fn stages(out: &mut String, plan: &Plan) {
    let c = &plan.config;
    out.push_str("\nstages:\n");
    for (i, s) in c.stages.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {}. {:<12} {:<14} wait {}",
            i + 1,
            s.name,
            s.exposure(),
            s.wait
        );
        let _ = writeln!(out, "       enter: {}", hooks(&s.enter.0));
        let undo = if s.irreversible {
            "none: irreversible".to_string()
        } else {
            hooks(&s.undo.0)
        };
        let _ = writeln!(out, "       undo:  {undo}");
        if let Some(h) = &s.smoke {
            let _ = writeln!(out, "       smoke: {}", h.label());
        }
        if let Some(g) = &s.gate {
            let _ = writeln!(
                out,
                "       gate:  {}",
                g.url.as_deref().unwrap_or("manual (g)")
            );
        }
        let changed = plan.rules[i]
            .iter()
            .filter(|r| s.thresholds.contains_key(&r.name));
        for r in changed {
            let _ = writeln!(out, "       {}", rule_line(r));
        }
    }
    let total = c.stages.iter().map(|s| s.wait.0).sum();
    let _ = writeln!(out, "minimum total duration: {}", Span(total));
}

/// One metric: its lines, how it is judged, and where it is read.
fn metric_line(out: &mut String, c: &Config, m: &MetricSpec, rule: Option<&Rule>) {
    let unit = m.unit.clone().unwrap_or_default();
    let sign = if m.direction == Some(Direction::LowerIsWorse) {
        "<"
    } else {
        ">"
    };
    let line = |v: Option<f64>| v.map_or("-".into(), |v| crate::format::with_unit(v, &unit));
    let judged = match rule {
        // A p95 from a hand-written query has no buckets to count.
        Some(r)
            if r.lines().is_some() && !(r.kind == MetricKind::LatencyP95 && m.query.is_some()) =>
        {
            format!(
                "by evidence, {}% sure of a breach",
                number((1.0 - r.alpha) * 100.0)
            )
        }
        _ => format!("for {}", m.for_.unwrap_or_default()),
    };
    let _ = write!(
        out,
        "  {:<14} warn {sign} {:<9} crit {sign} {:<9} {judged}",
        m.name,
        line(m.warning),
        line(m.critical),
    );
    if let Some(n) = m.min_requests {
        let _ = write!(out, ", min {} requests", number(n));
    }
    if let Some(x) = m.baseline_ratio {
        let _ = write!(out, ", <= {}x baseline", number(x));
    }
    if let Some(x) = m.immediate {
        let _ = write!(out, ", at once {sign} {}", line(Some(x)));
    }
    let _ = writeln!(out, "  [{}]", source(c, m));
}

/// What happens on a breach, on no data, to traffic, and when a rollout
/// may run.
fn policy(out: &mut String, c: &Config) {
    let p = &c.policy;
    let critical = match p.on_critical {
        OnCritical::Rollback => "roll back at once".to_string(),
        OnCritical::Countdown => format!(
            "count down {} (h holds, c cancels), then roll back",
            p.countdown
        ),
        OnCritical::Alert => "alert only".to_string(),
    };
    let no_data = match p.on_no_data {
        OnNoData::Hold => "hold".to_string(),
        OnNoData::Rollback => format!("roll back after {}", p.no_data_rollback_after),
    };
    let _ = writeln!(
        out,
        "\npolicy: sustained critical: {critical}; no data: {no_data}; auto-advance: {}",
        if p.auto_advance { "on" } else { "off" }
    );
    let _ = writeln!(
        out,
        "traffic: warn when the canary's seen share of requests is more than {} points \
         from the weight set (under {}%: below half of it) for {} after the enter hook",
        crate::format::number(p.traffic_margin),
        crate::format::number(crate::rollout::traffic::SMALL_WEIGHT),
        p.traffic_grace
    );
    let w = &c.window;
    if w.enabled {
        let _ = writeln!(
            out,
            "window: best {}; acceptable {}; never {}",
            w.best.join(", "),
            w.acceptable.join(", "),
            w.never.join(", ")
        );
    } else {
        out.push_str("window: disabled\n");
    }
    let _ = writeln!(
        out,
        "checklist: {} items to tick before stage 1",
        c.checklist.items.len()
    );
}

fn hooks(list: &[Hook]) -> String {
    if list.is_empty() {
        return "-".into();
    }
    list.iter().map(Hook::label).collect::<Vec<_>>().join("; ")
}

/// `[hooks]` run on events (notifications and on_rollback): where each goes
/// and, for http, in what shape.
fn notifications(c: &Config) -> Vec<String> {
    let mut out = Vec::new();
    // enter and undo are shown with each stage.
    for (when, list) in c.hooks.by_key().into_iter().skip(2) {
        for hook in &list.0 {
            let shape = match (hook.format, &hook.body, &hook.http) {
                (_, _, None) => String::new(),
                (_, Some(_), _) if hook.body_is_json() => " (body template, JSON)".into(),
                (_, Some(_), _) => " (body template, text)".into(),
                (Some(HookFormat::Pagerduty), ..) => {
                    " (pagerduty: trigger on rollback, resolve when it is verified)".into()
                }
                (Some(HookFormat::Slack), ..) => " (slack message)".into(),
                (Some(HookFormat::Teams), ..) => " (teams adaptive card)".into(),
                (Some(HookFormat::Json) | None, ..) => " (cockpit JSON)".into(),
            };
            out.push(format!("{when}: {}{shape}", hook.label()));
        }
    }
    out
}

/// Where values come from and over what span: what an engineer checks
/// first when a value on the screen looks wrong.
fn sources(c: &Config, every: std::time::Duration) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(p) = &c.prometheus {
        out.push(format!(
            "prometheus {} every {}, rates over {}",
            crate::metrics::fetch::shown(&p.url),
            p.every,
            p.rate_window
        ));
    }
    if let Some(a) = &c.alertmanager {
        out.push(format!(
            "alertmanager {} firing alerts every {}, timeout {}",
            crate::metrics::fetch::shown(&a.url),
            Span(every),
            a.timeout
        ));
    }
    if let Some(s) = &c.scrape {
        let span = match s.window {
            Some(w) => match s.window_intervals() {
                1 => format!("rates over {w} (1 scrape interval)"),
                n => format!("rates over {w} ({n} scrape intervals)"),
            },
            None => "rates over the last interval (window = \"1m\" to smooth them)".into(),
        };
        out.push(format!(
            "scrape {} canary + {} baseline targets every {}, {span}",
            s.canary.len(),
            s.baseline.len(),
            s.every
        ));
    }
    out
}

fn source(c: &Config, m: &MetricSpec) -> String {
    if let Some(t) = &m.template {
        format!("template {t}")
    } else if let Some(q) = &m.query {
        format!("query {q}")
    } else if let Some(s) = &m.scrape {
        crate::metrics::scrape::plan_source(m, s)
    } else if let Some(p) = &m.probe {
        format!("probe {p}")
    } else if let (Some(sel), Some(spec)) = (&m.alerts, &c.alertmanager) {
        crate::metrics::alerts::AlertCount::plan_source(spec, sel)
    } else {
        "no source".into()
    }
}

/// Not errors, but what an experienced reviewer would point out.
fn warnings(c: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for (i, s) in c.stages.iter().enumerate() {
        if s.smoke.is_none() {
            out.push(format!("stage {} ({}) has no smoke check", i + 1, s.name));
        }
        if s.enter.0.is_empty() {
            out.push(format!(
                "stage {} ({}) has no enter hook: nothing moves traffic",
                i + 1,
                s.name
            ));
        }
    }
    let has_baseline =
        c.scrape.as_ref().is_some_and(|s| !s.baseline.is_empty()) || c.prometheus.is_some();
    if !has_baseline {
        out.push(
            "no baseline targets: canary-vs-stable comparison (seed 000's 2x rule) is off".into(),
        );
    }
    if c.policy.on_critical == OnCritical::Alert {
        out.push(
            "on_critical = \"alert\": a sustained critical breach never rolls back by itself"
                .into(),
        );
    }
    if c.rollout.security_hotfix {
        out.push("security_hotfix = true: deploy windows are not enforced".into());
    }
    out.extend(judging::wait_warnings(
        c,
        c.rollout.traffic,
        "from the [rollout] traffic hint",
    ));
    out
}

/// A stage's own lines for a metric: "latency_p95: warn > 400 ms, crit > 800 ms, for 3m".
fn rule_line(r: &Rule) -> String {
    let sign = if r.direction == Direction::LowerIsWorse {
        "<"
    } else {
        ">"
    };
    format!(
        "{}: warn {sign} {}, crit {sign} {}, for {}",
        r.name,
        r.show(r.warning),
        r.show(r.critical),
        Span::from_millis(r.for_ms)
    )
}

/// The keys the config rebinds, as the screen will show them.
fn keys(plan: &Plan) -> String {
    let rebound: Vec<String> = Action::all()
        .filter(|a| plan.config.ui.keys.contains_key(a.name()))
        .map(|a| format!("{} {}", a.name(), plan.keys.all_labels(a)))
        .collect();
    if rebound.is_empty() {
        "default keys".into()
    } else {
        format!("keys rebound: {}", rebound.join(", "))
    }
}
