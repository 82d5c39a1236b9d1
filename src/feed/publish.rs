//! The driver's side of the feed: the log lines its screen shows, and the
//! whole view written beside the journal.

use std::collections::VecDeque;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{FORMAT, Live, LogLine, Severity, path_for, wall_ms, watchers, write_atomically};
use crate::clock::Clock;
use crate::rollout::{At, Effect, Rollout};

/// At most four writes a second: a follower's screen paces itself anyway.
const EVERY: Duration = Duration::from_millis(250);
/// As many log lines as a tall log pane shows.
const LOG_KEPT: usize = 200;

/// The publishing side, owned by the session.
pub struct Feed {
    path: PathBuf,
    journal: PathBuf,
    driver: String,
    ssh: bool,
    log: VecDeque<LogLine>,
    logged: u64,
    last_write: Option<Instant>,
    serial: u64,
    last_at: At,
    /// Who followed at the last write.
    pub watchers: Vec<String>,
}

impl Feed {
    pub fn new(journal: &Path, driver: &str, ssh: bool) -> Feed {
        Feed {
            path: path_for(journal),
            journal: journal.to_path_buf(),
            driver: driver.to_string(),
            ssh,
            log: VecDeque::new(),
            logged: 0,
            last_write: None,
            serial: 0,
            last_at: 0,
            watchers: Vec::new(),
        }
    }

    /// The same lines the driver's log pane gets from the same effects.
    pub fn effect(&mut self, effect: &Effect) {
        match effect {
            Effect::Journal { at, event } => {
                self.last_at = self.last_at.max(*at);
                if let Some((level, text)) = crate::rollout::words::words(event) {
                    self.push(*at, level, text);
                }
            }
            Effect::Say(said) => self.push(
                self.last_at,
                log::Level::Info,
                crate::rollout::words::said(said),
            ),
            _ => {}
        }
    }

    /// A line of hook output or a notification result.
    pub fn line(&mut self, at: At, text: &str) {
        self.push(at, log::Level::Info, format!("  | {text}"));
    }

    fn push(&mut self, at: At, level: log::Level, text: String) {
        if self.log.len() == LOG_KEPT {
            self.log.pop_front();
        }
        self.log.push_back(LogLine {
            at,
            level: Severity::of(level),
            text,
        });
        self.logged += 1;
    }

    /// Writes the feed unless it was written less than a quarter second
    /// ago; the last word (`ended`) is always written.
    pub fn publish(&mut self, r: &Rollout, clock: &Clock, ended: Option<String>) -> io::Result<()> {
        let due = self.last_write.is_none_or(|t| t.elapsed() >= EVERY);
        if !due && ended.is_none() {
            return Ok(());
        }
        self.last_write = Some(Instant::now());
        self.serial += 1;
        self.watchers = watchers(&self.journal);
        let driver = if r.state.operator.is_empty() {
            self.driver.clone()
        } else {
            r.state.operator.clone()
        };
        let live = Live {
            v: FORMAT,
            driver,
            ssh: self.ssh,
            pid: std::process::id(),
            written: wall_ms(),
            serial: self.serial,
            now: clock.now(),
            speed: clock.speed(),
            journal: self.journal.clone(),
            config: r.config.clone(),
            state: r.state.clone(),
            tracks: r.tracks.clone(),
            log: self.log.iter().cloned().collect(),
            logged: self.logged,
            ended,
            watchers: self.watchers.clone(),
        };
        write_atomically(
            &self.path,
            &serde_json::to_vec(&live).map_err(io::Error::other)?,
        )
    }
}
