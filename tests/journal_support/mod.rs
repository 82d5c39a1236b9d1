//! Shared by the journal tests that run the binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The binary under test; `COCKPIT_BIN` overrides it when several worktrees
/// share one target dir (the uplifted `cockpit` is whoever built last).
pub fn bin() -> PathBuf {
    std::env::var_os("COCKPIT_BIN")
        .map_or_else(|| env!("CARGO_BIN_EXE_cockpit").into(), PathBuf::from)
}

/// The `.jsonl` journals in `dir`, by name.
pub fn journal_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|x| x == "jsonl"));
    files.sort();
    files
}
