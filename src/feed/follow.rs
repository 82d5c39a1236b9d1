//! The following side: a driver's feed, from the file beside its journal or
//! from the stream of a cockpit on another host, kept as the rollout the
//! follower's screen draws.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::ssh::{self, Event, Link, LinkDown};
use super::wire::{self, Receiver};
use super::{Live, LogLine, Presence, Severity, read, wall_ms};
use crate::rollout::Rollout;

/// A stream quiet this long has lost its host (the heartbeat comes every
/// two seconds): the connection is ended and started again.
const LINK_QUIET: Duration = Duration::from_millis(wire::BEAT_EVERY_MS * 4);

enum Source {
    File(PathBuf),
    Stream(Box<Stream>),
}

struct Stream {
    link: Link,
    receiver: Receiver,
    /// When the last line came.
    heard: Instant,
    host: String,
}

pub struct Follower {
    source: Source,
    pub live: Live,
    pub rollout: Rollout,
    /// Which of the driver's log lines this follower has shown: (pid, count).
    shown: (u32, u64),
    /// What the connection did since the screen last looked.
    said: Vec<LogLine>,
    /// Why the last read failed (the feed is gone, or unreadable).
    pub trouble: Option<String>,
    /// The SSH link is down, since when: cleared by the next line.
    down: Option<(LinkDown, Instant)>,
}

impl Follower {
    pub fn open(path: &Path) -> Result<Follower, String> {
        Ok(Follower::of(Source::File(path.to_path_buf()), read(path)?))
    }

    /// Waits for the stream's first snapshot; a connection that ends first
    /// (no such host, no key, no rollout there) is the error, in ssh's or
    /// the remote cockpit's own words.
    pub fn connect(link: Link, host: &str) -> Result<Follower, String> {
        let mut receiver = Receiver::default();
        loop {
            match link.events.recv() {
                Ok(Event::Line(line)) => {
                    receiver.take(&line, wall_ms())?;
                    if let Some(live) = receiver.live.clone() {
                        let heard = Instant::now();
                        let host = host.to_string();
                        let source = Source::Stream(Box::new(Stream {
                            link,
                            receiver,
                            heard,
                            host,
                        }));
                        return Ok(Follower::of(source, live));
                    }
                }
                Ok(Event::Dropped { why, .. } | Event::GaveUp { why }) => return Err(why),
                Ok(Event::Connected { .. }) => {}
                Err(_) => return Err("the connection ended".into()),
            }
        }
    }

    fn of(source: Source, live: Live) -> Follower {
        let rollout = Rollout::follow(live.config.clone(), live.state.clone(), live.tracks.clone());
        Follower {
            source,
            live,
            rollout,
            shown: (0, 0),
            said: Vec::new(),
            trouble: None,
            down: None,
        }
    }

    /// Announces this follower beside the journal, when it is on this
    /// host; over SSH the cockpit on the host does.
    pub fn presence(&self, who: &str) -> Option<Presence> {
        match self.source {
            Source::File(_) => Presence::announce(&self.live.journal, who),
            Source::Stream(_) => None,
        }
    }

    /// Takes what the driver published since; true when it changed. A feed
    /// that cannot be read keeps the last good one on screen: the driver
    /// then goes silent, which the screen says loudly.
    pub fn poll(&mut self) -> bool {
        let fresh = match &mut self.source {
            Source::File(path) => match read(path) {
                Ok(live) => {
                    self.trouble = None;
                    Some(live).filter(|l| (l.pid, l.serial) != (self.live.pid, self.live.serial))
                }
                Err(e) => {
                    self.trouble = Some(e);
                    None
                }
            },
            Source::Stream(_) => self.take_stream(),
        };
        let Some(live) = fresh else { return false };
        self.rollout =
            Rollout::follow(live.config.clone(), live.state.clone(), live.tracks.clone());
        self.live = live;
        true
    }

    fn take_stream(&mut self) -> Option<Live> {
        let Source::Stream(stream) = &mut self.source else {
            return None;
        };
        let Stream {
            link,
            receiver,
            heard,
            host,
        } = stream.as_mut();
        let mut changed = false;
        let mut said = Vec::new();
        let down = &mut self.down;
        while let Ok(event) = link.events.try_recv() {
            if !matches!(event, Event::Line(_))
                && receiver.live.as_ref().is_some_and(|l| l.ended.is_some())
            {
                continue; // The rollout ended: the stream ending with it is no news.
            }
            *down = link_down(&event, host).map(|d| (d, Instant::now()));
            match event {
                Event::Line(line) => {
                    *heard = Instant::now();
                    match receiver.take(&line, wall_ms()) {
                        Ok(c) => changed |= c,
                        Err(e) => {
                            self.trouble = Some(e);
                            link.restart();
                        }
                    }
                }
                other => said.push(connection_words(&other, host)),
            }
        }
        if heard.elapsed() > LINK_QUIET {
            *heard = Instant::now();
            link.restart();
        }
        let at = self.live.now;
        self.said.extend(
            said.into_iter()
                .map(|(level, text)| LogLine { at, level, text }),
        );
        let live = receiver.live.clone().filter(|_| changed)?;
        if live.ended.is_some() {
            link.close();
        }
        Some(live)
    }

    /// The SSH link is down: for the banner, counting down to the next try.
    pub fn link_down(&self) -> Option<LinkDown> {
        let (down, since) = self.down.as_ref()?;
        let left = down.retry_in_s.saturating_sub(since.elapsed().as_secs());
        Some(LinkDown {
            retry_in_s: left,
            ..down.clone()
        })
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
        let mut lines = live.log[(from - first) as usize..].to_vec();
        lines.append(&mut self.said);
        lines
    }
}

/// The banner's news in an event: down after a drop, none once a line
/// comes (or the connection is back).
fn link_down(event: &Event, host: &str) -> Option<LinkDown> {
    let (why, attempt, retry_in_s, gave_up) = match event {
        Event::Line(_) | Event::Connected { .. } => return None,
        Event::Dropped {
            why,
            attempt,
            retry_in,
        } => (why, *attempt, retry_in.as_secs(), false),
        Event::GaveUp { why } => (why, ssh::ATTEMPTS, 0, true),
    };
    Some(LinkDown {
        host: host.to_string(),
        why: why.clone(),
        attempt,
        retry_in_s,
        gave_up,
    })
}

/// What the log pane says when the connection changes.
fn connection_words(event: &Event, host: &str) -> (Severity, String) {
    match event {
        Event::Connected { attempt } => (
            Severity::Info,
            format!("ssh: following over {host} again (attempt {attempt})"),
        ),
        Event::Dropped {
            why,
            attempt,
            retry_in,
        } => (
            Severity::Warn,
            format!(
                "ssh: the connection to {host} dropped ({why}); reconnecting in {} s, attempt {attempt} of {}",
                retry_in.as_secs(),
                ssh::ATTEMPTS
            ),
        ),
        Event::GaveUp { why } | Event::Line(why) => (
            Severity::Error,
            format!(
                "ssh: gave up on {host} after {} attempts ({why}); what is shown is no longer live",
                ssh::ATTEMPTS
            ),
        ),
    }
}
