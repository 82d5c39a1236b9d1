//! Shared by the journal tests that run the binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The binary under test; `COCKPIT_BIN` overrides it when several worktrees
/// share one target dir (the uplifted `cockpit` is whoever built last).
pub fn bin() -> PathBuf {
    std::env::var_os("COCKPIT_BIN")
        .map_or_else(|| env!("CARGO_BIN_EXE_cockpit").into(), PathBuf::from)
}

/// The `.jsonl` journals in `dir`, by name: regular files only (a test may
/// plant a FIFO, which a read would wait on forever).
pub fn journal_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| {
        p.extension().is_some_and(|x| x == "jsonl")
            && std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file())
    });
    files.sort();
    files
}

/// `command`, run as another user through `setpriv` (this test runs as root).
pub fn as_user(command: std::process::Command, uid: u32, gid: u32) -> std::process::Command {
    let mut run = std::process::Command::new("setpriv");
    run.args([
        format!("--reuid={uid}"),
        format!("--regid={gid}"),
        "--clear-groups".into(),
        "--".into(),
    ])
    .arg(command.get_program())
    .args(command.get_args());
    if let Some(dir) = command.get_current_dir() {
        run.current_dir(dir);
    }
    run
}
