//! Every process an `exec` hook started, found even when it left the
//! hook's process group, and reaped once it is dead.
//!
//! Why this and not only `kill(-pgid)`: a hook's child may call `setsid`
//! (`setsid sleep 300 &`, every daemonising tool) and leave the group; if
//! its parent then exits it is re-parented to init and no ppid chain
//! leads back to the hook. So:
//!
//! - the cockpit is a child subreaper (`PR_SET_CHILD_SUBREAPER`): orphans
//!   of hooks are re-parented to us instead of init, and stay ours to reap;
//! - every hook runs with `COCKPIT_HOOK_RUN=<our pid>.<n>` in its
//!   environment, which whatever it starts inherits, so a process that
//!   left both the group and the ppid chain (a double fork after `setsid`)
//!   is still known as that hook's. A hook's member is then: below the
//!   hook in a ppid chain, or in the hook's process group, or carrying its
//!   tag; plus everything below those.
//!
//! A cgroup per hook would be tighter, but needs a writable cgroup v2
//! delegation that an operator's SSH session or a CI container rarely
//! has; /proc is always there. What still escapes: a process that clears
//! its environment *and* leaves the group *and* whose parent is gone.
//!
//! Subreaper mode must not disturb tokio, which waits for its children by
//! pid. We only ever reap (`waitpid` by pid) zombies that are our children,
//! were not spawned by us as a hook (tokio waits for those), and belong to
//! a hook: in a hook's process group, or in a session other than ours
//! (tokio and std children started without `setsid` share ours). This
//! runs after every hook and on every SIGCHLD.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, Once};

/// The environment variable that marks a hook's processes.
pub const RUN_TAG: &str = "COCKPIT_HOOK_RUN";

/// Hooks we spawned: those tokio still waits for, and every hook's
/// process group (its leader's pid) while any member is left.
struct Spawned {
    waited: BTreeSet<i32>,
    groups: BTreeSet<i32>,
}

static SPAWNED: Mutex<Spawned> = Mutex::new(Spawned {
    waited: BTreeSet::new(),
    groups: BTreeSet::new(),
});
static RUNS: AtomicU64 = AtomicU64::new(0);
static SUBREAPER: Once = Once::new();

fn spawned() -> MutexGuard<'static, Spawned> {
    SPAWNED.lock().unwrap_or_else(|p| p.into_inner())
}

/// A fresh tag value for one hook run.
pub fn new_tag() -> String {
    let n = RUNS.fetch_add(1, Ordering::Relaxed);
    format!("{}.{n}", std::process::id())
}

/// Makes the cockpit a subreaper, once, and starts reaping hook orphans
/// on SIGCHLD on the current tokio runtime.
fn adopt_orphans() {
    SUBREAPER.call_once(|| {
        // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes an integer flag and
        // only changes who inherits our orphans. Failure (an old kernel)
        // leaves orphans to init: the ppid walk and the tag still work.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async {
                use tokio::signal::unix::{SignalKind, signal};
                let Ok(mut chld) = signal(SignalKind::child()) else {
                    return;
                };
                while chld.recv().await.is_some() {
                    reap();
                }
            });
        }
    });
}

/// Spawns a hook, registered before any sweep can see it exit.
pub fn spawn(cmd: &mut tokio::process::Command) -> std::io::Result<tokio::process::Child> {
    adopt_orphans();
    let mut s = spawned();
    let child = cmd.spawn()?;
    if let Some(pid) = child.id() {
        s.waited.insert(pid as i32);
        s.groups.insert(pid as i32);
    }
    Ok(child)
}

/// tokio has waited for the hook `pid`: it is no longer ours to skip.
pub fn waited(pid: u32) {
    spawned().waited.remove(&(pid as i32));
}

/// One line of /proc/<pid>/stat, the fields we use.
#[derive(Debug, Clone, Copy)]
struct Stat {
    pid: i32,
    zombie: bool,
    ppid: i32,
    pgrp: i32,
    session: i32,
}

fn stat(pid: i32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid pgrp session ...`; comm may hold spaces and ')'.
    let rest = text.rsplit_once(')')?.1;
    let mut f = rest.split_whitespace();
    let state = f.next()?;
    let mut num = || f.next()?.parse::<i32>().ok();
    Some(Stat {
        pid,
        zombie: state == "Z" || state == "X",
        ppid: num()?,
        pgrp: num()?,
        session: num()?,
    })
}

fn processes() -> Vec<Stat> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(stat)
        .collect()
}

fn tagged(pid: i32, tag: &str) -> bool {
    // Readable for our own processes only, which is all a hook can start.
    let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) else {
        return false;
    };
    let wanted = format!("{RUN_TAG}={tag}");
    env.split(|b| *b == 0).any(|kv| kv == wanted.as_bytes())
}

/// The live processes that belong to the hook `leader` run as `tag`.
pub fn members(leader: u32, tag: &str) -> Vec<i32> {
    let leader = leader as i32;
    let all: Vec<Stat> = processes().into_iter().filter(|s| !s.zombie).collect();
    let mut found: BTreeSet<i32> = all
        .iter()
        .filter(|s| s.pid == leader || s.pgrp == leader || tagged(s.pid, tag))
        .map(|s| s.pid)
        .collect();
    // Close under "child of a member": one pass per generation.
    loop {
        let more: Vec<i32> = all
            .iter()
            .filter(|s| !found.contains(&s.pid) && found.contains(&s.ppid))
            .map(|s| s.pid)
            .collect();
        if more.is_empty() {
            break;
        }
        found.extend(more);
    }
    found.remove(&(std::process::id() as i32));
    found.into_iter().collect()
}

/// Sends `sig` to each of `pids`.
pub fn signal(pids: &[i32], sig: libc::c_int) {
    for pid in pids {
        // SAFETY: kill(2) with a positive pid signals that one process.
        unsafe { libc::kill(*pid, sig) };
    }
}

/// Reaps the dead orphans of hooks re-parented to us (see the module
/// comment for which zombies count), and forgets hook groups left empty.
pub fn reap() {
    let me = std::process::id() as i32;
    // SAFETY: getsid(0) reads our own session id.
    let our_session = unsafe { libc::getsid(0) };
    // Locked before reading /proc: a hook spawned meanwhile would otherwise
    // have its group forgotten for not being in an older snapshot.
    let mut s = spawned();
    let all = processes();
    for p in &all {
        let hooks = s.groups.contains(&p.pgrp) || p.session != our_session;
        if p.zombie && p.ppid == me && hooks && !s.waited.contains(&p.pid) {
            let mut status = 0;
            // SAFETY: waitpid on one pid that is our child and a zombie.
            unsafe { libc::waitpid(p.pid, &mut status, libc::WNOHANG) };
        }
    }
    s.groups.retain(|g| all.iter().any(|p| p.pgrp == *g));
}
