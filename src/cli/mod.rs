//! The `cockpit` command line.

mod check;
pub mod drill;
mod init;
mod replay;
mod report;
pub mod run;
mod status;
mod watch;

use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand};

use crate::error::{Error, Kind};
use crate::exit;

#[derive(Parser, Debug)]
#[command(
    name = "cockpit",
    version,
    about = "Watch and steer a staged rollout from a terminal",
    long_about = "The deployment cockpit shows every stage of a rollout with live error rate, \
p95 latency and success rate against warning and critical thresholds, lets you advance, \
pause or roll back with one key, can roll back on its own on a sustained critical breach, \
and writes an incident log that becomes the postmortem timeline.",
    after_help = "Exit codes: 0 ok/promoted, 1 error, 2 config or usage error, 3 rolled back, \
4 rolled back but metrics did not recover, 5 stopped: needs an operator."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Validate a config and print the rollout plan it describes.
    Check {
        /// Config file; default ./cockpit.toml, then the user config dir.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Then touch the real world without changing it: run every metric's
        /// query once, look up hook programs, connect to hook and gate hosts,
        /// read probes. Exit 2 when any of it fails.
        #[arg(long)]
        live: bool,
    },
    /// Write a commented starter config to the user config dir (never overwrites).
    Init {
        /// Seed 003's risk preset: zero, low, medium, high.
        #[arg(long)]
        preset: Option<String>,
        /// Write here instead of the user config dir.
        #[arg(long)]
        path: Option<PathBuf>,
        #[command(flatten)]
        prometheus: init::PromArgs,
    },
    /// Drive a rollout: the live screen, or JSON lines with --headless.
    Run(run::RunArgs),
    /// Follow a rollout someone else drives, read-only, from another terminal.
    Watch(watch::WatchArgs),
    /// Every rollout in the journal dir (or on ssh://host), one line each.
    Status(status::StatusArgs),
    /// Render a run's journal as a Markdown postmortem; --list shows past runs.
    Report(report::ReportArgs),
    /// What a config would have decided on recorded history (Prometheus API); runs no hook.
    Replay(replay::ReplayArgs),
    /// Rehearse a rollout against the built-in simulator, with scripted faults and a score.
    Drill(drill::DrillArgs),
    /// Serve the simulator alone (prints its ports) until SIGINT/SIGTERM.
    Simulate(drill::SimulateArgs),
    /// Print shell completions (bash, zsh, fish).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Runs the command line: `Ok` with the exit code of a command that ran to
/// its end (a rollout's outcome included), `Err` with what the user must
/// read; `main` prints it once.
pub fn main() -> Result<i32, Error> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // clap words its own usage errors, help and version.
        Err(e) => {
            let _ = e.print();
            return match e.use_stderr() {
                true => Err(Error::shown(Kind::Usage)),
                false => Ok(exit::OK),
            };
        }
    };
    match cli.command {
        Cmd::Check { config, live } => check::run(config.as_deref(), live),
        Cmd::Init {
            preset,
            path,
            prometheus,
        } => init::run(preset.as_deref(), path.as_deref(), &prometheus),
        Cmd::Run(args) => run::run(args),
        Cmd::Report(args) => report::run(args),
        Cmd::Replay(args) => replay::run(args),
        Cmd::Watch(args) => watch::run(args),
        Cmd::Status(args) => status::run(args),
        Cmd::Drill(args) => drill::drill(args),
        Cmd::Simulate(args) => drill::simulate(args),
        Cmd::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "cockpit",
                &mut std::io::stdout(),
            );
            Ok(exit::OK)
        }
    }
}

/// Finds the config and builds its plan, or every problem in it. `check`,
/// `run`, `replay` and `drill` start here.
pub fn build_plan(
    explicit: Option<&std::path::Path>,
    choices: &crate::plan::Choices,
) -> Result<crate::plan::Plan, Error> {
    let path = crate::config::discover(explicit).map_err(|e| Error::usage(e.to_string()))?;
    crate::plan::build(&path, choices).map_err(|errors| {
        let n = errors.len();
        let count = format!(
            "{n} problem{} in {}",
            if n == 1 { "" } else { "s" },
            path.display()
        );
        let problems = errors.iter().map(ToString::to_string).collect();
        Error::many(Kind::Usage, problems, Some(count))
    })
}
