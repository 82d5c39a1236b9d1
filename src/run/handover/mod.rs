//! Handing the wheel to a follower, and followers' notes.
//!
//! Both travel as small files in the rollout's presence area beside its
//! journal (`<journal>.watchers/`, where followers already announce
//! themselves), in subdirs the presence scan skips:
//! - `wheel/offer`: the driver's offer, a name or `*` for whoever takes it,
//!   replaced whole; removed when withdrawn or taken.
//! - `wheel/take-<host>-<pid>`: a follower asks for the wheel. The driver,
//!   at a safe point, journals the change of driver, answers with
//!   `wheel/granted-<host>-<pid>` (what the follower needs to carry on) and
//!   lets go; the follower then runs `cockpit run --resume` in its place.
//! - `notes/<host>-<pid>-<n>`: a follower's note, created exclusively and
//!   never through a link; the driver journals it under the follower's name
//!   and removes it at its next poll.
//!
//! No port and no new credential: whoever may write in the journal dir may
//! follow, note and take over. What a follower writes is bounded (a name, a
//! line of text) and carries no control characters to a screen.

mod channel;

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use channel::{
    Ask, Grant, NOTE_CHARS, NOTE_EVERY, NoteRefused, Notes, Offer, ask, offer, offered,
};
use channel::{area, asks, collect_notes, config_of, sharing};

use super::{Session, View};
use crate::error::Error;
use crate::files;
use crate::journal::DriverChange;
use crate::rollout::{Actor, Command, Input};

/// The driver's side: the standing offer, and to whom the wheel went.
#[derive(Debug, Default)]
pub struct Wheel {
    pub offer: Option<Offer>,
    pub handed_to: Option<String>,
}

impl Session {
    /// Between two inputs: followers' notes journalled, and the wheel
    /// handed over when asked at a safe point (`Some`: the journal of the
    /// run handed over; the session ends).
    pub(super) fn followers(
        &mut self,
        view: &mut dyn View,
    ) -> Result<Option<PathBuf>, crate::error::Error> {
        let Some(path) = self.journal.as_ref().map(|j| j.path().to_path_buf()) else {
            return Ok(None);
        };
        for (who, text) in collect_notes(&path) {
            let command = Command::Note { text };
            let actor = Actor::Operator(who);
            self.apply(Input::Command { actor, command }, view)?;
        }
        self.hand_over_if_asked(&path, view)
    }

    /// The driver's screen made (or withdrew) an offer.
    pub(super) fn offer_wheel(&mut self, to: Option<Offer>) {
        if let Some(j) = &self.journal {
            // A follower that cannot see the offer cannot take it; the
            // rollout carries on either way. A drill's is never shown.
            let shown = to.as_ref().filter(|_| config_of(j.path()).is_some());
            let _ = offer(j.path(), shown);
        }
        self.wheel.offer = to;
    }

    fn hand_over_if_asked(
        &mut self,
        path: &Path,
        view: &mut dyn View,
    ) -> Result<Option<PathBuf>, crate::error::Error> {
        let Some(offer) = self.wheel.offer.clone() else {
            return Ok(None);
        };
        let Some((id, to)) = asks(path).into_iter().find(|(_, who)| offer.allows(who)) else {
            return Ok(None);
        };
        // A safe point: no hook whose outcome the new driver would have to
        // guess, no question half answered on this screen.
        let r = &self.rollout;
        if r.state.running.is_some() || view.busy() || r.is_finished() {
            return Ok(None);
        }
        let Some(config) = config_of(path) else {
            return Ok(None);
        };
        let from = self.driver();
        let why = match offer {
            Offer::Anyone => format!("offered to whoever takes it; {to} took it"),
            Offer::To(_) => format!("offered to {to}, who took it"),
        };
        let change = DriverChange {
            at: self.clock.now(),
            from,
            to: to.clone(),
            why,
        };
        let fail =
            |e: io::Error| crate::error::Error::failed(format!("cannot hand over the wheel: {e}"));
        if let Some(j) = &mut self.journal {
            j.append_driver(&change).map_err(fail)?;
        }
        let grant = Grant {
            journal: path.to_path_buf(),
            config,
            rollout: self.rollout.config.rollout.name.clone(),
            to: to.clone(),
        };
        let answer = area(path, "wheel")
            .map_err(fail)?
            .join(format!("granted-{id}"));
        let text = serde_json::to_vec(&grant).map_err(|e| fail(io::Error::other(e)))?;
        files::replace(&answer, &text, sharing(path)).map_err(fail)?;
        self.offer_wheel(None);
        self.wheel.handed_to = Some(to);
        Ok(Some(path.to_path_buf()))
    }

    /// Who drives now, as the header names them.
    pub(super) fn driver(&self) -> String {
        if self.rollout.state.operator.is_empty() {
            crate::clock::operator().0
        } else {
            self.rollout.state.operator.clone()
        }
    }
}

/// The old driver's process, the lock released, follows the same rollout.
pub fn follow_instead(journal: &Path) -> Result<i32, Error> {
    let mut cockpit = cockpit();
    cockpit.arg("watch").arg(journal);
    Err(exec(cockpit))
}

/// The new driver: once the old one has let go of the lock (it does right
/// after granting), carries the run on from its journal.
pub fn drive_instead(grant: &Grant) -> Result<i32, Error> {
    let dir = grant.journal.parent().unwrap_or(Path::new("."));
    let me = crate::journal::lock::Holder::me(&grant.to, 0);
    // Bounded: the old driver lets go within a moment of granting.
    for _ in 0..200 {
        match crate::journal::lock::Lock::acquire(dir, &grant.rollout, &me) {
            Ok(lock) => {
                // `run` takes it again at once; between the two, only
                // another `run --resume` of the same run could get in.
                drop(lock);
                break;
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    let mut cockpit = cockpit();
    cockpit
        .arg("run")
        .arg("--resume")
        .arg("--config")
        .arg(&grant.config);
    cockpit.arg("--operator").arg(&grant.to);
    Err(exec(cockpit))
}

fn cockpit() -> std::process::Command {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("cockpit"));
    std::process::Command::new(exe)
}

/// Replaces this process (the same terminal, the same pid); returns only
/// when that failed, with what to tell the user.
fn exec(mut command: std::process::Command) -> Error {
    use std::os::unix::process::CommandExt as _;
    let e = command.exec();
    Error::failed(format!("cannot carry on after the hand-over: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollout::{At, Effect, Rollout};
    use crate::run::Control;

    /// A screen that is (or is not) in the middle of a question.
    struct Asking(bool);

    impl View for Asking {
        fn effect(&mut self, _: &Rollout, _: &Effect) {}
        fn line(&mut self, _: &str) {}
        fn key(
            &mut self,
            _: &Rollout,
            _: crossterm::event::KeyEvent,
            _: At,
        ) -> (Vec<Input>, Control) {
            (vec![], Control::Continue)
        }
        fn render(&mut self, _: &Rollout, _: At) {}
        fn stuck(&mut self, _: &Rollout) -> Option<i32> {
            None
        }
        fn exits_on_outcome(&self) -> bool {
            false
        }
        fn busy(&self) -> bool {
            self.0
        }
    }

    fn session(dir: &Path) -> Session {
        let config_path = dir.join("cockpit.toml");
        std::fs::write(&config_path, crate::config::MINIMAL).unwrap();
        let config = crate::config::parse(&config_path, crate::config::MINIMAL).unwrap();
        let header = crate::journal::Header {
            rollout: config.rollout.name.clone(),
            config_path: config_path.display().to_string(),
            config_hash: String::new(),
            operator: "ana@box".into(),
            ssh_connection: None,
            drill: false,
            started_at: 0,
        };
        let journal = crate::journal::Journal::create(&dir.join("journal"), header).unwrap();
        Session::new(config, crate::clock::Clock::new(1.0), Some(journal))
    }

    #[test]
    fn the_wheel_changes_hands_only_when_offered_to_the_asker_and_at_a_safe_point() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = session(dir.path());
        let journal = s.journal.as_ref().unwrap().path().to_path_buf();
        let asked = ask(&journal, "bob@box").unwrap();
        Notes::default()
            .send(&journal, "bob@box", "p95 creeping up")
            .unwrap();
        assert_eq!(s.followers(&mut Asking(false)), Ok(None), "not offered");
        s.offer_wheel(Some(Offer::To("carol@box".into())));
        assert_eq!(s.followers(&mut Asking(false)), Ok(None), "not to bob");
        s.offer_wheel(Some(Offer::Anyone));
        assert_eq!(
            s.followers(&mut Asking(true)),
            Ok(None),
            "a question is open"
        );
        assert!(asked.granted().is_none());
        assert_eq!(
            s.followers(&mut Asking(false)),
            Ok(Some(journal.clone())),
            "handed over"
        );

        let grant = asked.granted().expect("granted");
        assert_eq!(grant.to, "bob@box");
        assert!(grant.config.is_absolute());
        assert_eq!(offered(&journal), None, "the offer is over");
        let read = crate::journal::read(&journal).unwrap();
        let whos: Vec<_> = read.drivers().into_iter().map(|d| d.who).collect();
        assert_eq!(whos, ["ana@box", "bob@box"]);
        let noted = read.events().any(|(_, e)| {
            *e == crate::rollout::Event::Note {
                by: Actor::Operator("bob@box".into()),
                text: "p95 creeping up".into(),
            }
        });
        assert!(noted, "the note is journalled under the follower's name");
        assert!(s.ending().contains("handed the wheel to bob@box"));
    }
}
