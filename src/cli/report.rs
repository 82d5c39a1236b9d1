//! `cockpit report`: a run's journal as a Markdown postmortem (or JSON),
//! and `--list` of past runs.

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::exit;
use crate::journal::{self, report};
use crate::say::tell;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Markdown,
    Json,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    /// The journal (.jsonl) to render; default: the newest run.
    pub journal: Option<PathBuf>,
    /// List past runs, newest first, instead of rendering one.
    #[arg(long, conflicts_with = "journal")]
    pub list: bool,
    /// Past drills, oldest first, one line each: scenario, who, date, when
    /// the operator first acted and when the call was made (after the
    /// fault), and whether it was the right call.
    #[arg(long, conflicts_with_all = ["journal", "list"])]
    pub drills: bool,
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: Format,
    /// Config file whose `[journal] dir` to read; default ./cockpit.toml,
    /// then the user config dir, else the default journal dir.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
}

pub fn run(args: ReportArgs) -> Result<i32, Error> {
    if let Some(path) = &args.journal {
        return render(path, args.format);
    }
    let dir = journal_dir(args.config.as_deref());
    let runs = journal::runs(&dir).map_err(Error::failed)?;
    if args.list {
        return list(&runs, args.format);
    }
    if args.drills {
        return drills(&runs, args.format);
    }
    match runs.iter().find(|r| r.status.is_some()) {
        Some(newest) => render(&newest.path, args.format),
        None => Err(Error::failed(format!(
            "no journal in {}; pass a journal file, or run a rollout first",
            dir.display()
        ))),
    }
}

/// The configured journal dir when a config is found, else the default.
pub(super) fn journal_dir(explicit: Option<&Path>) -> PathBuf {
    let found = crate::config::discover(explicit)
        .ok()
        .and_then(|p| crate::config::load(&p).ok());
    match found {
        Some(config) => journal::default_dir(&config),
        None => journal::dir_for(None),
    }
}

fn render(path: &Path, format: Format) -> Result<i32, Error> {
    let read = journal::read(path).map_err(Error::failed)?;
    for w in &read.warnings {
        tell(format!("warning: {w}"));
    }
    let report = report::build(&read);
    match format {
        Format::Markdown => out(&report::markdown(&report)),
        Format::Json => out(&json(&report)),
    }
}

fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}

/// Prints without panicking when the reader went away (`| head`).
fn out(text: &str) -> Result<i32, Error> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::failed(format!("cannot write the report: {e}")))
        }
        _ => Ok(exit::OK),
    }
}

fn drills(runs: &[journal::RunSummary], format: Format) -> Result<i32, Error> {
    let rows = journal::drills::rows(runs);
    match format {
        Format::Json => out(&json(&rows)),
        Format::Markdown => out(&journal::drills::table(&rows)),
    }
}

fn list(runs: &[journal::RunSummary], format: Format) -> Result<i32, Error> {
    if format == Format::Json {
        return out(&json(&runs));
    }
    let mut text = String::new();
    for r in runs {
        let start = journal::drills::local_time(r.started_at);
        text += &format!(
            "{:<20} {start:<16} {:<26} {:<20} {}\n",
            if r.rollout.is_empty() {
                "?"
            } else {
                &r.rollout
            },
            format!(
                "{}{}",
                r.outcome.lines().next().unwrap_or_default(),
                if r.drill { " (drill)" } else { "" }
            ),
            r.operator,
            r.path.display()
        );
    }
    out(&text)
}
