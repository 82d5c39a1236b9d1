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

use std::io::{self, BufRead as _, Read as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{Session, View};
use crate::files::{self, Links, Sharing};
use crate::journal::{DriverChange, Record};
use crate::rollout::{Actor, Command, Input};

/// A note is a line of the incident log, not a document.
pub const NOTE_CHARS: usize = 500;
/// Bytes read of any file a follower wrote.
const FILE_LIMIT: u64 = 4 << 10;
/// Notes journalled per poll; more wait for the next one.
const NOTES_PER_POLL: usize = 5;
/// A follower's notes at most this often: a stuck key cannot flood the log.
pub const NOTE_EVERY: Duration = Duration::from_secs(2);

/// To whom the driver offers the wheel.
#[derive(Debug, Clone, PartialEq)]
pub enum Offer {
    Anyone,
    To(String),
}

impl Offer {
    pub fn allows(&self, who: &str) -> bool {
        match self {
            Offer::Anyone => true,
            Offer::To(name) => name == who,
        }
    }

    fn text(&self) -> &str {
        match self {
            Offer::Anyone => "*",
            Offer::To(name) => name,
        }
    }

    fn parse(text: &str) -> Option<Offer> {
        match clean(text, 200).as_str() {
            "" => None,
            "*" => Some(Offer::Anyone),
            name => Some(Offer::To(name.to_string())),
        }
    }
}

/// The driver's side: the standing offer, and to whom the wheel went.
#[derive(Debug, Default)]
pub struct Wheel {
    pub offer: Option<Offer>,
    pub handed_to: Option<String>,
}

/// What the new driver needs to carry on the same run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grant {
    pub journal: PathBuf,
    /// Absolute: the follower's working dir is not the driver's.
    pub config: PathBuf,
    pub rollout: String,
    pub to: String,
}

fn area(journal: &Path, sub: &str) -> io::Result<PathBuf> {
    let dir = journal.with_extension("watchers").join(sub);
    files::prepare_dir(&dir, sharing(journal))?;
    Ok(dir)
}

fn sharing(journal: &Path) -> Sharing {
    Sharing::of_dir(journal.parent().unwrap_or(Path::new(".")))
}

/// One line of printable text, at most `chars` long.
fn clean(text: &str, chars: usize) -> String {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(chars)
        .collect();
    line.trim().to_string()
}

fn read_small(path: &Path) -> Option<String> {
    let bytes = files::read_capped(path, FILE_LIMIT, Links::Refuse).ok()?;
    String::from_utf8(bytes).ok()
}

/// "<host>-<pid>": this process, among followers on several hosts.
fn me_id() -> String {
    format!("{}-{}", crate::clock::host_name(), std::process::id())
}

/// The driver stands by `offer` (or withdraws it with `None`).
pub fn offer(journal: &Path, offer: Option<&Offer>) -> io::Result<()> {
    let path = area(journal, "wheel")?.join("offer");
    match offer {
        Some(o) => files::replace(&path, o.text().as_bytes(), sharing(journal)),
        None => match std::fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        },
    }
}

/// The offer standing for `journal`, as a follower reads it.
pub fn offered(journal: &Path) -> Option<Offer> {
    let path = journal.with_extension("watchers").join("wheel/offer");
    Offer::parse(&read_small(&path)?)
}

/// A follower's request for the wheel, answered by a grant.
#[derive(Debug)]
pub struct Ask {
    id: String,
    journal: PathBuf,
}

/// Asks for the wheel as `who`.
pub fn ask(journal: &Path, who: &str) -> io::Result<Ask> {
    let dir = area(journal, "wheel")?;
    let id = me_id();
    let path = dir.join(format!("take-{id}"));
    let _ = std::fs::remove_file(&path);
    let mut file = files::create_new(&path, sharing(journal), false)?;
    io::Write::write_all(&mut file, who.as_bytes())?;
    Ok(Ask {
        id,
        journal: journal.to_path_buf(),
    })
}

impl Ask {
    /// The driver's answer, once it has let go.
    pub fn granted(&self) -> Option<Grant> {
        let path = self
            .journal
            .with_extension("watchers")
            .join(format!("wheel/granted-{}", self.id));
        let grant = serde_json::from_str(&read_small(&path)?).ok()?;
        let _ = std::fs::remove_file(path);
        Some(grant)
    }
}

impl Drop for Ask {
    fn drop(&mut self) {
        let wheel = self.journal.with_extension("watchers").join("wheel");
        let _ = std::fs::remove_file(wheel.join(format!("take-{}", self.id)));
    }
}

/// The followers asking for the wheel: (their id, their name), oldest first.
fn asks(journal: &Path) -> Vec<(String, String)> {
    let dir = journal.with_extension("watchers").join("wheel");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![];
    };
    let mut asks: Vec<_> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let id = name.strip_prefix("take-")?.to_string();
            let modified = e.metadata().and_then(|m| m.modified()).ok()?;
            let who = clean(&read_small(&e.path())?, 200);
            (!who.is_empty()).then_some((modified, id, who))
        })
        .collect();
    asks.sort();
    asks.into_iter().map(|(_, id, who)| (id, who)).collect()
}

/// A follower's side of notes: numbered, and no more often than `NOTE_EVERY`.
#[derive(Debug, Default)]
pub struct Notes {
    sent: Option<Instant>,
    count: u64,
}

impl Notes {
    /// Leaves `text` for the driver to journal under `who`'s name.
    pub fn send(&mut self, journal: &Path, who: &str, text: &str) -> Result<(), NoteRefused> {
        if self.sent.is_some_and(|t| t.elapsed() < NOTE_EVERY) {
            return Err(NoteRefused::TooSoon);
        }
        let note = serde_json::json!({ "by": who, "text": clean(text, NOTE_CHARS) });
        let dir = area(journal, "notes").map_err(|e| NoteRefused::Io(e.to_string()))?;
        self.count += 1;
        // The time too: a follower started again gets the same pid's count anew.
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path = dir.join(format!("{}-{stamp}-{}", me_id(), self.count));
        let mut file = files::create_new(&path, sharing(journal), false)
            .map_err(|e| NoteRefused::Io(e.to_string()))?;
        io::Write::write_all(&mut file, note.to_string().as_bytes())
            .map_err(|e| NoteRefused::Io(e.to_string()))?;
        self.sent = Some(Instant::now());
        Ok(())
    }
}

/// Why a follower's note was not left.
#[derive(Debug, Clone, PartialEq)]
pub enum NoteRefused {
    TooSoon,
    Io(String),
}

#[derive(Deserialize)]
struct NoteFile {
    by: String,
    text: String,
}

/// Followers' notes waiting for the driver, oldest first, each removed as
/// it is taken: (who, text).
fn collect_notes(journal: &Path) -> Vec<(String, String)> {
    let dir = journal.with_extension("watchers").join("notes");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![];
    };
    let mut waiting: Vec<_> = entries
        .flatten()
        .filter_map(|e| Some((e.metadata().and_then(|m| m.modified()).ok()?, e.path())))
        .collect();
    waiting.sort();
    waiting
        .into_iter()
        .take(NOTES_PER_POLL)
        .filter_map(|(_, path)| {
            let text = read_small(&path);
            // Taken or not, a file is read once: a bad one is not retried.
            let _ = std::fs::remove_file(&path);
            let note: NoteFile = serde_json::from_str(&text?).ok()?;
            let (by, text) = (clean(&note.by, 200), clean(&note.text, NOTE_CHARS));
            (!by.is_empty() && !text.is_empty()).then_some((by, text))
        })
        .collect()
}

/// The config path the journal's header names, made absolute from here
/// (the driver's working dir); `None` for a drill, which `run --resume`
/// cannot carry on (its trainee is scored alone).
fn config_of(journal: &Path) -> Option<PathBuf> {
    let file = files::open_regular(journal, Links::Refuse).ok()?;
    let mut line = String::new();
    io::BufReader::new(file.take(crate::journal::LINE_LIMIT as u64))
        .read_line(&mut line)
        .ok()?;
    match serde_json::from_str(&line).ok()? {
        Record::Header { header, .. } if !header.drill => {
            std::fs::canonicalize(header.config_path).ok()
        }
        _ => None,
    }
}

/// The journal of the run this process handed over, for the caller that
/// started the session: `drive` returns an exit code to many callers, and
/// only `run` turns into a follower afterwards.
static HANDED: Mutex<Option<PathBuf>> = Mutex::new(None);
/// The grant this process's follower received, for `watch` to act on.
static TAKEN: Mutex<Option<Grant>> = Mutex::new(None);

pub fn handed_over() -> Option<PathBuf> {
    HANDED.lock().ok()?.take()
}

pub fn taken() -> Option<Grant> {
    TAKEN.lock().ok()?.take()
}

/// A follower received the wheel: `watch` carries on as its driver.
pub fn take(grant: Grant) {
    if let Ok(mut slot) = TAKEN.lock() {
        *slot = Some(grant);
    }
}

impl Session {
    /// Between two inputs: followers' notes journalled, and the wheel
    /// handed over when asked at a safe point (`Some`: the session ends).
    pub(super) fn followers(&mut self, view: &mut dyn View) -> Result<Option<i32>, String> {
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
    ) -> Result<Option<i32>, String> {
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
        let fail = |e: io::Error| format!("cannot hand over the wheel: {e}");
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
        if let Ok(mut slot) = HANDED.lock() {
            *slot = Some(path.to_path_buf());
        }
        Ok(Some(crate::exit::of_outcome(None)))
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
pub fn follow_instead(journal: &Path) -> i32 {
    let mut cockpit = cockpit();
    cockpit.arg("watch").arg(journal);
    exec(cockpit)
}

/// The new driver: once the old one has let go of the lock (it does right
/// after granting), carries the run on from its journal.
pub fn drive_instead(grant: &Grant) -> i32 {
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
    exec(cockpit)
}

fn cockpit() -> std::process::Command {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("cockpit"));
    std::process::Command::new(exe)
}

/// Replaces this process (the same terminal, the same pid); returns only
/// when that failed.
fn exec(mut command: std::process::Command) -> i32 {
    use std::os::unix::process::CommandExt as _;
    let e = command.exec();
    eprintln!("error: cannot carry on after the hand-over: {e}");
    crate::exit::ERROR
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
        fn render(&mut self, _: &Rollout, _: At, _: bool) {}
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
        assert!(s.followers(&mut Asking(false)).unwrap().is_some());

        let grant = asked.granted().expect("granted");
        assert_eq!(grant.to, "bob@box");
        assert!(grant.config.is_absolute());
        assert_eq!(handed_over(), Some(journal.clone()));
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

    #[test]
    fn a_followers_note_reaches_the_driver_once_cleaned_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("checkout-x.jsonl");
        let mut notes = Notes::default();
        notes
            .send(&journal, "bob@box", "canary p95 \x1b[2Jlooks odd")
            .unwrap();
        assert_eq!(
            notes.send(&journal, "bob@box", "again"),
            Err(NoteRefused::TooSoon)
        );
        let long = "x".repeat(NOTE_CHARS * 2);
        Notes::default().send(&journal, "carol", &long).unwrap();
        let got = collect_notes(&journal);
        assert_eq!(
            got[0],
            ("bob@box".into(), "canary p95  [2Jlooks odd".into())
        );
        assert_eq!(got[1].1.chars().count(), NOTE_CHARS);
        assert!(
            collect_notes(&journal).is_empty(),
            "each note is taken once"
        );
    }

    #[test]
    fn an_offer_to_one_follower_is_not_anyones() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("checkout-x.jsonl");
        assert_eq!(offered(&journal), None);
        offer(&journal, Some(&Offer::To("bob@box".into()))).unwrap();
        let standing = offered(&journal).unwrap();
        assert!(standing.allows("bob@box") && !standing.allows("eve@box"));
        offer(&journal, Some(&Offer::Anyone)).unwrap();
        assert_eq!(offered(&journal), Some(Offer::Anyone));
        offer(&journal, None).unwrap();
        assert_eq!(offered(&journal), None);
        let asked = ask(&journal, "bob@box").unwrap();
        assert_eq!(asks(&journal), [(me_id(), "bob@box".to_string())]);
        assert!(asked.granted().is_none());
        drop(asked);
        assert!(
            asks(&journal).is_empty(),
            "a follower that leaves withdraws"
        );
    }
}
