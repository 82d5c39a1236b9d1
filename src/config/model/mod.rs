//! The config file's shape. Field names are the TOML keys; every struct
//! refuses unknown keys so a typo is an error, not a silently ignored line.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::duration::Span;

mod hooks;
mod metrics;
mod policy;

pub use hooks::{GlobalHooks, Hook, HookFormat, Hooks};
pub use metrics::{
    AlertSelector, AlertmanagerSpec, Direction, Endpoint, MetricKind, MetricSpec, PrometheusSpec,
    ScrapeSelector, ScrapeSpec,
};
pub use policy::{Judge, OnCritical, OnNoData, Policy};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub rollout: RolloutSpec,
    #[serde(default, rename = "stage")]
    pub stages: Vec<Stage>,
    #[serde(default, rename = "metric")]
    pub metrics: Vec<MetricSpec>,
    #[serde(default)]
    pub policy: Policy,
    #[serde(default)]
    pub window: WindowSpec,
    #[serde(default)]
    pub checklist: Checklist,
    #[serde(default)]
    pub hooks: GlobalHooks,
    pub prometheus: Option<PrometheusSpec>,
    pub scrape: Option<ScrapeSpec>,
    pub alertmanager: Option<AlertmanagerSpec>,
    #[serde(default)]
    pub journal: JournalSpec,
    #[serde(default)]
    pub ui: UiSpec,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutSpec {
    pub name: String,
    pub service: String,
    #[serde(default = "default_environment")]
    pub environment: String,
    pub old_version: String,
    pub new_version: String,
    #[serde(default)]
    pub strategy: Strategy,
    /// Seed 003's risk levels; expands to stages when no `[[stage]]` is given.
    pub preset: Option<Preset>,
    /// Security hotfixes may ship outside the deploy window (seed 003).
    #[serde(default)]
    pub security_hotfix: bool,
    /// Requests per second both versions serve together, as a hint for
    /// `check`: how long each stage needs to gather enough evidence.
    pub traffic: Option<f64>,
}

fn default_environment() -> String {
    "production".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    #[default]
    Canary,
    BlueGreen,
    Rolling,
    Phased,
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Strategy::Canary => "canary",
            Strategy::BlueGreen => "blue-green",
            Strategy::Rolling => "rolling",
            Strategy::Phased => "phased",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    Zero,
    Low,
    Medium,
    High,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    pub name: String,
    /// Share of traffic on the new version, in percent (canary, blue-green).
    pub weight: Option<f64>,
    /// Instances running the new version (rolling).
    pub instances: Option<u32>,
    pub region: Option<String>,
    /// Feature-flag cohort (phased): "internal", "beta", "all"...
    pub cohort: Option<String>,
    /// Minimum observation time before the stage may advance.
    #[serde(default = "default_wait")]
    pub wait: Span,
    /// Per-stage threshold overrides, keyed by metric name.
    #[serde(default)]
    pub thresholds: BTreeMap<String, ThresholdOverride>,
    #[serde(default)]
    pub enter: Hooks,
    #[serde(default)]
    pub undo: Hooks,
    pub smoke: Option<Hook>,
    pub verify: Option<Hook>,
    /// A stage that cannot be undone must say so (seed 001).
    #[serde(default)]
    pub irreversible: bool,
    pub gate: Option<Gate>,
}

pub fn default_wait() -> Span {
    Span::mins(15)
}

impl Stage {
    /// A short label for the stage's exposure: "25%", "3 instances", "eu-west-1".
    pub fn exposure(&self) -> String {
        if let Some(w) = self.weight {
            format!("{}%", crate::format::number(w))
        } else if let Some(n) = self.instances {
            format!("{n} instance{}", if n == 1 { "" } else { "s" })
        } else if let Some(r) = &self.region {
            r.clone()
        } else if let Some(c) = &self.cohort {
            c.clone()
        } else {
            "-".into()
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ThresholdOverride {
    pub warning: Option<f64>,
    pub critical: Option<f64>,
    #[serde(rename = "for")]
    pub for_: Option<Span>,
}

/// Wait before entering a stage: for a keypress, or for a URL to return 200.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    #[serde(default)]
    pub manual: bool,
    pub url: Option<String>,
    #[serde(default = "default_gate_every")]
    pub every: Span,
}

fn default_gate_every() -> Span {
    Span::secs(10)
}

/// Deploy windows as `"Tue-Thu 10:00-14:00"`; freezes as dates.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WindowSpec {
    pub enabled: bool,
    pub best: Vec<String>,
    pub acceptable: Vec<String>,
    pub never: Vec<String>,
    /// `YYYY-MM-DD` or `YYYY-MM-DD..YYYY-MM-DD` (holidays, freezes).
    pub freeze: Vec<String>,
}

impl Default for WindowSpec {
    /// Seed 003: best Tue-Thu 10-14, acceptable Mon 11-14, never Friday
    /// afternoon or after 16:00.
    fn default() -> Self {
        WindowSpec {
            enabled: true,
            best: vec!["Tue-Thu 10:00-14:00".into()],
            acceptable: vec!["Mon 11:00-14:00".into()],
            never: vec!["Fri 12:00-24:00".into(), "Mon-Sun 16:00-24:00".into()],
            freeze: vec![],
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Checklist {
    pub items: Vec<String>,
}

impl Default for Checklist {
    /// Seeds 003 and 004's pre-deploy checklist.
    fn default() -> Self {
        Checklist {
            items: [
                "All tests green",
                "Code review done",
                "Rollback strategy documented",
                "Dashboards and alert thresholds configured",
                "On-call engineer assigned",
                "Migrations backward compatible",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct JournalSpec {
    /// Where run journals go; the user's data dir when unset.
    pub dir: Option<PathBuf>,
    pub snapshot_every: Span,
    /// A group that may read the journals and follow the live feed
    /// (dirs 0750, files 0640); owner-only when unset.
    pub group: Option<String>,
    /// What that group's members may do beyond following.
    pub group_may: GroupMay,
}

/// `[journal] group_may`: what the members of `[journal] group` may do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupMay {
    /// Read journals, follow the live feed (dirs 0750, files 0640).
    #[default]
    Follow,
    /// Also leave notes, take the wheel and drive: the dir is theirs to
    /// write in (dirs 02770, files 0660).
    Drive,
}

impl Default for JournalSpec {
    fn default() -> Self {
        JournalSpec {
            dir: None,
            snapshot_every: Span::secs(60),
            group: None,
            group_may: GroupMay::Follow,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UiSpec {
    pub theme: Option<String>,
    /// Action name -> key, overriding only what it names.
    #[serde(default)]
    pub keys: BTreeMap<String, String>,
}

impl Config {
    /// The span one reading of `m` covers, in milliseconds: the scrape
    /// window or the PromQL rate window; 0 when a reading is a point.
    pub fn counts_window_ms(&self, m: &MetricSpec) -> u64 {
        if m.scrape.is_some()
            && let Some(s) = &self.scrape
        {
            return s.window_intervals() as u64 * s.every.as_millis();
        }
        match &self.prometheus {
            Some(p) if m.query.is_some() || m.template.is_some() => p.rate_window.as_millis(),
            _ => 0,
        }
    }
}
