//! The incident log: one append-only JSON Lines file per run.
//!
//! INTERFACE (used by `run`; keep these signatures):
//! - `Journal::create(dir: &Path, header: Header) -> io::Result<Journal>`
//! - `Journal::append_event(&mut self, at: At, event: &Event) -> io::Result<()>`
//!   (decisions are fsynced before this returns: write-ahead)
//! - `Journal::append_checkpoint(&mut self, at: At, state: &State) -> io::Result<()>`
//! - `Journal::flush(&mut self) -> io::Result<()>`
//! - `Journal::path(&self) -> &Path`
//! - `default_dir(&Config) -> PathBuf`

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::rollout::{At, Event, State};

/// What the journal records about a run before the engine's first event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub rollout: String,
    pub config_path: String,
    pub config_hash: String,
    pub operator: String,
    pub ssh_connection: Option<String>,
    pub drill: bool,
    pub started_at: At,
}

pub struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    pub fn create(dir: &Path, header: Header) -> io::Result<Journal> {
        std::fs::create_dir_all(dir)?;
        let stamp = header.started_at;
        let slug: String = header
            .rollout
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let path = dir.join(format!("{slug}-{stamp}.jsonl"));
        let mut options = OpenOptions::new();
        options.create_new(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path)?;
        let mut journal = Journal { path, file };
        journal.write(
            &serde_json::json!({ "type": "header", "header": header }),
            true,
        )?;
        Ok(journal)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn append_event(&mut self, at: At, event: &Event) -> io::Result<()> {
        let sync = !matches!(event, Event::Snapshot { .. } | Event::MetricChanged { .. });
        self.write(
            &serde_json::json!({ "type": "event", "at": at, "event": event }),
            sync,
        )
    }

    pub fn append_checkpoint(&mut self, at: At, state: &State) -> io::Result<()> {
        self.write(
            &serde_json::json!({ "type": "checkpoint", "at": at, "state": state }),
            true,
        )
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn write(&mut self, value: &serde_json::Value, sync: bool) -> io::Result<()> {
        let mut line = serde_json::to_vec(value).map_err(io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        if sync {
            self.file.sync_data()?;
        }
        Ok(())
    }
}

/// `[journal] dir`, else the user's data dir.
pub fn default_dir(config: &Config) -> PathBuf {
    config.journal.dir.clone().unwrap_or_else(|| {
        directories::ProjectDirs::from("", "", "cockpit").map_or_else(
            || PathBuf::from(".cockpit"),
            |d| d.data_dir().join("journal"),
        )
    })
}
