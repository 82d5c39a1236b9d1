//! `http` hooks: one request with the event as its JSON body, retried with
//! backoff on 5xx and connection errors, never on 4xx. Secrets (headers
//! and URLs given as `env:NAME`) are read at run time and replaced by
//! `[redacted]` (`crate::secrets`) in everything we show: summary, lines,
//! errors. Redirects follow `crate::net`'s rule: same origin only, no
//! silent change of method, no `Referer`.

use std::time::{Duration, Instant};

use reqwest::Method;

use super::body::{self, Rendered};
use super::placeholder::fill_url;
use super::{HTTP_RETRIES, HTTP_TIMEOUT, HookRun, Lines, Vars, limit_text};
use crate::config::model::Hook;
use crate::secrets::Secrets;

/// First retry after this; doubled each time, capped at `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// Bytes of an error response read to explain the failure.
const BODY_PEEK: usize = 2048;

/// The request as we will send it, secrets resolved.
struct Request {
    method: Method,
    url: String,
    /// How the URL is shown: itself, or `env:NAME` when it is a secret.
    shown_url: String,
    headers: Vec<(String, String)>,
    /// What the body says (none for GET, DELETE, HEAD), or why nothing is sent.
    body: Option<Rendered>,
    secrets: Secrets,
}

/// One attempt's result: done (ok or not), or worth another try.
enum Attempt {
    Done(bool, String),
    Retry(String),
}

pub async fn run(
    hook: &Hook,
    url: &str,
    vars: &Vars,
    context: &serde_json::Value,
    prefix: &str,
    lines: &Lines,
) -> HookRun {
    let req = match request(hook, url, vars, context) {
        Ok(r) => r,
        Err(why) => return HookRun::failed(why),
    };
    if let Some(Rendered::Skip(why)) = &req.body {
        return HookRun {
            ok: true,
            summary: why.clone(),
            tail: Vec::new(),
        };
    }
    let timeout = hook
        .timeout
        .map_or(HTTP_TIMEOUT, |s| Duration::from_millis(s.as_millis()));
    let client = match crate::net::client_builder(&req.method)
        .timeout(timeout)
        .build()
    {
        Ok(c) => c,
        Err(e) => return HookRun::failed(format!("cannot build an HTTP client: {e}")),
    };
    // Every retry and the outcome, for the journal.
    let mut tail = Vec::new();
    let (ok, summary) = attempts(&client, &req, hook, timeout, prefix, lines, &mut tail).await;
    // The outcome is logged once, by the engine's `hook_finished` event.
    let summary = req.secrets.redact(&summary);
    tail.push(summary.clone());
    HookRun { ok, summary, tail }
}

/// Attempts until one is done or the retries run out, backing off between
/// them; each retry is said on `lines` and kept in `tail`.
async fn attempts(
    client: &reqwest::Client,
    req: &Request,
    hook: &Hook,
    timeout: Duration,
    prefix: &str,
    lines: &Lines,
    tail: &mut Vec<String>,
) -> (bool, String) {
    let retries = hook.retries.unwrap_or(HTTP_RETRIES);
    let what = format!("{} {}", req.method, req.shown_url);
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let started = Instant::now();
        let result = attempt_once(client, req, timeout).await;
        let took = format!("{:.1}s", started.elapsed().as_secs_f64());
        match result {
            Attempt::Done(ok, outcome) => return (ok, format!("{what}: {outcome} in {took}")),
            Attempt::Retry(why) if attempt > retries => {
                let tries = if attempt == 1 {
                    String::new()
                } else {
                    format!(" (after {attempt} attempts)")
                };
                return (false, format!("{what}: {why}{tries}"));
            }
            Attempt::Retry(why) => {
                let line = format!(
                    "{prefix} attempt {attempt}: {why}; retrying in {:.1}s",
                    backoff.as_secs_f64()
                );
                let line = req.secrets.redact(&line);
                let _ = lines.send(line.clone());
                tail.push(line);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

fn request(
    hook: &Hook,
    url: &str,
    vars: &Vars,
    context: &serde_json::Value,
) -> Result<Request, String> {
    let (url, shown_url) = match url.strip_prefix("env:") {
        Some(name) => (secret(name, "the URL")?, url.to_string()),
        None => {
            let filled = fill_url(url, vars);
            (filled.clone(), filled)
        }
    };
    let method = hook.method.as_deref().unwrap_or("POST").to_uppercase();
    let method = Method::from_bytes(method.as_bytes())
        .map_err(|_| format!("`{method}` is not an HTTP method"))?;
    let mut headers = Vec::new();
    for (name, value) in &hook.headers {
        let value = match value.strip_prefix("env:") {
            Some(var) => secret(var, &format!("header `{name}`"))?,
            None => value.clone(),
        };
        headers.push((name.clone(), value));
    }
    let routing_key = match hook.routing_key.as_deref().map(|k| k.strip_prefix("env:")) {
        Some(Some(var)) => Some(secret(var, "`routing_key`")?),
        Some(None) => return Err("`routing_key` must be written `env:NAME`".into()),
        None => None,
    };
    let event = context["event"].as_str().unwrap_or_default();
    // The event is the body; GET and DELETE carry it in the URL's placeholders.
    let body = (!matches!(method, Method::GET | Method::DELETE | Method::HEAD))
        .then(|| body::render(hook, event, vars, context, routing_key.as_deref()));
    Ok(Request {
        method,
        url,
        shown_url,
        headers,
        body,
        // Read now, like the values sent: one that is set is one to hide.
        secrets: Secrets::of_hook(hook),
    })
}

fn secret(var: &str, what: &str) -> Result<String, String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Ok(v),
        _ => Err(format!(
            "{what} comes from the environment variable {var}, which is not set: export it before starting the cockpit"
        )),
    }
}

async fn attempt_once(client: &reqwest::Client, req: &Request, timeout: Duration) -> Attempt {
    let mut builder = client.request(req.method.clone(), &req.url);
    let mut typed = false;
    for (k, v) in &req.headers {
        typed |= k.eq_ignore_ascii_case("content-type");
        builder = builder.header(k, v);
    }
    if let Some(Rendered::Send { content_type, body }) = &req.body {
        if !typed {
            builder = builder.header(reqwest::header::CONTENT_TYPE, content_type);
        }
        builder = builder.body(body.clone());
    }
    let resp = match builder.send().await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => {
            return Attempt::Retry(format!("timed out after {}", limit_text(timeout)));
        }
        // A redirect we refuse is an answer; asking again gets the same one.
        Err(e) if e.is_builder() || e.is_redirect() => {
            return Attempt::Done(false, error_chain(&e));
        }
        Err(e) => return Attempt::Retry(error_chain(&e)),
    };
    let status = resp.status();
    let shown = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    let shown = shown.trim_end().to_string();
    if status.is_success() {
        return Attempt::Done(true, shown);
    }
    let why = match first_line(resp).await {
        Some(line) => format!("{shown}: {line}"),
        None => shown,
    };
    if status.is_server_error() {
        Attempt::Retry(why)
    } else {
        // 4xx: asking again will not change the answer.
        Attempt::Done(false, why)
    }
}

/// The first non-empty line of an error response, read within a bound.
async fn first_line(mut resp: reqwest::Response) -> Option<String> {
    let mut body = Vec::new();
    while body.len() < BODY_PEEK {
        match resp.chunk().await {
            Ok(Some(c)) => body.extend_from_slice(&c),
            _ => break,
        }
    }
    body.truncate(BODY_PEEK);
    let text = String::from_utf8_lossy(&body);
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(line.chars().take(160).collect())
}

/// reqwest's message plus its causes ("connection refused"), no URL.
fn error_chain(e: &reqwest::Error) -> String {
    let mut parts = vec![];
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    match parts.last() {
        Some(cause) => cause.clone(),
        None => e.to_string(),
    }
}
