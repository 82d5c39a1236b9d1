//! The files a driver and its followers pass each other, in the rollout's
//! presence area (see `handover`): the offer, the requests and grants, the
//! notes. Each is small, bounded when read, never read through a link.

use std::io::{self, BufRead as _, Read as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::files::{self, Links, Sharing};
use crate::journal::Record;

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

/// What the new driver needs to carry on the same run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grant {
    pub journal: PathBuf,
    /// Absolute: the follower's working dir is not the driver's.
    pub config: PathBuf,
    pub rollout: String,
    pub to: String,
}

/// `<journal>.watchers/<sub>`, made ready; never through a link planted in
/// a dir a team shares.
pub(super) fn area(journal: &Path, sub: &str) -> io::Result<PathBuf> {
    let watchers = journal.with_extension("watchers");
    let dir = watchers.join(sub);
    for d in [&watchers, &dir] {
        files::prepare_dir(d, sharing(journal), Links::Refuse)
            .map_err(|e| unwritable(e, journal))?;
    }
    Ok(dir)
}

/// A follower refused a place in another's journal dir: the dir is shared
/// for following only, and the fix is the driver's config.
fn unwritable(e: io::Error, journal: &Path) -> io::Error {
    if e.kind() != io::ErrorKind::PermissionDenied {
        return e;
    }
    let (read_only, needs) = match sharing(journal) {
        Sharing::Team(_) => return e,
        Sharing::Group(gid) => (
            format!("lets group {} follow, not write", files::group_name(gid)),
            "`group_may = \"drive\"`",
        ),
        Sharing::Owner => (
            "is its owner's alone".to_string(),
            "`group = \"TEAM\"` and `group_may = \"drive\"`",
        ),
    };
    let why = format!(
        "the journal dir {read_only}: notes and taking the wheel need {needs} under [journal] in \
         the driver's config"
    );
    io::Error::new(e.kind(), why)
}

pub(super) fn sharing(journal: &Path) -> Sharing {
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
pub(super) fn me_id() -> String {
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
    let mut file =
        files::create_new(&path, sharing(journal), false).map_err(|e| unwritable(e, journal))?;
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
pub(super) fn asks(journal: &Path) -> Vec<(String, String)> {
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
            .map_err(|e| NoteRefused::Io(unwritable(e, journal).to_string()))?;
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
pub(super) fn collect_notes(journal: &Path) -> Vec<(String, String)> {
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
pub(super) fn config_of(journal: &Path) -> Option<PathBuf> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
