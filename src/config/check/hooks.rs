//! Hooks: exec or http, placeholders the run can fill, bodies that stay
//! JSON, secrets kept in the environment.

use super::problem;
use crate::config::defaults::PLACEHOLDERS;
use crate::config::error::{Problem, Seg, did_you_mean};
use crate::config::model::{Config, Hook, HookFormat};

pub(in crate::config) fn check_hooks(config: &Config, out: &mut Vec<Problem>) {
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
