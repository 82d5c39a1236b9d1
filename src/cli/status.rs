//! `cockpit status [ssh://host]`: every rollout in the journal dir at a
//! glance, one line each, from the live feeds their cockpits publish; over
//! SSH, `cockpit status --json` on the host, printed here.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::duration::Span;
use crate::exit;
use crate::feed::ssh::Remote;
use crate::feed::{self, Live, follow_now, wall_ms};
use crate::rollout::Reading;

#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    /// Another host's rollouts: ssh://[user@]host[:port].
    pub host: Option<String>,
    /// JSON for scripts: an array with one object per rollout.
    #[arg(long)]
    pub json: bool,
    /// Config file whose `[journal] dir` to look in.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// The cockpit to run on the host (when it is not on the host's PATH).
    #[arg(long, env = "COCKPIT_REMOTE", default_value = "cockpit")]
    pub remote_cockpit: String,
}

/// One rollout, as its cockpit last published it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub rollout: String,
    pub strategy: String,
    pub stage: String,
    /// The weight the stage sets, and the share of requests seen on the canary.
    pub weight_set: Option<f64>,
    pub weight_seen: Option<f64>,
    pub phase: String,
    /// The metric in the worst state, its level and canary value.
    pub worst: Option<(String, String, Option<f64>, String)>,
    pub driver: String,
    pub watchers: Vec<String>,
    pub running_ms: u64,
    /// Unfinished, and its driver has not written for a while.
    pub driver_gone: bool,
    pub ended: Option<String>,
}

/// What the feed says, as of `wall`.
pub fn row(live: &Live, wall: u64) -> Row {
    let (now, silent) = follow_now(live, wall);
    let state = &live.state;
    let stage = live.config.stages.get(state.stage);
    // The first of equals: the config's order is the operator's.
    let worst = live
        .tracks
        .iter()
        .rev()
        .max_by_key(|t| t.verdict.level)
        .map(|t| {
            let value = match &t.canary {
                Some((_, Reading::Value { value, .. })) => Some(*value),
                _ => None,
            };
            let level = t.verdict.level.word().to_string();
            (t.rule.label(), level, value, t.rule.unit.clone())
        });
    let phase = serde_json::to_value(&state.phase).unwrap_or_default();
    Row {
        rollout: live.config.rollout.name.clone(),
        strategy: live.config.rollout.strategy.to_string(),
        stage: stage.map_or("-".into(), |s| s.name.clone()),
        weight_set: stage.and_then(|s| s.weight),
        weight_seen: state.traffic.seen.as_ref().map(|s| s.share),
        phase: phase["phase"].as_str().unwrap_or("?").replace('_', " "),
        worst,
        driver: live.driver.clone(),
        watchers: live.watchers.clone(),
        running_ms: state.started_at.map_or(0, |t| now.saturating_sub(t)),
        driver_gone: silent.is_some(),
        ended: live.ended.clone(),
    }
}

/// The line `status` prints for a row.
pub fn line(r: &Row) -> String {
    let pct = |w: Option<f64>| w.map_or("-".into(), |w| format!("{}%", crate::format::number(w)));
    let worst = r
        .worst
        .as_ref()
        .map_or("no metrics".into(), |(m, level, v, unit)| {
            let unit = match unit.as_str() {
                "%" | "" => unit.clone(),
                u => format!(" {u}"),
            };
            let v = v.map_or("no data".into(), |v| {
                format!("{}{unit}", crate::format::number(v))
            });
            format!("worst {m} {v} ({level})")
        });
    let flag = if r.driver_gone {
        "  DRIVER GONE (unfinished)"
    } else {
        ""
    };
    format!(
        "{}  {}  stage {} (set {}, seen {})  {}  {worst}  driver {}  watchers {}  running {}{flag}",
        r.rollout,
        r.strategy,
        r.stage,
        pct(r.weight_set),
        pct(r.weight_seen),
        r.phase,
        r.driver,
        r.watchers.len(),
        Span::whole_secs(r.running_ms),
    )
}

/// One row per rollout in `dir`: its newest session, running ones first.
pub fn rows(dir: &std::path::Path) -> Vec<Row> {
    let wall = wall_ms();
    let mut lives: Vec<(bool, SystemTime, Live)> = feed::feeds(dir, None)
        .into_iter()
        .filter_map(|(modified, p)| {
            feed::read(&p)
                .ok()
                .map(|l| (l.ended.is_none(), modified, l))
        })
        .collect();
    lives.sort_by_key(|(running, modified, _)| std::cmp::Reverse((*running, *modified)));
    let mut rows: Vec<Row> = Vec::new();
    for (_, _, live) in lives {
        if !rows.iter().any(|r| r.rollout == live.config.rollout.name) {
            rows.push(row(&live, wall));
        }
    }
    rows
}

pub fn run(args: StatusArgs) -> i32 {
    let rows = match &args.host {
        Some(host) => match Remote::parse(host) {
            Some(Ok(remote)) => remote_rows(&args, &remote),
            Some(Err(e)) => Err(e),
            None => Err(format!(
                "\"{host}\" is not a host: write ssh://[user@]host[:port]"
            )),
        },
        None => Ok(rows(&super::report::journal_dir(args.config.as_deref()))),
    };
    let rows = match rows {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::ERROR;
        }
    };
    if args.json {
        println!("{}", serde_json::to_string(&rows).unwrap_or_default());
    } else if rows.is_empty() {
        println!("no rollouts here: no cockpit has published a live feed in the journal dir");
    } else {
        rows.iter().for_each(|r| println!("{}", line(r)));
    }
    exit::OK
}

/// `cockpit status --json` on the host, over the user's own ssh.
fn remote_rows(args: &StatusArgs, remote: &Remote) -> Result<Vec<Row>, String> {
    let ssh = super::watch::ssh(&args.remote_cockpit);
    let batch = !std::io::stdin().is_terminal();
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
    use crate::rollout::{Input, Rollout};
    use std::path::Path;

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
        let gone = super::row(&live, wall_ms());
        assert!(gone.driver_gone);
        assert!(
            line(&gone).ends_with("DRIVER GONE (unfinished)"),
            "{}",
            line(&gone)
        );
        live.ended = Some("the rollout ended: promoted".into());
        assert!(
            !super::row(&live, wall_ms()).driver_gone,
            "an ended run is not gone"
        );
    }
}
