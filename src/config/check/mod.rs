//! The rules serde cannot see: across keys and tables, and against this
//! system. Hooks are checked before defaults are filled in, the rest after
//! (see `config::resolve`).

mod hooks;
mod metrics;
mod numbers;
mod spans;
mod stages;
mod values;

pub use hooks::is_env_name;
pub use values::{unusable, written_hooks};

use std::collections::HashSet;

use super::error::Problem;
use super::model::{Config, GroupMay};
use super::problem;
use crate::at;
use crate::rollout::window::DeployWindows;

pub(in crate::config) use hooks::check_hooks;

/// Every rule but the hooks', on a config with its defaults filled in.
pub(super) fn rules(config: &Config, out: &mut Vec<Problem>) {
    stages::check_stages(config, out);
    stages::check_preset_undo(config, out);
    metrics::check_metrics(config, out);
    check_window(config, out);
    check_checklist(config, out);
    check_scrape_window(config, out);
    values::check(config, out);
    check_journal_group(config, out);
}

/// `[journal] group` must name a group this system knows; `group_may`
/// says what that group may do, so it needs one.
fn check_journal_group(config: &Config, out: &mut Vec<Problem>) {
    let journal = &config.journal;
    if let Some(name) = &journal.group
        && crate::files::group_id(name).is_none()
    {
        out.push(problem(
            at!["journal", "group"],
            format!("no group \"{name}\" on this system"),
            "name an existing group (see /etc/group, `getent group`), or remove `group` to keep journals owner-only",
        ));
    }
    if journal.group.is_none() && journal.group_may == GroupMay::Drive {
        out.push(problem(
            at!["journal", "group_may"],
            "group_may = \"drive\" without a group: nobody else could drive",
            "add `group = \"NAME\"` under [journal], the team's group, or remove `group_may`",
        ));
    }
}

fn check_window(config: &Config, out: &mut Vec<Problem>) {
    if let Err((list, i, msg)) = DeployWindows::from_spec(&config.window) {
        out.push(problem(
            at!["window", list, i],
            msg,
            "fix the entry or remove it",
        ));
    }
}

/// The screen ticks items with the keys 1 to 9; a tenth could never be
/// ticked, and an unticked checklist never lets the rollout start.
const CHECKLIST_KEYS: usize = 9;

fn check_checklist(config: &Config, out: &mut Vec<Problem>) {
    let items = &config.checklist.items;
    if items.len() > CHECKLIST_KEYS {
        out.push(problem(
            at!["checklist", "items", CHECKLIST_KEYS],
            format!(
                "{} checklist items, but the screen ticks them with the keys 1 to {CHECKLIST_KEYS}",
                items.len()
            ),
            format!("keep at most {CHECKLIST_KEYS} items: merge related checks into one line"),
        ));
    }
    let mut seen = HashSet::new();
    for (i, item) in items.iter().enumerate() {
        if item.trim().is_empty() {
            out.push(problem(
                at!["checklist", "items", i],
                "an empty checklist item",
                "write what must be checked, or remove the entry",
            ));
        } else if !seen.insert(item.trim()) {
            out.push(problem(
                at!["checklist", "items", i],
                format!("checklist item {item:?} is listed twice"),
                "remove the second one",
            ));
        }
    }
}

fn check_scrape_window(config: &Config, out: &mut Vec<Problem>) {
    let Some(spec) = &config.scrape else { return };
    if let Some(window) = spec.window
        && window.as_millis() < spec.every.as_millis()
    {
        out.push(problem(
            at!["scrape", "window"],
            format!(
                "window {window} is shorter than every {}: a window spans at least one scrape interval",
                spec.every
            ),
            format!("make window at least {} (e.g. \"1m\"), or remove it for one interval", spec.every),
        ));
    }
}
