//! Getting a session under way: the journal directory and the lock, the
//! pre-flight, a new run or the unfinished one carried on. `cockpit run`
//! hands in what was asked; the view it then drives is its own choice.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::headless::{Headless, UnknownHook};
use super::{Session, View};
use crate::clock::Clock;
use crate::config::Config;
use crate::error::Error;
use crate::journal::lock::{Holder, Lock, LockError};
use crate::journal::{self, Header, Journal};
use crate::metrics::Sources;
use crate::preflight::{Preflight, Status};
use crate::rollout::event::PreflightCheck;
use crate::rollout::{Actor, At, Command, Event, Input};
use crate::say::tell;

/// What the operator asked of this start, beyond the config: the flags of
/// `cockpit run`, as the runtime needs them.
#[derive(Debug, Clone, Default)]
pub struct Asked {
    /// No screen: JSON lines, the policy decides.
    pub headless: bool,
    pub override_window: Option<String>,
    pub checklist_done: bool,
    pub force_start: Option<String>,
    pub auto_advance: bool,
    pub unknown_hook: Option<UnknownHook>,
    pub resume: bool,
    pub fresh: Option<String>,
}

/// A session ready to drive: the lock is held as long as this lives.
pub struct Started {
    pub runtime: tokio::runtime::Runtime,
    pub session: Session,
    pub first: Vec<Input>,
    /// The headless view (unused when a screen drives).
    pub view: Headless,
    pub preflight: Preflight,
    /// One driver per rollout: released when dropped.
    pub lock: Lock,
}

/// The tokio runtime `check --live`, `replay` and `run` work in.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::failed(format!("cannot start the runtime: {e}")))
}

/// Everything before the first input: policy, lock, pre-flight, journal.
pub fn start(
    asked: &Asked,
    path: &Path,
    mut config: Config,
    mut sources: Sources,
    who: &str,
) -> Result<Started, Error> {
    let mut view = Headless::new(asked.unknown_hook, Some(sources.every()));
    if asked.headless {
        headless_policy(asked, &mut config, &view)?;
    }
    let clock = Clock::new(1.0);
    let dir = journal::prepare_dir(&config).map_err(|e| Error::failed(e.to_string()))?;
    let lock = take_lock(&dir, &config, who, clock.now())?;
    let runtime = runtime()?;
    // The screen opens once it is done: say why the terminal waits.
    tell("pre-flight: reading every metric once, looking up hook programs and hosts");
    let report = runtime.block_on(crate::preflight::run(&config, &mut sources));
    if asked.headless {
        view.preflight(&report);
        // Stopped before the journal exists: nothing to resume or abandon.
        if let (Some(why), None, false) = (report.blocker(), &asked.force_start, asked.resume) {
            view.refused(&why);
            return Err(Error::shown(crate::error::Kind::NeedsOperator));
        }
    }
    let (session, first) = super::past::begin(asked, path, config, who, clock, &mut view)?;
    let session = session
        .with_sources(sources)
        .with_preflight(report.clone(), asked.force_start.clone());
    Ok(Started {
        runtime,
        session,
        first,
        view,
        preflight: report,
        lock,
    })
}

/// Headless advances a green stage only when the policy (or the flag) says
/// so: nobody is there to press a key.
fn headless_policy(asked: &Asked, config: &mut Config, view: &Headless) -> Result<(), Error> {
    if asked.auto_advance {
        config.policy.auto_advance = true;
    }
    view.policy(config, asked.auto_advance);
    if config.policy.auto_advance {
        return Ok(());
    }
    let why = "headless with policy.auto_advance = false: nobody could advance a green stage; \
               pass --auto-advance (or set auto_advance = true in [policy])";
    view.stop(why);
    Err(Error::needs_operator(why))
}

/// Start (if asked), then whatever the flags already answered.
pub(super) fn first_inputs(asked: &Asked, config: &Config, who: &str, start: bool) -> Vec<Input> {
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
    if let Some(reason) = &asked.override_window {
        inputs.push(command(Command::OverrideWindow {
            reason: reason.clone(),
        }));
    }
    if asked.checklist_done {
        for item in 0..config.checklist.items.len() {
            inputs.push(command(Command::TickChecklist { item }));
        }
    }
    inputs
}

/// A new journal for a run of `config` from the file at `path`.
pub fn open_journal(
    path: &Path,
    config: &Config,
    who: &str,
    now: At,
    drill: bool,
) -> Result<Journal, Error> {
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
    Journal::create(&dir, header).map_err(|e| {
        Error::failed(format!(
            "cannot create the journal in {}: {e}",
            dir.display()
        ))
    })
}

/// One driver per rollout: a lock held elsewhere needs an operator.
fn take_lock(dir: &Path, config: &Config, who: &str, now: At) -> Result<Lock, Error> {
    match Lock::acquire(dir, &config.rollout.name, &Holder::me(who, now)) {
        Ok((lock, warning)) => {
            if let Some(w) = warning {
                tell(format!("warning: {w}"));
            }
            Ok(lock)
        }
        Err(e @ LockError::Held(_)) => Err(Error::needs_operator(e.to_string())),
        Err(e @ LockError::Io(_)) => Err(Error::failed(e.to_string())),
    }
}

pub(super) fn config_hash(path: &Path) -> String {
    let text = crate::files::read_text(path).unwrap_or_default();
    format!("sha256:{:x}", Sha256::digest(&text))
}

/// The pre-flight as one journal record: each check, and its error's words.
pub(super) fn preflight_event(report: &Preflight) -> Event {
    let checks = report
        .items
        .iter()
        .map(|item| PreflightCheck {
            what: item.label(),
            ok: !item.failed(),
            error: match &item.status {
                Status::Failed(why) => Some(why.clone()),
                _ => None,
            },
            blocks_start: item.blocks_start,
        })
        .collect();
    Event::Preflight { checks }
}
