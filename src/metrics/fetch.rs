//! One HTTP GET with every way it can fail put into words for the operator.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::config::model::Endpoint;
use crate::duration::Span;

/// Bodies past this are refused: a `/metrics` page of a single service is
/// a few MB at most, and a runaway target must not eat the cockpit's memory.
pub const MAX_BODY: usize = 8 * 1024 * 1024;

/// A fetched body with its HTTP status.
pub struct Fetched {
    pub status: u16,
    pub body: Vec<u8>,
}

pub use crate::secrets::shown_url as shown;

/// Sends the request and reads the body, within `timeout` overall.
pub async fn send(
    request: reqwest::RequestBuilder,
    url: &str,
    timeout: Span,
) -> Result<Fetched, String> {
    let limit = Duration::from_millis(timeout.as_millis());
    match tokio::time::timeout(limit, read(request, url, timeout)).await {
        Ok(result) => result,
        Err(_) => Err(format!("timeout after {timeout} from {}", shown(url))),
    }
}

async fn read(
    request: reqwest::RequestBuilder,
    url: &str,
    timeout: Span,
) -> Result<Fetched, String> {
    let mut response = request.send().await.map_err(|e| words(&e, url, timeout))?;
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| words(&e, url, timeout))?
    {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(format!(
                "response from {} is larger than {} MiB",
                shown(url),
                MAX_BODY / (1024 * 1024)
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched { status, body })
}

fn words(e: &reqwest::Error, url: &str, timeout: Span) -> String {
    let url = shown(url);
    if e.is_timeout() {
        return format!("timeout after {timeout} from {url}");
    }
    if e.is_connect() {
        return format!("cannot connect to {url}: {}", root_cause(e));
    }
    format!("request to {url} failed: {}", root_cause(e))
}

/// reqwest's top-level message repeats the URL; the innermost cause says what happened.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// A client for `[prometheus]` or `[alertmanager]`: auth and extra headers
/// as default headers, the timeout and an optional custom CA. Secrets come
/// from the environment only.
pub fn client(e: &Endpoint) -> Result<reqwest::Client, String> {
    let table = e.table;
    let mut builder = crate::net::client_builder(&reqwest::Method::GET)
        .default_headers(headers(e)?)
        .timeout(Duration::from_millis(e.timeout.as_millis()));
    if let Some(path) = e.ca_file {
        let pem = std::fs::read(path)
            .map_err(|err| format!("[{table}] ca_file: cannot read {}: {err}", path.display()))?;
        let cert = reqwest::Certificate::from_pem(&pem).map_err(|err| {
            format!(
                "[{table}] ca_file: {} is not a PEM certificate: {err}",
                path.display()
            )
        })?;
        builder = builder.add_root_certificate(cert);
    }
    builder
        .build()
        .map_err(|err| format!("[{table}]: cannot build the HTTP client: {err}"))
}

/// The endpoint's auth and extra headers, their values read from the
/// environment where the config names a variable.
fn headers(e: &Endpoint) -> Result<HeaderMap, String> {
    let table = e.table;
    let secret = |var: &str, key: &str| {
        std::env::var(var).map_err(|_| {
            format!(
                "[{table}] {key}: environment variable {var} is not set; export it before starting"
            )
        })
    };
    // Marked sensitive so that reqwest's Debug output never shows it.
    let sensitive = |value: &str, key: &str| {
        let mut v = HeaderValue::from_str(value)
            .map_err(|_| format!("[{table}] {key}: the value is not a valid HTTP header value"))?;
        v.set_sensitive(true);
        Ok::<_, String>(v)
    };
    let mut headers = HeaderMap::new();
    if let Some(var) = e.token_env {
        let token = secret(var, "token_env")?;
        headers.insert(
            reqwest::header::AUTHORIZATION,
            sensitive(&format!("Bearer {token}"), "token_env")?,
        );
    }
    if let Some(var) = e.basic_auth_env {
        let pair = secret(var, "basic_auth_env")?;
        if !pair.contains(':') {
            return Err(format!(
                "[{table}] basic_auth_env: ${var} must hold `user:password`"
            ));
        }
        let encoded = crate::secrets::base64(pair.as_bytes());
        headers.insert(
            reqwest::header::AUTHORIZATION,
            sensitive(&format!("Basic {encoded}"), "basic_auth_env")?,
        );
    }
    for (name, value) in e.headers {
        let key = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("[{table}] headers: {name:?} is not a valid header name"))?;
        let value = match value.strip_prefix("env:") {
            Some(var) => secret(var, &format!("headers.{name}"))?,
            None => value.clone(),
        };
        headers.insert(key, sensitive(&value, &format!("headers.{name}"))?);
    }
    Ok(headers)
}
