//! `cockpit drill` and `cockpit simulate`: rehearse a rollout against the
//! built-in simulator, or serve the simulator alone for a real Prometheus
//! or a second cockpit to watch.

use std::io::{IsTerminal, Write};

use crate::clock::operator;
use crate::drill::Blind;
use crate::error::Error;
use crate::exit;
use crate::run::runtime;
use crate::sim::Scenario;
use crate::sim::scenario::{BUILT_IN, DEFAULT};
use crate::sim::server::Ports;

#[derive(Debug, Clone, clap::Args)]
pub struct DrillArgs {
    /// A built-in scenario (see --list) or a scenario file.
    #[arg(long, default_value = DEFAULT, value_name = "NAME|FILE", value_parser = Named::scenarios(), hide_possible_values = true)]
    pub scenario: String,
    /// Simulated seconds per real second while nothing asks the operator
    /// for a decision: at 10 a quiet 15-minute stage takes 90 s. On screen
    /// the windows a person is scored on run at human pace (1x, in real
    /// seconds): a countdown, a metric at critical, a breach racing its
    /// `for`, the first minute after a metric leaves OK, the first minute
    /// of a stage ready to advance, a pause or hold, a y/N question open.
    /// Headless and `--batch` drills run at this speed throughout.
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
    #[arg(long, value_name = "NAME|FILE", value_parser = Named::themes(), hide_possible_values = true)]
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
    #[arg(
        long,
        value_name = "LIST",
        requires = "blind",
        value_delimiter = ',',
        value_parser = Named::scenarios(),
        hide_possible_values = true
    )]
    pub from: Vec<String>,
    /// How a batch judges rates: by their counts (evidence), by point
    /// values held for `for` (thresholds), or both side by side.
    #[arg(long, value_enum, default_value = "evidence", requires = "batch")]
    pub judge: JudgeArg,
}

/// A built-in name or a file: any value is taken (a file is checked when
/// it is loaded), and shell completions offer the built-in names.
#[derive(Debug, Clone)]
pub struct Named(Vec<&'static str>);

impl Named {
    fn of(built_in: &[(&'static str, &'static str)]) -> Named {
        Named(built_in.iter().map(|(name, _)| *name).collect())
    }

    fn scenarios() -> Named {
        Named::of(&BUILT_IN)
    }

    fn themes() -> Named {
        Named::of(crate::tui::theme::BUILT_IN)
    }
}

impl clap::builder::TypedValueParser for Named {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        clap::builder::StringValueParser::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            self.0.iter().map(|n| clap::builder::PossibleValue::new(*n)),
        ))
    }
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

fn load(name: &str, speed: f64) -> Result<Scenario, Error> {
    if !(speed.is_finite() && (0.1..=1000.0).contains(&speed)) {
        return Err(Error::usage(format!(
            "--speed {speed} is out of range: use 0.1 to 1000 (10 = ten times real time)"
        )));
    }
    Scenario::load(name).map_err(Error::usage)
}

pub fn list() -> Result<i32, Error> {
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
    Ok(exit::OK)
}

pub fn simulate(args: SimulateArgs) -> Result<i32, Error> {
    let ports = args.ports.as_deref().map(Ports::parse).transpose();
    let ports = ports.map_err(Error::usage)?.unwrap_or_default();
    let scenario = load(&args.scenario, args.speed)?;
    runtime()?.block_on(crate::drill::simulate::serve(scenario, args.speed, ports))
}

pub fn drill(args: DrillArgs) -> Result<i32, Error> {
    if args.list {
        return list();
    }
    if let Some(n) = args.batch {
        return batch(&args, n);
    }
    if args.seed.is_some() && !args.blind {
        return Err(Error::usage("--seed goes with --batch or --blind"));
    }
    let (mut scenario, blind) = if args.blind {
        pick_blind(&args)?
    } else {
        (load(&args.scenario, args.speed)?, None)
    };
    if let Some(policy) = args.policy {
        scenario.policy.on_critical = policy.on_critical();
    }
    if !args.headless && !std::io::stdout().is_terminal() {
        return Err(
            Error::usage("stdout is not a terminal, so the screen cannot be drawn.").then(
                "Run `cockpit drill --headless` for JSON lines (or `ssh -t` for a terminal).",
            ),
        );
    }
    let opts = crate::drill::Options {
        speed: args.speed,
        headless: args.headless,
        theme: args.theme.clone(),
        who: args.operator.clone().unwrap_or_else(|| operator().0),
        source: match &blind {
            Some(_) => scenario.name.clone(),
            None => args.scenario.clone(),
        },
    };
    runtime()?.block_on(crate::drill::run(scenario, blind, &opts))
}

/// The ten scenarios of the README's table: the ones a single run teaches
/// (the others' right call is a rate, measured with `--batch`).
const BLIND_POOL: usize = 10;

/// Picks a blind drill's scenario, seeded by `--seed` or the time; every
/// name of `--from` is loaded first, so a typo is found before the drill.
fn pick_blind(args: &DrillArgs) -> Result<(Scenario, Option<Blind>), Error> {
    let names: Vec<String> = if args.from.is_empty() {
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
    if names.is_empty() {
        return Err(Error::usage(
            "--from names no scenario; e.g. --from error-burst,healthy",
        ));
    }
    let mut pool = Vec::new();
    for name in &names {
        pool.push(load(name, args.speed)?);
    }
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    let (scenario, blind) = crate::drill::blind::pick(pool, &names, seed);
    Ok((scenario, Some(blind)))
}

/// `drill --batch N`: the calls of many seeded runs, as a table.
fn batch(args: &DrillArgs, runs: usize) -> Result<i32, Error> {
    use crate::config::model::Judge;
    let names: Vec<&str> = if args.scenario == "all" {
        BUILT_IN.iter().map(|(n, _)| *n).collect()
    } else {
        vec![args.scenario.as_str()]
    };
    let scenarios: Vec<Scenario> = names
        .into_iter()
        .map(Scenario::load)
        .collect::<Result<_, _>>()
        .map_err(Error::usage)?;
    let judges = match args.judge {
        JudgeArg::Evidence => vec![Judge::Evidence],
        JudgeArg::Thresholds => vec![Judge::Thresholds],
        JudgeArg::Both => vec![Judge::Thresholds, Judge::Evidence],
    };
    for judge in judges {
        let started = std::time::Instant::now();
        let rows = crate::sim::batch::batch(&scenarios, runs, args.seed.unwrap_or(1), judge)
            .map_err(Error::failed)?;
        print!("{}", crate::sim::batch::table(judge, &rows));
        println!(
            "({} runs in {:.1}s)\n",
            runs * scenarios.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    #[test]
    fn completions_offer_the_scenario_and_theme_names_and_a_file_still_parses() {
        let mut out = Vec::new();
        let mut cmd = crate::cli::Cli::command();
        clap_complete::generate(clap_complete::Shell::Bash, &mut cmd, "cockpit", &mut out);
        let script = String::from_utf8(out).unwrap();
        for name in [
            "error-burst",
            "latency-creep",
            "colour-blind",
            "high-contrast",
        ] {
            assert!(script.contains(name), "no {name} in the completions");
        }
        let cli = crate::cli::Cli::try_parse_from([
            "cockpit",
            "drill",
            "--scenario",
            "my/own.toml",
            "--theme",
            "mine.toml",
        ]);
        assert!(cli.is_ok(), "{:?}", cli.err());
    }
}
