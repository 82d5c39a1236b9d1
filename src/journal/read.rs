//! Reading journals back: for resume, for the report, for `--list`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use std::io::{BufRead as _, Read as _};

use super::{FORMAT, Header, LINE_LIMIT, Record};
use crate::files;
use crate::rollout::{At, Event, Outcome};

/// One record and the line it is on (1-based, as editors count).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub line: usize,
    pub record: Record,
}

/// A whole journal, checked.
#[derive(Debug, Clone)]
pub struct Read {
    pub path: PathBuf,
    pub v: u32,
    pub cockpit: String,
    pub header: Header,
    pub entries: Vec<Entry>,
    /// Event lines a resume voided: readers skip them.
    pub voided: BTreeSet<usize>,
    /// Things tolerated on the way (a last line cut short by a crash).
    pub warnings: Vec<String>,
}

/// How a run ended, as far as its journal says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Finished(Outcome),
    /// `--fresh` started a new run instead of resuming this one.
    Abandoned,
    /// No end recorded: the cockpit stopped; `cockpit run` can resume it.
    Unfinished,
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RunStatus::Finished(Outcome::Promoted) => "promoted",
            RunStatus::Finished(Outcome::RolledBack) => "rolled back",
            RunStatus::Finished(Outcome::RolledBackUnrecovered) => "rolled back, not recovered",
            RunStatus::Abandoned => "abandoned",
            RunStatus::Unfinished => "unfinished",
        })
    }
}

impl Read {
    /// Events in order, without the ones a resume voided.
    pub fn events(&self) -> impl Iterator<Item = (At, &Event)> {
        self.entries.iter().filter_map(|e| match &e.record {
            Record::Event { at, event } if !self.voided.contains(&e.line) => Some((*at, event)),
            _ => None,
        })
    }

    pub fn status(&self) -> RunStatus {
        let mut status = RunStatus::Unfinished;
        for e in &self.entries {
            match &e.record {
                Record::Event {
                    event: Event::Finished { outcome },
                    ..
                } if !self.voided.contains(&e.line) => status = RunStatus::Finished(*outcome),
                Record::Abandoned { .. } if status == RunStatus::Unfinished => {
                    status = RunStatus::Abandoned
                }
                _ => {}
            }
        }
        status
    }

    /// The time of the last record: the run's end, or when it stopped.
    pub fn last_at(&self) -> At {
        self.entries
            .iter()
            .rev()
            .find_map(|e| match &e.record {
                Record::Event { at, .. } | Record::Checkpoint { at, .. } => Some(*at),
                Record::Resumed(r) => Some(r.at),
                Record::Abandoned { at, .. } => Some(*at),
                Record::Driver(d) => Some(d.at),
                Record::Header { .. } => None,
            })
            .unwrap_or(self.header.started_at)
    }
}

/// Reads and checks a journal. A last line cut short (a crash mid-write) is
/// a warning; any other bad line is an error naming it.
pub fn read(path: &Path) -> Result<Read, String> {
    let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let file = files::open_regular(path, files::Links::Refuse).map_err(cannot)?;
    let lines = lines(file, path)?;
    let mut entries = Vec::new();
    let mut warnings = Vec::new();
    let count = lines.len();
    for (i, (text, ended)) in lines.iter().enumerate() {
        let line = i + 1;
        match serde_json::from_slice::<Record>(text) {
            Ok(record) => entries.push(Entry { line, record }),
            Err(_) if line == count && !ended => warnings.push(format!(
                "{}:{line}: the last line is cut short (the cockpit stopped while writing it); ignored",
                path.display()
            )),
            Err(e) => {
                return Err(format!(
                    "{}:{line}: not a journal record ({e}); the journal is damaged at this line: \
                     restore the file or move it out of the journal directory",
                    path.display()
                ));
            }
        }
    }
    let Some(Entry {
        record: Record::Header { v, cockpit, header },
        ..
    }) = entries.first().cloned()
    else {
        return Err(format!(
            "{}:1: a journal starts with its header line; this file does not (not a cockpit journal?)",
            path.display()
        ));
    };
    if v > FORMAT {
        return Err(format!(
            "{}:1: journal format v{v} was written by cockpit {cockpit}; this cockpit reads up to v{FORMAT}: upgrade it",
            path.display()
        ));
    }
    let voided = entries
        .iter()
        .filter_map(|e| match &e.record {
            Record::Resumed(r) => Some(r.voided.iter().copied()),
            _ => None,
        })
        .flatten()
        .collect();
    Ok(Read {
        path: path.to_path_buf(),
        v,
        cockpit,
        header,
        entries,
        voided,
        warnings,
    })
}

/// The file's lines, each with whether a newline ended it; a line longer
/// than `LINE_LIMIT` is an error naming it (`file:line`).
fn lines(file: std::fs::File, path: &Path) -> Result<Vec<(Vec<u8>, bool)>, String> {
    let mut reader = std::io::BufReader::new(file);
    let mut lines = Vec::new();
    loop {
        let mut text = Vec::new();
        (&mut reader)
            .take(LINE_LIMIT as u64 + 1)
            .read_until(b'\n', &mut text)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if text.is_empty() {
            return Ok(lines);
        }
        let ended = text.last() == Some(&b'\n');
        if ended {
            text.pop();
        }
        if text.len() > LINE_LIMIT {
            return Err(format!(
                "{}:{}: a line longer than {}, the most a journal line may hold; the journal \
                 is damaged at this line: restore the file or move it out of the journal directory",
                path.display(),
                lines.len() + 1,
                files::size(LINE_LIMIT as u64)
            ));
        }
        lines.push((text, ended));
    }
}

/// One past run, for `cockpit report --list` and for finding what to resume.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub rollout: String,
    pub started_at: At,
    /// `promoted`, `rolled back`, `abandoned`, `unfinished`, or why the
    /// journal could not be read.
    pub outcome: String,
    pub status: Option<RunStatus>,
    pub operator: String,
    /// A drill on the simulator: never offered for resume by `cockpit run`.
    pub drill: bool,
    pub path: PathBuf,
}

/// Every journal in `dir`, newest first. A damaged journal is listed with
/// its error rather than hiding the others.
pub fn runs(dir: &Path) -> Result<Vec<RunSummary>, String> {
    let listing = match std::fs::read_dir(dir) {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(format!("cannot list {}: {e}", dir.display())),
    };
    let mut runs: Vec<RunSummary> = listing
        .filter_map(Result::ok)
        .map(|d| d.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .map(|path| match read(&path) {
            Ok(r) => RunSummary {
                rollout: r.header.rollout.clone(),
                started_at: r.header.started_at,
                outcome: r.status().to_string(),
                status: Some(r.status()),
                operator: r.header.operator.clone(),
                drill: r.header.drill,
                path,
            },
            Err(e) => RunSummary {
                rollout: String::new(),
                started_at: 0,
                outcome: format!("unreadable: {e}"),
                status: None,
                operator: String::new(),
                drill: false,
                path,
            },
        })
        .collect();
    runs.sort_by(|a, b| {
        b.started_at
            .cmp(&a.started_at)
            .then_with(|| b.path.cmp(&a.path))
    });
    Ok(runs)
}
