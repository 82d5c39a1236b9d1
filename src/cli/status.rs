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
use crate::plan::Choices;
use crate::tui::keys::KeyMap;
use crate::tui::list::{self, List};
use crate::tui::theme::Theme;

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
    let (theme, keys) = looks(watch.config.as_deref(), watch.theme.as_deref())?;
    let mut open = |rollout: &str| {
        let mut args = watch.clone();
        args.target = Some(target(rollout));
        super::watch::run(args)
    };
    list::run(&mut list, look, &theme, &keys, &mut open)?;
    Ok(exit::OK)
}

/// The list's theme and keys, the ones `run` draws with from the same
/// config (the one whose journal dir is listed): `theme` (`watch
/// --theme`), else its `[ui] theme`, and its `[ui] keys`. Without a config
/// that builds (the list is then of the default journal dir too): `theme`,
/// else dark, and the default keys; a config found but refused says so.
fn looks(config: Option<&Path>, theme: Option<&str>) -> Result<(Theme, KeyMap), Error> {
    let choices = Choices::new(theme.map(str::to_string));
    if let Ok(path) = crate::config::discover(config) {
        match crate::plan::build(&path, &choices) {
            Ok(plan) => return Ok((plan.theme, plan.keys)),
            Err(errors) => crate::say::tell(format!(
                "{}: {} error(s) (`cockpit check {0}` lists them): the list uses the default theme and keys",
                path.display(),
                errors.len()
            )),
        }
    }
    let theme = Theme::load(theme.unwrap_or("dark"), choices.colour).map_err(Error::usage)?;
    Ok((theme, KeyMap::default()))
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
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::style::Color;

    use super::*;
    use crate::clock::Clock;
    use crate::feed::{self, wall_ms};
    use crate::rollout::Level;
    use crate::rollout::{Input, Rollout};
    use crate::tui::list::Pick;
    use crate::tui::list::tests::row;

    #[test]
    fn the_live_list_has_the_theme_and_keys_of_the_users_config() {
        let dir = tempfile::tempdir().unwrap();
        let orange = "title = { fg = \"#ff8800\", bold = true }\n";
        std::fs::write(dir.path().join("mine.toml"), orange).unwrap();
        let ui = "[ui]\ntheme = \"mine.toml\"\nkeys = { quit = \"x\", select_down = \"ctrl-n\", open = \"ctrl-o\" }\n";
        let config = dir.path().join("cockpit.toml");
        std::fs::write(&config, format!("{}\n{ui}", crate::config::MINIMAL)).unwrap();
        let (theme, keys) = looks(Some(&config), None).unwrap();

        let mut list = list_of(vec![row("checkout", Level::Ok), row("search", Level::Ok)]);
        let mut t = Terminal::new(TestBackend::new(100, 8)).unwrap();
        t.draw(|f| list::draw(f, &list, &theme, &keys)).unwrap();
        let buf = t.backend().buffer();
        let text: Vec<String> = (0..buf.area.height)
            .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect())
            .collect();
        assert!(text[0].starts_with("cockpit status"), "{text:#?}");
        assert_eq!(buf[(0, 0)].fg, Color::Rgb(0xff, 0x88, 0x00), "the heading");
        let y = text.iter().position(|l| l.contains("checkout")).unwrap();
        let x = text[y].find("checkout").unwrap();
        let x = text[y][..x].chars().count() as u16;
        assert_eq!(
            buf[(x, y as u16)].fg,
            Color::Rgb(0xff, 0x88, 0x00),
            "a name"
        );
        let footer = text.last().unwrap();
        assert!(
            footer.contains("ctrl-n down") && footer.contains("ctrl-o watch it"),
            "{footer}"
        );
        assert!(footer.contains("x quit"), "{footer}");

        let press = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        let ctrl = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);
        assert_eq!(list.key(&keys, &ctrl('n')), Pick::Stay);
        assert_eq!(list.key(&keys, &ctrl('o')), Pick::Watch("search".into()));
        assert_eq!(list.key(&keys, &press('x')), Pick::Quit);

        // No config: dark, and the keys every list starts with.
        let (theme, keys) = looks(Some(&dir.path().join("none.toml")), None).unwrap();
        assert_eq!(theme.title, Theme::load("dark", true).unwrap().title);
        assert_eq!(list.key(&keys, &press('q')), Pick::Quit);
    }

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
