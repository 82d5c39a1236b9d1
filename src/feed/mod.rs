//! The live feed: what the driving cockpit shows, published beside its
//! journal so a second engineer can follow the rollout with `cockpit watch`,
//! on the same host (`publish`, `follow`, `presence`) or from a laptop over
//! SSH (`wire` for the compact stream, `ssh` for the connection).
//!
//! The journal is the record; this is the view. It is rewritten whole (a
//! temporary file renamed over it, so a reader never sees half of one) at
//! most four times a second, at least once a second while the session runs,
//! and once more when it ends, saying how. It carries no secrets: the
//! config names the environment variables that hold them, never the values.

mod follow;
pub mod glance;
mod presence;
mod publish;
pub mod ssh;
pub mod wire;

use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::files::{self, Links, Sharing};
use crate::rollout::track::Track;
use crate::rollout::{At, State};

pub use follow::Follower;
pub use presence::{Presence, watchers};
pub use publish::Feed;

pub const FORMAT: u32 = 1;
/// The driver writes at least once a second; this long without a word and
/// it may be gone (a dropped connection, kill -9).
pub const SILENT_AFTER_MS: u64 = 5_000;
/// Far more than a feed holds (a few tens of kilobytes); a reader stops there.
const FEED_LIMIT: u64 = 16 << 20;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Live {
    pub v: u32,
    pub driver: String,
    pub ssh: bool,
    pub pid: u32,
    /// Real time of this write, Unix ms: how a follower tells a silent driver.
    pub written: u64,
    /// This driver process's writes so far: two writes may share a
    /// millisecond (the last word follows at once), never a number.
    pub serial: u64,
    /// The session's clock at this write (a drill's runs faster than real time).
    pub now: At,
    pub speed: f64,
    pub journal: PathBuf,
    pub config: Config,
    pub state: State,
    pub tracks: Vec<Track>,
    /// The end of the driver's log pane, oldest first.
    pub log: Vec<LogLine>,
    /// Lines logged since the session began, so a follower adds only new ones.
    pub logged: u64,
    /// How the session ended, once it has.
    pub ended: Option<String>,
    /// Who follows it now, as the driver sees it.
    #[serde(default)]
    pub watchers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    pub at: At,
    pub level: Severity,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warn,
    Error,
}

impl Severity {
    fn of(level: log::Level) -> Severity {
        match level {
            log::Level::Error => Severity::Error,
            log::Level::Warn => Severity::Warn,
            _ => Severity::Info,
        }
    }

    pub fn level(self) -> log::Level {
        match self {
            Severity::Error => log::Level::Error,
            Severity::Warn => log::Level::Warn,
            Severity::Info => log::Level::Info,
        }
    }
}

/// `checkout-20261123T140000.000Z.jsonl` -> `checkout-20261123T140000.000Z.live.json`.
pub fn path_for(journal: &Path) -> PathBuf {
    journal.with_extension("live.json")
}

/// Real time now, Unix ms.
pub fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Replaces `path` whole: a reader sees the old file or the new one, never
/// half. Shared like the journal beside it (0600, or 0640 for `[journal]
/// group`, 0660 when that group may drive): it names the operator and the
/// config. `tempfile` creates its file with `O_CREAT | O_EXCL`, which never
/// opens through a link planted at its (random) name, and the rename
/// replaces a link planted at `path` rather than writing through it: the
/// guarantee `files::create_new` gives.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let sharing = Sharing::of_dir(dir);
    let mut tmp = tempfile::Builder::new()
        .prefix(".feed-")
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(sharing.file_mode()))
        .tempfile_in(dir)?;
    // The mode given at creation passes through the umask; this one does not.
    sharing.apply(tmp.as_file(), sharing.file_mode())?;
    tmp.write_all(bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

pub fn read(path: &Path) -> Result<Live, String> {
    let bytes = files::read_capped(path, FEED_LIMIT, Links::Refuse)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let live: Live = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{} is not a cockpit live feed: {e}", path.display()))?;
    if live.v != FORMAT {
        return Err(format!(
            "{} is live-feed format {}; this cockpit reads format {FORMAT}",
            path.display(),
            live.v
        ));
    }
    Ok(live)
}

/// Every live feed in `dir` (one per session), `rollout` narrowing it to
/// one rollout's, each with its modification time.
pub fn feeds(dir: &Path, rollout: Option<&str>) -> Vec<(SystemTime, PathBuf)> {
    let prefix = rollout.map(|r| format!("{}-", crate::journal::slug(r)));
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![];
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.ends_with(".live.json") && prefix.as_ref().is_none_or(|x| name.starts_with(x))
        })
        .filter_map(|p| {
            let modified = std::fs::symlink_metadata(&p)
                .and_then(|m| m.modified())
                .ok()?;
            Some((modified, p))
        })
        .collect()
}

/// The feed to follow in `dir`: the newest one still running, else the
/// newest that ended. `rollout` narrows it to one rollout's feeds.
pub fn newest(dir: &Path, rollout: Option<&str>) -> Option<PathBuf> {
    let mut feeds: Vec<(bool, SystemTime, PathBuf)> = feeds(dir, rollout)
        .into_iter()
        .map(|(modified, p)| (read(&p).is_ok_and(|l| l.ended.is_none()), modified, p))
        .collect();
    feeds.sort();
    feeds.pop().map(|(_, _, p)| p)
}

/// What a follower shows beside the driver's screen: the driver's clock
/// carried forward between writes, and whether the driver has gone quiet.
pub fn follow_now(live: &Live, wall: u64) -> (At, Option<u64>) {
    let since = wall.saturating_sub(live.written);
    let silent = (live.ended.is_none() && since > SILENT_AFTER_MS).then_some(since);
    // Carried forward at most until the driver counts as silent: a clock
    // that runs on for a dead driver would look like a live rollout.
    let ahead = since.min(SILENT_AFTER_MS) as f64 * live.speed;
    let now = if live.ended.is_some() {
        live.now
    } else {
        live.now + ahead as At
    };
    (now, silent)
}

#[cfg(test)]
mod tests;
