//! One driver per rollout: a lock file beside the journals naming who
//! drives. A lock whose process is gone (same host, pid dead) is stale and
//! taken over with a warning.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

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

    /// Whether the holder certainly no longer runs: same host, pid gone.
    fn is_gone(&self) -> bool {
        self.host == host_name() && !pid_alive(self.pid)
    }
}

/// Held while this process drives the rollout; removed on drop.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
    pid: u32,
}

impl Lock {
    /// Takes the lock for `rollout` in `dir`. `Ok` carries a warning when a
    /// stale lock was taken over; `Err` names who drives and what to do.
    pub fn acquire(
        dir: &Path,
        rollout: &str,
        me: &Holder,
    ) -> Result<(Lock, Option<String>), String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the journal dir {}: {e}", dir.display()))?;
        let path = dir.join(format!("{}.lock", super::slug(rollout)));
        let lock = Lock {
            path: path.clone(),
            pid: me.pid,
        };
        if place(&path, me)? {
            return Ok((lock, None));
        }
        let holder = read_holder(&path);
        let stale = match &holder {
            Some(h) if h.is_gone() => format!("{} is gone", h.describe()),
            Some(h) => return Err(held_message(rollout, h, &path)),
            // Unreadable: a lock written by a process killed mid-write.
            None => "its content is unreadable".to_string(),
        };
        let _ = std::fs::remove_file(&path);
        if place(&path, me)? {
            let warning = format!("took over the stale lock {} ({stale})", path.display());
            return Ok((lock, Some(warning)));
        }
        // Someone else took it over in between.
        match read_holder(&path) {
            Some(h) => Err(held_message(rollout, &h, &path)),
            None => Err(format!("cannot take the lock {}", path.display())),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Only remove a lock that is still ours.
        if read_holder(&self.path).is_some_and(|h| h.pid == self.pid && h.host == host_name()) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn held_message(rollout: &str, holder: &Holder, path: &Path) -> String {
    format!(
        "rollout {rollout} is driven by {}; one driver per rollout: ask them, or wait until \
         they finish. If that cockpit is certainly gone (another host, a reused pid), \
         remove {} and run again.",
        holder.describe(),
        path.display()
    )
}

/// Writes the holder to a temp file and links it into place: the lock
/// appears whole or not at all. `Ok(false)` when a lock already exists.
fn place(path: &Path, me: &Holder) -> Result<bool, String> {
    let tmp = path.with_extension(format!("lock.{}", me.pid));
    let text = serde_json::to_string(me).map_err(|e| e.to_string())?;
    std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(format!("cannot take the lock {}: {e}", path.display())),
    }
}

fn read_holder(path: &Path) -> Option<Holder> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // Signal 0 checks existence; EPERM means it exists under another user.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
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
        let err = Lock::acquire(dir.path(), "checkout 2.0", &Holder::me("bob", 0)).unwrap_err();
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
        let (_lock, warning) = Lock::acquire(dir.path(), "checkout 2.0", &me).unwrap();
        assert!(warning.unwrap().contains("stale lock"));
    }
}
