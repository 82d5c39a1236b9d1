//! A canary's `/metrics` page on loopback for the tests that run the
//! binary against real scrapes: request counters that grow with every
//! scrape, and a latency histogram with every request under 100 ms.
//!
//! Included by each test file that uses it (`#[path = "support/scrape_page.rs"]
//! mod scrape_page;`).
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

/// Serves the page; each scrape first adds `grow()`'s (requests, of which
/// errors) to the counters. Returns its URL and the runtime serving it, a
/// runtime of its own so the test can block on the binary.
pub fn serve(
    grow: impl Fn() -> (u64, u64) + Send + Sync + 'static,
) -> (String, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Both counters move together, so a page never has more errors than requests.
    let counted = Arc::new(Mutex::new((0u64, 0u64)));
    let (addr, _task) = rt
        .block_on(cockpit::httpd::serve(0, move |_req| {
            let (total, bad) = {
                let (requests, errors) = grow();
                let mut counted = counted.lock().unwrap();
                counted.0 += requests;
                counted.1 += errors;
                *counted
            };
            async move {
                let body = format!(
                    "# TYPE http_requests_total counter\n\
                     http_requests_total{{code=\"200\"}} {ok}\n\
                     http_requests_total{{code=\"500\"}} {bad}\n\
                     # TYPE http_request_duration_seconds histogram\n\
                     http_request_duration_seconds_bucket{{le=\"0.1\"}} {total}\n\
                     http_request_duration_seconds_bucket{{le=\"+Inf\"}} {total}\n\
                     http_request_duration_seconds_sum {sum}\n\
                     http_request_duration_seconds_count {total}\n",
                    ok = total - bad,
                    sum = total as f64 * 0.05,
                );
                cockpit::httpd::Response::text(200, body)
            }
        }))
        .unwrap();
    (format!("http://{addr}/metrics"), rt)
}

/// A healthy canary: 100 more requests a scrape, none failing.
pub fn healthy() -> (String, tokio::runtime::Runtime) {
    serve(|| (100, 0))
}
