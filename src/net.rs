//! Every HTTP client the cockpit builds (hooks, gates, Prometheus, scrape,
//! probes) starts here, with one redirect rule:
//!
//! - never to another origin (scheme, host, port): the request carries
//!   `env:` headers, bearer tokens or tenant ids meant for the server we
//!   named, not for wherever it points us;
//! - never a silent change of method: reqwest turns a POST into a GET on a
//!   301/302/303, and a webhook would then "succeed" without having been
//!   sent; only GET and HEAD follow those, 307/308 keep the method;
//! - never a `Referer`, which would hand the (possibly secret) URL on.
//!
//! A redirect we do not follow is an error that says so:
//! "redirected to <url>: not followed (...)", the URL without credentials
//! or query.

use reqwest::Method;
use reqwest::redirect::{Attempt, Policy};

use crate::secrets::shown_url;

/// reqwest's own limit, kept.
const MAX_REDIRECTS: usize = 10;

/// A client builder for requests of `method`, with the redirect rule above.
pub fn client_builder(method: &Method) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .referer(false)
        .redirect(redirect_policy(method.clone()))
}

/// Why a redirect was not followed, as the innermost error of reqwest's.
#[derive(Debug)]
struct NotFollowed(String);

impl std::fmt::Display for NotFollowed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotFollowed {}

fn redirect_policy(method: Method) -> Policy {
    Policy::custom(move |attempt: Attempt| {
        let refuse = |attempt: Attempt, why: String| {
            let to = shown_url(attempt.url().as_str());
            attempt.error(NotFollowed(format!(
                "redirected to {to}: not followed ({why})"
            )))
        };
        let from = attempt.previous().last().map(|u| u.origin());
        let status = attempt.status().as_u16();
        if attempt.previous().len() > MAX_REDIRECTS {
            return refuse(attempt, format!("more than {MAX_REDIRECTS} redirects"));
        }
        if from.as_ref() != Some(&attempt.url().origin()) {
            return refuse(attempt, "another origin".into());
        }
        let keeps_method = matches!(method, Method::GET | Method::HEAD);
        if matches!(status, 301..=303) && !keeps_method {
            return refuse(attempt, format!("a {status} would turn {method} into GET"));
        }
        attempt.follow()
    })
}
