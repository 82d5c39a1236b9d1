//! The incident log: one append-only JSON Lines file per run.
//!
//! What the runtime writes through (resume depends on the order: an event
//! is on disk before its effect runs):
//! - `Journal::create(dir: &Path, header: Header) -> io::Result<Journal>`
//! - `Journal::append_event(&mut self, at: At, event: &Event) -> io::Result<()>`
//!   (decisions are fsynced before this returns: write-ahead)
//! - `Journal::append_checkpoint(&mut self, at: At, state: &State) -> io::Result<()>`
//! - `Journal::flush(&mut self) -> io::Result<()>`
//! - `Journal::path(&self) -> &Path`
//! - `default_dir(&Config) -> PathBuf`
//!
//! Also: `Journal::reopen` (resume appends to the same file), `read`,
//! `runs` (every journal in a dir), `lock`, `resume`, `report`,
//! `Journal::append_driver` and `Read::drivers` (who drove, in order).
//!
//! Format, version 1: every line is one JSON object with a `type`:
//! `header` (first line, with `v`), `event` (an engine event and its time),
//! `checkpoint` (the engine state after an update that decided something),
//! `resumed` (who carried on, and which unchecked lines it voided),
//! `abandoned` (a fresh run replaced this one) and `driver` (the wheel was
//! handed to another operator: who, when, why).

pub mod drills;
mod drivers;
pub mod lock;
mod read;
pub mod report;
pub mod resume;

use std::fs::File;
use std::io::{self, Read as _, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use drivers::Drove;
pub use read::{Entry, Read, RunStatus, RunSummary, read, runs};

use crate::config::Config;
use crate::config::model::GroupMay;
use crate::files::{self, Sharing};
use crate::rollout::{At, Event, State};

/// The journal format this build writes and the newest it reads.
pub const FORMAT: u32 = 1;

/// The longest line a journal may hold: a checkpoint is a few kilobytes,
/// hook output is cut to its tail. A longer line is refused when written
/// and when read (a reader never slurps an endless "line").
pub const LINE_LIMIT: usize = 1 << 20;

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

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    Header {
        v: u32,
        /// The cockpit version that wrote the journal.
        cockpit: String,
        header: Header,
    },
    Event {
        at: At,
        event: Event,
    },
    Checkpoint {
        at: At,
        state: Box<State>,
    },
    Resumed(Resumed),
    Abandoned {
        at: At,
        by: String,
        reason: String,
    },
    Driver(DriverChange),
}

/// The wheel changed hands: written by the driver that lets go, before it
/// does, so the journal names the new driver before anything it decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriverChange {
    pub at: At,
    pub from: String,
    pub to: String,
    pub why: String,
}

/// A run carried on after the cockpit stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resumed {
    pub at: At,
    pub by: String,
    pub host: String,
    pub pid: u32,
    pub ssh_connection: Option<String>,
    /// Event lines written after the last checkpoint: no action followed
    /// them, so the resumed engine decides them again and readers skip them.
    pub voided: Vec<usize>,
    /// What the resume carried over from those lines (a hook's result, an
    /// operator's command), in words.
    pub replayed: Vec<String>,
}

/// Borrowed forms of the records written on the hot path (no clone of the
/// engine state per checkpoint).
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Line<'a> {
    Header {
        v: u32,
        cockpit: &'a str,
        header: &'a Header,
    },
    Event {
        at: At,
        event: &'a Event,
    },
    Checkpoint {
        at: At,
        state: &'a State,
    },
    Resumed(&'a Resumed),
    Abandoned {
        at: At,
        by: &'a str,
        reason: &'a str,
    },
    Driver(&'a DriverChange),
}

pub struct Journal {
    path: PathBuf,
    file: File,
    /// Lines in the file so far; the next record is line `lines + 1`.
    lines: usize,
}

impl Journal {
    /// A new journal `<rollout>-<UTC start>.jsonl` in `dir`, mode 0600
    /// (0640 in a dir shared with a group, 0660 with a team), never through
    /// a planted link.
    pub fn create(dir: &Path, header: Header) -> io::Result<Journal> {
        let sharing = ensure_dir(dir)?;
        let stamp = chrono::DateTime::from_timestamp_millis(header.started_at as i64)
            .map(|t| t.format("%Y%m%dT%H%M%S%.3fZ").to_string())
            .unwrap_or_else(|| header.started_at.to_string());
        let path = dir.join(format!("{}-{stamp}.jsonl", slug(&header.rollout)));
        let file = files::create_new(&path, sharing, true)?;
        let mut journal = Journal {
            path,
            file,
            lines: 0,
        };
        let cockpit = env!("CARGO_PKG_VERSION");
        journal.write(
            &Line::Header {
                v: FORMAT,
                cockpit,
                header: &header,
            },
            true,
        )?;
        Ok(journal)
    }

    /// Opens an existing journal to append to it. A last line cut short by
    /// a crash is cut off (it was never acknowledged, so nothing decided is
    /// in it); `read` has already warned about it.
    pub fn reopen(path: &Path) -> io::Result<Journal> {
        let mut file = files::open_append(path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let mut lines = bytes[..complete].iter().filter(|b| **b == b'\n').count();
        if complete < bytes.len() {
            if serde_json::from_slice::<Record>(&bytes[complete..]).is_ok() {
                file.write_all(b"\n")?;
                lines += 1;
            } else {
                file.set_len(complete as u64)?;
                file.seek(SeekFrom::End(0))?;
            }
            file.sync_data()?;
        }
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            lines,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Lines written so far.
    pub fn lines(&self) -> usize {
        self.lines
    }

    /// Decisions are on disk before this returns; metric changes, snapshots
    /// and hook output ride on the next fsync (the checkpoint that follows
    /// any decision).
    pub fn append_event(&mut self, at: At, event: &Event) -> io::Result<()> {
        self.write(&Line::Event { at, event }, is_decisive(event))
    }

    pub fn append_checkpoint(&mut self, at: At, state: &State) -> io::Result<()> {
        self.write(&Line::Checkpoint { at, state }, true)
    }

    pub fn append_resumed(&mut self, resumed: &Resumed) -> io::Result<()> {
        self.write(&Line::Resumed(resumed), true)
    }

    pub fn append_abandoned(&mut self, at: At, by: &str, reason: &str) -> io::Result<()> {
        self.write(&Line::Abandoned { at, by, reason }, true)
    }

    pub fn append_driver(&mut self, change: &DriverChange) -> io::Result<()> {
        self.write(&Line::Driver(change), true)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }

    /// One `write` per line, so a crash leaves at most the last line cut short.
    fn write(&mut self, record: &Line, sync: bool) -> io::Result<()> {
        let mut line = serde_json::to_vec(record).map_err(io::Error::other)?;
        if line.len() > LINE_LIMIT {
            return Err(io::Error::other(format!(
                "a journal record of {} bytes is over the {} a line may hold",
                line.len(),
                files::size(LINE_LIMIT as u64)
            )));
        }
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.lines += 1;
        if sync {
            self.file.sync_data()?;
        }
        Ok(())
    }
}

/// Events that must be on disk before anything acts on them.
fn is_decisive(event: &Event) -> bool {
    !matches!(
        event,
        Event::Snapshot { .. } | Event::MetricChanged { .. } | Event::HookOutput { .. }
    )
}

/// A rollout name as a file name: `checkout 2.0` -> `checkout-2-0`.
pub fn slug(rollout: &str) -> String {
    rollout
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// The journal dir of `config`, made ready: created or set to 0700, to
/// 0750 for `[journal] group`, to 02770 when that group may drive; refused
/// when other users (but such a group) may write to it.
pub fn prepare_dir(config: &Config) -> Result<PathBuf, String> {
    let dir = default_dir(config);
    let sharing = sharing(config)?;
    files::prepare_dir(&dir, sharing, files::Links::Follow)
        .map_err(|e| format!("cannot use the journal dir {}: {e}", dir.display()))?;
    Ok(dir)
}

/// How `config` shares its journals.
fn sharing(config: &Config) -> Result<Sharing, String> {
    let Some(name) = &config.journal.group else {
        return Ok(Sharing::Owner);
    };
    let gid = files::group_id(name)
        .ok_or_else(|| format!("[journal] group: no group \"{name}\" on this system (any more)"))?;
    Ok(match config.journal.group_may {
        GroupMay::Follow => Sharing::Group(gid),
        GroupMay::Drive => Sharing::Team(gid),
    })
}

/// A journal dir as `run` prepared it, or a new private one: how the files
/// in it are shared.
pub fn ensure_dir(dir: &Path) -> io::Result<Sharing> {
    if std::fs::symlink_metadata(dir).is_err() {
        files::prepare_dir(dir, Sharing::Owner, files::Links::Follow)?;
    }
    let meta = std::fs::metadata(dir)?;
    if !meta.is_dir() {
        return Err(io::Error::other("not a directory"));
    }
    Ok(Sharing::of_dir(dir))
}

/// Whether `path` is named as a journal of `rollout` is
/// (`<slug>-<UTC start>.jsonl`): what is known of a journal too damaged to
/// read its header.
pub fn named_for(path: &Path, rollout: &str) -> bool {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    name.strip_prefix(&format!("{}-", slug(rollout)))
        .and_then(|rest| rest.strip_suffix(".jsonl"))
        .is_some_and(|stamp| {
            chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%S%.3fZ").is_ok()
        })
}

/// `[journal] dir`, else the user's data dir.
pub fn default_dir(config: &Config) -> PathBuf {
    dir_for(config.journal.dir.as_deref())
}

/// `configured`, else `<data dir>/cockpit/journal`.
pub fn dir_for(configured: Option<&Path>) -> PathBuf {
    configured.map(Path::to_path_buf).unwrap_or_else(|| {
        directories::ProjectDirs::from("", "", "cockpit").map_or_else(
            || PathBuf::from(".cockpit"),
            |d| d.data_dir().join("journal"),
        )
    })
}
