//! Every rollout in a journal dir at a glance: one row each, from the
//! live feeds their cockpits publish. `status` prints the rows; its
//! `--watch` list and a bare `watch` draw them.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use super::ssh::{self, LinkDown};
use super::{Live, feeds, follow_now, read, wall_ms};
use crate::rollout::{Level, Reading};

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
    /// The metric in the worst state, its level, canary value and unit.
    #[serde(with = "worst_json")]
    pub worst: Option<(String, Level, Option<f64>, String)>,
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
            (t.rule.label(), t.verdict.level, value, t.rule.unit.clone())
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

/// One row per rollout in `dir`: its newest session, running ones first.
pub fn rows(dir: &Path) -> Vec<Row> {
    let wall = wall_ms();
    let mut lives: Vec<(bool, SystemTime, Live)> = feeds(dir, None)
        .into_iter()
        .filter_map(|(modified, p)| read(&p).ok().map(|l| (l.ended.is_none(), modified, l)))
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

impl Row {
    /// The stage's weight as set and as seen: `5%`, `-` when unknown.
    pub fn weights(&self) -> (String, String) {
        let pct =
            |w: Option<f64>| w.map_or("-".into(), |w| format!("{}%", crate::format::number(w)));
        (pct(self.weight_set), pct(self.weight_seen))
    }

    /// `worst error rate 0.4% (warning)`, or `no metrics`.
    pub fn worst_words(&self) -> String {
        let Some((m, level, v, unit)) = self.worst.as_ref() else {
            return "no metrics".into();
        };
        let unit = match unit.as_str() {
            "%" | "" => unit.clone(),
            u => format!(" {u}"),
        };
        let v = v.map_or("no data".into(), |v| {
            format!("{}{unit}", crate::format::number(v))
        });
        format!("worst {m} {v} ({})", level.word())
    }
}

/// `status --json` spells the level as the screen does (`WARN`), the
/// form scripts and hosts running an older cockpit already read and send.
mod worst_json {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::rollout::Level;

    type Worst = Option<(String, Level, Option<f64>, String)>;
    type Json = Option<(String, String, Option<f64>, String)>;

    pub fn serialize<S: Serializer>(worst: &Worst, s: S) -> Result<S::Ok, S::Error> {
        let json: Json = worst
            .clone()
            .map(|(m, level, v, unit)| (m, level.word().to_string(), v, unit));
        json.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Worst, D::Error> {
        let json = Json::deserialize(d)?;
        Ok(json.map(|(m, word, v, unit)| (m, level_of(&word), v, unit)))
    }

    /// A word this cockpit does not know is no judgement it can colour.
    fn level_of(word: &str) -> Level {
        [
            Level::Ok,
            Level::LowEvidence,
            Level::NoData,
            Level::Warning,
            Level::Critical,
        ]
        .into_iter()
        .find(|l| l.word() == word)
        .unwrap_or(Level::NoData)
    }
}

/// What the list shows: the rows, and whether the link to the host is down.
#[derive(Debug, Clone, PartialEq)]
pub enum Glance {
    Rows(Vec<Row>),
    Down(LinkDown),
}

/// Rows looked up again every second on a thread of their own, so keys
/// never wait on ssh. A failed look is tried again with watch's backoff
/// and its bounded number of attempts.
pub struct Glancer {
    pub updates: Receiver<Glance>,
    stop: Arc<AtomicBool>,
}

impl Glancer {
    /// `host` names the far end in `LinkDown` (`None`: this machine).
    pub fn start(
        look: impl Fn() -> Result<Vec<Row>, String> + Send + 'static,
        host: Option<String>,
    ) -> Glancer {
        let (tx, updates) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        std::thread::spawn(move || keep_looking(&look, host.as_deref(), &tx, &s));
        Glancer { updates, stop }
    }
}

impl Drop for Glancer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn keep_looking(
    look: &dyn Fn() -> Result<Vec<Row>, String>,
    host: Option<&str>,
    tx: &Sender<Glance>,
    stop: &AtomicBool,
) {
    let mut failures = 0;
    while !stop.load(Ordering::SeqCst) {
        let (glance, wait) = match look() {
            Ok(rows) => {
                failures = 0;
                (Glance::Rows(rows), Duration::from_secs(1))
            }
            Err(why) => {
                failures += 1;
                let wait = ssh::backoff(failures);
                let down = LinkDown {
                    host: host.unwrap_or("this machine").to_string(),
                    why,
                    attempt: failures,
                    retry_in_s: wait.as_secs(),
                    gave_up: failures > ssh::ATTEMPTS,
                };
                (Glance::Down(down), wait)
            }
        };
        let gave_up = matches!(&glance, Glance::Down(d) if d.gave_up);
        if tx.send(glance).is_err() || gave_up {
            return;
        }
        let waited = Instant::now();
        while waited.elapsed() < wait && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    #[test]
    fn status_json_spells_the_worst_level_as_the_screen_does() {
        let json = r#"{"rollout":"checkout","strategy":"canary","stage":"5%",
            "weight_set":5.0,"weight_seen":null,"phase":"observing",
            "worst":["error rate","CRIT",2.5,"%"],"driver":"ana@box",
            "watchers":[],"running_ms":1000,"driver_gone":false,"ended":null}"#;
        let row: Row = serde_json::from_str(json).unwrap();
        let worst = row.worst.as_ref().unwrap();
        assert_eq!(worst.1, Level::Critical);
        assert_eq!(row.worst_words(), "worst error rate 2.5% (CRIT)");
        let again = serde_json::to_value(&row).unwrap();
        assert_eq!(again["worst"][1], "CRIT");
    }

    #[test]
    fn a_look_that_fails_says_the_link_is_down_and_the_next_good_one_clears_it() {
        let tries = Arc::new(AtomicU32::new(0));
        let t = tries.clone();
        let glancer = Glancer::start(
            move || match t.fetch_add(1, Ordering::SeqCst) {
                0 | 1 => Err("Connection refused".into()),
                _ => Ok(vec![]),
            },
            Some("bastion".into()),
        );
        let next = || {
            glancer
                .updates
                .recv_timeout(Duration::from_secs(60))
                .unwrap()
        };
        let Glance::Down(first) = next() else {
            panic!("the first look failed")
        };
        assert_eq!(
            (first.host.as_str(), first.attempt, first.retry_in_s),
            ("bastion", 1, 1)
        );
        let Glance::Down(second) = next() else {
            panic!("so did the second")
        };
        assert_eq!(
            (second.attempt, second.retry_in_s, second.gave_up),
            (2, 2, false)
        );
        assert_eq!(next(), Glance::Rows(vec![]), "the third is back");
    }
}
