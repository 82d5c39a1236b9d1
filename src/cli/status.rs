//! `cockpit status [ssh://host]`: every rollout in the journal dir at a
//! glance, one line each, from the live feeds their cockpits publish; over
//! SSH, `cockpit status --json` on the host, printed here.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use crate::duration::Span;
use crate::error::Error;
use crate::exit;
use crate::feed::glance::{Glance, Glancer};
pub use crate::feed::glance::{Row, rows};
use crate::feed::ssh::Remote;
use crate::tui::keys::KeyMap;
use crate::tui::list::{self, List};
use crate::tui::theme::{self, Theme};

#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    /// Another host's rollouts: ssh://[user@]host[:port].
    pub host: Option<String>,
    /// JSON for scripts: an array with one object per rollout.
    #[arg(long)]
    pub json: bool,
    /// Keep the list live on screen; enter watches the selected rollout.
    #[arg(long, conflicts_with = "json")]
    pub watch: bool,
    /// Config file whose `[journal] dir` to look in.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// The cockpit to run on the host (when it is not on the host's PATH).
    #[arg(long, env = "COCKPIT_REMOTE", default_value = "cockpit")]
    pub remote_cockpit: String,
}

/// The line `status` prints for a row.
pub fn line(r: &Row) -> String {
    let (set, seen) = r.weights();
    let flag = if r.driver_gone {
        "  DRIVER GONE (unfinished)"
    } else {
        ""
    };
    format!(
        "{}  {}  stage {} (set {set}, seen {seen})  {}  {}  driver {}  watchers {}  running {}{flag}",
        r.rollout,
        r.strategy,
        r.stage,
        r.phase,
        r.worst_words(),
        r.driver,
        r.watchers.len(),
        Span::whole_secs(r.running_ms),
    )
}

pub fn run(args: StatusArgs) -> Result<i32, Error> {
    let remote = match args.host.as_deref() {
        Some(host) => Some(host_of(host)?),
        None => None,
    };
    if args.watch {
        return live_list(&args, remote);
    }
    let rows = match &remote {
        Some(remote) => {
            remote_rows(&args, remote, !std::io::stdin().is_terminal()).map_err(Error::failed)?
        }
        None => rows(&super::report::journal_dir(args.config.as_deref())),
    };
    if args.json {
        println!("{}", serde_json::to_string(&rows).unwrap_or_default());
    } else if rows.is_empty() {
        println!("no rollouts here: no cockpit has published a live feed in the journal dir");
    } else {
        rows.iter().for_each(|r| println!("{}", line(r)));
    }
    Ok(exit::OK)
}

/// The host named on the command line, or why it is not one.
fn host_of(host: &str) -> Result<Remote, Error> {
    match Remote::parse(host) {
        Some(remote) => remote.map_err(Error::failed),
        None => Err(Error::failed(format!(
            "\"{host}\" is not a host: write ssh://[user@]host[:port]"
        ))),
    }
}

/// `--watch`: the list, live, until quit; `enter` watches the selected
/// rollout in this terminal (over SSH as `watch ssh://host/ROLLOUT`).
fn live_list(args: &StatusArgs, remote: Option<Remote>) -> Result<i32, Error> {
    if !std::io::stdout().is_terminal() {
        return Err(Error::usage(
            "stdout is not a terminal, so the list cannot be drawn; try --json",
        ));
    }
    let place = remote
        .as_ref()
        .map_or("here".into(), |r| format!("on {}", r.label()));
    let look = {
        let (args, remote) = (args.clone(), remote.clone());
        move || {
            let (args, remote) = (args.clone(), remote.clone());
            let host = remote.as_ref().map(Remote::label);
            Glancer::start(
                move || match &remote {
                    // Under the list no one can answer a passphrase prompt.
                    Some(r) => remote_rows(&args, r, true),
                    None => Ok(rows(&super::report::journal_dir(args.config.as_deref()))),
                },
                host,
            )
        }
    };
    let target = |rollout: &str| match &remote {
        Some(r) => format!("ssh://{}/{rollout}", r.label()),
        None => rollout.to_string(),
    };
    let watch = super::watch::WatchArgs {
        target: None,
        feed: false,
        remote_cockpit: args.remote_cockpit.clone(),
        config: args.config.clone(),
        theme: None,
    };
    watch_list(List::new(&place), &look, &watch, &target)
}

/// The list on screen until quit, each pick watched with `watch`'s args.
pub fn watch_list(
    mut list: List,
    look: &dyn Fn() -> Glancer,
    watch: &super::watch::WatchArgs,
    target: &dyn Fn(&str) -> String,
) -> Result<i32, Error> {
    let choice = watch.theme.as_deref().unwrap_or("dark");
    let theme = Theme::load(choice, theme::colour_wanted()).map_err(Error::usage)?;
    let mut open = |rollout: &str| {
        let mut args = watch.clone();
        args.target = Some(target(rollout));
        super::watch::run(args)
    };
    list::run(&mut list, look, &theme, &KeyMap::default(), &mut open)?;
    Ok(exit::OK)
}

/// The rows of this machine's journal dir, looked up every second.
pub fn local_glancer(dir: &Path) -> Glancer {
    let dir = dir.to_path_buf();
    Glancer::start(move || Ok(rows(&dir)), None)
}

/// A list already holding `rows` (no "looking..." at first).
pub fn list_of(rows: Vec<Row>) -> List {
    let mut list = List::new("here");
    list.take(Glance::Rows(rows));
    list
}

/// `cockpit status --json` on the host, over the user's own ssh.
fn remote_rows(args: &StatusArgs, remote: &Remote, batch: bool) -> Result<Vec<Row>, String> {
    let ssh = super::watch::ssh(&args.remote_cockpit);
    let out = ssh
        .command(remote, &["status", "--json"], batch)
        .output()
        .map_err(|e| format!("cannot start ssh: {e}"))?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "ssh://{}: {}",
            remote.label(),
            said.trim().lines().last().unwrap_or("ssh failed")
        ));
    }
    serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("ssh://{}: not cockpit status output: {e}", remote.label()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::feed::{self, wall_ms};
    use crate::rollout::{Input, Rollout};

    #[test]
    fn one_line_per_rollout_and_a_silent_unfinished_driver_is_flagged() {
        let dir = tempfile::tempdir().unwrap();
        let config = crate::config::parse(Path::new("t.toml"), crate::config::MINIMAL).unwrap();
        let mut r = Rollout::new(config, 1_000);
        let start = Input::Start {
            local: chrono::NaiveDateTime::default(),
            operator: "ana@box".into(),
        };
        r.update(2_000, start);
        for name in ["checkout-a.jsonl", "checkout-b.jsonl"] {
            let mut feed = feed::Feed::new(&dir.path().join(name), "ana@box", false);
            feed.publish(&r, &Clock::new(1.0), None).unwrap();
        }
        let rows = rows(dir.path());
        assert_eq!(rows.len(), 1, "two sessions of one rollout are one line");
        let row = &rows[0];
        assert_eq!((row.driver.as_str(), row.driver_gone), ("ana@box", false));
        let text = line(row);
        assert!(
            text.starts_with(&format!("{}  canary  stage ", row.rollout)),
            "{text}"
        );
        assert!(!text.contains("DRIVER GONE"), "{text}");

        let mut live = feed::read(&dir.path().join("checkout-a.live.json")).unwrap();
        live.written -= 60_000;
        let gone = crate::feed::glance::row(&live, wall_ms());
        assert!(gone.driver_gone);
        assert!(
            line(&gone).ends_with("DRIVER GONE (unfinished)"),
            "{}",
            line(&gone)
        );
        live.ended = Some("the rollout ended: promoted".into());
        assert!(
            !crate::feed::glance::row(&live, wall_ms()).driver_gone,
            "an ended run is not gone"
        );
    }
}
