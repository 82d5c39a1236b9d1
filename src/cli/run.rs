//! `cockpit run`: drive a rollout, on the screen or headless.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::exit;
use crate::config::Config;
use crate::journal::{self, Header, Journal};
use crate::rollout::{Actor, Command, Input};
use crate::run::headless::{Headless, UnknownHook};
use crate::run::{Clock, Session, operator};
use crate::tui::Screen;
use crate::tui::theme::{self, Theme};

/// What `cockpit run` was asked for, beyond the config.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Config file; default ./cockpit.toml, then the user config dir.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// No screen: events as JSON lines on stdout, the policy decides.
    #[arg(long)]
    pub headless: bool,
    /// Start outside the deploy window; the reason goes into the journal.
    #[arg(long, value_name = "REASON")]
    pub override_window: Option<String>,
    /// Headless: the pre-deploy checklist was done outside the cockpit.
    #[arg(long)]
    pub checklist_done: bool,
    /// After a crash, what to do with a hook whose outcome is unknown.
    #[arg(long, value_enum)]
    pub unknown_hook: Option<UnknownHook>,
    /// Who drives, for the journal (default: user@host).
    #[arg(long)]
    pub operator: Option<String>,
    /// Screen theme: dark, light, high-contrast, colour-blind, or a theme
    /// file (overrides `[ui] theme`). NO_COLOR turns colour off.
    #[arg(long, value_name = "NAME|FILE")]
    pub theme: Option<String>,
}

pub fn run(args: RunArgs) -> i32 {
    let (path, config) = match super::load_config(args.config.as_deref()) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let screen = if args.headless {
        None
    } else {
        match screen(&args, &path, &config) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::CONFIG;
            }
        }
    };
    if !args.headless && !std::io::stdout().is_terminal() {
        eprintln!(
            "error: stdout is not a terminal, so the screen cannot be drawn.\n\
             Run `cockpit run --headless` for JSON lines (or `ssh -t` for a terminal)."
        );
        return exit::CONFIG;
    }
    let who = args.operator.clone().unwrap_or_else(|| operator().0);
    let clock = Clock::new(1.0);
    let journal = match open_journal(&path, &config, &who, clock.now(), false) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::ERROR;
        }
    };
    let mut config = config;
    if args.headless && !config.policy.auto_advance {
        // Nobody can press `a` in a pipeline: a green stage advances by itself.
        eprintln!("note: headless: policy.auto_advance is on (no operator to advance)");
        config.policy.auto_advance = true;
    }
    // On the screen the operator starts with `s`, after the checklist.
    let first = first_inputs(&args, &config, &who, args.headless);
    let session = Session::new(config, clock, Some(journal));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return exit::ERROR;
        }
    };
    match screen {
        None => {
            let mut view = Headless::new(args.unknown_hook);
            runtime.block_on(session.drive(&mut view, first))
        }
        Some(screen) => runtime.block_on(crate::tui::run(session, screen, first)),
    }
}

/// The screen's theme and keys, checked before anything starts.
fn screen(args: &RunArgs, path: &Path, config: &Config) -> Result<Screen, String> {
    let colour = theme::colour_wanted();
    let theme = match (&args.theme, &config.ui.theme) {
        (Some(choice), _) => Theme::load(choice, colour)?,
        // A theme file named in the config is relative to the config.
        (None, Some(choice)) => {
            let beside = path.parent().unwrap_or(Path::new(".")).join(choice);
            let choice = if choice.ends_with(".toml") && beside.exists() {
                beside.display().to_string()
            } else {
                choice.clone()
            };
            Theme::load(&choice, colour)
                .map_err(|e| format!("{}: [ui] theme: {e}", path.display()))?
        }
        (None, None) => Theme::load("dark", colour)?,
    };
    let (who, ssh) = operator();
    let who = args.operator.clone().unwrap_or(who);
    Screen::new(config, theme, &who, ssh).map_err(|e| format!("{}: {e}", path.display()))
}

/// Start (if asked), then whatever the flags already answered.
fn first_inputs(args: &RunArgs, config: &Config, who: &str, start: bool) -> Vec<Input> {
    let actor = Actor::Operator(who.to_string());
    let mut inputs = Vec::new();
    if start {
        inputs.push(Input::Start {
            local: Clock::local_now(),
            operator: who.to_string(),
        });
    }
    let command = |command| Input::Command {
        actor: actor.clone(),
        command,
    };
    if let Some(reason) = &args.override_window {
        inputs.push(command(Command::OverrideWindow {
            reason: reason.clone(),
        }));
    }
    if args.checklist_done {
        for item in 0..config.checklist.items.len() {
            inputs.push(command(Command::TickChecklist { item }));
        }
    }
    inputs
}

pub fn open_journal(
    path: &Path,
    config: &Config,
    who: &str,
    now: crate::rollout::At,
    drill: bool,
) -> Result<Journal, String> {
    let text = std::fs::read(path).unwrap_or_default();
    let header = Header {
        rollout: config.rollout.name.clone(),
        config_path: path.display().to_string(),
        config_hash: format!("sha256:{:x}", Sha256::digest(&text)),
        operator: who.to_string(),
        ssh_connection: std::env::var("SSH_CONNECTION").ok(),
        drill,
        started_at: now,
    };
    let dir = journal::default_dir(config);
    Journal::create(&dir, header)
        .map_err(|e| format!("cannot create the journal in {}: {e}", dir.display()))
}
