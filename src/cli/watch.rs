//! `cockpit watch`: follow someone else's rollout, read-only, from another
//! terminal: the pair in a risky deploy, a lead checking in, a drill's
//! audience. It reads the live feed the driving cockpit writes beside its
//! journal, so it needs the same machine (or the same journal dir), not a
//! network port.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use crate::exit;
use crate::feed::{self as live, Follower};
use crate::tui::Screen;
use crate::tui::theme::{self, Theme};

#[derive(Debug, Clone, clap::Args)]
pub struct WatchArgs {
    /// What to follow: a journal (.jsonl), its live feed (.live.json), or a
    /// rollout name; default: the newest rollout being driven.
    pub target: Option<String>,
    /// Config file whose `[journal] dir` to look in; default ./cockpit.toml,
    /// then the user config dir, else the default journal dir.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Screen theme: dark, light, high-contrast, colour-blind, or a theme
    /// file (default: the driver's `[ui] theme`, else dark).
    #[arg(long)]
    pub theme: Option<String>,
}

pub fn run(args: WatchArgs) -> i32 {
    let feed = match find(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::ERROR;
        }
    };
    let follower = match Follower::open(&feed) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::ERROR;
        }
    };
    if !std::io::stdout().is_terminal() {
        eprintln!(
            "error: stdout is not a terminal, so the screen cannot be drawn.\n\
             To follow from a script, read the journal: {} (or `ssh -t` for a terminal).",
            follower.live.journal.display()
        );
        return exit::CONFIG;
    }
    let screen = match screen(&args, &follower.live) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::CONFIG;
        }
    };
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(crate::tui::watch(follower, screen)),
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            exit::ERROR
        }
    }
}

/// The live feed named, or the newest in the journal dir.
fn find(args: &WatchArgs) -> Result<PathBuf, String> {
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
    live::newest(&dir, name).ok_or_else(|| match name {
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
    })
}

/// The driver's keys (help shows the same letters), with a theme of the
/// follower's choosing.
fn screen(args: &WatchArgs, live: &live::Live) -> Result<Screen, String> {
    let colour = theme::colour_wanted();
    let theme = match &args.theme {
        Some(choice) => Theme::load(choice, colour)?,
        None => live
            .config
            .ui
            .theme
            .as_deref()
            .and_then(|t| Theme::load(t, colour).ok())
            .map_or_else(|| Theme::load("dark", colour), Ok)?,
    };
    Screen::new(&live.config, theme, &live.driver, live.ssh)
}
