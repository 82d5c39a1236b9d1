//! One HTTP GET with every way it can fail put into words for the operator.

use std::time::Duration;

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
