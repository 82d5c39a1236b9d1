//! The live feed: what the driving cockpit shows, published beside its
//! journal so a second engineer can follow the rollout with `cockpit watch`.
//!
//! The journal is the record; this is the view. It is rewritten whole (a
//! temporary file renamed over it, so a reader never sees half of one) at
//! most four times a second, at least once a second while the session runs,
//! and once more when it ends, saying how. It carries no secrets: the
//! config names the environment variables that hold them, never the values.

use std::collections::VecDeque;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::config::Config;
use crate::files::{self, Links, Sharing};
use crate::rollout::track::Track;
use crate::rollout::{At, Effect, Rollout, State};

pub const FORMAT: u32 = 1;
/// At most four writes a second: a follower's screen paces itself anyway.
const EVERY: Duration = Duration::from_millis(250);
/// As many log lines as a tall log pane shows.
const LOG_KEPT: usize = 200;
/// The driver writes at least once a second; this long without a word and
/// it may be gone (a dropped connection, kill -9).
pub const SILENT_AFTER_MS: u64 = 5_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Live {
    pub v: u32,
    pub driver: String,
    pub ssh: bool,
    pub pid: u32,
    /// Real time of this write, Unix ms: how a follower tells a silent driver.
    pub written: u64,
    /// This driver process's writes so far: two writes may share a
    /// millisecond (the last word follows at once), never a number.
    pub serial: u64,
    /// The session's clock at this write (a drill's runs faster than real time).
    pub now: At,
    pub speed: f64,
    pub journal: PathBuf,
    pub config: Config,
    pub state: State,
    pub tracks: Vec<Track>,
    /// The end of the driver's log pane, oldest first.
    pub log: Vec<LogLine>,
    /// Lines logged since the session began, so a follower adds only new ones.
    pub logged: u64,
    /// How the session ended, once it has.
    pub ended: Option<String>,
    /// Who follows it now, as the driver sees it.
    #[serde(default)]
    pub watchers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    pub at: At,
    pub level: Severity,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warn,
    Error,
}

impl Severity {
    fn of(level: log::Level) -> Severity {
        match level {
            log::Level::Error => Severity::Error,
            log::Level::Warn => Severity::Warn,
            _ => Severity::Info,
        }
    }

    pub fn level(self) -> log::Level {
        match self {
            Severity::Error => log::Level::Error,
            Severity::Warn => log::Level::Warn,
            Severity::Info => log::Level::Info,
        }
    }
}

/// `checkout-20261123T140000.000Z.jsonl` -> `checkout-20261123T140000.000Z.live.json`.
pub fn path_for(journal: &Path) -> PathBuf {
    journal.with_extension("live.json")
}

/// Real time now, Unix ms.
pub fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

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

/// Shared like the journal beside it (0600, or 0640 for `[journal] group`):
/// it names the operator and the config.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    files::replace(path, bytes, Sharing::of_dir(dir))
}

/// Far more than a feed holds (a few tens of kilobytes); a reader stops there.
const FEED_LIMIT: u64 = 16 << 20;
/// A follower's file holds a name.
const PRESENCE_LIMIT: u64 = 4 << 10;

/// Followers announce themselves here, a file each, so the driver (and the
/// other followers) can show who is watching.
fn presence_dir(journal: &Path) -> PathBuf {
    journal.with_extension("watchers")
}

/// How often a follower touches its file, and the age at which a file
/// means its follower went without saying so (kill -9, a dropped link).
const PRESENCE_REFRESH: Duration = Duration::from_secs(2);
const PRESENCE_STALE: Duration = Duration::from_secs(10);

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
    path: PathBuf,
    who: String,
    refreshed: Instant,
}

impl Presence {
    /// `None` when the journal dir is not writable: watching still works,
    /// the driver just does not see this follower.
    pub fn announce(journal: &Path, who: &str) -> Option<Presence> {
        let dir = presence_dir(journal);
        let sharing = Sharing::of_dir(journal.parent().unwrap_or(Path::new(".")));
        files::prepare_dir(&dir, sharing).ok()?;
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

pub fn read(path: &Path) -> Result<Live, String> {
    let bytes = files::read_capped(path, FEED_LIMIT, Links::Refuse)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let live: Live = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{} is not a cockpit live feed: {e}", path.display()))?;
    if live.v != FORMAT {
        return Err(format!(
            "{} is live-feed format {}; this cockpit reads format {FORMAT}",
            path.display(),
            live.v
        ));
    }
    Ok(live)
}

/// The feed to follow in `dir`: the newest one still running, else the
/// newest that ended. `rollout` narrows it to one rollout's feeds.
pub fn newest(dir: &Path, rollout: Option<&str>) -> Option<PathBuf> {
    let prefix = rollout.map(|r| format!("{}-", crate::journal::slug(r)));
    let mut feeds: Vec<(bool, SystemTime, PathBuf)> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.ends_with(".live.json") && prefix.as_ref().is_none_or(|x| name.starts_with(x))
        })
        .filter_map(|p| {
            let modified = std::fs::symlink_metadata(&p)
                .and_then(|m| m.modified())
                .ok()?;
            let running = read(&p).is_ok_and(|l| l.ended.is_none());
            Some((running, modified, p))
        })
        .collect();
    feeds.sort();
    feeds.pop().map(|(_, _, p)| p)
}

/// What a follower shows beside the driver's screen: the driver's clock
/// carried forward between writes, and whether the driver has gone quiet.
pub fn follow_now(live: &Live, wall: u64) -> (At, Option<u64>) {
    let since = wall.saturating_sub(live.written);
    let silent = (live.ended.is_none() && since > SILENT_AFTER_MS).then_some(since);
    // Carried forward at most until the driver counts as silent: a clock
    // that runs on for a dead driver would look like a live rollout.
    let ahead = since.min(SILENT_AFTER_MS) as f64 * live.speed;
    let now = if live.ended.is_some() {
        live.now
    } else {
        live.now + ahead as At
    };
    (now, silent)
}

/// The following side: a driver's feed, re-read whenever it changes.
pub struct Follower {
    path: PathBuf,
    pub live: Live,
    pub rollout: Rollout,
    /// Which of the driver's log lines this follower has shown: (pid, count).
    shown: (u32, u64),
    /// Why the last read failed (the feed is gone, or unreadable).
    pub trouble: Option<String>,
}

impl Follower {
    pub fn open(path: &Path) -> Result<Follower, String> {
        let live = read(path)?;
        let rollout = Rollout::follow(live.config.clone(), live.state.clone(), live.tracks.clone());
        Ok(Follower {
            path: path.to_path_buf(),
            live,
            rollout,
            shown: (0, 0),
            trouble: None,
        })
    }

    /// Re-reads the feed (a few tens of kilobytes; no need to trust file
    /// times); true when the driver wrote since. A feed that cannot be read
    /// keeps the last good one on screen: the driver then goes silent,
    /// which the screen says loudly.
    pub fn poll(&mut self) -> bool {
        match read(&self.path) {
            Ok(live) if (live.pid, live.serial) == (self.live.pid, self.live.serial) => {
                self.trouble = None;
                false
            }
            Ok(live) => {
                self.rollout =
                    Rollout::follow(live.config.clone(), live.state.clone(), live.tracks.clone());
                self.live = live;
                self.trouble = None;
                true
            }
            Err(e) => {
                self.trouble = Some(e);
                false
            }
        }
    }

    /// Log lines not yet shown, oldest first. A resumed driver is a new
    /// process whose count starts again.
    pub fn new_lines(&mut self) -> Vec<LogLine> {
        let live = &self.live;
        let first = live.logged - live.log.len() as u64;
        let from = if self.shown.0 == live.pid {
            self.shown.1.max(first)
        } else {
            first
        };
        self.shown = (live.pid, live.logged);
        live.log[(from - first) as usize..].to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollout::{Event, Input};

    fn rollout() -> Rollout {
        let config = crate::config::parse(Path::new("t.toml"), crate::config::MINIMAL).unwrap();
        Rollout::new(config, 1_000)
    }

    fn note(feed: &mut Feed, at: At, text: &str) {
        feed.effect(&Effect::Journal {
            at,
            event: Event::Note {
                by: crate::rollout::Actor::Operator("ana".into()),
                text: text.into(),
            },
        });
    }

    #[test]
    fn a_follower_reads_back_what_the_driver_published_and_each_log_line_once() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("checkout-2-0-x.jsonl");
        let mut r = rollout();
        r.update(
            2_000,
            Input::Start {
                local: chrono::NaiveDateTime::default(),
                operator: "ana@box".into(),
            },
        );
        let clock = Clock::new(1.0);
        let mut feed = Feed::new(&journal, "nobody@box", true);
        note(&mut feed, 2_000, "first");
        feed.publish(&r, &clock, None).unwrap();
        let mut follower = Follower::open(&path_for(&journal)).unwrap();
        assert_eq!(follower.live.driver, "ana@box", "who started it drives");
        assert!(follower.live.ssh);
        assert_eq!(follower.rollout.state, r.state);
        assert_eq!(follower.rollout.tracks.len(), r.tracks.len());
        let texts = |lines: Vec<LogLine>| lines.into_iter().map(|l| l.text).collect::<Vec<_>>();
        assert_eq!(texts(follower.new_lines()), ["note by ana: first"]);
        assert!(follower.new_lines().is_empty());

        // Within a quarter second nothing new is written, but the end always is.
        note(&mut feed, 3_000, "second");
        feed.publish(&r, &clock, None).unwrap();
        assert!(!follower.poll());
        feed.publish(&r, &clock, Some("the driver quit".into()))
            .unwrap();
        assert!(follower.poll());
        assert_eq!(follower.live.ended.as_deref(), Some("the driver quit"));
        assert_eq!(texts(follower.new_lines()), ["note by ana: second"]);
    }

    #[test]
    fn a_feed_that_goes_bad_keeps_the_last_good_one_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("checkout-2-0-x.jsonl");
        let mut feed = Feed::new(&journal, "ana@box", false);
        feed.publish(&rollout(), &Clock::new(1.0), None).unwrap();
        let mut follower = Follower::open(&path_for(&journal)).unwrap();
        std::fs::write(path_for(&journal), "{\"v\": 1, \"driv").unwrap();
        assert!(!follower.poll());
        let trouble = follower.trouble.clone().unwrap();
        assert!(trouble.contains("is not a cockpit live feed"), "{trouble}");
        assert_eq!(follower.live.driver, "ana@box");
    }

    #[test]
    fn the_clock_runs_on_between_writes_but_not_for_a_silent_driver() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("checkout-2-0-x.jsonl");
        Feed::new(&journal, "ana@box", false)
            .publish(&rollout(), &Clock::new(1.0), None)
            .unwrap();
        let mut live = read(&path_for(&journal)).unwrap();
        live.written = 100_000;
        live.now = 50_000;
        live.speed = 10.0;
        assert_eq!(follow_now(&live, 100_300), (53_000, None));
        let (now, silent) = follow_now(&live, 112_000);
        assert_eq!(now, 50_000 + SILENT_AFTER_MS * 10, "frozen once silent");
        assert_eq!(silent, Some(12_000));
        live.ended = Some("the rollout ended: promoted".into());
        assert_eq!(
            follow_now(&live, 112_000),
            (50_000, None),
            "an ended feed is not silent"
        );
    }

    #[test]
    fn watch_finds_the_newest_running_feed_before_one_that_ended() {
        let dir = tempfile::tempdir().unwrap();
        let r = rollout();
        let clock = Clock::new(1.0);
        let publish = |name: &str, ended: Option<&str>| {
            let mut feed = Feed::new(&dir.path().join(name), "ana@box", false);
            feed.publish(&r, &clock, ended.map(str::to_string)).unwrap();
            std::thread::sleep(Duration::from_millis(20));
        };
        publish("checkout-2-0-a.jsonl", None);
        publish("payments-b.jsonl", None);
        publish("checkout-2-0-c.jsonl", Some("the rollout ended: promoted"));
        let name = |p: Option<PathBuf>| {
            p.unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        };
        assert_eq!(name(newest(dir.path(), None)), "payments-b.live.json");
        assert_eq!(
            name(newest(dir.path(), Some("checkout 2.0"))),
            "checkout-2-0-a.live.json"
        );
        assert!(newest(dir.path(), Some("search")).is_none());
        assert!(newest(&dir.path().join("none"), None).is_none());
    }

    #[test]
    fn followers_files_are_shared_as_the_journal_dir_is() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let mode = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o7777;
        for (dir_mode, want_dir, want_file) in [(0o700, 0o700, 0o600), (0o750, 0o750, 0o640)] {
            let dir = tempfile::tempdir().unwrap();
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(dir_mode))
                .unwrap();
            let journal = dir.path().join("checkout-2-0-x.jsonl");
            let presence = Presence::announce(&journal, "bob@box").unwrap();
            assert_eq!(mode(&presence_dir(&journal)), want_dir);
            assert_eq!(mode(&presence.path), want_file);
            Feed::new(&journal, "ana@box", false)
                .publish(&rollout(), &Clock::new(1.0), None)
                .unwrap();
            assert_eq!(mode(&path_for(&journal)), want_file);
        }
    }

    #[test]
    fn the_driver_sees_who_follows_until_they_leave() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("checkout-2-0-x.jsonl");
        let mut feed = Feed::new(&journal, "ana@box", false);
        let bob = Presence::announce(&journal, "bob@box").unwrap();
        // Another follower's process, on another host.
        std::fs::write(presence_dir(&journal).join("ops-2-4242"), "carol@ops-2\n").unwrap();
        assert_eq!(watchers(&journal), ["bob@box", "carol@ops-2"]);
        feed.publish(&rollout(), &Clock::new(1.0), None).unwrap();
        assert_eq!(feed.watchers, ["bob@box", "carol@ops-2"]);
        assert_eq!(read(&path_for(&journal)).unwrap().watchers, feed.watchers);
        drop(bob);
        assert_eq!(watchers(&journal), ["carol@ops-2"], "bob left");

        // Carol's cockpit was killed: her file stays but stops being
        // refreshed, and once stale she is no longer counted.
        let carol = std::fs::File::options()
            .write(true)
            .open(presence_dir(&journal).join("ops-2-4242"))
            .unwrap();
        let then = std::time::SystemTime::now() - PRESENCE_STALE - Duration::from_secs(1);
        carol.set_modified(then).unwrap();
        assert!(watchers(&journal).is_empty());
    }
}
