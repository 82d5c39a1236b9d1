//! `cockpit watch`: follow someone else's rollout, read-only, from another
//! terminal: the pair in a risky deploy, a lead checking in, a drill's
//! audience. It reads the live feed the driving cockpit writes beside its
//! journal on the same machine, or, given `ssh://host`, a cockpit started
//! there over the user's own SSH (`--feed`, the stream it sends back).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::Error;
use crate::exit;
use crate::feed::ssh::{Link, Remote, Ssh};
use crate::feed::wire::Sender;
use crate::feed::{self as live, Follower, wall_ms};
use crate::tui::theme::{self, Theme};
use crate::tui::{Screen, Watched};

#[derive(Debug, Clone, clap::Args)]
pub struct WatchArgs {
    /// What to follow: a journal (.jsonl), its live feed (.live.json), a
    /// rollout name, or a rollout on another host,
    /// ssh://[user@]host[:port][/ROLLOUT]; default: the newest rollout being driven.
    pub target: Option<String>,
    /// Print the live feed as JSON lines instead of drawing it (what
    /// `watch ssh://...` reads from the host): a snapshot, then what changed.
    #[arg(long)]
    pub feed: bool,
    /// The cockpit to run on the host for ssh:// (when it is not on the
    /// host's PATH).
    #[arg(long, env = "COCKPIT_REMOTE", default_value = "cockpit")]
    pub remote_cockpit: String,
    /// Config file whose `[journal] dir` to look in; default ./cockpit.toml,
    /// then the user config dir, else the default journal dir.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Screen theme: dark, light, high-contrast, colour-blind, or a theme
    /// file (default: the driver's `[ui] theme`, else dark).
    #[arg(long)]
    pub theme: Option<String>,
}

pub fn run(args: WatchArgs) -> Result<i32, Error> {
    if let Some(ended) = several(&args) {
        return ended;
    }
    let remote = args.target.as_deref().and_then(Remote::parse);
    let follower = match remote {
        Some(remote) => connect(&args, &remote.map_err(Error::failed)?)?,
        None => Follower::open(&find(&args)?).map_err(Error::failed)?,
    };
    if args.feed {
        return Ok(stream(follower));
    }
    if !std::io::stdout().is_terminal() {
        return Err(Error::usage(format!(
            "stdout is not a terminal, so the screen cannot be drawn.\n\
             To follow from a script, read the journal: {} (or `ssh -t` for a terminal).",
            follower.live.journal.display()
        )));
    }
    let screen = screen(&args, &follower.live)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::failed(format!("cannot start the runtime: {e}")))?;
    let watched = rt.block_on(crate::tui::watch(follower, screen));
    drop(rt);
    match watched? {
        Watched::Left => Ok(exit::OK),
        // Handed the wheel: this terminal drives the run from here.
        Watched::TookOver(grant) => crate::run::handover::drive_instead(&grant),
    }
}

/// No rollout named and several live here, on a terminal: the list of
/// them, each one watched from there; `None` when there is one or none.
fn several(args: &WatchArgs) -> Option<Result<i32, Error>> {
    if args.target.is_some() || args.feed || !std::io::stdout().is_terminal() {
        return None;
    }
    let dir = super::report::journal_dir(args.config.as_deref());
    let rows = super::status::rows(&dir);
    if rows.iter().filter(|r| r.ended.is_none()).count() < 2 {
        return None;
    }
    let look = || super::status::local_glancer(&dir);
    let list = super::status::list_of(rows);
    Some(super::status::watch_list(list, &look, args, &|r| {
        r.to_string()
    }))
}

/// The ssh program: `COCKPIT_SSH` (e.g. `ssh -F ./ssh_config`) or `ssh`.
pub fn ssh(remote_cockpit: &str) -> Ssh {
    let program = std::env::var("COCKPIT_SSH")
        .ok()
        .map(|s| s.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| vec!["ssh".into()]);
    Ssh {
        program,
        remote_cockpit: remote_cockpit.to_string(),
    }
}

/// Starts `cockpit watch --feed` on the host and waits for its first
/// snapshot. Only the first connection may ask for a passphrase (it runs
/// before the screen is drawn); reconnects are in batch mode.
fn connect(args: &WatchArgs, remote: &Remote) -> Result<Follower, Error> {
    let ssh = ssh(&args.remote_cockpit);
    let remote_args = {
        let r = remote.clone();
        move |batch| {
            let mut words = vec!["watch", "--feed"];
            words.extend(r.rollout.as_deref());
            ssh.command(&r, &words, batch)
        }
    };
    let interactive = std::io::stdin().is_terminal();
    let link = Link::start(remote_args, !interactive);
    Follower::connect(link, &remote.label()).map_err(|e| {
        Error::failed(format!(
            "cannot follow over ssh://{}: {e}\n\
             (the host runs `{} watch --feed`; --remote-cockpit names another path)",
            remote.label(),
            args.remote_cockpit
        ))
    })
}

/// `--feed`: the feed as JSON lines until the rollout ends or the reader
/// goes away. This process is the follower on the host, so it is the one
/// the driver sees watching.
fn stream(mut follower: Follower) -> i32 {
    let (me, _) = crate::clock::operator();
    let mut presence = follower.presence(&me);
    let mut sender = Sender::default();
    let mut out = std::io::stdout().lock();
    loop {
        follower.poll();
        if let Some(line) = sender.next(&follower.live, wall_ms()) {
            let json = serde_json::to_string(&line).unwrap_or_default();
            if writeln!(out, "{json}").and_then(|()| out.flush()).is_err() {
                return exit::OK; // The follower left.
            }
            if follower.live.ended.is_some() {
                return exit::OK;
            }
        }
        if let Some(p) = presence.as_mut() {
            p.refresh();
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The live feed named, or the newest in the journal dir.
fn find(args: &WatchArgs) -> Result<PathBuf, Error> {
    if let Some(target) = &args.target {
        let path = Path::new(target);
        if path.is_file() {
            return Ok(if target.ends_with(".jsonl") {
                live::path_for(path)
            } else {
                path.to_path_buf()
            });
        }
    }
    let dir = super::report::journal_dir(args.config.as_deref());
    let name = args.target.as_deref();
    if name.is_none() {
        let live: Vec<_> = super::status::rows(&dir)
            .into_iter()
            .filter(|r| r.ended.is_none())
            .collect();
        if live.len() > 1 {
            let lines: Vec<String> = live.iter().map(super::status::line).collect();
            return Err(Error::failed(format!(
                "{} rollouts are live here; name the one to follow, \
                 e.g. `cockpit watch \"{}\"`:\n{}",
                live.len(),
                live[0].rollout,
                lines.join("\n")
            )));
        }
    }
    let missing = |name: Option<&str>| match name {
        Some(n) => format!(
            "no cockpit is driving \"{n}\" here (no live feed for it in {}); \
             name a journal file, or pass --config for another journal dir",
            dir.display()
        ),
        None => format!(
            "nothing to watch: no cockpit has driven a rollout here (no live feed in {}); \
             start one with `cockpit run` or `cockpit drill`, or name a journal file",
            dir.display()
        ),
    };
    live::newest(&dir, name).ok_or_else(|| Error::failed(missing(name)))
}

/// The driver's keys (help shows the same letters), with a theme of the
/// follower's choosing.
/// Either failing is the user's choice of theme or the driver's config.
fn screen(args: &WatchArgs, live: &live::Live) -> Result<Screen, Error> {
    let colour = theme::colour_wanted();
    let theme = match &args.theme {
        Some(choice) => Theme::load(choice, colour).map_err(Error::usage)?,
        None => live
            .config
            .ui
            .theme
            .as_deref()
            .and_then(|t| Theme::load(t, colour).ok())
            .map_or_else(|| Theme::load("dark", colour), Ok)
            .map_err(Error::usage)?,
    };
    Screen::new(&live.config, theme, &live.driver, live.ssh).map_err(Error::usage)
}
