//! `cockpit run`: drive a rollout, on the screen or headless. The
//! arguments and the wiring; getting under way is the runtime's
//! (`run::start`).

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::clock::operator;
use crate::error::Error;
use crate::plan::Choices;
use crate::run::Ended;
use crate::run::headless::UnknownHook;
use crate::run::start::{Asked, Started, start};

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
    /// Start stage 1 although the pre-flight failed (a baseline with no
    /// data, a hook program missing); the reason goes into the journal.
    #[arg(long, value_name = "REASON")]
    pub force_start: Option<String>,
    /// Headless: advance a green stage without an operator (turns
    /// `policy.auto_advance` on). Without it, and with auto_advance off in
    /// the config, headless stops at once (exit 5): nobody could press `a`.
    #[arg(long)]
    pub auto_advance: bool,
    /// After a crash, what to do with a hook whose outcome is unknown.
    #[arg(long, value_enum)]
    pub unknown_hook: Option<UnknownHook>,
    /// Who drives, for the journal (default: user@host).
    #[arg(long)]
    pub operator: Option<String>,
    /// Carry on the unfinished run of this rollout without asking.
    #[arg(long, conflicts_with = "fresh")]
    pub resume: bool,
    /// Start a new run even if one is unfinished (its journal is kept,
    /// marked abandoned) or a journal of this rollout is damaged (it is
    /// kept, set aside as `.damaged`); the reason goes into the journals.
    #[arg(long, value_name = "REASON")]
    pub fresh: Option<String>,
    /// Screen theme: dark, light, high-contrast, colour-blind, or a theme
    /// file (overrides `[ui] theme`). NO_COLOR turns colour off.
    #[arg(long, value_name = "NAME|FILE")]
    pub theme: Option<String>,
}

impl RunArgs {
    /// What the runtime needs of the flags.
    fn asked(&self) -> Asked {
        Asked {
            headless: self.headless,
            override_window: self.override_window.clone(),
            checklist_done: self.checklist_done,
            force_start: self.force_start.clone(),
            auto_advance: self.auto_advance,
            unknown_hook: self.unknown_hook,
            resume: self.resume,
            fresh: self.fresh.clone(),
        }
    }
}

pub fn run(args: RunArgs) -> Result<i32, Error> {
    let plan = super::build_plan(args.config.as_deref(), &Choices::new(args.theme.clone()))?;
    let path = plan.path.clone();
    let (who, ssh) = operator();
    let who = args.operator.clone().unwrap_or(who);
    let (config, screen, sources) = plan.into_parts((!args.headless).then_some((&who, ssh)));
    if !args.headless && !std::io::stdout().is_terminal() {
        return Err(Error::usage(
            "stdout is not a terminal, so the screen cannot be drawn.\n\
             Run `cockpit run --headless` for JSON lines (or `ssh -t` for a terminal).",
        ));
    }
    if args.fresh.as_ref().is_some_and(|r| r.trim().is_empty()) {
        return Err(Error::usage(
            "--fresh needs a reason, for the journal: --fresh \"why starting over\"",
        ));
    }
    let Started {
        runtime,
        session,
        first,
        mut view,
        preflight,
        // Held (not `_`) until the session ends: one driver per rollout.
        lock,
    } = start(&args.asked(), &path, config, sources, &who)?;
    let ended = match screen {
        None => runtime.block_on(session.run(&mut view, first))?,
        Some(screen) => {
            let screen = screen.with_preflight(preflight);
            runtime.block_on(crate::tui::run(session, screen, first))?
        }
    };
    drop(lock);
    match ended {
        Ended::Exit(code) => Ok(code),
        // Handed the wheel to a follower: this terminal follows the run now.
        Ended::HandedOver(journal) => crate::run::handover::follow_instead(&journal),
    }
}
