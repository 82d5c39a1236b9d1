//! The feed as a stream of JSON lines, for a follower at the other end of
//! an SSH connection (`cockpit watch --feed`): a whole snapshot first and
//! then at most every `SNAPSHOT_EVERY_MS`, in between only what changed,
//! and a heartbeat while nothing does, so a dead connection is told from a
//! quiet driver. Pure: the caller reads the feed and writes the lines.
//!
//! What changed is a patch of the feed's JSON: objects name only the keys
//! that changed, lists that moved on (a metric's history, the log) say how
//! many items left the front and which came at the end, lists of the same
//! length patch the items that changed. A steady rollout's second is then
//! a few readings and a clock, not the 30 kB feed.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Live;

/// A new follower (or one whose patch went wrong) waits at most this long
/// for a whole picture.
pub const SNAPSHOT_EVERY_MS: u64 = 30_000;
/// A line at least this often, so a follower can tell a dropped connection.
pub const BEAT_EVERY_MS: u64 = 2_000;
/// The driver writes up to four times a second; a follower is sent at most
/// one change a second, unless the stage, the phase or the ending changed.
pub const CHANGE_EVERY_MS: u64 = 1_000;

/// One line of the stream. `wall` is the host's clock, Unix ms, so the
/// follower can carry the driver's times over to its own clock.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Line {
    Snapshot { wall: u64, live: Box<Value> },
    Patch { wall: u64, patch: Value },
    Beat { wall: u64 },
}

/// The host's side: turns each look at the feed into the line to send.
pub struct Sender {
    last: Option<(u32, u64, Value)>,
    /// What makes a change urgent, as last sent.
    turn: Option<Turn>,
    snapshot_at: u64,
    sent_at: u64,
    snapshot_every: u64,
}

impl Default for Sender {
    fn default() -> Sender {
        Sender::every(SNAPSHOT_EVERY_MS)
    }
}

impl Sender {
    /// A sender whose snapshots come at most every `snapshot_every` ms.
    pub fn every(snapshot_every: u64) -> Sender {
        Sender {
            last: None,
            turn: None,
            snapshot_at: 0,
            sent_at: 0,
            snapshot_every,
        }
    }

    /// The line for this look at the feed, if one is due.
    pub fn next(&mut self, live: &Live, wall: u64) -> Option<Line> {
        let key = (live.pid, live.serial);
        let unchanged = self
            .last
            .as_ref()
            .is_some_and(|(pid, serial, _)| (*pid, *serial) == key);
        if unchanged {
            return (wall.saturating_sub(self.sent_at) >= BEAT_EVERY_MS).then(|| {
                self.sent_at = wall;
                Line::Beat { wall }
            });
        }
        let turn = Turn::of(live);
        let soon = wall.saturating_sub(self.sent_at) < CHANGE_EVERY_MS;
        if soon && self.turn.as_ref() == Some(&turn) {
            return None; // The next look sends it, with whatever follows.
        }
        self.turn = Some(turn);
        let value = serde_json::to_value(live).ok()?;
        let line = match &self.last {
            Some((pid, _, old))
                if *pid == live.pid
                    && wall.saturating_sub(self.snapshot_at) < self.snapshot_every =>
            {
                Line::Patch {
                    wall,
                    patch: diff(old, &value).unwrap_or(Value::Object(Map::new())),
                }
            }
            _ => {
                self.snapshot_at = wall;
                Line::Snapshot {
                    wall,
                    live: Box::new(value.clone()),
                }
            }
        };
        self.last = Some((live.pid, live.serial, value));
        self.sent_at = wall;
        Some(line)
    }
}

/// Where the rollout stands: a change here goes out at once.
#[derive(PartialEq)]
struct Turn {
    stage: usize,
    phase: crate::rollout::Phase,
    ended: bool,
}

impl Turn {
    fn of(live: &Live) -> Turn {
        Turn {
            stage: live.state.stage,
            phase: live.state.phase.clone(),
            ended: live.ended.is_some(),
        }
    }
}

/// The follower's side: the feed rebuilt from the lines, its times carried
/// over to the follower's clock.
#[derive(Default)]
pub struct Receiver {
    doc: Option<Value>,
    /// Follower's clock minus the host's, as of the last line.
    skew: i64,
    pub live: Option<Live>,
}

impl Receiver {
    /// Takes one line; true when the feed changed. A patch before any
    /// snapshot, or one that does not fit, is an error: the sender is then
    /// restarted and begins with a snapshot.
    pub fn take(&mut self, line: &str, local_wall: u64) -> Result<bool, String> {
        let line: Line =
            serde_json::from_str(line).map_err(|e| format!("not a cockpit feed line: {e}"))?;
        let wall = match &line {
            Line::Snapshot { wall, .. } | Line::Patch { wall, .. } | Line::Beat { wall } => *wall,
        };
        self.skew = local_wall as i64 - wall as i64;
        let changed = match line {
            Line::Beat { .. } => false,
            Line::Snapshot { live, .. } => {
                self.doc = Some(*live);
                true
            }
            Line::Patch { patch, .. } => {
                let doc = self
                    .doc
                    .as_mut()
                    .ok_or("a patch came before any snapshot")?;
                apply(doc, &patch)?;
                true
            }
        };
        if changed {
            let doc = self.doc.clone().unwrap_or_default();
            self.live = Some(serde_json::from_value(doc).map_err(|e| format!("bad feed: {e}"))?);
        }
        let written = self.doc.as_ref().and_then(|d| d["written"].as_u64());
        if let (Some(live), Some(written)) = (self.live.as_mut(), written) {
            live.written = written.saturating_add_signed(self.skew);
        }
        Ok(changed)
    }
}

/// Keys of the data that begin with `$` get one more, so they never read
/// as the patch's own words (`$set`, `$del`, `$drop`, `$add`, `$items`).
fn escape(key: &str) -> String {
    if key.starts_with('$') {
        format!("${key}")
    } else {
        key.to_string()
    }
}

fn whole(value: &Value) -> Value {
    match value {
        Value::Object(_) => serde_json::json!({ "$set": value }),
        other => other.clone(),
    }
}

/// What turns `old` into `new`; `None` when they are equal.
pub fn diff(old: &Value, new: &Value) -> Option<Value> {
    if old == new {
        return None;
    }
    Some(match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut patch = Map::new();
            for (key, value) in n {
                let change = match o.get(key) {
                    Some(was) => diff(was, value),
                    None => Some(whole(value)),
                };
                if let Some(change) = change {
                    patch.insert(escape(key), change);
                }
            }
            let gone: Vec<Value> = o
                .keys()
                .filter(|k| !n.contains_key(*k))
                .map(|k| Value::String(k.clone()))
                .collect();
            if !gone.is_empty() {
                patch.insert("$del".into(), Value::Array(gone));
            }
            Value::Object(patch)
        }
        (Value::Array(o), Value::Array(n)) => list_diff(o, n),
        _ => whole(new),
    })
}

/// A list that moved on (items left the front, came at the end), one of
/// the same length with some items changed, or else the whole list.
fn list_diff(old: &[Value], new: &[Value]) -> Value {
    let moved_on = (0..old.len()).find(|&k| {
        let kept = &old[k..];
        new.len() >= kept.len() && new[..kept.len()] == *kept
    });
    if let Some(k) = moved_on {
        let added = &new[old.len() - k..];
        return serde_json::json!({ "$drop": k, "$add": added });
    }
    if old.len() == new.len() {
        let items: Vec<Value> = old
            .iter()
            .zip(new)
            .enumerate()
            .filter_map(|(i, (o, n))| diff(o, n).map(|d| serde_json::json!([i, d])))
            .collect();
        let patch = serde_json::json!({ "$items": items });
        // A pair whose parts both changed (a reading and its time) is
        // shorter sent whole.
        if patch.to_string().len() < serde_json::to_string(new).map_or(0, |s| s.len()) {
            return patch;
        }
    }
    Value::Array(new.to_vec())
}

/// Applies what `diff` made to the value it was made from.
pub fn apply(target: &mut Value, patch: &Value) -> Result<(), String> {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return Ok(());
    };
    if let Some(value) = p.get("$set") {
        *target = value.clone();
        return Ok(());
    }
    if p.contains_key("$add") || p.contains_key("$items") {
        let Value::Array(list) = target else {
            return Err("a list patch for something not a list".into());
        };
        return apply_list(list, p);
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(t) = target else {
        unreachable!("made an object above")
    };
    for (key, change) in p {
        if key == "$del" {
            for gone in change.as_array().into_iter().flatten() {
                t.remove(gone.as_str().unwrap_or_default());
            }
            continue;
        }
        let key = key.strip_prefix('$').unwrap_or(key);
        apply(t.entry(key).or_insert(Value::Null), change)?;
    }
    Ok(())
}

fn apply_list(list: &mut Vec<Value>, p: &Map<String, Value>) -> Result<(), String> {
    if let Some(added) = p.get("$add").and_then(Value::as_array) {
        let drop = p.get("$drop").and_then(Value::as_u64).unwrap_or(0) as usize;
        if drop > list.len() {
            return Err("a list patch drops more than the list holds".into());
        }
        list.drain(..drop);
        list.extend(added.iter().cloned());
    }
    for item in p
        .get("$items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (Some(i), Some(change)) = (item[0].as_u64(), item.get(1)) else {
            return Err("a list item patch without its index".into());
        };
        let slot = list
            .get_mut(i as usize)
            .ok_or("a list item patch past the list's end")?;
        apply(slot, change)?;
    }
    Ok(())
}
