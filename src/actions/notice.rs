//! What a notification says, in words for people: built once from the
//! event a hook runs for, then shaped by `body` into what Slack, Teams or
//! PagerDuty accept. The event reaches a hook as its name ("breach",
//! "on_rollback") or, for `on_event`, as the journal event in JSON.

use super::Vars;
use crate::rollout::event::MetricValue;
use crate::rollout::{Actor, Event, Move, Outcome};

/// How bad it is, in the words PagerDuty's `severity` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn word(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// What a paging service is asked to do: open the incident or close it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Trigger,
    Resolve,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// One line: what happened to which rollout.
    pub headline: String,
    pub rollout: String,
    pub service: String,
    pub version: String,
    pub stage: String,
    /// Why, when the event carries a reason.
    pub reason: Option<String>,
    /// Who decided: an operator, or "policy".
    pub decided_by: Option<String>,
    /// Each metric in words: "error rate 0.8% > 0.5% critical".
    pub metrics: Vec<String>,
    pub severity: Severity,
    /// What a pager does with it; None: nothing to page about.
    pub page: Option<Page>,
}

impl Notice {
    /// `event` is the hook's event; `context` the JSON the runtime built
    /// (its `metrics` are used when the event carries none).
    pub fn of(event: &str, vars: &Vars, context: &serde_json::Value) -> Notice {
        let var = |k: &str| vars.get(k).cloned().unwrap_or_default();
        let rollout = var("rollout");
        let current: Vec<MetricValue> =
            serde_json::from_value(context["metrics"].clone()).unwrap_or_default();
        let mut n = Notice {
            headline: String::new(),
            rollout: rollout.clone(),
            service: var("service"),
            version: var("version"),
            stage: var("stage"),
            reason: Some(var("reason")).filter(|r| !r.is_empty()),
            decided_by: None,
            metrics: current.iter().map(|m| m.reason.clone()).collect(),
            severity: Severity::Info,
            page: None,
        };
        match serde_json::from_str::<Event>(event) {
            Ok(e) => n.journal_event(e),
            Err(_) => n.named_event(event, &var("operator")),
        }
        n
    }

    fn journal_event(&mut self, event: Event) {
        let r = self.rollout.clone();
        match event {
            Event::Decision {
                action,
                by,
                reason,
                metrics,
                ..
            } => {
                self.headline = format!("{r}: {}", action_words(action, &self.stage));
                self.reason = Some(reason);
                self.decided_by = Some(by_words(&by));
                if !metrics.is_empty() {
                    self.metrics = metrics.into_iter().map(|m| m.reason).collect();
                }
                self.severity = severity(action);
                if action == Move::Rollback {
                    self.page = Some(Page::Trigger);
                }
            }
            Event::StageObserving { name, .. } => {
                self.stage = name.clone();
                self.headline = format!("{r}: stage {name} entered, observing");
            }
            Event::RollbackComplete => {
                self.headline = format!("{r}: rollback done, verifying that the metrics recover");
                self.severity = Severity::Warning;
            }
            Event::Finished { outcome } => {
                let (words, severity, page) = finished(outcome);
                self.headline = format!("{r}: {words}");
                self.severity = severity;
                self.page = page;
            }
            other => {
                let name = serde_json::to_value(&other)
                    .ok()
                    .and_then(|v| v["event"].as_str().map(str::to_string))
                    .unwrap_or_else(|| "event".into());
                self.headline = format!("{r}: {}", name.replace('_', " "));
            }
        }
    }

    /// The events hooks other than `on_event` run for.
    fn named_event(&mut self, event: &str, operator: &str) {
        let r = self.rollout.clone();
        let stage = self.stage.clone();
        self.headline = match event {
            "breach" => {
                self.severity = Severity::Critical;
                self.decided_by = Some("policy".into());
                format!("{r}: sustained critical breach at stage {stage}")
            }
            "on_rollback" => {
                self.severity = Severity::Critical;
                self.page = Some(Page::Trigger);
                format!("{r}: rolled back from stage {stage}")
            }
            "pause" | "resume" => {
                self.severity = Severity::Warning;
                self.decided_by = Some(operator.to_string()).filter(|o| !o.is_empty());
                format!("{r}: observation {event}d at stage {stage}")
            }
            "promote" => format!("{r}: promoted"),
            other => format!("{r}: {} for stage {stage}", other.replace('_', " ")),
        };
    }

    /// The whole notice as plain lines: headline, then what stands behind it.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![self.headline.clone()];
        out.extend(self.facts().into_iter().map(|(k, v)| format!("{k}: {v}")));
        out
    }

    /// Name and value pairs for cards: rollout, stage, reason, who, metrics.
    pub fn facts(&self) -> Vec<(String, String)> {
        let mut out = vec![
            (
                "Rollout".to_string(),
                format!("{} ({} {})", self.rollout, self.service, self.version),
            ),
            ("Stage".to_string(), self.stage.clone()),
        ];
        if let Some(r) = &self.reason {
            out.push(("Reason".into(), r.clone()));
        }
        if let Some(by) = &self.decided_by {
            out.push(("Decided by".into(), by.clone()));
        }
        if !self.metrics.is_empty() {
            out.push(("Metrics".into(), self.metrics.join("; ")));
        }
        out
    }
}

/// How loud a decision is: a rollback is critical, a move against the
/// plan a warning.
fn severity(action: Move) -> Severity {
    match action {
        Move::Rollback => Severity::Critical,
        Move::ForceAdvance | Move::Pause | Move::Hold | Move::Cancel => Severity::Warning,
        _ => Severity::Info,
    }
}

/// A finished rollout in words, how loud, and what it does to a page.
fn finished(outcome: Outcome) -> (&'static str, Severity, Option<Page>) {
    match outcome {
        Outcome::Promoted => ("promoted", Severity::Info, None),
        Outcome::RolledBack => (
            "rolled back, and the metrics recovered",
            Severity::Info,
            Some(Page::Resolve),
        ),
        Outcome::RolledBackUnrecovered => (
            "rollback did not recover the metrics",
            Severity::Critical,
            Some(Page::Trigger),
        ),
    }
}

fn by_words(by: &Actor) -> String {
    match by {
        Actor::Operator(name) => name.clone(),
        Actor::Policy => "policy (automatic)".into(),
    }
}

fn action_words(action: Move, stage: &str) -> String {
    match action {
        Move::Start => "rollout started".into(),
        Move::Advance => format!("advancing from stage {stage}"),
        Move::ForceAdvance => format!("forced past stage {stage}"),
        Move::Pause => format!("observation paused at stage {stage}"),
        Move::Resume => format!("observation resumed at stage {stage}"),
        Move::Rollback => format!("rolling back from stage {stage}"),
        Move::Hold => "auto-rollback countdown held".into(),
        Move::Release => "auto-rollback countdown released".into(),
        Move::Cancel => "auto-rollback cancelled for this breach".into(),
        Move::Retry => "failed hook retried".into(),
        Move::Skip => "failed hook skipped".into(),
        Move::Promote => "promoting".into(),
        Move::OverrideWindow => "started outside the deploy window".into(),
        Move::OpenGate => format!("gate opened for stage {stage}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        [
            ("rollout", "checkout 2.0"),
            ("service", "checkout"),
            ("version", "2.0"),
            ("stage", "25%"),
            ("operator", "ana"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn an_automatic_rollback_pages_with_who_and_why() {
        let event = r#"{"event":"decision","action":"rollback","by":"policy","reason":"error rate 0.8% > 0.5% critical","stage":1,"metrics":[{"metric":"error_rate","level":"critical","canary":0.8,"baseline":0.1,"reason":"error rate 0.8% > 0.5% critical"}]}"#;
        let n = Notice::of(event, &vars(), &serde_json::json!({}));
        assert_eq!(n.headline, "checkout 2.0: rolling back from stage 25%");
        assert_eq!(n.page, Some(Page::Trigger));
        assert_eq!(n.decided_by.as_deref(), Some("policy (automatic)"));
        assert_eq!(n.metrics, ["error rate 0.8% > 0.5% critical"]);
    }

    #[test]
    fn a_verified_rollback_resolves_and_an_unrecovered_one_triggers() {
        let ok = Notice::of(
            r#"{"event":"finished","outcome":"rolled_back"}"#,
            &vars(),
            &serde_json::json!({}),
        );
        assert_eq!(ok.page, Some(Page::Resolve));
        let bad = Notice::of(
            r#"{"event":"finished","outcome":"rolled_back_unrecovered"}"#,
            &vars(),
            &serde_json::json!({}),
        );
        assert_eq!(bad.page, Some(Page::Trigger));
        assert_eq!(bad.severity, Severity::Critical);
    }

    #[test]
    fn a_named_event_is_said_in_words_and_pages_nothing() {
        let n = Notice::of("pause", &vars(), &serde_json::json!({}));
        assert_eq!(n.headline, "checkout 2.0: observation paused at stage 25%");
        assert_eq!(n.page, None);
        assert_eq!(n.decided_by.as_deref(), Some("ana"));
    }
}
