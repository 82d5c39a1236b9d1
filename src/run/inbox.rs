//! What the edges send, on its way into the core: secrets scrubbed first,
//! then each message turned into the core's input (or journalled, shown,
//! or the end of the session).

use super::{Control, Msg, Session, View};
use crate::error::Error;
use crate::exit;
use crate::rollout::{Effect, Group, Input, Sample};

/// What one message from the edges leads to.
pub(super) enum Step {
    /// Carry on, with this input for the core (if any).
    Go(Option<Input>),
    /// The session ends with this exit code (a quit, a signal).
    End(i32),
}

impl Session {
    /// The edge's message with every secret scrubbed from the words that
    /// came from outside: reasons, details, hook output and summaries.
    pub(super) fn redacted(&self, msg: Msg) -> Msg {
        let s = &self.secrets;
        match msg {
            Msg::Samples(samples) => Msg::Samples(
                samples
                    .into_iter()
                    .map(|(m, g, r)| (m, g, s.reading(r)))
                    .collect(),
            ),
            Msg::HookDone {
                id,
                ok,
                summary,
                label,
                tail,
            } => Msg::HookDone {
                id,
                ok,
                summary: s.redact(&summary),
                label: s.redact(&label),
                tail: tail.iter().map(|l| s.redact(l)).collect(),
            },
            Msg::Line(text) => Msg::Line(s.redact(&text)),
            Msg::Warnings(list) => Msg::Warnings(
                list.into_iter()
                    .map(|w| crate::metrics::Warning {
                        text: s.redact(&w.text),
                        ..w
                    })
                    .collect(),
            ),
            Msg::Journal(event) => Msg::Journal(self.redacted_event(event)),
            Msg::Stop(why) => Msg::Stop(s.redact(&why)),
            other @ (Msg::History(_) | Msg::GateOpen(_) | Msg::Key(_) | Msg::Redraw) => other,
        }
    }

    /// Every string of an event scrubbed, through its JSON form.
    pub(super) fn redacted_event(&self, event: crate::rollout::Event) -> crate::rollout::Event {
        if self.secrets.is_empty() {
            return event;
        }
        serde_json::to_value(&event)
            .ok()
            .and_then(|v| serde_json::from_value(self.secrets.json(v)).ok())
            // Our own type always makes the round trip; were it not to,
            // the event is dropped rather than shown unscrubbed.
            .unwrap_or(crate::rollout::Event::Note {
                by: crate::rollout::Actor::Policy,
                text: "an event could not be scrubbed of secrets and is not shown".into(),
            })
    }

    /// New or changed Prometheus warnings, journalled (and so shown and
    /// published) once each.
    fn warnings(
        &mut self,
        list: Vec<crate::metrics::Warning>,
        view: &mut dyn View,
    ) -> Result<(), Error> {
        // In the order they came, one entry per metric and group.
        let mut texts: Vec<((usize, Group), Vec<String>)> = Vec::new();
        for w in list {
            let key = (w.metric, w.group);
            let at = match texts.iter().position(|(k, _)| *k == key) {
                Some(at) => at,
                None => {
                    texts.push((key, Vec::new()));
                    texts.len() - 1
                }
            };
            if !texts[at].1.contains(&w.text) {
                texts[at].1.push(w.text);
            }
        }
        for ((metric, group), text) in texts {
            let text = text.join("; ");
            if self.warned.get(&(metric, group)) == Some(&text) {
                continue;
            }
            self.warned.insert((metric, group), text.clone());
            let name = self
                .rollout
                .config
                .metrics
                .get(metric)
                .map_or_else(|| format!("metric {metric}"), |m| m.name.clone());
            let effect = Effect::Journal {
                at: self.clock.now(),
                event: crate::rollout::Event::SourceWarning {
                    metric: name,
                    group,
                    text,
                },
            };
            self.carry_out(&effect)?;
            self.show(&effect, view);
        }
        Ok(())
    }

    /// Turns an edge's message into the core's input, or the end of the
    /// session (a quit, a signal); Err when the journal cannot be written.
    /// Long only as one short arm per kind of message, in one place so
    /// what each becomes reads side by side.
    pub(super) fn message(&mut self, msg: Msg, view: &mut dyn View) -> Result<Step, Error> {
        Ok(Step::Go(match msg {
            Msg::Samples(samples) => Some(Input::Poll(
                samples
                    .into_iter()
                    .map(|(metric, group, reading)| Sample {
                        metric,
                        group,
                        reading,
                    })
                    .collect(),
            )),
            Msg::HookDone {
                id,
                ok,
                summary,
                label,
                tail,
            } => {
                self.hook_tail(id, label, tail)?;
                Some(Input::HookDone { id, ok, summary })
            }
            Msg::History(history) => {
                for (metric, points) in history {
                    self.rollout.backfill(metric, &points);
                }
                None
            }
            Msg::Line(text) => {
                view.output(self.clock.now(), &text);
                if let Some(feed) = &mut self.feed {
                    feed.line(self.clock.now(), &text);
                }
                None
            }
            Msg::Warnings(list) => {
                self.warnings(list, view)?;
                None
            }
            Msg::GateOpen(stage) => Some(Input::GateOpened { stage }),
            Msg::Key(key) => {
                let (inputs, control) = view.key(&self.rollout, key, self.clock.now());
                for input in inputs {
                    self.apply(input, view)?;
                }
                if control == Control::Quit {
                    // Quitting never rolls back or promotes: the journal resumes it.
                    return Ok(Step::End(exit::of_outcome(self.rollout.state.outcome)));
                }
                None
            }
            Msg::Redraw => None,
            Msg::Journal(event) => {
                let effect = Effect::Journal {
                    at: self.clock.now(),
                    event,
                };
                self.carry_out(&effect)?;
                self.show(&effect, view);
                None
            }
            Msg::Stop(why) => return Ok(self.stop(why, view)),
        }))
    }

    /// The last lines a finished hook printed, journalled before its end.
    fn hook_tail(&mut self, id: u64, label: String, tail: Vec<String>) -> Result<(), Error> {
        if tail.is_empty() {
            return Ok(());
        }
        let at = self.clock.now();
        let event = crate::rollout::Event::HookOutput { id, label, tail };
        self.carry_out(&Effect::Journal { at, event })
    }

    /// A signal or a dead task: the session ends where the rollout is.
    fn stop(&mut self, why: String, view: &mut dyn View) -> Step {
        view.stopped(&why);
        self.stopped = Some(why);
        Step::End(if self.rollout.is_finished() {
            exit::of_outcome(self.rollout.state.outcome)
        } else {
            exit::ABORTED
        })
    }
}
