//! Handing the wheel over and followers' notes, in the screen's words:
//! what the driver offers with `H`, what a follower sees and does with `T`
//! and `n`. The runtime (`run::handover`) carries them out.

use std::path::{Path, PathBuf};

use super::keys::Action;
use super::screen::Screen;
use crate::rollout::{Command, Input};
use crate::run::Control;
use crate::run::handover::{self, Ask, Grant, NoteRefused, Notes, Offer};

pub(super) fn already_driving() -> String {
    "you drive this rollout: the wheel is yours to offer, not to take".into()
}

impl Screen {
    /// The next offer in turn: whoever watches, each follower by name,
    /// then nobody.
    pub(super) fn offer_next(&mut self) -> (Vec<Input>, Control) {
        let named = |i: usize| self.watchers.get(i).cloned().map(Offer::To);
        let next = match &self.offer {
            None => Some(Offer::Anyone),
            Some(Offer::Anyone) => named(0),
            Some(Offer::To(who)) => {
                let at = self.watchers.iter().position(|w| w == who);
                at.and_then(|i| named(i + 1))
            }
        };
        let key = self.keys.first(Action::HandOver);
        self.flash = Some(match &next {
            Some(Offer::Anyone) => format!(
                "the wheel is offered to whoever watches and takes it; it changes hands at a \
                 safe point ({key}: offer it to a follower by name)"
            ),
            Some(Offer::To(who)) => format!("the wheel is offered to {who} ({key}: next)"),
            None => "the wheel is not offered any more".into(),
        });
        self.offer.clone_from(&next);
        (vec![], Control::Offer(next))
    }
}

/// The driver's header while the wheel is offered.
pub(super) fn standing(offer: Option<&Offer>) -> String {
    match offer {
        None => String::new(),
        Some(Offer::Anyone) => " · wheel offered".into(),
        Some(Offer::To(who)) => format!(" · wheel offered to {who}"),
    }
}

/// A follower's side: the driver's offer seen, the wheel asked for, notes.
pub(super) struct Taking {
    journal: PathBuf,
    me: String,
    asked: Option<Ask>,
    notes: Notes,
    seen: Option<Offer>,
}

impl Taking {
    pub(super) fn new(journal: &Path, me: &str) -> Taking {
        Taking {
            journal: journal.to_path_buf(),
            me: me.to_string(),
            asked: None,
            notes: Notes::default(),
            seen: None,
        }
    }

    /// At each look at the feed: a new offer said once; the grant, once
    /// the driver has let go.
    pub(super) fn look(&mut self, screen: &mut Screen) -> Option<Grant> {
        if let Some(grant) = self.asked.as_ref().and_then(Ask::granted) {
            return Some(grant);
        }
        // Only a driver still at the wheel can hand it over.
        let driving =
            (screen.following.as_ref()).is_some_and(|f| f.ended.is_none() && f.silent_ms.is_none());
        let offer = handover::offered(&self.journal).filter(|_| driving);
        if offer != self.seen && self.asked.is_none() {
            let key = screen.keys.first(Action::TakeOver);
            screen.flash = match &offer {
                Some(o) if o.allows(&self.me) => Some(format!(
                    "{} offers you the wheel: {key} takes it",
                    screen.operator
                )),
                Some(Offer::To(who)) => Some(format!("the wheel is offered to {who}")),
                _ => None,
            };
        }
        self.seen = offer;
        None
    }

    /// What a follower's key asked for: a note to leave, the wheel to take.
    pub(super) fn key(&mut self, screen: &mut Screen, inputs: Vec<Input>, control: &Control) {
        for input in inputs {
            if let Input::Command {
                command: Command::Note { text },
                ..
            } = input
            {
                screen.flash = Some(match self.notes.send(&self.journal, &self.me, &text) {
                    Ok(()) => format!(
                        "note left for {} to journal under your name",
                        screen.operator
                    ),
                    Err(NoteRefused::TooSoon) => "one note every two seconds: not left".into(),
                    Err(NoteRefused::Io(e)) => format!("note not left: {e}"),
                });
            }
        }
        if *control == Control::Take {
            screen.flash = Some(self.take(&screen.operator));
        }
    }

    fn take(&mut self, driver: &str) -> String {
        match handover::offered(&self.journal) {
            Some(o) if o.allows(&self.me) => match handover::ask(&self.journal, &self.me) {
                Ok(ask) => {
                    self.asked = Some(ask);
                    format!(
                        "asked {driver} for the wheel: it changes hands at the next safe point \
                         (no hook running, no question open)"
                    )
                }
                Err(e) => format!("cannot ask for the wheel: {e}"),
            },
            _ => format!("{driver} has not offered you the wheel: ask them to hand it over"),
        }
    }
}

/// Taking the wheel of a rollout followed over SSH means driving it on its
/// host: what the follower's screen says when the wheel is taken there.
pub fn take_over_remote(host: &str) -> String {
    format!("to take the wheel, drive on the host: ssh -t {host} cockpit run --resume")
}
