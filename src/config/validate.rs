//! Fills in defaults and finds what serde cannot: rules across keys.

use std::collections::HashSet;

use super::defaults::{self, PLACEHOLDERS, TEMPLATES};
use super::error::{Problem, Seg, did_you_mean};
use super::model::{
    AlertSelector, Config, Direction, Hook, HookFormat, MetricKind, MetricSpec, ScrapeSelector,
    Stage,
};
use crate::at;
use crate::rollout::window::DeployWindows;

/// A problem at a key path, with what is wrong and the fix.
pub fn problem(path: Vec<Seg>, message: impl Into<String>, fix: impl Into<String>) -> Problem {
    Problem {
        path,
        message: message.into(),
        fix: fix.into(),
    }
}

/// Expands presets and defaults in place, then checks every rule.
pub fn resolve(config: &mut Config) -> Vec<Problem> {
    let mut out = Vec::new();
    // Hooks first: once [hooks] defaults are copied into stages, a bad one
    // would be reported once per stage at no line of the file.
    check_hooks(config, &mut out);
    resolve_stages(config, &mut out);
    resolve_metrics(config, &mut out);
    check_stages(config, &mut out);
    check_preset_undo(config, &mut out);
    check_metrics(config, &mut out);
    check_window(config, &mut out);
    check_checklist(config, &mut out);
    check_scrape_window(config, &mut out);
    super::values::check(config, &mut out);
    check_journal_group(config, &mut out);
    out
}

/// `[journal] group` must name a group this system knows.
fn check_journal_group(config: &Config, out: &mut Vec<Problem>) {
    if let Some(name) = &config.journal.group
        && crate::files::group_id(name).is_none()
    {
        out.push(problem(
            at!["journal", "group"],
            format!("no group \"{name}\" on this system"),
            "name an existing group (see /etc/group, `getent group`), or remove `group` to keep journals owner-only",
        ));
    }
}

fn resolve_stages(config: &mut Config, out: &mut Vec<Problem>) {
    let strategy = config.rollout.strategy;
    match (config.rollout.preset, config.stages.is_empty()) {
        (Some(_), false) => out.push(problem(
            at!["rollout", "preset"],
            "both a preset and [[stage]] tables are given",
            "remove `preset` to use your own stages, or remove the [[stage]] tables to use the preset's",
        )),
        (Some(preset), true) => config.stages = defaults::preset_stages(preset),
        (None, true) => match defaults::strategy_stages(strategy) {
            Some(stages) => config.stages = stages,
            None => out.push(problem(
                at!["rollout", "strategy"],
                format!("strategy \"{strategy}\" needs [[stage]] tables (only you know how many instances there are)"),
                "add [[stage]] tables with `instances = N`, or set `preset`",
            )),
        },
        (None, false) => {}
    }
    let hooks = &config.hooks;
    for stage in &mut config.stages {
        if stage.enter.0.is_empty() {
            stage.enter = hooks.enter.clone();
        }
        if stage.undo.0.is_empty() {
            stage.undo = hooks.undo.clone();
        }
    }
}

fn resolve_metrics(config: &mut Config, out: &mut Vec<Problem>) {
    let (has_prom, has_scrape) = (config.prometheus.is_some(), config.scrape.is_some());
    if config.metrics.is_empty() {
        if !has_prom && !has_scrape {
            out.push(problem(
                at!["rollout"],
                "no metric source: the default metrics (error rate, p95, success rate) need [prometheus] or [scrape]",
                "add [scrape] with `canary = [\"http://host:port/metrics\"]`, or [prometheus] with `url = \"http://...\"`",
            ));
            return;
        }
        config.metrics = defaults::default_metrics(config.rollout.preset);
    }
    for (i, m) in config.metrics.iter_mut().enumerate() {
        if let Some(d) = defaults::kind_defaults(m.kind) {
            m.unit.get_or_insert_with(|| d.unit.to_string());
            m.direction.get_or_insert(d.direction);
            m.warning.get_or_insert(d.warning);
            m.critical.get_or_insert(d.critical);
            m.for_.get_or_insert(d.for_);
            m.immediate = m.immediate.or(d.immediate);
            m.baseline_ratio = m.baseline_ratio.or(d.baseline_ratio);
            m.baseline_floor = m.baseline_floor.or(d.baseline_floor);
            m.min_requests = m.min_requests.or(d.min_requests);
        }
        m.for_.get_or_insert(crate::duration::Span::mins(1));
        let has_source = m.query.is_some()
            || m.template.is_some()
            || m.scrape.is_some()
            || m.probe.is_some()
            || m.alerts.is_some();
        if !has_source {
            if has_prom && default_scrape(m.kind).is_some() {
                m.template = Some(TEMPLATES[0].into());
            } else if has_scrape && let Some(sel) = default_scrape(m.kind) {
                m.scrape = Some(sel);
            } else {
                out.push(problem(
                    at!["metric", i, "name"],
                    format!("metric \"{}\" has no source", m.name),
                    "set `query` (with [prometheus]), `template`, `scrape` (with [scrape]), `probe`, or `alerts` (with [alertmanager])",
                ));
            }
        }
        // One rule whether the family was written out or defaulted: a
        // histogram in seconds feeding a metric in ms is scaled by 1000.
        if let Some(sel) = &m.scrape
            && (sel.quantile.is_some() || m.kind == MetricKind::LatencyP95)
        {
            let unit = m.unit.as_deref().unwrap_or_default();
            m.scale = m.scale.or(histogram_scale(&sel.family, unit));
        }
    }
}

/// The time unit a histogram's name says it counts in, by Prometheus'
/// naming convention (`_seconds`, `_milliseconds`, `_microseconds`).
pub fn histogram_unit(family: &str) -> Option<&'static str> {
    let base = family.strip_suffix("_bucket").unwrap_or(family);
    [
        ("_seconds", "s"),
        ("_milliseconds", "ms"),
        ("_microseconds", "us"),
    ]
    .into_iter()
    .find(|(suffix, _)| base.ends_with(suffix))
    .map(|(_, unit)| unit)
}

/// What turns a histogram's unit into the metric's, when they differ.
fn histogram_scale(family: &str, unit: &str) -> Option<f64> {
    let power = |u: &str| match u {
        "s" => Some(0),
        "ms" => Some(-3),
        "us" => Some(-6),
        _ => None,
    };
    let (from, to) = (power(histogram_unit(family)?)?, power(unit)?);
    (from != to).then(|| 10f64.powi(from - to))
}

/// What a metric kind reads from a plain `/metrics` page.
fn default_scrape(kind: MetricKind) -> Option<ScrapeSelector> {
    match kind {
        MetricKind::ErrorRate | MetricKind::SuccessRate => Some(ScrapeSelector {
            family: "http_requests_total".into(),
            errors: [("code".to_string(), "~5..".to_string())].into(),
            ..Default::default()
        }),
        MetricKind::LatencyP95 => Some(ScrapeSelector {
            family: "http_request_duration_seconds".into(),
            quantile: Some(0.95),
            ..Default::default()
        }),
        _ => None,
    }
}

fn check_stages(config: &Config, out: &mut Vec<Problem>) {
    let mut names = HashSet::new();
    let metric_names: Vec<&str> = config.metrics.iter().map(|m| m.name.as_str()).collect();
    let mut last_weight: Option<(f64, &str)> = None;
    let mut last_instances: Option<(u32, &str)> = None;
    let preset = config.rollout.preset.is_some();
    for (i, s) in config.stages.iter().enumerate() {
        if !names.insert(s.name.as_str()) {
            out.push(problem(
                at!["stage", i, "name"],
                format!("duplicate stage name \"{}\"", s.name),
                "give every stage its own name",
            ));
        }
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
}

/// Preset stages share [hooks] undo, so a missing one is said once.
fn check_preset_undo(config: &Config, out: &mut Vec<Problem>) {
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

fn check_order(
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

fn check_metrics(config: &Config, out: &mut Vec<Problem>) {
    let mut names = HashSet::new();
    for (i, m) in config.metrics.iter().enumerate() {
        if !names.insert(m.name.as_str()) {
            out.push(problem(
                at!["metric", i, "name"],
                format!("duplicate metric name \"{}\"", m.name),
                "give every metric its own name",
            ));
        }
        if m.kind == MetricKind::Custom {
            for (key, missing) in [
                ("unit", m.unit.is_none()),
                ("direction", m.direction.is_none()),
                ("warning", m.warning.is_none()),
                ("critical", m.critical.is_none()),
            ] {
                if missing {
                    out.push(problem(
                        at!["metric", i, "kind"],
                        format!("custom metric \"{}\" needs `{key}`", m.name),
                        format!("add `{key} = ...`: a custom metric has no defaults"),
                    ));
                }
            }
        }
        if let (Some(w), Some(c), Some(dir)) = (m.warning, m.critical, m.direction) {
            let percent = m.unit.as_deref() == Some("%");
            check_order(
                at!["metric", i, "warning"],
                &m.name,
                w,
                c,
                dir,
                percent,
                out,
            );
        }
        check_metric_source(config, i, m, out);
    }
}

fn check_metric_source(config: &Config, i: usize, m: &MetricSpec, out: &mut Vec<Problem>) {
    if let Some(t) = &m.template
        && !TEMPLATES.contains(&t.as_str())
    {
        let hint = did_you_mean(t, TEMPLATES)
            .map(|n| format!("did you mean \"{n}\"? "))
            .unwrap_or_default();
        out.push(problem(
            at!["metric", i, "template"],
            format!("unknown template \"{t}\""),
            format!("{hint}templates: {}", TEMPLATES.join(", ")),
        ));
    }
    if (m.query.is_some() || m.template.is_some()) && config.prometheus.is_none() {
        out.push(problem(
            at!["metric", i, "name"],
            format!(
                "metric \"{}\" queries Prometheus but there is no [prometheus] table",
                m.name
            ),
            "add [prometheus] with `url = \"http://...\"`",
        ));
    }
    if m.scrape.is_some() && config.scrape.is_none() {
        out.push(problem(
            at!["metric", i, "scrape"],
            format!(
                "metric \"{}\" reads scraped targets but there is no [scrape] table",
                m.name
            ),
            "add [scrape] with `canary = [\"http://host:port/metrics\"]`",
        ));
    }
    if let Some(q) = m.scrape.as_ref().and_then(|s| s.quantile)
        && q.is_finite()
        && !(0.0..=1.0).contains(&q)
    {
        out.push(problem(
            at!["metric", i, "scrape", "quantile"],
            format!("quantile {q} is outside 0..1"),
            "p95 is quantile = 0.95",
        ));
    }
    if let Some(sel) = &m.alerts {
        check_alert_source(config, i, m, sel, out);
    }
    if m.kind == MetricKind::Readiness && m.probe.is_none() {
        out.push(problem(
            at!["metric", i, "kind"],
            format!("readiness metric \"{}\" needs `probe`", m.name),
            "set `probe = \"http://host:port/ready\"`",
        ));
    }
}

/// A count of firing alerts: from `[alertmanager]`, for a kind that counts.
fn check_alert_source(
    config: &Config,
    i: usize,
    m: &MetricSpec,
    sel: &AlertSelector,
    out: &mut Vec<Problem>,
) {
    if config.alertmanager.is_none() {
        out.push(problem(
            at!["metric", i, "alerts"],
            format!(
                "metric \"{}\" counts alerts but there is no [alertmanager] table",
                m.name
            ),
            "add [alertmanager] with `url = \"http://alertmanager:9093\"`",
        ));
    }
    if !matches!(m.kind, MetricKind::SecurityAlerts | MetricKind::Custom) {
        out.push(problem(
            at!["metric", i, "kind"],
            format!(
                "metric \"{}\" counts alerts, which a {} metric cannot be",
                m.name,
                serde_json::to_value(m.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            ),
            "use kind = \"security_alerts\" (any alert is critical at once), or \"custom\" with your own lines",
        ));
    }
    if sel.canary.is_empty() {
        out.push(problem(
            at!["metric", i, "alerts", "canary"],
            "no canary matchers: every firing alert would count against the canary",
            "name the new version's alerts, e.g. canary = { service = \"checkout\", version = \"2.0\" }",
        ));
    }
}

fn check_hooks(config: &Config, out: &mut Vec<Problem>) {
    for (path, h) in super::values::written_hooks(config) {
        let paging = [Seg::Key("hooks".into()), Seg::Key("on_event".into())];
        if h.format == Some(HookFormat::Pagerduty) && !path.starts_with(&paging) {
            let mut at = path.clone();
            at.push(Seg::Key("format".into()));
            out.push(problem(
                at,
                "a PagerDuty hook here would never page: it is told of rollbacks and their outcome only",
                "move it to [hooks] on_event, which triggers on a rollback and resolves when the rollback is verified",
            ));
        }
        check_hook(path, h, out);
    }
}

fn check_hook(path: Vec<Seg>, h: &Hook, out: &mut Vec<Problem>) {
    let here = |key: &str| {
        let mut p = path.clone();
        p.push(Seg::Key(key.into()));
        p
    };
    match (&h.exec, &h.http) {
        (None, None) => out.push(problem(
            path.clone(),
            "hook has neither `exec` nor `http`",
            "set `exec = [\"cmd\", \"arg\"]` or `http = \"https://...\"`",
        )),
        (Some(_), Some(_)) => out.push(problem(
            path.clone(),
            "hook has both `exec` and `http`",
            "split it into two hooks",
        )),
        (Some(argv), None) => check_exec_hook(&here, h, argv, out),
        (None, Some(url)) => check_http_hook(&here, h, url, out),
    }
    if h.timeout.is_some_and(|t| t.as_millis() == 0) {
        out.push(problem(
            here("timeout"),
            "a timeout of 0s fails the hook before it starts",
            "set a timeout such as \"30s\", or leave it out (60s for exec, 10s per http attempt)",
        ));
    }
}

fn check_exec_hook(
    here: &dyn Fn(&str) -> Vec<Seg>,
    h: &Hook,
    argv: &[String],
    out: &mut Vec<Problem>,
) {
    if argv.is_empty() || argv[0].is_empty() {
        out.push(problem(
            here("exec"),
            "empty command",
            "`exec` starts with the program to run",
        ));
    }
    if h.shell && argv.len() != 1 {
        out.push(problem(
            here("shell"),
            "a shell hook takes exactly one script string",
            "write `exec = [\"script ...\"]` with `shell = true`",
        ));
    }
    for arg in argv {
        check_placeholders(here("exec"), arg, h.shell, out);
    }
    // Environment values are never read by a shell, so placeholders are safe there.
    for value in h.env.values() {
        check_placeholders(here("env"), value, false, out);
    }
    let http_only = [
        ("method", h.method.is_some()),
        ("headers", !h.headers.is_empty()),
        ("retries", h.retries.is_some()),
        ("format", h.format.is_some()),
        ("body", h.body.is_some()),
        ("routing_key", h.routing_key.is_some()),
    ];
    for (key, _) in http_only.iter().filter(|(_, set)| *set) {
        out.push(problem(
            here(key),
            format!("`{key}` only applies to http hooks, and this hook runs `exec`"),
            format!("remove `{key}`, or make this an `http = \"https://...\"` hook"),
        ));
    }
}

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

fn check_http_hook(here: &dyn Fn(&str) -> Vec<Seg>, h: &Hook, url: &str, out: &mut Vec<Problem>) {
    match url.strip_prefix("env:") {
        Some(var) if !is_env_name(var) => out.push(problem(
            here("http"),
            format!("\"{var}\" is not an environment variable name"),
            "write `http = \"env:NAME\"` with letters, digits and _ (e.g. env:CHAT_WEBHOOK_URL)",
        )),
        Some(_) => {}
        None if url.trim().is_empty() => out.push(problem(
            here("http"),
            "an empty URL",
            "write the full URL, e.g. \"https://chat.example.com/hook\", or \"env:NAME\" when the URL is a secret",
        )),
        None if !(url.starts_with("http://") || url.starts_with("https://")) => {
            out.push(problem(
                here("http"),
                format!("\"{url}\" is not an http(s) URL"),
                "write the full URL, e.g. \"https://chat.example.com/hook\", or \"env:NAME\" when the URL is a secret",
            ))
        }
        None => {
            if let Some(why) = super::values::unusable(url) {
                out.push(problem(
                    here("http"),
                    format!("\"{url}\" is not a URL ({why})"),
                    "write the full URL, e.g. \"https://chat.example.com/hook\"",
                ));
            }
            check_placeholders(here("http"), url, false, out)
        }
    }
    if let Some(m) = &h.method
        && !METHODS.contains(&m.to_uppercase().as_str())
    {
        out.push(problem(
            here("method"),
            format!("unknown HTTP method \"{m}\""),
            format!("use one of {}", METHODS.join(", ")),
        ));
    }
    for (name, value) in &h.headers {
        check_header(here("headers"), name, value, "read when the hook runs", out);
    }
    check_http_body(here, h, out);
    let exec_only = [
        ("shell", h.shell),
        ("cwd", h.cwd.is_some()),
        ("env", !h.env.is_empty()),
    ];
    for (key, _) in exec_only.iter().filter(|(_, set)| *set) {
        out.push(problem(
            here(key),
            format!("`{key}` only applies to exec hooks, and this hook sends `http`"),
            format!("remove `{key}`, or make this an `exec = [...]` hook"),
        ));
    }
}

/// `format`, `body` and `routing_key`: one way to say what is sent, a
/// template that stays JSON whatever the values, a key never written down.
fn check_http_body(here: &dyn Fn(&str) -> Vec<Seg>, h: &Hook, out: &mut Vec<Problem>) {
    let bodiless = h
        .method
        .as_deref()
        .is_some_and(|m| matches!(m.to_uppercase().as_str(), "GET" | "DELETE"));
    let pagerduty = h.format == Some(HookFormat::Pagerduty);
    if h.format.is_some() && h.body.is_some() {
        out.push(problem(
            here("body"),
            "hook has both `format` and `body`",
            "keep `format` for a ready-made message, or `body` for your own template",
        ));
    }
    if bodiless && (h.format.is_some() || h.body.is_some()) {
        out.push(problem(
            here("method"),
            "a GET or DELETE hook sends no body, so `format` and `body` would be ignored",
            "use method = \"POST\" (the default) or \"PUT\"",
        ));
    }
    match (&h.routing_key, pagerduty) {
        (None, true) => out.push(problem(
            here("format"),
            "a PagerDuty hook needs `routing_key`",
            "export the integration key and write `routing_key = \"env:PAGERDUTY_ROUTING_KEY\"`",
        )),
        (Some(_), false) => out.push(problem(
            here("routing_key"),
            "`routing_key` only applies to `format = \"pagerduty\"`",
            "remove `routing_key`, or set `format = \"pagerduty\"`",
        )),
        (Some(key), true) => match key.strip_prefix("env:") {
            Some(var) if is_env_name(var) => {}
            Some(var) => out.push(problem(
                here("routing_key"),
                format!("\"{var}\" is not an environment variable name"),
                "write `routing_key = \"env:NAME\"` with letters, digits and _",
            )),
            None => out.push(problem(
                here("routing_key"),
                "the routing key is written in the config",
                "export it and write `routing_key = \"env:NAME\"`: read when the hook runs, redacted wherever shown",
            )),
        },
        (None, false) => {}
    }
    if let Some(template) = &h.body {
        check_placeholders(here("body"), template, false, out);
    }
}

/// Secrets belong in the environment: a header that looks like one must be
/// `env:NAME`, so the config can be committed and the value is redacted.
pub(super) fn check_header(
    mut path: Vec<Seg>,
    name: &str,
    value: &str,
    read: &str,
    out: &mut Vec<Problem>,
) {
    path.push(Seg::Key(name.into()));
    let lower = name.to_lowercase();
    let sensitive = [
        "authorization",
        "token",
        "secret",
        "key",
        "cookie",
        "password",
        "signature",
    ]
    .iter()
    .any(|w| lower.contains(w));
    match value.strip_prefix("env:") {
        Some(var) if !is_env_name(var) => out.push(problem(
            path,
            format!("\"{var}\" is not an environment variable name"),
            format!("write `{name} = \"env:NAME\"` with letters, digits and _"),
        )),
        None if sensitive => out.push(problem(
            path,
            format!("header `{name}` has its secret written in the config"),
            format!("export it and write `{name} = \"env:NAME\"`: {read}, redacted wherever shown"),
        )),
        _ => {}
    }
}

pub fn is_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn check_placeholders(path: Vec<Seg>, text: &str, shell: bool, out: &mut Vec<Problem>) {
    for name in crate::placeholder::names(text) {
        if shell {
            out.push(problem(
                path.clone(),
                format!(
                    "placeholder {{{name}}} in a shell script could be interpreted by the shell"
                ),
                format!(
                    "use \"$COCKPIT_{}\" in shell scripts, or drop `shell = true`",
                    name.to_uppercase()
                ),
            ));
        } else if !PLACEHOLDERS.contains(&name) {
            let hint = did_you_mean(name, PLACEHOLDERS)
                .map(|n| format!("did you mean {{{n}}}? "))
                .unwrap_or_default();
            out.push(problem(
                path.clone(),
                format!("unknown placeholder {{{name}}}"),
                format!(
                    "{hint}placeholders: {}",
                    PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(" ")
                ),
            ));
        }
    }
}

fn check_window(config: &Config, out: &mut Vec<Problem>) {
    if let Err((list, i, msg)) = DeployWindows::from_spec(&config.window) {
        out.push(problem(
            at!["window", list, i],
            msg,
            "fix the entry or remove it",
        ));
    }
}

/// The screen ticks items with the keys 1 to 9; a tenth could never be
/// ticked, and an unticked checklist never lets the rollout start.
const CHECKLIST_KEYS: usize = 9;

fn check_checklist(config: &Config, out: &mut Vec<Problem>) {
    let items = &config.checklist.items;
    if items.len() > CHECKLIST_KEYS {
        out.push(problem(
            at!["checklist", "items", CHECKLIST_KEYS],
            format!(
                "{} checklist items, but the screen ticks them with the keys 1 to {CHECKLIST_KEYS}",
                items.len()
            ),
            format!("keep at most {CHECKLIST_KEYS} items: merge related checks into one line"),
        ));
    }
    let mut seen = HashSet::new();
    for (i, item) in items.iter().enumerate() {
        if item.trim().is_empty() {
            out.push(problem(
                at!["checklist", "items", i],
                "an empty checklist item",
                "write what must be checked, or remove the entry",
            ));
        } else if !seen.insert(item.trim()) {
            out.push(problem(
                at!["checklist", "items", i],
                format!("checklist item {item:?} is listed twice"),
                "remove the second one",
            ));
        }
    }
}

fn check_scrape_window(config: &Config, out: &mut Vec<Problem>) {
    let Some(spec) = &config.scrape else { return };
    if let Some(window) = spec.window
        && window.as_millis() < spec.every.as_millis()
    {
        out.push(problem(
            at!["scrape", "window"],
            format!(
                "window {window} is shorter than every {}: a window spans at least one scrape interval",
                spec.every
            ),
            format!("make window at least {} (e.g. \"1m\"), or remove it for one interval", spec.every),
        ));
    }
}
