//! Stages: names, weights and instance counts that grow, an undo for
//! every stage, gates that can open, per-stage thresholds in order.

use std::collections::HashSet;

use super::problem;
use crate::at;
use crate::config::error::{Problem, Seg, did_you_mean};
use crate::config::model::{Config, Direction, Stage};

pub(super) fn check_stages(config: &Config, out: &mut Vec<Problem>) {
    let mut names = HashSet::new();
    let metric_names: Vec<&str> = config.metrics.iter().map(|m| m.name.as_str()).collect();
    let preset = config.rollout.preset.is_some();
    for (i, s) in config.stages.iter().enumerate() {
        if !names.insert(s.name.as_str()) {
            out.push(problem(
                at!["stage", i, "name"],
                format!("duplicate stage name \"{}\"", s.name),
                "give every stage its own name",
            ));
        }
        if s.undo.0.is_empty() && !s.irreversible && !preset {
            out.push(problem(
                at!["stage", i],
                format!("stage \"{}\" has no undo action: no deploy without a rollback plan", s.name),
                "add `undo = { exec = [...] }` (or [hooks] undo for every stage), or say `irreversible = true`",
            ));
        }
        if let Some(g) = &s.gate
            && !g.manual
            && g.url.is_none()
        {
            out.push(problem(
                at!["stage", i, "gate"],
                "gate has neither `manual = true` nor `url`",
                "set one of them",
            ));
        }
        check_overrides(config, i, s, &metric_names, out);
    }
    check_growth(config, out);
}

/// Weights within 0..100, and weights and instance counts that grow from
/// stage to stage.
fn check_growth(config: &Config, out: &mut Vec<Problem>) {
    let mut last_weight: Option<(f64, &str)> = None;
    let mut last_instances: Option<(u32, &str)> = None;
    for (i, s) in config.stages.iter().enumerate() {
        if let Some(w) = s.weight.filter(|w| w.is_finite()) {
            if !(0.0..=100.0).contains(&w) {
                out.push(problem(
                    at!["stage", i, "weight"],
                    format!("weight {w} is outside 0..100"),
                    "weights are percentages of traffic on the new version",
                ));
            }
            if let Some((prev, prev_name)) = last_weight
                && w <= prev
            {
                out.push(problem(
                    at!["stage", i, "weight"],
                    format!("weights must increase: stage \"{}\" has weight {w} after \"{prev_name}\" with {prev}", s.name),
                    "give each stage a larger weight than the stage before it",
                ));
            }
            last_weight = Some((w, &s.name));
        }
        if let Some(n) = s.instances {
            if let Some((prev, prev_name)) = last_instances
                && n <= prev
            {
                out.push(problem(
                    at!["stage", i, "instances"],
                    format!("instance counts must increase: stage \"{}\" has {n} after \"{prev_name}\" with {prev}", s.name),
                    "give each stage more instances than the stage before it",
                ));
            }
            last_instances = Some((n, &s.name));
        }
    }
}

/// Preset stages share [hooks] undo, so a missing one is said once.
pub(super) fn check_preset_undo(config: &Config, out: &mut Vec<Problem>) {
    if config.rollout.preset.is_some() && config.stages.iter().any(|s| s.undo.0.is_empty()) {
        out.push(problem(
            at!["rollout", "preset"],
            "the preset's stages have no undo action: no deploy without a rollback plan",
            "set [hooks] undo = { exec = [...] } (used by every stage)",
        ));
    }
}

fn check_overrides(
    config: &Config,
    i: usize,
    s: &Stage,
    metric_names: &[&str],
    out: &mut Vec<Problem>,
) {
    for (name, o) in &s.thresholds {
        let Some(m) = config.metrics.iter().find(|m| &m.name == name) else {
            let hint = did_you_mean(name, metric_names.iter().copied())
                .map(|n| format!("did you mean \"{n}\"? "))
                .unwrap_or_default();
            out.push(problem(
                at!["stage", i, "thresholds", name],
                format!(
                    "stage \"{}\" sets thresholds for metric \"{name}\", which is not defined",
                    s.name
                ),
                format!(
                    "{hint}define it in a [[metric]] table, or use one of: {}",
                    metric_names.join(", ")
                ),
            ));
            continue;
        };
        let (w, c) = (o.warning.or(m.warning), o.critical.or(m.critical));
        if let (Some(w), Some(c), Some(dir)) = (w, c, m.direction) {
            let percent = m.unit.as_deref() == Some("%");
            let path = at!["stage", i, "thresholds", name];
            check_order(path, &m.name, w, c, dir, percent, out);
        }
    }
}

pub(super) fn check_order(
    path: Vec<Seg>,
    name: &str,
    warning: f64,
    critical: f64,
    dir: Direction,
    percent: bool,
    out: &mut Vec<Problem>,
) {
    // Values that are not numbers, or past 100%, have problems of their own.
    let usable = |v: f64| v.is_finite() && (!percent || (0.0..=100.0).contains(&v));
    if !usable(warning) || !usable(critical) {
        return;
    }
    let (beyond, word) = match dir {
        Direction::HigherIsWorse => (warning > critical, "above"),
        Direction::LowerIsWorse => (warning < critical, "below"),
    };
    if beyond {
        out.push(problem(
            path,
            format!("metric \"{name}\": warning {warning} is {word} critical {critical}, so critical would fire first"),
            format!("the warning line must come before the critical one; swap them or move warning {}", if word == "above" { "down" } else { "up" }),
        ));
    }
}
