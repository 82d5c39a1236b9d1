//! Notifications in the shape each service documents: a loopback server
//! checks every body against that service's schema (required fields and
//! their types) and refuses one that does not fit with a 400, as the real
//! service would; a hostile placeholder value arrives intact and escaped.

use std::sync::{Arc, Mutex};

mod actions_support;

use cockpit::actions::{self, Vars};
use cockpit::config::model::{Hook, HookFormat};
use cockpit::httpd::{self, Request, Response};
use cockpit::rollout::event::MetricValue;
use cockpit::rollout::{Actor, Event, Level, Move, Outcome};
use serde_json::Value;
use tokio::sync::mpsc;

/// A value in a reason that tries to leave its JSON string and an HTML page.
const HOSTILE: &str = "said \"stop\"\nnext line </script><b>&amp; back\\slash";

type Check = fn(&Value) -> Result<(), String>;
/// Each request with what the schema said of it.
type Seen = Arc<Mutex<Vec<(Request, Result<(), String>)>>>;

/// Records what arrives; answers 400 with the schema error, else 200.
struct Service {
    url: String,
    seen: Seen,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Service {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Service {
    async fn start(check: Check) -> Service {
        let seen: Seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let (addr, task) = httpd::serve(0, move |req: Request| {
            let verdict = serde_json::from_slice::<Value>(&req.body)
                .map_err(|e| format!("not JSON: {e}"))
                .and_then(|v| check(&v));
            let response = match &verdict {
                Ok(()) => Response::text(200, "ok"),
                Err(e) => Response::text(400, format!("invalid_payload: {e}\n")),
            };
            log.lock().unwrap().push((req, verdict));
            async move { response }
        })
        .await
        .unwrap();
        Service {
            url: format!("http://{addr}/hook"),
            seen,
            task,
        }
    }

    /// Every body received, each of which passed the schema.
    fn bodies(&self) -> Vec<Value> {
        let seen = self.seen.lock().unwrap();
        for (_, verdict) in seen.iter() {
            assert_eq!(verdict, &Ok(()), "a body broke the service's schema");
        }
        seen.iter()
            .map(|(r, _)| serde_json::from_slice(&r.body).unwrap())
            .collect()
    }

    fn raw(&self) -> Vec<String> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .map(|(r, _)| String::from_utf8_lossy(&r.body).into_owned())
            .collect()
    }
}

fn string<'a>(v: &'a Value, key: &str) -> Result<&'a str, String> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("`{key}` must be a string"))
}

fn array<'a>(v: &'a Value, key: &str) -> Result<&'a Vec<Value>, String> {
    v.get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("`{key}` must be an array"))
}

/// Slack incoming webhooks: `text` (the notification fallback) and/or
/// `blocks`; a header block's plain_text at most 150 characters, a
/// section's text object `mrkdwn` or `plain_text` at most 3000.
fn slack_schema(v: &Value) -> Result<(), String> {
    string(v, "text")?;
    for block in array(v, "blocks")? {
        let text = block.get("text").ok_or("block without `text`")?;
        let (kind, body) = (string(text, "type")?, string(text, "text")?);
        match string(block, "type")? {
            "header" if kind == "plain_text" && body.chars().count() <= 150 => {}
            "section" if ["mrkdwn", "plain_text"].contains(&kind) && body.len() <= 3000 => {}
            other => return Err(format!("bad {other} block: {block}")),
        }
    }
    Ok(())
}

/// Teams workflow webhooks: a `message` whose attachments carry an
/// Adaptive Card (`type`, `version`, `body` of elements with a `type`).
fn teams_schema(v: &Value) -> Result<(), String> {
    if string(v, "type")? != "message" {
        return Err("`type` must be \"message\"".into());
    }
    let attachments = array(v, "attachments")?;
    if attachments.is_empty() {
        return Err("no attachments".into());
    }
    for a in attachments {
        if string(a, "contentType")? != "application/vnd.microsoft.card.adaptive" {
            return Err("contentType must be an adaptive card".into());
        }
        let card = a.get("content").ok_or("attachment without `content`")?;
        if string(card, "type")? != "AdaptiveCard" {
            return Err("content.type must be AdaptiveCard".into());
        }
        string(card, "version")?;
        for element in array(card, "body")? {
            match string(element, "type")? {
                "TextBlock" => drop(string(element, "text")?),
                "FactSet" => {
                    for f in array(element, "facts")? {
                        string(f, "title")?;
                        string(f, "value")?;
                    }
                }
                other => return Err(format!("unexpected element {other}")),
            }
        }
    }
    Ok(())
}

/// PagerDuty Events API v2: routing_key, event_action, dedup_key (at most
/// 255), and for a trigger a payload with summary (at most 1024), source
/// and severity (critical, error, warning, info).
fn pagerduty_schema(v: &Value) -> Result<(), String> {
    string(v, "routing_key")?;
    let action = string(v, "event_action")?;
    if string(v, "dedup_key")?.len() > 255 {
        return Err("dedup_key longer than 255".into());
    }
    match action {
        "trigger" => {
            let p = v.get("payload").ok_or("a trigger needs `payload`")?;
            if string(p, "summary")?.chars().count() > 1024 {
                return Err("summary longer than 1024".into());
            }
            if string(p, "source")?.is_empty() {
                return Err("empty source".into());
            }
            let severity = string(p, "severity")?;
            if !["critical", "error", "warning", "info"].contains(&severity) {
                return Err(format!("bad severity {severity}"));
            }
            Ok(())
        }
        "acknowledge" | "resolve" => Ok(()),
        other => Err(format!("bad event_action {other}")),
    }
}

fn any_json(_: &Value) -> Result<(), String> {
    Ok(())
}

fn vars() -> Vars {
    actions_support::vars(&[("stage", "25%"), ("reason", HOSTILE)])
}

fn context(event: &str) -> Value {
    serde_json::json!({
        "event": event,
        "run": "checkout 2.0-20261124T103000Z",
        "metrics": [],
    })
}

fn hook(url: &str, format: HookFormat) -> Hook {
    Hook {
        http: Some(url.into()),
        format: Some(format),
        retries: Some(0),
        ..Hook::default()
    }
}

/// The rollback decision as the engine journals it, as `on_event` gets it.
fn rollback_event() -> String {
    let event = Event::Decision {
        action: Move::Rollback,
        by: Actor::Policy,
        reason: HOSTILE.into(),
        stage: 1,
        metrics: vec![MetricValue {
            metric: "error_rate".into(),
            level: Level::Critical,
            canary: Some(0.8),
            baseline: Some(0.1),
            reason: "error rate 0.8% > 0.5% critical".into(),
        }],
        traffic: None,
    };
    serde_json::to_string(&event).unwrap()
}

async fn notify(hooks: &[Hook], event: &str) -> Vec<String> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    actions::notify(hooks, &vars(), event, &context(event), tx).await;
    let mut lines = Vec::new();
    while let Ok(l) = rx.try_recv() {
        lines.push(l);
    }
    lines
}

#[tokio::test]
async fn slack_gets_one_readable_message_with_who_why_and_the_values() {
    let service = Service::start(slack_schema).await;
    let lines = notify(&[hook(&service.url, HookFormat::Slack)], &rollback_event()).await;
    assert!(lines.iter().any(|l| l.contains(": sent: ")), "{lines:?}");
    let bodies = service.bodies();
    assert_eq!(bodies.len(), 1);
    let b = &bodies[0];
    assert_eq!(
        b["blocks"][0]["text"]["text"],
        "checkout 2.0: rolling back from stage 25%"
    );
    // The fallback carries the reason exactly; the mrkdwn section escaped.
    assert!(b["text"].as_str().unwrap().ends_with(HOSTILE), "{b}");
    let section = b["blocks"][1]["text"]["text"].as_str().unwrap();
    for words in [
        "*Stage:* 25%",
        "*Decided by:* policy (automatic)",
        "error rate 0.8% &gt; 0.5% critical",
        "&lt;/script&gt;&lt;b&gt;&amp;amp;",
    ] {
        assert!(section.contains(words), "{words:?} not in {section}");
    }
    let raw = &service.raw()[0];
    assert!(!raw.contains("</script>"), "{raw}");
    assert_eq!(
        service.seen.lock().unwrap()[0].0.header("content-type"),
        Some("application/json")
    );
}

#[tokio::test]
async fn teams_gets_an_adaptive_card_with_the_facts() {
    let service = Service::start(teams_schema).await;
    notify(&[hook(&service.url, HookFormat::Teams)], "breach").await;
    let b = &service.bodies()[0];
    let card = &b["attachments"][0]["content"];
    assert_eq!(
        card["body"][0]["text"],
        "checkout 2.0: sustained critical breach at stage 25%"
    );
    assert_eq!(card["body"][0]["color"], "Attention");
    let facts = card["body"][1]["facts"].as_array().unwrap();
    let reason = facts.iter().find(|f| f["title"] == "Reason").unwrap();
    assert_eq!(reason["value"], HOSTILE);
    assert!(!service.raw()[0].contains("</script>"));
}

#[tokio::test]
async fn pagerduty_triggers_on_a_rollback_and_resolves_when_it_is_verified() {
    let service = Service::start(pagerduty_schema).await;
    // SAFETY: only this test reads this variable.
    unsafe { std::env::set_var("COCKPIT_TEST_PD_KEY", "R0UT1NGKEY0000000000000000000000") };
    let pd = Hook {
        routing_key: Some("env:COCKPIT_TEST_PD_KEY".into()),
        ..hook(&service.url, HookFormat::Pagerduty)
    };
    let hooks = [pd];
    let finished = |outcome| serde_json::to_string(&Event::Finished { outcome }).unwrap();
    notify(&hooks, &rollback_event()).await;
    // Not a page: nothing is sent, and the hook says why.
    let lines = notify(&hooks, "pause").await;
    assert!(
        lines
            .iter()
            .any(|l| l.contains("notify pause: skipped: not sent: PagerDuty")),
        "{lines:?}"
    );
    notify(&hooks, &finished(Outcome::RolledBackUnrecovered)).await;
    let lines = notify(&hooks, &finished(Outcome::RolledBack)).await;
    assert!(lines.iter().all(|l| !l.contains("R0UT1NGKEY")), "{lines:?}");
    let bodies = service.bodies();
    let actions: Vec<&str> = bodies
        .iter()
        .map(|b| b["event_action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["trigger", "trigger", "resolve"]);
    let keys: Vec<&Value> = bodies.iter().map(|b| &b["dedup_key"]).collect();
    assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
    assert_eq!(keys[0], "cockpit/checkout 2.0-20261124T103000Z");
    assert_eq!(bodies[0]["routing_key"], "R0UT1NGKEY0000000000000000000000");
    let trigger = &bodies[0]["payload"];
    assert_eq!(trigger["severity"], "critical");
    assert_eq!(trigger["source"], "checkout");
    assert!(
        trigger["summary"]
            .as_str()
            .unwrap()
            .starts_with("checkout 2.0: rolling back from stage 25%: said \"stop\""),
        "{trigger}"
    );
    let unrecovered = bodies[1]["payload"]["summary"].as_str().unwrap();
    assert!(
        unrecovered.starts_with("checkout 2.0: rollback did not recover the metrics"),
        "{unrecovered}"
    );
}

#[tokio::test]
async fn a_json_body_template_gets_each_value_escaped_and_intact() {
    let service = Service::start(any_json).await;
    let grafana = Hook {
        body: Some(
            r#"{"text": "{rollout} at {stage}: {reason}", "tags": ["cockpit", "{service}"]}"#
                .into(),
        ),
        ..hook(&service.url, HookFormat::Json)
    };
    let grafana = Hook {
        format: None,
        ..grafana
    };
    notify(&[grafana], "breach").await;
    let b = &service.bodies()[0];
    assert_eq!(b["text"], format!("checkout 2.0 at 25%: {HOSTILE}"));
    assert_eq!(b["tags"][1], "checkout");
    let raw = &service.raw()[0];
    assert!(
        raw.contains(r#"said \"stop\"\nnext line \u003c/script\u003e"#),
        "{raw}"
    );
}

#[tokio::test]
async fn a_text_body_template_is_sent_as_written() {
    let service = Arc::new(Mutex::new(Vec::new()));
    let log = service.clone();
    let (addr, task) = httpd::serve(0, move |req: Request| {
        log.lock().unwrap().push(req);
        async { Response::text(200, "ok") }
    })
    .await
    .unwrap();
    let ticket = Hook {
        http: Some(format!("http://{addr}/ticket")),
        body: Some("Rollout {rollout} stopped: {reason}".into()),
        ..Hook::default()
    };
    notify(&[ticket], "breach").await;
    task.abort();
    let seen = service.lock().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&seen[0].body),
        format!("Rollout checkout 2.0 stopped: {HOSTILE}")
    );
    assert_eq!(
        seen[0].header("content-type"),
        Some("text/plain; charset=utf-8")
    );
}

#[tokio::test]
async fn the_default_json_body_is_unchanged() {
    let service = Service::start(any_json).await;
    let plain = Hook {
        http: Some(service.url.clone()),
        retries: Some(0),
        ..Hook::default()
    };
    notify(&[plain], "promote").await;
    // The runtime's context, as it was: only made inert for HTML.
    assert_eq!(service.bodies()[0], context("promote"));
}
