//! `http` hooks, notifications and gates against a real loopback server
//! that records what it receives.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod actions_support;

use cockpit::actions::{self, HookRun, Vars};
use cockpit::config::model::Hook;
use cockpit::duration::Span;
use cockpit::httpd::{self, Request, Response};
use tokio::sync::mpsc;

/// A loopback server answering from a script of statuses; records requests.
struct Server {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Request>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    /// Answers the n-th request with `statuses[n]` (the last one repeats);
    /// 0 means hang; the body echoes the request's Authorization header.
    async fn start(statuses: &[u16]) -> Server {
        let statuses = statuses.to_vec();
        Server::answering(move |n, req| {
            let status = statuses[n.min(statuses.len() - 1)];
            let echo = format!(
                "\nrefused for credentials {}\n",
                req.header("authorization").unwrap_or("-")
            );
            (status != 0).then(|| Response::text(status, echo))
        })
        .await
    }

    /// Answers `/from` with a `status` redirect to `location`, anything
    /// else with 200.
    async fn redirecting(status: u16, location: String) -> Server {
        Server::answering(move |_, req| {
            Some(if req.path.split('?').next() == Some("/from") {
                Response::redirect(status, &location)
            } else {
                Response::text(200, "ok\n")
            })
        })
        .await
    }

    /// Answers the n-th request with `answer(n, request)`; None hangs.
    async fn answering(
        answer: impl Fn(usize, &Request) -> Option<Response> + Send + Sync + 'static,
    ) -> Server {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let count = Arc::new(AtomicUsize::new(0));
        let log = seen.clone();
        let (addr, task) = httpd::serve(0, move |req: Request| {
            let n = count.fetch_add(1, Ordering::SeqCst);
            let response = answer(n, &req);
            log.lock().unwrap().push(req);
            async move {
                match response {
                    Some(r) => r,
                    None => {
                        tokio::time::sleep(Duration::from_secs(600)).await;
                        Response::text(504, "")
                    }
                }
            }
        })
        .await
        .unwrap();
        Server { addr, seen, task }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn requests(&self) -> Vec<Request> {
        self.seen.lock().unwrap().clone()
    }
}

fn vars() -> Vars {
    actions_support::vars(&[("stage", "canary 25%")])
}

fn http(url: String) -> Hook {
    Hook {
        http: Some(url),
        ..Hook::default()
    }
}

/// Sets a variable only this test reads (each test uses its own name).
fn secret_env(name: &str, value: &str) {
    // SAFETY: no other test reads or writes this variable name.
    unsafe { std::env::set_var(name, value) };
}

async fn run(hook: &Hook) -> (HookRun, Vec<String>) {
    let context = serde_json::json!({"event": "enter", "weight": "25", "metrics": []});
    actions_support::run(hook, &vars(), &context).await
}

#[tokio::test]
async fn a_webhook_posts_the_event_as_json_with_its_secret_header() {
    let server = Server::start(&[204]).await;
    secret_env("COCKPIT_TEST_FLAGS_TOKEN", "Bearer tok-posts-json-123");
    let hook = Hook {
        headers: BTreeMap::from([
            (
                "Authorization".to_string(),
                "env:COCKPIT_TEST_FLAGS_TOKEN".to_string(),
            ),
            ("X-Team".to_string(), "payments".to_string()),
        ]),
        ..http(server.url("/api/flags/{stage}?weight={weight}"))
    };
    let (run, lines) = run(&hook).await;
    assert!(run.ok, "{}", run.summary);
    assert!(
        run.summary.contains(": 204 No Content in "),
        "{}",
        run.summary
    );
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    let req = &reqs[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/api/flags/canary%2025%25?weight=25");
    assert_eq!(
        req.header("authorization"),
        Some("Bearer tok-posts-json-123")
    );
    assert_eq!(req.header("x-team"), Some("payments"));
    assert_eq!(req.header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(body["event"], "enter");
    assert_eq!(body["weight"], "25");
    assert!(lines.iter().all(|l| !l.contains("tok-posts-json-123")));
}

#[tokio::test]
async fn a_500_is_retried_with_backoff_until_it_succeeds() {
    let server = Server::start(&[500, 503, 200]).await;
    let hook = Hook {
        retries: Some(3),
        ..http(server.url("/weights"))
    };
    let (run, lines) = run(&hook).await;
    assert!(run.ok, "{}", run.summary);
    assert_eq!(server.requests().len(), 3);
    assert!(
        lines[0].ends_with(
            "attempt 1: 500 Internal Server Error: refused for credentials -; retrying in 0.5s"
        ),
        "{lines:?}"
    );
    assert!(lines[1].ends_with("retrying in 1.0s"), "{lines:?}");
    // The journal keeps the retries and the outcome.
    assert_eq!(run.tail.len(), 3, "{:?}", run.tail);
    assert_eq!(run.tail[2], run.summary);
}

#[tokio::test]
async fn retries_run_out_and_the_hook_fails_with_the_last_answer() {
    let server = Server::start(&[502]).await;
    let hook = Hook {
        retries: Some(1),
        ..http(server.url("/weights"))
    };
    let (run, _) = run(&hook).await;
    assert!(!run.ok);
    assert_eq!(server.requests().len(), 2);
    assert!(
        run.summary
            .ends_with("502 Bad Gateway: refused for credentials - (after 2 attempts)"),
        "{}",
        run.summary
    );
}

#[tokio::test]
async fn a_404_is_not_retried_and_never_shows_the_secret_it_echoes() {
    let server = Server::start(&[404]).await;
    secret_env("COCKPIT_TEST_404_TOKEN", "tok-404-secret-456");
    let hook = Hook {
        retries: Some(3),
        headers: BTreeMap::from([(
            "Authorization".to_string(),
            "env:COCKPIT_TEST_404_TOKEN".to_string(),
        )]),
        ..http(server.url("/missing"))
    };
    let (run, lines) = run(&hook).await;
    assert!(!run.ok);
    assert_eq!(server.requests().len(), 1, "a 4xx was retried");
    assert!(
        run.summary
            .contains("404 Not Found: refused for credentials [redacted]"),
        "{}",
        run.summary
    );
    for shown in lines.iter().chain(&run.tail).chain([&run.summary]) {
        assert!(!shown.contains("tok-404-secret-456"), "leaked: {shown}");
    }
}

#[tokio::test]
async fn a_hanging_server_times_out_on_every_attempt() {
    let server = Server::start(&[0]).await;
    let hook = Hook {
        retries: Some(1),
        timeout: Some(Span::from_millis(300)),
        ..http(server.url("/hang"))
    };
    let (run, _) = run(&hook).await;
    assert!(!run.ok);
    assert!(
        run.summary
            .ends_with("timed out after 300ms (after 2 attempts)"),
        "{}",
        run.summary
    );
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/weights", closed.local_addr().unwrap());
    drop(closed);
    let hook = Hook {
        retries: Some(1),
        ..http(url)
    };
    let (run, lines) = run(&hook).await;
    assert!(!run.ok);
    assert!(
        run.summary.to_lowercase().contains("refused"),
        "{}",
        run.summary
    );
    assert!(
        run.summary.ends_with("(after 2 attempts)"),
        "{}",
        run.summary
    );
    assert!(lines[0].contains("attempt 1:"), "{lines:?}");
}

#[tokio::test]
async fn a_url_kept_in_the_environment_is_never_shown() {
    let server = Server::start(&[500]).await;
    let url = server.url("/services/T000/B000/secret-path-789");
    secret_env("COCKPIT_TEST_CHAT_URL", &url);
    let hook = Hook {
        retries: Some(0),
        ..http("env:COCKPIT_TEST_CHAT_URL".into())
    };
    let (run, lines) = run(&hook).await;
    assert!(!run.ok);
    assert_eq!(
        server.requests()[0].path,
        "/services/T000/B000/secret-path-789"
    );
    assert!(
        run.summary
            .starts_with("POST env:COCKPIT_TEST_CHAT_URL: 500"),
        "{}",
        run.summary
    );
    for shown in lines.iter().chain([&run.summary]) {
        assert!(!shown.contains("secret-path-789"), "leaked: {shown}");
    }
}

#[tokio::test]
async fn an_unset_secret_fails_before_sending_and_names_the_variable() {
    let server = Server::start(&[200]).await;
    let hook = Hook {
        headers: BTreeMap::from([(
            "Authorization".to_string(),
            "env:COCKPIT_TEST_NEVER_SET".to_string(),
        )]),
        ..http(server.url("/"))
    };
    let (run, _) = run(&hook).await;
    assert!(!run.ok);
    assert!(
        run.summary
            .contains("COCKPIT_TEST_NEVER_SET, which is not set"),
        "{}",
        run.summary
    );
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn a_get_hook_sends_no_body() {
    let server = Server::start(&[200]).await;
    let hook = Hook {
        method: Some("get".into()),
        ..http(server.url("/status"))
    };
    let (run, _) = run(&hook).await;
    assert!(run.ok, "{}", run.summary);
    let req = &server.requests()[0];
    assert_eq!(req.method, "GET");
    assert!(req.body.is_empty());
}

#[tokio::test]
async fn notifications_report_each_result_and_a_failure_does_not_stop_the_others() {
    let failing = Server::start(&[404]).await;
    let working = Server::start(&[200]).await;
    let hooks = [
        Hook {
            name: Some("pager".into()),
            ..http(failing.url("/page"))
        },
        Hook {
            name: Some("chat".into()),
            ..http(working.url("/chat"))
        },
    ];
    let (tx, mut rx) = mpsc::unbounded_channel();
    actions::notify(&hooks, &vars(), "breach", &serde_json::json!({}), tx).await;
    let mut lines = Vec::new();
    while let Ok(l) = rx.try_recv() {
        lines.push(l);
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("[pager] notify breach: FAILED: ") && l.contains("404")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("[chat] notify breach: sent: ")),
        "{lines:?}"
    );
    assert_eq!(working.requests().len(), 1);
}

#[tokio::test]
async fn a_gate_opens_only_on_200() {
    let server = Server::start(&[503, 404, 200]).await;
    let url = server.url("/gate");
    let t = Duration::from_secs(5);
    assert!(!actions::gate_open(&url, t).await);
    assert!(!actions::gate_open(&url, t).await);
    assert!(actions::gate_open(&url, t).await);
    let hang = Server::start(&[0]).await;
    assert!(!actions::gate_open(&hang.url("/gate"), Duration::from_millis(200)).await);
    drop(server);
    assert!(!actions::gate_open("http://127.0.0.1:1/gate", t).await);
}

#[tokio::test]
async fn a_redirect_to_another_origin_is_not_followed_and_gets_no_secret() {
    let elsewhere = Server::start(&[200]).await;
    let server = Server::redirecting(307, elsewhere.url("/steal?x=1")).await;
    secret_env("COCKPIT_TEST_REDIRECT_TOKEN", "tok-redirect-origin-31");
    let hook = Hook {
        retries: Some(3),
        headers: BTreeMap::from([(
            "X-Api-Key".to_string(),
            "env:COCKPIT_TEST_REDIRECT_TOKEN".to_string(),
        )]),
        ..http(server.url("/from"))
    };
    let (run, _) = run(&hook).await;
    assert!(!run.ok, "{}", run.summary);
    assert!(elsewhere.requests().is_empty(), "the secret went elsewhere");
    assert_eq!(server.requests().len(), 1, "a refused redirect was retried");
    let to = elsewhere.url("/steal");
    assert!(
        run.summary.contains(&format!(
            "redirected to {to}: not followed (another origin)"
        )),
        "{}",
        run.summary
    );
}

#[tokio::test]
async fn a_same_origin_307_keeps_the_method_and_body_and_sends_no_referer() {
    let server = Server::redirecting(307, "/to".into()).await;
    let (run, _) = run(&http(server.url("/from?sig=abc123"))).await;
    assert!(run.ok, "{}", run.summary);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2, "{} {reqs:?}", run.summary);
    assert_eq!(
        (reqs[1].method.as_str(), reqs[1].path.as_str()),
        ("POST", "/to")
    );
    assert!(!reqs[1].body.is_empty());
    assert_eq!(reqs[1].header("referer"), None);
}

#[tokio::test]
async fn a_302_never_turns_a_post_into_a_get() {
    for status in [301, 302, 303] {
        let server = Server::redirecting(status, "/to".into()).await;
        let (run, _) = run(&http(server.url("/from"))).await;
        assert!(!run.ok, "{status}: {}", run.summary);
        assert!(
            run.summary.contains(&format!(
                "redirected to {}: not followed (a {status} would turn POST into GET)",
                server.url("/to")
            )),
            "{}",
            run.summary
        );
        assert_eq!(server.requests().len(), 1, "{status} was followed");
    }
    // A GET stays a GET: following it is safe.
    let server = Server::redirecting(302, "/to".into()).await;
    let hook = Hook {
        method: Some("GET".into()),
        ..http(server.url("/from"))
    };
    let (run, _) = run(&hook).await;
    assert!(run.ok, "{}", run.summary);
    assert_eq!(server.requests()[1].path, "/to");
}

#[tokio::test]
async fn a_gate_redirected_to_another_origin_stays_closed() {
    let elsewhere = Server::start(&[200]).await;
    let gate = Server::redirecting(302, elsewhere.url("/open")).await;
    assert!(!actions::gate_open(&gate.url("/from"), Duration::from_secs(5)).await);
    assert!(elsewhere.requests().is_empty());
}
