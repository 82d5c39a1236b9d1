//! One driver per rollout: a lock file beside the journals naming who
//! drives.
//!
//! The lock is the kernel's: `flock` on `<rollout>.lock`, held for as long
//! as the driving process lives. Taking it is one atomic step, and a crash
//! at any moment (kill -9, a power cut, on any host of a shared dir whose
//! file system supports it) releases it, so there is no stale lock to judge
//! and no take-over to race: the file's text only tells the next operator
//! who drives. A file-based scheme (create exclusively, then replace a lock
//! judged stale) needs the judging and the replacing to be one step, which
//! plain files cannot give; and "the pid is gone" misjudges a reused pid.

use std::fs::File;
use std::io::Read as _;
use std::os::unix::fs::{FileExt as _, MetadataExt as _};
use std::os::unix::io::AsRawFd as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use crate::clock::host_name;
use crate::files::{self, Sharing};
use crate::rollout::At;

/// Who holds the lock: what a second operator is told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    pub operator: String,
    pub since: At,
}

impl Holder {
    /// This process, driving as `operator`.
    pub fn me(operator: &str, since: At) -> Holder {
        Holder {
            pid: std::process::id(),
            host: host_name(),
            operator: operator.to_string(),
            since,
        }
    }

    /// `alice@build-7 (pid 4242) since 14:05`
    pub fn describe(&self) -> String {
        let who = if self.operator.contains('@') {
            self.operator.clone()
        } else {
            format!("{}@{}", self.operator, self.host)
        };
        let since = chrono::DateTime::from_timestamp_millis(self.since as i64)
            .map(|t| t.with_timezone(&chrono::Local).format("%H:%M").to_string())
            .unwrap_or_default();
        format!("{who} (pid {}) since {since}", self.pid)
    }
}

/// Why the lock was not taken: another driver holds it (exit 5), or the
/// lock file could not be used (an IO error, exit 1).
#[derive(Debug, Clone, PartialEq)]
pub enum LockError {
    Held(String),
    Io(String),
}

impl std::fmt::Display for LockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockError::Held(m) | LockError::Io(m) => f.write_str(m),
        }
    }
}

/// Held while this process drives the rollout: the flock lives with the
/// open file; the name is removed on drop.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
    file: File,
}

impl Lock {
    /// Takes the lock for `rollout` in `dir`. `Ok` carries a warning when a
    /// lock left by a crash was taken over; `Err` names who drives and what
    /// to do, or what went wrong with the file.
    pub fn acquire(
        dir: &Path,
        rollout: &str,
        me: &Holder,
    ) -> Result<(Lock, Option<String>), LockError> {
        let io = |e: std::io::Error, what: &Path| {
            LockError::Io(format!("cannot use the lock {}: {e}", what.display()))
        };
        let shared = super::ensure_dir(dir).map_err(|e| {
            LockError::Io(format!("cannot use the journal dir {}: {e}", dir.display()))
        })?;
        // A team member taking the wheel takes this very file; a group that
        // only follows has no use for it.
        let sharing = match shared {
            Sharing::Team(_) => shared,
            _ => Sharing::Owner,
        };
        let path = dir.join(format!("{}.lock", super::slug(rollout)));
        // A holder on its way out removes the name: whoever locked the old
        // file then opens the new one. Bounded, for a pathological churn.
        for _ in 0..100 {
            // Not exclusive: a crashed holder's file is reused, since the
            // flock, not the file, is the lock. Never through a link.
            let file = files::open_or_create(&path, sharing).map_err(|e| {
                let denied = e.kind() == std::io::ErrorKind::PermissionDenied;
                match not_for_you(dir, shared).filter(|_| denied) {
                    Some(why) => LockError::Io(why),
                    None => io(e, &path),
                }
            })?;
            // SAFETY: flock on a descriptor this function owns.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
                let e = std::io::Error::last_os_error();
                if e.raw_os_error() != Some(libc::EWOULDBLOCK) {
                    return Err(io(e, &path));
                }
                return Err(LockError::Held(held_message(
                    rollout,
                    read_holder(&path).as_ref(),
                    &path,
                )));
            }
            if !names(&file, &path) {
                continue;
            }
            let lock = Lock { path, file };
            let before = lock.write(me).map_err(|e| io(e, &lock.path))?;
            let warning = before.map(|text| {
                let whose = serde_json::from_str::<Holder>(&text).map_or_else(
                    |_| "its content was unreadable".to_string(),
                    |h| format!("{} is gone", h.describe()),
                );
                format!("took over the stale lock {} ({whose})", lock.path.display())
            });
            return Ok((lock, warning));
        }
        Err(LockError::Io(format!(
            "cannot take the lock {}: it kept being replaced",
            path.display()
        )))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Puts `me` in the file; returns what a crashed holder left there.
    fn write(&self, me: &Holder) -> std::io::Result<Option<String>> {
        let mut bytes = Vec::new();
        (&self.file).take(64 << 10).read_to_end(&mut bytes)?;
        let before = String::from_utf8_lossy(&bytes).into_owned();
        let text = serde_json::to_vec(me).map_err(std::io::Error::other)?;
        self.file.set_len(0)?;
        self.file.write_all_at(&text, 0)?;
        self.file.sync_data()?;
        Ok((!before.trim().is_empty()).then_some(before))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Removed while still locked, so nobody can lock this name in between.
        if names(&self.file, &self.path) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Whether `path` is still the file `file` has open.
fn names(file: &File, path: &Path) -> bool {
    match (file.metadata(), std::fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        _ => false,
    }
}

/// Why someone the journal dir does not let drive was refused the lock:
/// what the dir allows, and what would change it (in the words a refused
/// note or `T` uses). None in a dir that lets them drive, or is theirs.
fn not_for_you(dir: &Path, shared: Sharing) -> Option<String> {
    let (allows, needs) = match shared {
        Sharing::Group(gid) => (
            format!("lets group {} follow, not drive", files::group_name(gid)),
            "`group_may = \"drive\"` under [journal] in its owner's config and in yours (the \
             owner's next cockpit makes the dir 2770)",
        ),
        Sharing::Owner if !owned_by_me(dir) => (
            "is its owner's alone".to_string(),
            "a dir shared with `group = \"TEAM\"` and `group_may = \"drive\"` under [journal]",
        ),
        _ => return None,
    };
    Some(format!(
        "cannot drive here: the journal dir {} {allows}: driving, resuming and taking the wheel \
         need {needs}; until then follow with `cockpit watch`, or use a journal dir of your own",
        dir.display()
    ))
}

/// Whether this process's user owns `dir`.
fn owned_by_me(dir: &Path) -> bool {
    // SAFETY: geteuid has no preconditions.
    std::fs::metadata(dir).is_ok_and(|m| m.uid() == unsafe { libc::geteuid() })
}

fn held_message(rollout: &str, holder: Option<&Holder>, path: &Path) -> String {
    let who = holder.map_or_else(
        || format!("another cockpit (see {})", path.display()),
        Holder::describe,
    );
    format!(
        "rollout {rollout} is driven by {who}; one driver per rollout: ask them, or wait until \
         they finish"
    )
}

/// Who holds the lock. The holder writes it right after locking: a reader
/// that comes in between (and finds the file empty, or still naming a
/// crashed holder) waits a moment for it.
fn read_holder(path: &Path) -> Option<Holder> {
    let mut seen = None;
    for _ in 0..40 {
        let text = files::read_capped(path, 64 << 10, files::Links::Refuse).ok()?;
        if let Ok(holder) = serde_json::from_slice::<Holder>(&text) {
            if !holder.is_gone() {
                return Some(holder);
            }
            seen = Some(holder);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    seen
}

impl Holder {
    /// Whether this names a process gone from this host: a crashed holder's
    /// text, not yet overwritten by whoever holds the lock now.
    fn is_gone(&self) -> bool {
        let Ok(pid) = libc::pid_t::try_from(self.pid) else {
            return true;
        };
        // SAFETY: signal 0 only checks that the process exists; EPERM
        // means it exists under another user.
        let alive = unsafe { libc::kill(pid, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        self.host == host_name() && !alive
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_lock_names_its_holder_and_a_dead_one_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let me = Holder::me("alice@box", 0);
        let (held, warning) = Lock::acquire(dir.path(), "checkout 2.0", &me).unwrap();
        assert_eq!(warning, None);
        let err = Lock::acquire(dir.path(), "checkout 2.0", &Holder::me("bob", 0))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("rollout checkout 2.0 is driven by alice@box (pid "),
            "{err}"
        );
        drop(held);
        assert!(!dir.path().join("checkout-2-0.lock").exists());

        // A lock left by a process that no longer exists on this host.
        let mut dead = Holder::me("carol", 0);
        dead.pid = i32::MAX as u32;
        std::fs::write(
            dir.path().join("checkout-2-0.lock"),
            serde_json::to_string(&dead).unwrap(),
        )
        .unwrap();
        let (lock, warning) = Lock::acquire(dir.path(), "checkout 2.0", &me).unwrap();
        assert!(warning.unwrap().contains("stale lock"));
        drop(lock);

        // Garbage left by a crash (or a disk fault) is taken over too.
        std::fs::write(dir.path().join("checkout-2-0.lock"), b"\xff\xfe{").unwrap();
        let (_lock, warning) = Lock::acquire(dir.path(), "checkout 2.0", &me).unwrap();
        assert!(warning.unwrap().contains("its content was unreadable"));
    }
}
