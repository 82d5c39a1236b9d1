//! The body an `http` hook sends: the cockpit's JSON (`format = "json"`),
//! a Slack message, a Teams Adaptive Card, a PagerDuty Events API v2
//! event, or the operator's own `body` template.
//!
//! A `body` template is JSON when the hook's `Content-Type` header says
//! `json`, or, without that header, when it starts like a JSON document
//! (`[`, or `{` and then `"`: `{rollout} failed` is text). Then
//! each placeholder value is escaped for a JSON string (the template writes
//! the quotes) and it is sent as `application/json`; otherwise values go in
//! as they are, as `text/plain`.

use serde_json::{Value, json};

use super::Vars;
use super::notice::{Notice, Page};
use super::placeholder::{fill, fill_json, html_safe};
use crate::config::model::{Hook, HookFormat};

/// Slack: `text` is the notification fallback; a header block holds at
/// most 150 characters, a section 3000.
const SLACK_HEADER_MAX: usize = 150;
const SLACK_SECTION_MAX: usize = 3000;
/// PagerDuty: `summary` at most 1024 characters, `dedup_key` 255.
const PD_SUMMARY_MAX: usize = 1024;
const PD_DEDUP_MAX: usize = 255;

/// How the summary of a hook that had nothing to send begins.
pub const NOT_SENT: &str = "not sent";

/// What to send, or why this event is not sent at all.
#[derive(Debug, Clone, PartialEq)]
pub enum Rendered {
    Send { content_type: String, body: Vec<u8> },
    Skip(String),
}

/// The body for one event. `routing_key` is PagerDuty's, already read
/// from the environment.
pub fn render(
    hook: &Hook,
    event: &str,
    vars: &Vars,
    context: &Value,
    routing_key: Option<&str>,
) -> Rendered {
    if let Some(template) = &hook.body {
        return if hook.body_is_json() {
            send("application/json", fill_json(template, vars))
        } else {
            send("text/plain; charset=utf-8", fill(template, vars))
        };
    }
    let notice = Notice::of(event, vars, context);
    let value = match hook.format.unwrap_or_default() {
        HookFormat::Json => context.clone(),
        HookFormat::Slack => slack(&notice),
        HookFormat::Teams => teams(&notice),
        HookFormat::Pagerduty => {
            let run = context["run"].as_str().unwrap_or(&notice.rollout);
            match pagerduty(&notice, routing_key.unwrap_or_default(), run) {
                Some(v) => v,
                None => {
                    return Rendered::Skip(format!(
                        "{NOT_SENT}: PagerDuty is told of rollbacks and their outcome only"
                    ));
                }
            }
        }
    };
    send("application/json", html_safe(&value.to_string()))
}

fn send(content_type: &str, body: String) -> Rendered {
    Rendered::Send {
        content_type: content_type.into(),
        body: body.into_bytes(),
    }
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// Slack's mrkdwn reads `&`, `<` and `>` as markup.
fn mrkdwn(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn slack(n: &Notice) -> Value {
    let details: Vec<String> = n
        .facts()
        .iter()
        .map(|(k, v)| format!("*{k}:* {}", mrkdwn(v)))
        .collect();
    let fallback = match &n.reason {
        Some(r) => format!("{}: {r}", n.headline),
        None => n.headline.clone(),
    };
    json!({
        "text": fallback,
        "blocks": [
            {
                "type": "header",
                "text": { "type": "plain_text", "text": cut(&n.headline, SLACK_HEADER_MAX) },
            },
            {
                "type": "section",
                "text": { "type": "mrkdwn", "text": cut(&details.join("\n"), SLACK_SECTION_MAX) },
            },
        ],
    })
}

/// An Adaptive Card in the envelope Teams' workflow webhooks take.
fn teams(n: &Notice) -> Value {
    let colour = match n.severity.word() {
        "critical" => "Attention",
        "warning" => "Warning",
        _ => "Default",
    };
    let facts: Vec<Value> = n
        .facts()
        .into_iter()
        .map(|(title, value)| json!({ "title": title, "value": value }))
        .collect();
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [
                    {
                        "type": "TextBlock",
                        "text": n.headline,
                        "weight": "Bolder",
                        "size": "Medium",
                        "color": colour,
                        "wrap": true,
                    },
                    { "type": "FactSet", "facts": facts },
                ],
            },
        }],
    })
}

/// Events API v2: `trigger` opens (or adds to) the incident of this run,
/// `resolve` closes it; one `dedup_key` per rollout run.
fn pagerduty(n: &Notice, routing_key: &str, run: &str) -> Option<Value> {
    let dedup_key = cut(&format!("cockpit/{run}"), PD_DEDUP_MAX);
    Some(match n.page? {
        Page::Resolve => json!({
            "routing_key": routing_key,
            "event_action": "resolve",
            "dedup_key": dedup_key,
        }),
        Page::Trigger => {
            let summary = match &n.reason {
                Some(r) => format!("{}: {r}", n.headline),
                None => n.headline.clone(),
            };
            let details: serde_json::Map<String, Value> = n
                .facts()
                .into_iter()
                .map(|(k, v)| (k.to_lowercase().replace(' ', "_"), Value::String(v)))
                .collect();
            json!({
                "routing_key": routing_key,
                "event_action": "trigger",
                "dedup_key": dedup_key,
                "client": "deployment cockpit",
                "payload": {
                    "summary": cut(&summary, PD_SUMMARY_MAX),
                    "source": n.service,
                    "severity": n.severity.word(),
                    "component": n.service,
                    "class": "rollout",
                    "custom_details": details,
                },
            })
        }
    })
}
