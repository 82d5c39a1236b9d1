//! Carrying out what the core decided: journal records and checkpoints
//! written before anything acts, hooks, notifications and gates started as
//! tasks that answer through the session's channel.

use super::{Session, edges};
use crate::error::Error;
use crate::rollout::Effect;

impl Session {
    /// Carries out one effect of the core: journal first (the caller
    /// feeds them in order), then hooks, notifications and gates as tasks.
    pub(super) fn carry_out(&mut self, effect: &Effect) -> Result<(), Error> {
        let cannot_write = |e| Error::failed(format!("cannot write the journal: {e}"));
        match effect {
            Effect::Journal { at, event } => {
                if let Some(j) = &mut self.journal {
                    j.append_event(*at, event).map_err(cannot_write)?;
                }
            }
            Effect::Checkpoint(state) => {
                if let Some(j) = &mut self.journal {
                    j.append_checkpoint(self.clock.now(), state)
                        .map_err(cannot_write)?;
                }
            }
            Effect::RunHook {
                id,
                hook,
                vars,
                purpose,
                ..
            } => {
                // The journal's word for it: "enter", "undo", "on_rollback"...
                let name = serde_json::to_value(purpose).ok();
                let name = name.as_ref().and_then(|v| v.as_str()).unwrap_or("hook");
                let context = self.context(name, vars);
                edges::spawn_hook(self.tx.clone(), *id, hook.clone(), vars.clone(), context)
            }
            Effect::Notify { hooks, vars, event } => {
                let context = self.context(event, vars);
                // Forget the ones already sent.
                while self.notifying.try_join_next().is_some() {}
                edges::spawn_notify(
                    &mut self.notifying,
                    self.tx.clone(),
                    hooks.clone(),
                    vars.clone(),
                    event.clone(),
                    context,
                )
            }
            Effect::WatchGate {
                stage,
                url,
                every_ms,
            } => edges::spawn_gate(self.tx.clone(), self.clock, *stage, url.clone(), *every_ms),
            Effect::Say(_) | Effect::Finished(_) | Effect::Deciding(_) => {}
        }
        Ok(())
    }

    /// What an `http` hook sends: the event, its placeholder values and the
    /// metric values behind it.
    fn context(
        &self,
        event: &str,
        vars: &std::collections::BTreeMap<String, String>,
    ) -> serde_json::Value {
        let mut body = serde_json::json!({ "event": event });
        for (k, v) in vars {
            body[k] = serde_json::Value::String(v.clone());
        }
        let metrics: Vec<_> = self.rollout.tracks.iter().map(|t| t.value()).collect();
        body["metrics"] = serde_json::to_value(metrics).unwrap_or_default();
        // One name per run, kept across a resume: PagerDuty's dedup_key.
        let run = match &self.journal {
            Some(j) => j
                .path()
                .file_stem()
                .map_or_else(String::new, |s| s.to_string_lossy().into_owned()),
            None => format!(
                "{}-{}",
                self.rollout.config.rollout.name,
                self.rollout.state.started_at.unwrap_or_default()
            ),
        };
        body["run"] = serde_json::Value::String(run);
        body
    }
}
