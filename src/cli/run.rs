//! `cockpit run`: drive a rollout, on the screen or headless.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::clock::{Clock, operator};
use crate::config::Config;
use crate::exit;
use crate::journal::lock::{Holder, Lock, LockError};
use crate::journal::{self, Header, Journal, Resumed, RunStatus, RunSummary, resume};
use crate::plan::Choices;
use crate::rollout::{Actor, At, Command, Input, Rollout};
use crate::run::headless::{Headless, UnknownHook};
use crate::run::{Session, View};

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

pub fn run(args: RunArgs) -> i32 {
    let choices = Choices::new(args.theme.clone());
    let plan = match super::build_plan(args.config.as_deref(), &choices) {
        Ok(plan) => plan,
        Err(code) => return code,
    };
    let path = plan.path.clone();
    let (who, ssh) = operator();
    let who = args.operator.clone().unwrap_or(who);
    let (config, screen, sources) = plan.into_parts((!args.headless).then_some((&who, ssh)));
    if !args.headless && !std::io::stdout().is_terminal() {
        eprintln!(
            "error: stdout is not a terminal, so the screen cannot be drawn.\n\
             Run `cockpit run --headless` for JSON lines (or `ssh -t` for a terminal)."
        );
        return exit::CONFIG;
    }
    if args.fresh.as_ref().is_some_and(|r| r.trim().is_empty()) {
        eprintln!("error: --fresh needs a reason, for the journal: --fresh \"why starting over\"");
        return exit::CONFIG;
    }
    let mut config = config;
    let mut view = Headless::new(args.unknown_hook, Some(sources.every()));
    if args.headless {
        if args.auto_advance {
            config.policy.auto_advance = true;
        }
        view.policy(&config, args.auto_advance);
        if !config.policy.auto_advance {
            let why = "headless with policy.auto_advance = false: nobody could advance a green stage; \
                       pass --auto-advance (or set auto_advance = true in [policy])";
            view.stop(why);
            eprintln!("error: {why}");
            return exit::ABORTED;
        }
    }
    let clock = Clock::new(1.0);
    let dir = match journal::prepare_dir(&config) {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::ERROR;
        }
    };
    // Held until this function returns: one driver per rollout.
    let lock = match take_lock(&dir, &config, &who, clock.now()) {
        Ok(lock) => lock,
        Err(code) => return code,
    };
    let runtime = match super::runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let mut sources = sources;
    // The screen opens once it is done: say why the terminal waits.
    eprintln!("pre-flight: reading every metric once, looking up hook programs and hosts");
    let report = runtime.block_on(crate::preflight::run(&config, &mut sources));
    if args.headless {
        view.preflight(&report);
        // Stopped before the journal exists: nothing to resume or abandon.
        if let (Some(why), None, false) = (report.blocker(), &args.force_start, args.resume) {
            view.refused(&why);
            return exit::ABORTED;
        }
    }
    let (session, first) = match begin(&args, &path, config, &who, clock, &mut view) {
        Ok((session, first)) => (
            session
                .with_sources(sources)
                .with_preflight(report.clone(), args.force_start.clone()),
            first,
        ),
        Err(code) => return code,
    };
    let screen = screen.map(|s| s.with_preflight(report));
    let code = match screen {
        None => runtime.block_on(session.drive(&mut view, first)),
        Some(screen) => runtime.block_on(crate::tui::run(session, screen, first)),
    };
    drop(lock);
    // Handed the wheel to a follower: this terminal follows the run now.
    match crate::run::handover::handed_over() {
        Some(journal) => crate::run::handover::follow_instead(&journal),
        None => code,
    }
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
    let header = Header {
        rollout: config.rollout.name.clone(),
        config_path: path.display().to_string(),
        config_hash: config_hash(path),
        operator: who.to_string(),
        ssh_connection: std::env::var("SSH_CONNECTION").ok(),
        drill,
        started_at: now,
    };
    let dir = journal::default_dir(config);
    Journal::create(&dir, header)
        .map_err(|e| format!("cannot create the journal in {}: {e}", dir.display()))
}

fn take_lock(dir: &Path, config: &Config, who: &str, now: At) -> Result<Lock, i32> {
    match Lock::acquire(dir, &config.rollout.name, &Holder::me(who, now)) {
        Ok((lock, warning)) => {
            if let Some(w) = warning {
                eprintln!("warning: {w}");
            }
            Ok(lock)
        }
        Err(e @ LockError::Held(_)) => {
            eprintln!("error: {e}");
            Err(exit::ABORTED)
        }
        Err(e @ LockError::Io(_)) => {
            eprintln!("error: {e}");
            Err(exit::ERROR)
        }
    }
}

/// A new run, or the unfinished one carried on: the session and the inputs
/// it starts with.
fn begin(
    args: &RunArgs,
    path: &Path,
    config: Config,
    who: &str,
    clock: Clock,
    view: &mut Headless,
) -> Result<(Session, Vec<Input>), i32> {
    let dir = journal::default_dir(&config);
    let fail = |e: String| {
        eprintln!("error: {e}");
        exit::ERROR
    };
    let (unfinished, damaged) = past_runs(&dir, &config.rollout.name).map_err(fail)?;
    let mut first = Vec::new();
    let actor = Actor::Operator(who.to_string());
    let note = |text: String| Input::Command {
        actor: actor.clone(),
        command: Command::Note { text },
    };
    match (damaged.is_empty(), &args.fresh) {
        (true, _) => {}
        (false, None) => return Err(refuse_damaged(&damaged, &config.rollout.name)),
        (false, Some(reason)) => {
            for run in &damaged {
                let aside = set_aside(&run.path).map_err(fail)?;
                eprintln!(
                    "note: the damaged journal {} is kept as {}",
                    run.path.display(),
                    aside.display()
                );
                first.push(note(format!(
                    "started fresh (--fresh): {reason}; the damaged journal {} is kept as {}",
                    run.path.display(),
                    aside.display()
                )));
            }
        }
    }
    let resume = match (&unfinished, args.resume, &args.fresh) {
        (None, true, _) => {
            eprintln!(
                "error: nothing to resume: no unfinished run of rollout {} in {}; \
                 run without --resume to start one",
                config.rollout.name,
                dir.display()
            );
            return Err(exit::ABORTED);
        }
        (None, ..) => false,
        (Some(_), true, _) => true,
        (Some(run), _, Some(reason)) => {
            let mut old = Journal::reopen(&run.path)
                .map_err(|e| fail(format!("cannot reopen {}: {e}", run.path.display())))?;
            old.append_abandoned(clock.now(), who, &format!("--fresh: {reason}"))
                .map_err(|e| fail(format!("cannot write {}: {e}", run.path.display())))?;
            eprintln!(
                "note: the unfinished run {} is marked abandoned",
                run.path.display()
            );
            first.push(note(format!(
                "started fresh (--fresh): {reason}; the unfinished run {} is marked abandoned",
                run.path.display()
            )));
            false
        }
        (Some(run), false, None) => ask_resume(args, run, &config.rollout.name)?,
    };
    // On the screen the operator starts with `s`, after the checklist.
    first.extend(first_inputs(args, &config, who, args.headless));
    if let (true, Some(run)) = (resume, unfinished) {
        return resume_run(&run.path, path, config, who, clock, view, first);
    }
    let journal = open_journal(path, &config, who, clock.now(), false).map_err(fail)?;
    Ok((Session::new(config, clock, Some(journal)), first))
}

/// The newest unfinished run of `rollout` in `dir`, and the journals of
/// `rollout` that cannot be read (any of them may hold an unfinished run).
fn past_runs(dir: &Path, rollout: &str) -> Result<(Option<RunSummary>, Vec<RunSummary>), String> {
    let runs = journal::runs(dir)?;
    let (damaged, readable): (Vec<_>, Vec<_>) = runs.into_iter().partition(|r| r.status.is_none());
    let (mine, others): (Vec<_>, Vec<_>) = damaged
        .into_iter()
        .partition(|r| journal::named_for(&r.path, rollout));
    for r in others {
        eprintln!(
            "warning: {} is not considered for resume: {}",
            r.path.display(),
            r.outcome
        );
    }
    let unfinished = readable
        .into_iter()
        .find(|r| r.rollout == rollout && !r.drill && r.status == Some(RunStatus::Unfinished));
    Ok((unfinished, mine))
}

/// A journal of this rollout that cannot be read: whether its run is
/// unfinished is unknown, so neither resuming nor starting over is safe
/// without an operator's word (exit 5).
fn refuse_damaged(damaged: &[RunSummary], rollout: &str) -> i32 {
    for run in damaged {
        let why = run
            .outcome
            .strip_prefix("unreadable: ")
            .unwrap_or(&run.outcome);
        eprintln!("error: {why}");
    }
    eprintln!(
        "error: rollout {rollout} has a journal that cannot be read, so whether a run of it is \
         unfinished is unknown; nothing was started. Repair the file at that line (a last line \
         cut short by a crash is tolerated), or start over with `--fresh REASON` (the damaged \
         journal is kept, renamed to .damaged, and the reason journalled)."
    );
    exit::ABORTED
}

/// Moves a damaged journal out of the way, kept beside it for the postmortem.
fn set_aside(path: &Path) -> Result<PathBuf, String> {
    let mut aside = path.as_os_str().to_owned();
    aside.push(".damaged");
    let aside = PathBuf::from(aside);
    if std::fs::symlink_metadata(&aside).is_ok() {
        return Err(format!(
            "cannot set {} aside: {} exists already; move one of them away",
            path.display(),
            aside.display()
        ));
    }
    std::fs::rename(path, &aside)
        .map_err(|e| format!("cannot set {} aside: {e}", path.display()))?;
    Ok(aside)
}

/// No flag said whether to resume: a terminal is asked, a script is told.
fn ask_resume(args: &RunArgs, run: &RunSummary, rollout: &str) -> Result<bool, i32> {
    let started = Clock::show(run.started_at);
    let what = format!(
        "rollout {rollout} has an unfinished run started {started} by {} ({})",
        run.operator,
        run.path.display()
    );
    let choices = "--resume carries it on, --fresh REASON starts over (the old journal is kept, marked abandoned with the reason)";
    if args.headless || !std::io::stdin().is_terminal() {
        eprintln!("error: {what}; {choices}");
        return Err(exit::ABORTED);
    }
    eprint!("{what}.\nResume it? [y/N] ");
    if prompt().eq_ignore_ascii_case("y") {
        return Ok(true);
    }
    eprintln!("not resumed; nothing changed. {choices}");
    Err(exit::ABORTED)
}

/// One answer line from the terminal, trimmed; empty on EOF.
pub(super) fn prompt() -> String {
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    answer.trim().to_string()
}

/// Rebuilds the engine from the journal's last checkpoint and carries on
/// appending to the same journal.
fn resume_run(
    journal_path: &Path,
    config_path: &Path,
    config: Config,
    who: &str,
    clock: Clock,
    view: &mut Headless,
    first: Vec<Input>,
) -> Result<(Session, Vec<Input>), i32> {
    let fail = |e: String| {
        eprintln!("error: {e}");
        exit::ERROR
    };
    let read = journal::read(journal_path).map_err(fail)?;
    for w in &read.warnings {
        eprintln!("warning: {w}");
    }
    let hash = config_hash(config_path);
    if hash != read.header.config_hash {
        eprintln!(
            "warning: {} changed since this run started ({} then, {hash} now); resuming with the config as it is now",
            config_path.display(),
            read.header.config_hash
        );
    }
    let plan = resume::plan(&read);
    let now = clock.now();
    let (mut rollout, mut inputs) = plan.rollout(config, now);
    // Whoever carries the run on drives it from here (the header, `{operator}`).
    rollout.state.operator = who.to_string();
    let mut journal = Journal::reopen(journal_path).map_err(|e| fail(e.to_string()))?;
    let resumed = Resumed {
        at: now,
        by: who.to_string(),
        host: crate::clock::host_name(),
        pid: std::process::id(),
        ssh_connection: std::env::var("SSH_CONNECTION").ok(),
        voided: plan.voided.clone(),
        replayed: plan.replayed(),
    };
    journal
        .append_resumed(&resumed)
        .map_err(|e| fail(format!("cannot write {}: {e}", journal_path.display())))?;
    eprintln!(
        "resuming {} at stage {} ({})",
        rollout.config.rollout.name,
        rollout.state.stage + 1,
        journal_path.display()
    );
    inputs.extend(first);
    if let Some(answer) = unknown_hook(&rollout, view)? {
        inputs.push(answer);
    }
    // What this resume voids is carried over as inputs, not shown twice.
    let history = read.entries.iter().filter_map(|e| match &e.record {
        journal::Record::Event { at, event }
            if !read.voided.contains(&e.line) && !plan.voided.contains(&e.line) =>
        {
            Some((*at, event.clone()))
        }
        _ => None,
    });
    let session = Session::with(rollout, clock, Some(journal)).with_history(history);
    Ok((session, inputs))
}

/// A hook that ran when the cockpit died: say which, and never re-run it
/// without an operator's word (a flag headless, a question on a terminal).
fn unknown_hook(rollout: &Rollout, view: &mut Headless) -> Result<Option<Input>, i32> {
    let Some(f) = rollout
        .state
        .failed
        .as_ref()
        .filter(|f| f.summary.starts_with("outcome unknown"))
    else {
        return Ok(None);
    };
    let label = f.step.hook.label();
    eprintln!(
        "the cockpit stopped while `{label}` ({:?} hook of stage {}) ran: whether it finished is unknown",
        f.step.purpose,
        f.step.stage + 1
    );
    if view.unknown_hook.is_some() {
        return Ok(view.unknown_answer(rollout));
    }
    if !std::io::stdin().is_terminal() {
        // The headless view stops with the hint to pass --unknown-hook.
        return Ok(None);
    }
    eprint!("Run `{label}` again [r], mark it done [d], or quit [q]? ");
    let actor = Actor::Operator(rollout.state.operator.clone());
    let command = match prompt().to_ascii_lowercase().as_str() {
        "r" => Command::Retry,
        "d" => Command::Skip {
            reason: "marked done by the operator on resume".into(),
        },
        _ => return Err(exit::ABORTED),
    };
    Ok(Some(Input::Command { actor, command }))
}

fn config_hash(path: &Path) -> String {
    let text = crate::files::read_text(path).unwrap_or_default();
    format!("sha256:{:x}", Sha256::digest(&text))
}
