//! One drill, on screen or headless: the simulator, the plan a config file
//! would get, the journal, the session, and the referee that watches the
//! session's effects, paces the clock for the person and scores the drill
//! once, at its end. `cli/drill.rs` only reads the arguments.

pub mod blind;
mod referee;
pub mod simulate;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::sync::mpsc::{self, UnboundedSender};

use crate::clock::{Clock, operator};
use crate::error::{Error, Kind};
use crate::journal::{self, Header, Journal};
use crate::metrics::Sources;
use crate::plan::{self, Choices};
use crate::rollout::{Actor, At, Command, Effect, Event, Input, Rollout};
use crate::run::headless::Headless;
use crate::run::{Msg, Session, View};
use crate::sim::drill as drill_config;
use crate::sim::model::FaultChange;
use crate::sim::server::Simulator;
use crate::sim::{Scenario, score};
pub use blind::Blind;

/// How to run a drill, from the command line.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--speed`: simulated seconds per real second in the quiet waits.
    pub speed: f64,
    pub headless: bool,
    pub theme: Option<String>,
    /// Who drives, for the journal.
    pub who: String,
    /// Where the scenario came from (a built-in name or a file), hashed
    /// into the journal's header.
    pub source: String,
}

/// Runs `scenario` to its end and returns the exit code; the score is on
/// stderr and in the journal.
pub async fn run(scenario: Scenario, blind: Option<Blind>, opts: &Options) -> Result<i32, Error> {
    // What the screen and headless output call the drill until its end.
    let label = blind.as_ref().map(|b| b.label.clone());
    let shown = Scenario {
        name: label.clone().unwrap_or_else(|| scenario.name.clone()),
        ..scenario.clone()
    };
    // On screen the clock slows to the person's pace in decision windows;
    // headless it keeps `--speed` throughout (no one to wait for).
    let clock = if opts.headless {
        Clock::new(opts.speed)
    } else {
        Clock::paced(opts.speed)
    };
    let (fault_tx, faults) = mpsc::unbounded_channel::<FaultChange>();
    let sim = Simulator::start(scenario.clone(), clock, Some(fault_tx))
        .await
        .map_err(|e| Error::failed(format!("cannot serve the simulator on 127.0.0.1: {e}")))?;
    let (config, screen, sources) = plan_for(&shown, &sim, opts)?;
    let journal =
        open_journal(&shown, blind.as_ref(), &config, opts, clock).map_err(Error::failed)?;
    let path = journal.path().to_path_buf();
    announce(
        &shown,
        blind.is_some(),
        &scenario.summary,
        opts.speed,
        &path,
    );
    let mut view = Headless::new(None, Some(sources.every()));
    if opts.headless {
        view.policy(&config, false);
    }
    let rollout = Rollout::new(config.clone(), clock.now());
    let (effects_tx, effects) = mpsc::unbounded_channel::<Effect>();
    let session = Session::new(config, clock, Some(journal))
        .with_sources(sources)
        .with_watcher(effects_tx);
    forward_faults(faults, session.sender(), blind.is_some());
    let pace = (!opts.headless).then_some(opts.speed);
    let watch = referee::Watch::new(&scenario, label, opts.headless, pace);
    let referee = tokio::spawn(watch.run(effects, clock, session.sender()));
    let first = first_inputs(&shown, blind.is_some(), &opts.who);
    // A failed session is still scored: the error waits for the debrief.
    let ended = match screen {
        None => session.run(&mut view, first).await,
        Some(screen) => crate::tui::run(session, screen, first).await,
    }
    .map(crate::run::Ended::code);
    drop(sim);
    // The session is over, so its effects channel is closed and the
    // referee has seen every effect.
    let owed = referee.await.ok().and_then(|r| r.owed(clock.now()));
    let headless = opts.headless.then_some((&mut view, &rollout));
    debrief(settle(&path, owed, clock.now(), headless));
    ended
}

/// The score on stderr, whichever way the drill ended.
fn debrief(settled: Result<crate::rollout::DrillScore, String>) {
    match settled {
        Ok(score) => score::render(&score).into_iter().for_each(crate::say::tell),
        Err(e) => crate::say::tell(format!("warning: the drill could not be scored: {e}")),
    }
}

/// The same plan a config file gets (validation, sources, keys, theme),
/// from the drill's config text, split into what the session needs.
fn plan_for(
    shown: &Scenario,
    sim: &Simulator,
    opts: &Options,
) -> Result<(crate::config::Config, Option<crate::tui::Screen>, Sources), Error> {
    let text = drill_config::config_text(shown, &sim.endpoints(), opts.headless, None);
    let origin = format!("drill config for scenario {}", shown.name);
    let choices = Choices::new(opts.theme.clone());
    let plan = plan::from_text(Path::new(&origin), &text, &choices).map_err(|errors| {
        let problems = errors.iter().map(ToString::to_string).collect();
        Error::many(Kind::Usage, problems, None)
    })?;
    let drives = (!opts.headless).then_some((opts.who.as_str(), operator().1));
    Ok(plan.into_parts(drives))
}

/// The first line on stderr: what is rehearsed (a blind drill: nothing
/// more than its neutral name), at what speed, and where the journal is.
fn announce(shown: &Scenario, blind: bool, summary: &str, speed: f64, path: &Path) {
    let about = if blind {
        "the scenario is revealed with the score"
    } else {
        summary
    };
    crate::say::tell(format!(
        "drill {}: {about} ({speed}x; journal {})",
        shown.name,
        path.display()
    ));
}

/// Faults switching in the simulator go into the journal as they happen.
/// A blind drill's faults say only that one switched.
fn forward_faults(
    mut faults: mpsc::UnboundedReceiver<FaultChange>,
    tx: UnboundedSender<Msg>,
    blind: bool,
) {
    tokio::spawn(async move {
        while let Some(f) = faults.recv().await {
            let what = if blind {
                "a scripted fault (blind drill: revealed with the score)".into()
            } else {
                f.what
            };
            let event = Event::DrillFault {
                what,
                active: f.active,
            };
            if tx.send(Msg::Journal(event)).is_err() {
                return;
            }
        }
    });
}

/// Start, and skip the window and checklist: a drill is a rehearsal.
fn first_inputs(scenario: &Scenario, blind: bool, who: &str) -> Vec<Input> {
    let reason = if blind {
        scenario.name.clone()
    } else {
        format!("drill, scenario {}", scenario.name)
    };
    let actor = Actor::Operator(who.to_string());
    // Skip first, so the start is not announced as blocked by the window.
    vec![
        Input::Command {
            actor,
            command: Command::SkipChecks { reason },
        },
        Input::Start {
            local: Clock::local_now(),
            operator: who.to_string(),
        },
    ]
}

/// The score a session ended without (quit, a signal, an outcome
/// headless), written once, after it; the score on record otherwise.
/// Headless, the view prints it as it prints every journal event.
fn settle(
    path: &Path,
    owed: Option<crate::rollout::DrillScore>,
    now: At,
    headless: Option<(&mut Headless, &Rollout)>,
) -> Result<crate::rollout::DrillScore, String> {
    let Some(s) = owed else {
        return journalled_score(path);
    };
    let event = Event::DrillScore(Box::new(s.clone()));
    let mut journal = Journal::reopen(path).map_err(|e| format!("{}: {e}", path.display()))?;
    journal
        .append_event(now, &event)
        .and_then(|_| journal.flush())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if let Some((view, rollout)) = headless {
        view.effect(rollout, &Effect::Journal { at: now, event });
    }
    Ok(s)
}

/// The score the session journalled: the record, read once to print it.
fn journalled_score(path: &Path) -> Result<crate::rollout::DrillScore, String> {
    let read = journal::read(path)?;
    let found = read.events().filter_map(|(_, e)| match e {
        Event::DrillScore(s) => Some(s.as_ref().clone()),
        _ => None,
    });
    found
        .last()
        .ok_or_else(|| format!("{}: no drill score", path.display()))
}

/// The journal of a drill: the header says so and hashes the scenario; a
/// blind drill's journal names its scenario from the start (a note by the
/// drill master), while the screen and output do not until the score.
fn open_journal(
    shown: &Scenario,
    blind: Option<&Blind>,
    config: &crate::config::Config,
    opts: &Options,
    clock: Clock,
) -> Result<Journal, String> {
    let text = Scenario::text(&opts.source);
    let header = Header {
        rollout: config.rollout.name.clone(),
        config_path: format!("scenario {}", shown.name),
        config_hash: format!("sha256:{:x}", Sha256::digest(text.as_bytes())),
        operator: opts.who.clone(),
        ssh_connection: std::env::var("SSH_CONNECTION").ok(),
        drill: true,
        started_at: clock.now(),
    };
    let dir = journal::prepare_dir(config)?;
    let mut journal = Journal::create(&dir, header)
        .map_err(|e| format!("cannot create the journal in {}: {e}", dir.display()))?;
    if let Some(b) = blind {
        let note = Event::Note {
            by: Actor::Operator("drill master".into()),
            text: b.note.clone(),
        };
        let path: PathBuf = journal.path().to_path_buf();
        journal
            .append_event(clock.now(), &note)
            .and_then(|_| journal.flush())
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(journal)
}
