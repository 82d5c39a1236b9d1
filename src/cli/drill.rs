//! `cockpit drill` and `cockpit simulate`: rehearse a rollout against the
//! built-in simulator, or serve the simulator alone for a real Prometheus
//! or a second cockpit to watch.

use std::io::{IsTerminal, Write};

use sha2::{Digest, Sha256};
use tokio::sync::mpsc::{self, UnboundedSender};

use super::exit;
use crate::journal::{self, Header, Journal};
use crate::rollout::{Actor, At, Command, Effect, Event, Input, Rollout};
use crate::run::headless::Headless;
use crate::run::{Clock, Control, Msg, Session, View, operator, outcome_code};
use crate::sim::drill::{self as drill_config, Endpoints};
use crate::sim::model::{FaultChange, Version};
use crate::sim::scenario::{BUILT_IN, DEFAULT, Verdict};
use crate::sim::server::Simulator;
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
}

#[derive(Debug, Clone, clap::Args)]
pub struct SimulateArgs {
    /// A built-in scenario (see `cockpit drill --list`) or a scenario file.
    #[arg(long, default_value = DEFAULT, value_name = "NAME|FILE")]
    pub scenario: String,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
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

fn runtime() -> Result<tokio::runtime::Runtime, i32> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the runtime: {e}");
            exit::ERROR
        })
}

pub fn list() -> i32 {
    let mut out = std::io::stdout().lock();
    for (name, _) in BUILT_IN {
        if let Ok(s) = Scenario::load(name) {
            let _ = writeln!(
                out,
                "{name}\n  {}\n  expected: {} at {} within {}\n",
                s.summary,
                s.expect.outcome.word(),
                s.expect.stage,
                s.expect.within
            );
        }
    }
    exit::OK
}

pub fn simulate(args: SimulateArgs) -> i32 {
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
        let sim = match Simulator::start(scenario, clock, Some(tx)).await {
            Ok(sim) => sim,
            Err(e) => {
                eprintln!("error: cannot serve the simulator on 127.0.0.1: {e}");
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
                let at = crate::duration::Span::from_millis(f.at_ms / 1000 * 1000);
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
    let scenario = match load(&args.scenario, args.speed) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if !args.headless {
        if !std::io::stdout().is_terminal() {
            eprintln!(
                "error: stdout is not a terminal, so the screen cannot be drawn.\n\
                 Run `cockpit drill --headless` for JSON lines (or `ssh -t` for a terminal)."
            );
            return exit::CONFIG;
        }
        eprintln!("error: the screen is not built yet; run `cockpit drill --headless`");
        return exit::ERROR;
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let who = args.operator.clone().unwrap_or_else(|| operator().0);
    rt.block_on(run_drill(scenario, &args, who))
}

async fn run_drill(scenario: Scenario, args: &DrillArgs, who: String) -> i32 {
    let clock = Clock::new(args.speed);
    let (fault_tx, mut faults) = mpsc::unbounded_channel::<FaultChange>();
    let sim = match Simulator::start(scenario.clone(), clock, Some(fault_tx)).await {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("error: cannot serve the simulator on 127.0.0.1: {e}");
            return exit::ERROR;
        }
    };
    let (old_version, new_version) = sim.versions();
    let endpoints = Endpoints {
        stable_metrics: sim.metrics_url(Version::Stable),
        canary_metrics: sim.metrics_url(Version::Canary),
        canary_ready: format!("{}/ready", sim.base(Version::Canary)),
        weight_url: sim.weight_url(),
        service: sim.service(),
        old_version,
        new_version,
    };
    let config = match drill_config::config(&scenario, &endpoints, args.headless, None) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::CONFIG;
        }
    };
    let journal = match open_journal(&scenario, &args.scenario, &config, &who, clock.now()) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::ERROR;
        }
    };
    eprintln!(
        "drill {}: {} ({}x; journal {})",
        scenario.name,
        scenario.summary,
        args.speed,
        journal.path().display()
    );
    let session = Session::new(config, clock, Some(journal));
    let tx = session.sender();
    let forward = tx.clone();
    tokio::spawn(async move {
        while let Some(f) = faults.recv().await {
            let event = Event::DrillFault {
                what: f.what,
                active: f.active,
            };
            if forward.send(Msg::Journal(event)).is_err() {
                return;
            }
        }
    });
    let actor = Actor::Operator(who.clone());
    let first = vec![
        Input::Start {
            local: Clock::local_now(),
            operator: who,
        },
        Input::Command {
            actor,
            command: Command::SkipChecks {
                reason: format!("drill, scenario {}", scenario.name),
            },
        },
    ];
    let mut view = DrillView::new(Headless::new(None), scenario, clock, tx);
    let code = session.drive(&mut view, first).await;
    drop(sim);
    let score = view.score.clone().unwrap_or_else(|| {
        eprintln!("note: stopped before the end: this score is not in the journal");
        score::score(&view.scenario, &view.events, clock.now())
    });
    for line in score::render(&score) {
        eprintln!("{line}");
    }
    code
}

/// The journal of a drill: the header says so, and hashes the scenario.
fn open_journal(
    scenario: &Scenario,
    origin: &str,
    config: &crate::config::Config,
    who: &str,
    now: At,
) -> Result<Journal, String> {
    let text = Scenario::text(origin);
    let header = Header {
        rollout: config.rollout.name.clone(),
        config_path: format!("scenario {}", scenario.name),
        config_hash: format!("sha256:{:x}", Sha256::digest(text.as_bytes())),
        operator: who.to_string(),
        ssh_connection: std::env::var("SSH_CONNECTION").ok(),
        drill: true,
        started_at: now,
    };
    let dir = journal::default_dir(config);
    Journal::create(&dir, header)
        .map_err(|e| format!("cannot create the journal in {}: {e}", dir.display()))
}

/// Wraps the screen or the headless printer: keeps the journal's events,
/// ends a drill that reached no outcome by the scenario's duration, and
/// journals the score before the session ends (outcome, deadline or quit).
pub struct DrillView<V: View> {
    inner: V,
    pub scenario: Scenario,
    clock: Clock,
    deadline: At,
    tx: UnboundedSender<Msg>,
    pub events: Vec<(At, Event)>,
    pub score: Option<crate::rollout::DrillScore>,
    score_sent: bool,
    /// The exit code once the score is in the journal.
    exit_with: Option<i32>,
}

impl<V: View> DrillView<V> {
    pub fn new(inner: V, scenario: Scenario, clock: Clock, tx: UnboundedSender<Msg>) -> Self {
        let deadline = clock.now() + scenario.duration.as_millis();
        DrillView {
            inner,
            scenario,
            clock,
            deadline,
            tx,
            events: Vec::new(),
            score: None,
            score_sent: false,
            exit_with: None,
        }
    }

    /// Ends the drill with `code` once its score is journalled.
    fn finish(&mut self, code: i32) {
        self.exit_with.get_or_insert(code);
        self.send_score();
    }

    /// Scores what the journal holds so far and sends it to be journalled.
    fn send_score(&mut self) {
        if !self.score_sent {
            self.score_sent = true;
            let s = score::score(&self.scenario, &self.events, self.clock.now());
            let _ = self.tx.send(Msg::Journal(Event::DrillScore(s)));
        }
    }
}

impl<V: View> View for DrillView<V> {
    fn effect(&mut self, rollout: &Rollout, effect: &Effect) {
        if let Effect::Journal { at, event } = effect {
            if let Event::DrillScore(s) = event {
                self.score = Some(s.clone());
            }
            self.events.push((*at, event.clone()));
        }
        self.inner.effect(rollout, effect);
    }

    fn line(&mut self, text: &str) {
        self.inner.line(text);
    }

    fn key(
        &mut self,
        rollout: &Rollout,
        key: crossterm::event::KeyEvent,
        now: At,
    ) -> (Vec<Input>, Control) {
        let (inputs, control) = self.inner.key(rollout, key, now);
        if control == Control::Quit && self.score.is_none() {
            // Quitting a drill still scores it; the session ends once it is journalled.
            self.finish(outcome_code(rollout.state.outcome));
            return (inputs, Control::Continue);
        }
        (inputs, control)
    }

    fn render(&mut self, rollout: &Rollout, now: At, clock_only: bool) {
        self.inner.render(rollout, now, clock_only);
    }

    fn stuck(&mut self, rollout: &Rollout) -> Option<i32> {
        if self.score.is_some() {
            return self.exit_with;
        }
        if self.score_sent {
            return None;
        }
        if let Some(code) = self.inner.stuck(rollout) {
            self.finish(code);
        } else if rollout.is_finished() && self.inner.exits_on_outcome() {
            self.finish(outcome_code(rollout.state.outcome));
        } else if rollout.is_finished() {
            // On screen the drill stays up after its outcome; score it now.
            self.send_score();
        } else if self.clock.now() >= self.deadline {
            self.finish(Verdict::Held.exit_code());
        }
        None
    }

    fn exits_on_outcome(&self) -> bool {
        // The loop must not end before the score is journalled; `stuck` ends it.
        false
    }
}
