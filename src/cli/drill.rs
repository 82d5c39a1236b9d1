//! `cockpit drill` and `cockpit simulate`: rehearse a rollout against the
//! built-in simulator, or serve the simulator alone for a real Prometheus
//! or a second cockpit to watch.

use std::io::{IsTerminal, Write};
use std::path::Path;

use sha2::{Digest, Sha256};
use tokio::sync::mpsc::{self, UnboundedSender};

use super::runtime;
use crate::clock::{Clock, operator};
use crate::exit;
use crate::journal::{self, Header, Journal};
use crate::plan::{self, Choices};
use crate::rollout::{Actor, At, Command, Event, Input, Move};
use crate::run::headless::Headless;
use crate::run::{Msg, Session};
use crate::sim::drill as drill_config;
use crate::sim::model::{FaultChange, Version};
use crate::sim::scenario::{BUILT_IN, DEFAULT};
use crate::sim::server::{Ports, Simulator};
use crate::sim::{Scenario, score};

#[derive(Debug, Clone, clap::Args)]
pub struct DrillArgs {
    /// A built-in scenario (see --list) or a scenario file.
    #[arg(long, default_value = DEFAULT, value_name = "NAME|FILE")]
    pub scenario: String,
    /// Simulated seconds per real second: at 10 a 15-minute stage takes 90 s.
    #[arg(long, default_value_t = 10.0)]
    pub speed: f64,
    /// No screen: events as JSON lines on stdout, the policy decides.
    #[arg(long)]
    pub headless: bool,
    /// List the built-in scenarios and what a good operator does in each.
    #[arg(long)]
    pub list: bool,
    /// Who drives, for the journal (default: user@host).
    #[arg(long)]
    pub operator: Option<String>,
    /// Screen theme: dark, light, high-contrast, colour-blind, or a theme file.
    #[arg(long, value_name = "NAME|FILE")]
    pub theme: Option<String>,
    /// Run N seeded variants of the scenario (`--scenario all`: of every
    /// built-in one) headless in simulated time, as fast as the machine
    /// allows, and print a table of the calls: right calls, false
    /// rollbacks and advances, detection times, time on LOW EVIDENCE.
    #[arg(long, value_name = "N")]
    pub batch: Option<usize>,
    /// The first seed of a batch (run i uses SEED + i; default 1), or the
    /// seed a blind drill picks its scenario with (default: the time).
    #[arg(long)]
    pub seed: Option<u64>,
    /// What a sustained critical breach does, overriding the scenario:
    /// `alert` turns automatic rollback off, so the trainee must decide.
    #[arg(
        long,
        value_enum,
        value_name = "countdown|rollback|alert",
        conflicts_with = "batch"
    )]
    pub policy: Option<PolicyArg>,
    /// A blind drill: the scenario is picked at random and shown as "blind
    /// drill #N" until the end, then revealed with the score.
    #[arg(long, conflicts_with_all = ["scenario", "batch", "list"])]
    pub blind: bool,
    /// The scenarios a blind drill picks from, e.g.
    /// `error-burst,healthy,latency-creep` (default: the ten teaching ones).
    #[arg(long, value_name = "LIST", requires = "blind", value_delimiter = ',')]
    pub from: Vec<String>,
    /// How a batch judges rates: by their counts (evidence), by point
    /// values held for `for` (thresholds), or both side by side.
    #[arg(long, value_enum, default_value = "evidence", requires = "batch")]
    pub judge: JudgeArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PolicyArg {
    Countdown,
    Rollback,
    Alert,
}

impl PolicyArg {
    fn on_critical(self) -> crate::config::model::OnCritical {
        use crate::config::model::OnCritical;
        match self {
            PolicyArg::Countdown => OnCritical::Countdown,
            PolicyArg::Rollback => OnCritical::Rollback,
            PolicyArg::Alert => OnCritical::Alert,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum JudgeArg {
    Evidence,
    Thresholds,
    Both,
}

#[derive(Debug, Clone, clap::Args)]
pub struct SimulateArgs {
    /// A built-in scenario (see `cockpit drill --list`) or a scenario file.
    #[arg(long, default_value = DEFAULT, value_name = "NAME|FILE")]
    pub scenario: String,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Serve on these loopback ports (canary, stable, control; 0 = any
    /// free one), e.g. `9101,9102` for a Prometheus config written once.
    #[arg(long, value_name = "CANARY,STABLE[,CONTROL]")]
    pub ports: Option<String>,
}

fn load(name: &str, speed: f64) -> Result<Scenario, i32> {
    if !(speed.is_finite() && (0.1..=1000.0).contains(&speed)) {
        eprintln!(
            "error: --speed {speed} is out of range: use 0.1 to 1000 (10 = ten times real time)"
        );
        return Err(exit::CONFIG);
    }
    Scenario::load(name).map_err(|e| {
        eprintln!("error: {e}");
        exit::CONFIG
    })
}

pub fn list() -> i32 {
    let mut out = std::io::stdout().lock();
    for (name, _) in BUILT_IN {
        if let Ok(s) = Scenario::load(name) {
            let _ = writeln!(
                out,
                "{name}\n  {}\n  a good operator: {}\n  expected: {} at {} within {}\n",
                s.summary,
                s.good_operator,
                s.expect.outcome.word(),
                s.expect.stage,
                s.expect.within
            );
        }
    }
    exit::OK
}

pub fn simulate(args: SimulateArgs) -> i32 {
    let ports = match args.ports.as_deref().map(Ports::parse).transpose() {
        Ok(p) => p.unwrap_or_default(),
        Err(e) => {
            eprintln!("error: {e}");
            return exit::CONFIG;
        }
    };
    let scenario = match load(&args.scenario, args.speed) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async move {
        let clock = Clock::new(args.speed);
        let (tx, mut faults) = mpsc::unbounded_channel::<FaultChange>();
        let name = scenario.name.clone();
        let sim = match Simulator::start_on(scenario, clock, Some(tx), ports).await {
            Ok(sim) => sim,
            Err(e) => {
                eprintln!("error: cannot serve the simulator on 127.0.0.1 ({ports:?}): {e}");
                return exit::ERROR;
            }
        };
        let (old, new) = sim.versions();
        println!("simulating scenario {name} at {}x", args.speed);
        println!(
            "stable  {}  version {old}: /metrics /health /ready",
            sim.base(Version::Stable)
        );
        println!(
            "canary  {}  version {new}: /metrics /health /ready",
            sim.base(Version::Canary)
        );
        println!(
            "control {}  POST {{\"weight\": 25}} moves 25% of traffic to the canary",
            sim.weight_url()
        );
        let _ = std::io::stdout().flush();
        tokio::spawn(async move {
            while let Some(f) = faults.recv().await {
                let state = if f.active { "on" } else { "off" };
                let at = crate::duration::Span::whole_secs(f.at_ms);
                eprintln!("T+{at} fault {state}: {}", f.what);
            }
        });
        wait_for_stop().await;
        drop(sim);
        exit::OK
    })
}

async fn wait_for_stop() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

pub fn drill(args: DrillArgs) -> i32 {
    if args.list {
        return list();
    }
    if let Some(n) = args.batch {
        return batch(&args, n);
    }
    if args.seed.is_some() && !args.blind {
        eprintln!("error: --seed goes with --batch or --blind");
        return exit::CONFIG;
    }
    let (mut scenario, blind) = if args.blind {
        match pick_blind(&args) {
            Ok(picked) => picked,
            Err(code) => return code,
        }
    } else {
        match load(&args.scenario, args.speed) {
            Ok(s) => (s, None),
            Err(code) => return code,
        }
    };
    if let Some(policy) = args.policy {
        scenario.policy.on_critical = policy.on_critical();
    }
    let who = args.operator.clone().unwrap_or_else(|| operator().0);
    if !args.headless && !std::io::stdout().is_terminal() {
        eprintln!(
            "error: stdout is not a terminal, so the screen cannot be drawn.\n\
             Run `cockpit drill --headless` for JSON lines (or `ssh -t` for a terminal)."
        );
        return exit::CONFIG;
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(run_drill(scenario, blind, &args, who))
}

/// A blind drill: the neutral name shown until the end, and the note that
/// names the scenario in the journal.
struct Blind {
    label: String,
    note: String,
}

/// The ten scenarios of the README's table: the ones a single run teaches
/// (the others' right call is a rate, measured with `--batch`).
const BLIND_POOL: usize = 10;

/// Picks a blind drill's scenario, seeded by `--seed` or the time; every
/// name of `--from` is loaded first, so a typo is found before the drill.
fn pick_blind(args: &DrillArgs) -> Result<(Scenario, Option<Blind>), i32> {
    let pool: Vec<String> = if args.from.is_empty() {
        BUILT_IN[..BLIND_POOL]
            .iter()
            .map(|(n, _)| n.to_string())
            .collect()
    } else {
        args.from
            .iter()
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect()
    };
    if pool.is_empty() {
        eprintln!("error: --from names no scenario; e.g. --from error-burst,healthy");
        return Err(exit::CONFIG);
    }
    let mut scenarios = Vec::new();
    for name in &pool {
        scenarios.push(load(name, args.speed)?);
    }
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    let mut rng = crate::sim::rng::Rng::new(seed);
    let picked = (rng.next_u64() % scenarios.len() as u64) as usize;
    let number = 100 + rng.next_u64() % 900;
    let label = format!("blind drill #{number}");
    let note = format!(
        "{label} is scenario {} (seed {seed}, picked from {})",
        scenarios[picked].name,
        pool.join(",")
    );
    Ok((scenarios.swap_remove(picked), Some(Blind { label, note })))
}

async fn run_drill(scenario: Scenario, blind: Option<Blind>, args: &DrillArgs, who: String) -> i32 {
    // What the screen and headless output call the drill until its end.
    let label = blind.as_ref().map(|b| b.label.clone());
    let shown = Scenario {
        name: label.clone().unwrap_or_else(|| scenario.name.clone()),
        ..scenario.clone()
    };
    let clock = Clock::new(args.speed);
    let (fault_tx, faults) = mpsc::unbounded_channel::<FaultChange>();
    let sim = match Simulator::start(scenario.clone(), clock, Some(fault_tx)).await {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("error: cannot serve the simulator on 127.0.0.1: {e}");
            return exit::ERROR;
        }
    };
    let headless = args.headless;
    // The same plan a config file gets: validation, sources, keys, theme.
    let text = drill_config::config_text(&shown, &sim.endpoints(), headless, None);
    let origin = format!("drill config for scenario {}", shown.name);
    let choices = Choices::new(args.theme.clone());
    let plan = match plan::from_text(Path::new(&origin), &text, &choices) {
        Ok(plan) => plan,
        Err(errors) => {
            errors.iter().for_each(|e| eprintln!("error: {e}"));
            return exit::CONFIG;
        }
    };
    let (config, screen, sources) = plan.into_parts((!headless).then_some((&who, operator().1)));
    let origin = if blind.is_some() {
        &scenario.name
    } else {
        &args.scenario
    };
    let opened = open_journal(&shown.name, origin, &config, &who, clock.now());
    let mut journal = match opened {
        Ok(j) => j,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::ERROR;
        }
    };
    let path = journal.path().to_path_buf();
    // The journal names a blind drill's scenario from the start; the
    // screen and headless output do not show it until the score.
    if let Some(b) = &blind {
        let note = Event::Note {
            by: Actor::Operator("drill master".into()),
            text: b.note.clone(),
        };
        if let Err(e) = journal
            .append_event(clock.now(), &note)
            .and_then(|_| journal.flush())
        {
            eprintln!("error: {}: {e}", path.display());
            return exit::ERROR;
        }
    }
    let about = if blind.is_some() {
        "the scenario is revealed with the score"
    } else {
        &scenario.summary
    };
    eprintln!(
        "drill {}: {about} ({}x; journal {})",
        shown.name,
        args.speed,
        path.display()
    );
    // Headless says what it does from the first line: the policy, then polls.
    let mut view = Headless::new(None, Some(sources.every()));
    if headless {
        view.policy(&config, false);
    }
    let session = Session::new(config, clock, Some(journal)).with_sources(sources);
    let tx = session.sender();
    forward_faults(faults, tx.clone(), blind.is_some());
    let referee = tokio::spawn(referee(
        path.clone(),
        scenario.clone(),
        label.clone(),
        clock,
        tx,
    ));
    let first = first_inputs(&shown, blind.is_some(), who);
    let code = match screen {
        None => session.drive(&mut view, first).await,
        Some(screen) => crate::tui::run(session, screen, first).await,
    };
    referee.abort();
    drop(sim);
    match settle(&path, &scenario, label, clock.now(), headless) {
        Ok(score) => score::render(&score).iter().for_each(|l| eprintln!("{l}")),
        Err(e) => eprintln!("warning: the drill could not be scored: {e}"),
    }
    code
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
fn first_inputs(scenario: &Scenario, blind: bool, who: String) -> Vec<Input> {
    let reason = if blind {
        scenario.name.clone()
    } else {
        format!("drill, scenario {}", scenario.name)
    };
    let actor = Actor::Operator(who.clone());
    // Skip first, so the start is not announced as blocked by the window.
    vec![
        Input::Command {
            actor,
            command: Command::SkipChecks { reason },
        },
        Input::Start {
            local: Clock::local_now(),
            operator: who,
        },
    ]
}

/// The journal's events, in order (what a score is computed from).
fn journal_events(path: &std::path::Path) -> Result<Vec<(At, Event)>, String> {
    let read = journal::read(path)?;
    Ok(read.events().map(|(at, e)| (at, e.clone())).collect())
}

/// Watches the drill's journal and scores the drill once, at its end: when
/// it reaches an outcome, or when the scenario's time is up without one,
/// which ends the drill as held (exit 5), on screen as headless.
async fn referee(
    path: std::path::PathBuf,
    scenario: Scenario,
    blind: Option<String>,
    clock: Clock,
    tx: UnboundedSender<Msg>,
) {
    let every = std::time::Duration::from_millis(200);
    loop {
        tokio::time::sleep(every).await;
        let Ok(events) = journal_events(&path) else {
            continue;
        };
        let Some(started) = events
            .iter()
            .find(|(_, e)| matches!(e, Event::Started { .. }))
            .map(|(at, _)| *at)
        else {
            continue;
        };
        let finished = events
            .iter()
            .any(|(_, e)| matches!(e, Event::Finished { .. }));
        let end = started + scenario.duration.as_millis();
        let time_up = clock.now() >= end;
        // A rollback decided before time was up ends with its outcome, once
        // verified (bounded): the call was made in time.
        let rolling_back = events.iter().any(|(at, e)| {
            *at < end && matches!(e, Event::Decision { action, .. } if *action == Move::Rollback)
        });
        let grace = scenario.policy.rollback_verify_within.as_millis() + 60_000;
        let time_up = time_up && !(rolling_back && clock.now() < end + grace);
        if !(finished || time_up) {
            continue;
        }
        let mut s = score::score(&scenario, &events, clock.now());
        s.blind = blind;
        let outcome = s.outcome.replace('_', " ");
        let stage = s.stage.clone();
        if tx
            .send(Msg::Journal(Event::DrillScore(Box::new(s))))
            .is_ok()
            && !finished
        {
            let why = format!(
                "drill time is up ({}): {outcome} at {stage}",
                scenario.duration
            );
            let _ = tx.send(Msg::Stop(why));
        }
        return;
    }
}

/// After the session: the score from the journal, appended if the session
/// ended before it was journalled (quit, a signal, an outcome headless).
fn settle(
    path: &std::path::Path,
    scenario: &Scenario,
    blind: Option<String>,
    now: At,
    headless: bool,
) -> Result<crate::rollout::DrillScore, String> {
    let events = journal_events(path)?;
    let last_finish = events
        .iter()
        .rposition(|(_, e)| matches!(e, Event::Finished { .. }));
    let scored = events
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, (_, e))| match e {
            Event::DrillScore(s) if last_finish.is_none_or(|f| i > f) => Some(s.as_ref().clone()),
            _ => None,
        });
    if let Some(s) = scored {
        return Ok(s);
    }
    let mut s = score::score(scenario, &events, now);
    s.blind = blind;
    let event = Event::DrillScore(Box::new(s.clone()));
    let mut journal = Journal::reopen(path).map_err(|e| format!("{}: {e}", path.display()))?;
    journal
        .append_event(now, &event)
        .and_then(|_| journal.flush())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if headless {
        let mut line = serde_json::to_value(&event).unwrap_or_default();
        line["at"] = serde_json::json!(now);
        println!("{line}");
    }
    Ok(s)
}

/// The journal of a drill: the header says so, and hashes the scenario.
fn open_journal(
    shown: &str,
    origin: &str,
    config: &crate::config::Config,
    who: &str,
    now: At,
) -> Result<Journal, String> {
    let text = Scenario::text(origin);
    let header = Header {
        rollout: config.rollout.name.clone(),
        config_path: format!("scenario {shown}"),
        config_hash: format!("sha256:{:x}", Sha256::digest(text.as_bytes())),
        operator: who.to_string(),
        ssh_connection: std::env::var("SSH_CONNECTION").ok(),
        drill: true,
        started_at: now,
    };
    let dir = journal::prepare_dir(config)?;
    Journal::create(&dir, header)
        .map_err(|e| format!("cannot create the journal in {}: {e}", dir.display()))
}

/// `drill --batch N`: the calls of many seeded runs, as a table.
fn batch(args: &DrillArgs, runs: usize) -> i32 {
    use crate::config::model::Judge;
    let names: Vec<&str> = if args.scenario == "all" {
        BUILT_IN.iter().map(|(n, _)| *n).collect()
    } else {
        vec![args.scenario.as_str()]
    };
    let mut scenarios = Vec::new();
    for name in names {
        match Scenario::load(name) {
            Ok(s) => scenarios.push(s),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::CONFIG;
            }
        }
    }
    let judges = match args.judge {
        JudgeArg::Evidence => vec![Judge::Evidence],
        JudgeArg::Thresholds => vec![Judge::Thresholds],
        JudgeArg::Both => vec![Judge::Thresholds, Judge::Evidence],
    };
    for judge in judges {
        let started = std::time::Instant::now();
        match crate::sim::batch::batch(&scenarios, runs, args.seed.unwrap_or(1), judge) {
            Ok(rows) => {
                print!("{}", crate::sim::batch::table(judge, &rows));
                println!(
                    "({} runs in {:.1}s)\n",
                    runs * scenarios.len(),
                    started.elapsed().as_secs_f64()
                );
            }
            Err(e) => {
                eprintln!("error: {e}");
                return exit::ERROR;
            }
        }
    }
    exit::OK
}
