//! `cockpit replay`: what a config would have decided on recorded history.

use std::path::PathBuf;

use crate::error::Error;
use crate::exit;
use crate::plan::Choices;
use crate::replay::{self, History};

#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "TIME is RFC 3339 (2026-12-01T14:00:00Z, 2026-12-01T15:00:00+01:00), \
`now`, or a time ago: -2h, -90m, -1h30m, -1d. No hook is ever run: each one is answered as \
succeeded. Exit code 0 when the replay ran, whatever it decided; 1 when the history cannot \
be read; 2 for a bad config or command line."
)]
pub struct ReplayArgs {
    /// Config file; default ./cockpit.toml, then the user config dir.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Where the history starts (the rollout starts here unless --stage-at
    /// names the first stage).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub from: String,
    /// Where the history ends.
    #[arg(
        long,
        value_name = "TIME",
        default_value = "now",
        allow_hyphen_values = true
    )]
    pub to: String,
    /// When a stage began in the real deploy (a stage name, or its number
    /// from 1); repeat per stage. Without it the cockpit's own decisions
    /// advance (auto-advance).
    #[arg(
        long = "stage-at",
        value_name = "TIME=STAGE",
        allow_hyphen_values = true
    )]
    pub stage_at: Vec<String>,
    /// One JSON document instead of lines of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ReplayArgs) -> Result<i32, Error> {
    let plan = super::build_plan(args.config.as_deref(), &Choices::new(None))?;
    let config = plan.config;
    let now = chrono::Utc::now().timestamp_millis().max(0) as u64;
    let (from, to, stage_at) = span(&args, &config, now).map_err(Error::usage)?;
    let runtime = crate::run::runtime()?;
    let secrets = crate::secrets::Secrets::from_config(&config);
    let history = runtime
        .block_on(History::fetch(&config, from, to))
        .map_err(|e| Error::failed(format!("cannot read the history: {}", secrets.redact(&e))))?;
    let replayed = replay::replay(config.clone(), &history, &stage_at);
    if args.json {
        println!("{}", replay::json(&replayed, &config, &history));
    } else {
        for line in replay::lines(&replayed, &config, &history) {
            println!("{line}");
        }
    }
    Ok(exit::OK)
}

/// From, to, and when each named stage began (its index), in Unix ms.
type Span = (u64, u64, Vec<(u64, usize)>);

/// The span to replay, from the flags (times read against `now`); the
/// words of what is wrong otherwise.
fn span(args: &ReplayArgs, config: &crate::config::Config, now: u64) -> Result<Span, String> {
    let from = replay::parse_time(&args.from, now)?;
    let to = replay::parse_time(&args.to, now)?;
    if from >= to {
        return Err(format!(
            "--from ({}) must be before --to ({})",
            args.from, args.to
        ));
    }
    let mut stage_at = Vec::new();
    for s in &args.stage_at {
        let (at, stage) = replay::parse_stage_at(s, config, now)?;
        if !(from..=to).contains(&at) {
            return Err(format!("--stage-at \"{s}\" is outside --from .. --to"));
        }
        stage_at.push((at, stage));
    }
    let mut by_time = stage_at.clone();
    by_time.sort();
    if by_time.windows(2).any(|w| w[0].1 >= w[1].1) {
        return Err("--stage-at: each stage must begin after the one before it".into());
    }
    Ok((from, to, stage_at))
}
