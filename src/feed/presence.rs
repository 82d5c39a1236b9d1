//! Followers announce themselves beside the journal, a file each, so the
//! driver (and the other followers) can show who is watching.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::write_atomically;
use crate::files::{self, Links, Sharing};

/// A follower's file holds a name.
const PRESENCE_LIMIT: u64 = 4 << 10;

/// How often a follower touches its file, and the age at which a file
/// means its follower went without saying so (kill -9, a dropped link).
const PRESENCE_REFRESH: Duration = Duration::from_secs(2);
pub(super) const PRESENCE_STALE: Duration = Duration::from_secs(10);

pub(super) fn presence_dir(journal: &Path) -> PathBuf {
    journal.with_extension("watchers")
}

/// Who follows `journal` now, sorted.
pub fn watchers(journal: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(presence_dir(journal)) else {
        return vec![];
    };
    let fresh = |p: &Path| {
        std::fs::symlink_metadata(p)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age < PRESENCE_STALE)
    };
    let mut who: Vec<String> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_none_or(|x| x != "tmp") && fresh(p))
        .filter_map(|p| files::read_capped(&p, PRESENCE_LIMIT, Links::Refuse).ok())
        .filter_map(|bytes| String::from_utf8(bytes).ok())
        .map(|w| w.trim().to_string())
        .filter(|w| !w.is_empty())
        .collect();
    who.sort();
    who
}

/// A follower's presence: its file, refreshed while it watches and
/// removed when it leaves.
pub struct Presence {
    pub(super) path: PathBuf,
    who: String,
    refreshed: Instant,
}

impl Presence {
    /// `None` when the journal dir is not writable: watching still works,
    /// the driver just does not see this follower.
    pub fn announce(journal: &Path, who: &str) -> Option<Presence> {
        let dir = presence_dir(journal);
        let sharing = Sharing::of_dir(journal.parent().unwrap_or(Path::new(".")));
        files::prepare_dir(&dir, sharing, Links::Refuse).ok()?;
        let name = format!("{}-{}", crate::clock::host_name(), std::process::id());
        let presence = Presence {
            path: dir.join(name),
            who: who.to_string(),
            refreshed: Instant::now(),
        };
        write_atomically(&presence.path, who.as_bytes()).ok()?;
        Some(presence)
    }

    pub fn refresh(&mut self) {
        if self.refreshed.elapsed() >= PRESENCE_REFRESH {
            self.refreshed = Instant::now();
            let _ = write_atomically(&self.path, self.who.as_bytes());
        }
    }
}

impl Drop for Presence {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
