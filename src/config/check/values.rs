//! Values that parse but mean nothing: numbers TOML accepts (`nan`, `inf`),
//! counts below zero, intervals of 0s, empty names, URLs nothing can fetch,
//! percentages past 100. Each would run, and each would mislead: a line at
//! `nan` is never crossed, so the metric shows OK forever. Numbers are in
//! `numbers.rs`.

use super::hooks::check_header;
use super::problem;
use crate::at;
use crate::config::error::{Problem, Seg};
use crate::config::model::{Config, Hook};

pub(super) fn check(config: &Config, out: &mut Vec<Problem>) {
    check_names(config, out);
    super::numbers::check_numbers(config, out);
    super::spans::check_intervals(config, out);
    check_urls(config, out);
    for p in config.endpoints() {
        for (name, value) in p.headers {
            check_header(at![p.table, "headers"], name, value, "read at start", out);
        }
    }
}

/// Names that are empty: each one a screen, the journal or a query uses.
fn check_names(config: &Config, out: &mut Vec<Problem>) {
    rollout_names(config, out);
    item_names(config, out);
}

/// `text` at `path`, empty or only spaces, as a problem.
fn empty(path: Vec<Seg>, text: &str, message: &str, fix: &str, out: &mut Vec<Problem>) {
    if text.trim().is_empty() {
        out.push(problem(path, message, fix));
    }
}

/// `[rollout]`: its name, service, environment and versions.
fn rollout_names(config: &Config, out: &mut Vec<Problem>) {
    let r = &config.rollout;
    empty(
        at!["rollout", "name"],
        &r.name,
        "an empty rollout name",
        "name the rollout, e.g. \"checkout 2.0\": the journal, the lock and `cockpit watch` find it by name",
        out,
    );
    empty(
        at!["rollout", "service"],
        &r.service,
        "an empty service name",
        "name the service being rolled out: queries and the {service} placeholder use it",
        out,
    );
    empty(
        at!["rollout", "environment"],
        &r.environment,
        "an empty environment",
        "name the environment, or leave `environment` out (\"production\")",
        out,
    );
    for key in ["old_version", "new_version"] {
        let text = if key == "old_version" {
            &r.old_version
        } else {
            &r.new_version
        };
        empty(
            at!["rollout", key],
            text,
            "an empty version",
            "write the version as the service reports it: selectors, probes and the {version} placeholder use it",
            out,
        );
    }
}

/// Stages, metrics, scrape families and hooks.
fn item_names(config: &Config, out: &mut Vec<Problem>) {
    for (i, s) in config.stages.iter().enumerate() {
        empty(
            at!["stage", i, "name"],
            &s.name,
            "an empty stage name",
            "name the stage, e.g. \"25%\": the screen and the journal call it by its name",
            out,
        );
    }
    for (i, m) in config.metrics.iter().enumerate() {
        empty(
            at!["metric", i, "name"],
            &m.name,
            "an empty metric name",
            "name the metric, e.g. \"error_rate\": stage `thresholds` refer to it by name",
            out,
        );
        if let Some(sel) = &m.scrape {
            empty(
                at!["metric", i, "scrape", "family"],
                &sel.family,
                "an empty metric family",
                "name the family on the /metrics page, e.g. \"http_requests_total\"",
                out,
            );
        }
    }
    for (path, hook) in written_hooks(config) {
        if let Some(name) = &hook.name {
            let mut path = path;
            path.push(Seg::Key("name".into()));
            empty(
                path,
                name,
                "an empty hook name",
                "name the hook, or leave `name` out to show its command",
                out,
            );
        }
    }
}

/// Every hook where the config writes it: `[hooks]` defaults once, not
/// again in each stage they were copied into.
pub fn written_hooks(config: &Config) -> Vec<(Vec<Seg>, &Hook)> {
    let g = &config.hooks;
    let mut found = Vec::new();
    for (i, s) in config.stages.iter().enumerate() {
        for (field, hooks, default) in [("enter", &s.enter, &g.enter), ("undo", &s.undo, &g.undo)] {
            if hooks == default {
                continue;
            }
            for (j, h) in hooks.0.iter().enumerate() {
                found.push((at!["stage", i, field, j], h));
            }
        }
        for (field, hook) in [("smoke", &s.smoke), ("verify", &s.verify)] {
            if let Some(h) = hook {
                found.push((at!["stage", i, field], h));
            }
        }
    }
    for (field, hooks) in g.by_key() {
        for (j, h) in hooks.0.iter().enumerate() {
            found.push((at!["hooks", field, j], h));
        }
    }
    found
}

/// A URL the cockpit fetches itself. Only hook URLs may be `env:NAME`
/// (they are the ones that carry tokens); these are read as written.
fn check_url(path: Vec<Seg>, url: &str, example: &str, out: &mut Vec<Problem>) {
    let full = format!("write the full URL, e.g. \"{example}\"");
    if url.trim().is_empty() {
        out.push(problem(path, "an empty URL", full));
    } else if url.starts_with("env:") {
        out.push(problem(
            path,
            format!("\"{url}\": this URL is not read from the environment"),
            format!("{full}; only hook URLs (`http = \"env:NAME\"`) are read from the environment"),
        ));
    } else if !(url.starts_with("http://") || url.starts_with("https://")) {
        out.push(problem(
            path,
            format!("\"{url}\" is not an http(s) URL"),
            full,
        ));
    } else if let Some(why) = unusable(url) {
        out.push(problem(
            path,
            format!("\"{url}\" is not a URL ({why})"),
            full,
        ));
    }
}

/// Why an http(s) URL cannot be fetched, if it cannot.
pub fn unusable(url: &str) -> Option<String> {
    match reqwest::Url::parse(url) {
        Err(e) => Some(e.to_string()),
        Ok(u) if u.host_str().is_none_or(str::is_empty) => Some("no host".into()),
        Ok(_) => None,
    }
}

fn check_urls(config: &Config, out: &mut Vec<Problem>) {
    if let Some(p) = &config.prometheus {
        check_url(
            at!["prometheus", "url"],
            &p.url,
            "http://prometheus:9090",
            out,
        );
    }
    if let Some(a) = &config.alertmanager {
        check_url(
            at!["alertmanager", "url"],
            &a.url,
            "http://alertmanager:9093",
            out,
        );
    }
    if let Some(s) = &config.scrape {
        if s.canary.is_empty() {
            out.push(problem(
                at!["scrape", "canary"],
                "no canary targets: there would be nothing to judge",
                "list the new version's /metrics URLs, e.g. canary = [\"http://10.0.0.7:9100/metrics\"]",
            ));
        }
        for (list, urls) in [("canary", &s.canary), ("baseline", &s.baseline)] {
            for (i, url) in urls.iter().enumerate() {
                check_url(
                    at!["scrape", list, i],
                    url,
                    "http://10.0.0.7:9100/metrics",
                    out,
                );
            }
        }
    }
    for (i, m) in config.metrics.iter().enumerate() {
        if let Some(url) = &m.probe {
            check_url(
                at!["metric", i, "probe"],
                url,
                "http://10.0.0.7:8080/ready",
                out,
            );
        }
    }
    for (i, s) in config.stages.iter().enumerate() {
        if let Some(url) = s.gate.as_ref().and_then(|g| g.url.as_ref()) {
            check_url(
                at!["stage", i, "gate", "url"],
                url,
                "https://ci.example.com/approved",
                out,
            );
        }
    }
}
