//! The runs before this one: an unfinished run is resumed or marked
//! abandoned, a damaged journal is set aside, never silently: each needs
//! the operator's word (a flag, or an answer on a terminal).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use super::Session;
use super::headless::Headless;
use super::start::{Asked, config_hash, first_inputs, open_journal};
use crate::clock::Clock;
use crate::config::Config;
use crate::error::{Error, Kind};
use crate::journal::{self, Journal, Resumed, RunStatus, RunSummary, resume};
use crate::rollout::{Actor, Command, Input, Rollout};
use crate::say::{ask, tell};

/// A new run, or the unfinished one carried on: the session and the inputs
/// it starts with.
pub(super) fn begin(
    asked: &Asked,
    path: &Path,
    config: Config,
    who: &str,
    clock: Clock,
    view: &mut Headless,
) -> Result<(Session, Vec<Input>), Error> {
    let dir = journal::default_dir(&config);
    let (unfinished, damaged) = past_runs(&dir, &config.rollout.name)?;
    let mut first = Vec::new();
    let note = |text: String| Input::Command {
        actor: Actor::Operator(who.to_string()),
        command: Command::Note { text },
    };
    if !damaged.is_empty() {
        let Some(reason) = &asked.fresh else {
            return Err(refuse_damaged(&damaged, &config.rollout.name));
        };
        for run in &damaged {
            let aside = set_aside(&run.path)?;
            let (old, new) = (run.path.display(), aside.display());
            tell(format!("note: the damaged journal {old} is kept as {new}"));
            first.push(note(format!(
                "started fresh (--fresh): {reason}; the damaged journal {old} is kept as {new}"
            )));
        }
    }
    let resume = match (&unfinished, asked.resume, &asked.fresh) {
        (None, true, _) => {
            return Err(Error::needs_operator(format!(
                "nothing to resume: no unfinished run of rollout {} in {}; \
                 run without --resume to start one",
                config.rollout.name,
                dir.display()
            )));
        }
        (None, ..) => false,
        (Some(_), true, _) => true,
        (Some(run), _, Some(reason)) => {
            abandon(&run.path, &clock, who, reason)?;
            first.push(note(format!(
                "started fresh (--fresh): {reason}; the unfinished run {} is marked abandoned",
                run.path.display()
            )));
            false
        }
        (Some(run), false, None) => ask_resume(asked, run, &config.rollout.name)?,
    };
    // On the screen the operator starts with `s`, after the checklist.
    first.extend(first_inputs(asked, &config, who, asked.headless));
    if let (true, Some(run)) = (resume, unfinished) {
        return resume_run(&run.path, path, config, who, clock, view, first);
    }
    let journal = open_journal(path, &config, who, clock.now(), false)?;
    Ok((Session::new(config, clock, Some(journal)), first))
}

/// `--fresh` over an unfinished run: its journal is kept, marked abandoned.
fn abandon(path: &Path, clock: &Clock, who: &str, reason: &str) -> Result<(), Error> {
    let mut old = Journal::reopen(path)
        .map_err(|e| Error::failed(format!("cannot reopen {}: {e}", path.display())))?;
    old.append_abandoned(clock.now(), who, &format!("--fresh: {reason}"))
        .map_err(|e| Error::failed(format!("cannot write {}: {e}", path.display())))?;
    tell(format!(
        "note: the unfinished run {} is marked abandoned",
        path.display()
    ));
    Ok(())
}

/// The newest unfinished run of `rollout` in `dir`, and the journals of
/// `rollout` that cannot be read (any of them may hold an unfinished run).
fn past_runs(dir: &Path, rollout: &str) -> Result<(Option<RunSummary>, Vec<RunSummary>), Error> {
    let runs = journal::runs(dir).map_err(Error::failed)?;
    let (damaged, readable): (Vec<_>, Vec<_>) = runs.into_iter().partition(|r| r.status.is_none());
    let (mine, others): (Vec<_>, Vec<_>) = damaged
        .into_iter()
        .partition(|r| journal::named_for(&r.path, rollout));
    for r in others {
        tell(format!(
            "warning: {} is not considered for resume: {}",
            r.path.display(),
            r.outcome
        ));
    }
    let unfinished = readable
        .into_iter()
        .find(|r| r.rollout == rollout && !r.drill && r.status == Some(RunStatus::Unfinished));
    Ok((unfinished, mine))
}

/// A journal of this rollout that cannot be read: whether its run is
/// unfinished is unknown, so neither resuming nor starting over is safe
/// without an operator's word.
fn refuse_damaged(damaged: &[RunSummary], rollout: &str) -> Error {
    let mut problems: Vec<String> = damaged
        .iter()
        .map(|run| {
            let why = run.outcome.strip_prefix("unreadable: ");
            why.unwrap_or(&run.outcome).to_string()
        })
        .collect();
    problems.push(format!(
        "rollout {rollout} has a journal that cannot be read, so whether a run of it is \
         unfinished is unknown; nothing was started. Repair the file at that line (a last line \
         cut short by a crash is tolerated), or start over with `--fresh REASON` (the damaged \
         journal is kept, renamed to .damaged, and the reason journalled)."
    ));
    Error::many(Kind::NeedsOperator, problems, None)
}

/// Moves a damaged journal out of the way, kept beside it for the postmortem.
fn set_aside(path: &Path) -> Result<PathBuf, Error> {
    let mut aside = path.as_os_str().to_owned();
    aside.push(".damaged");
    let aside = PathBuf::from(aside);
    if std::fs::symlink_metadata(&aside).is_ok() {
        return Err(Error::failed(format!(
            "cannot set {} aside: {} exists already; move one of them away",
            path.display(),
            aside.display()
        )));
    }
    std::fs::rename(path, &aside)
        .map_err(|e| Error::failed(format!("cannot set {} aside: {e}", path.display())))?;
    Ok(aside)
}

/// No flag said whether to resume: a terminal is asked, a script is told.
fn ask_resume(asked: &Asked, run: &RunSummary, rollout: &str) -> Result<bool, Error> {
    let started = Clock::show(run.started_at);
    let what = format!(
        "rollout {rollout} has an unfinished run started {started} by {} ({})",
        run.operator,
        run.path.display()
    );
    let choices = "--resume carries it on, --fresh REASON starts over (the old journal is kept, marked abandoned with the reason)";
    if asked.headless || !std::io::stdin().is_terminal() {
        return Err(Error::needs_operator(format!("{what}; {choices}")));
    }
    if ask(format!("{what}.\nResume it? [y/N] ")).eq_ignore_ascii_case("y") {
        return Ok(true);
    }
    Err(Error::shown(Kind::NeedsOperator).then(format!("not resumed; nothing changed. {choices}")))
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
) -> Result<(Session, Vec<Input>), Error> {
    let read = journal::read(journal_path).map_err(Error::failed)?;
    for w in &read.warnings {
        tell(format!("warning: {w}"));
    }
    let hash = config_hash(config_path);
    if hash != read.header.config_hash {
        tell(format!(
            "warning: {} changed since this run started ({} then, {hash} now); resuming with the config as it is now",
            config_path.display(),
            read.header.config_hash
        ));
    }
    let plan = resume::plan(&read);
    let now = clock.now();
    let (mut rollout, mut inputs) = plan.rollout(config, now);
    // Whoever carries the run on drives it from here (the header, `{operator}`).
    rollout.state.operator = who.to_string();
    let cannot_write =
        |e: std::io::Error| Error::failed(format!("cannot write {}: {e}", journal_path.display()));
    let mut journal = Journal::reopen(journal_path).map_err(|e| Error::failed(e.to_string()))?;
    journal
        .append_resumed(&resumed(who, &plan, now))
        .map_err(cannot_write)?;
    tell(format!(
        "resuming {} at stage {} ({})",
        rollout.config.rollout.name,
        rollout.state.stage + 1,
        journal_path.display()
    ));
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

/// The journal's record of who resumed, where, and what it voids.
fn resumed(who: &str, plan: &resume::ResumePlan, at: crate::rollout::At) -> Resumed {
    Resumed {
        at,
        by: who.to_string(),
        host: crate::clock::host_name(),
        pid: std::process::id(),
        ssh_connection: std::env::var("SSH_CONNECTION").ok(),
        voided: plan.voided.clone(),
        replayed: plan.replayed(),
    }
}

/// A hook that ran when the cockpit died: say which, and never re-run it
/// without an operator's word (a flag headless, a question on a terminal).
fn unknown_hook(rollout: &Rollout, view: &mut Headless) -> Result<Option<Input>, Error> {
    let Some(f) = rollout
        .state
        .failed
        .as_ref()
        .filter(|f| f.summary.starts_with("outcome unknown"))
    else {
        return Ok(None);
    };
    let label = f.step.hook.label();
    tell(format!(
        "the cockpit stopped while `{label}` ({:?} hook of stage {}) ran: whether it finished is unknown",
        f.step.purpose,
        f.step.stage + 1
    ));
    if view.unknown_hook.is_some() {
        return Ok(view.unknown_answer(rollout));
    }
    if !std::io::stdin().is_terminal() {
        // The headless view stops with the hint to pass --unknown-hook.
        return Ok(None);
    }
    let answer = ask(format!(
        "Run `{label}` again [r], mark it done [d], or quit [q]? "
    ));
    let actor = Actor::Operator(rollout.state.operator.clone());
    let command = match answer.to_ascii_lowercase().as_str() {
        "r" => Command::Retry,
        "d" => Command::Skip {
            reason: "marked done by the operator on resume".into(),
        },
        _ => return Err(Error::shown(Kind::NeedsOperator)),
    };
    Ok(Some(Input::Command { actor, command }))
}
