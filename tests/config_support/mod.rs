//! Helpers shared by the tests that run `check` and `run` on config files.
// Each test crate uses its own part of these.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

/// Secrets the valid fixtures and examples read from the environment:
/// `check` refuses a config whose secrets are not exported, as `run` does.
pub const SECRETS: &[(&str, &str)] = &[
    ("LB_TOKEN", "token"),
    ("LB_API_TOKEN", "token"),
    ("CHAT_TOKEN", "token"),
    ("FLAGS_API_TOKEN", "token"),
    ("STATUS_API_TOKEN", "token"),
    ("CHAT_WEBHOOK_URL", "https://chat.example.com/hooks/deploys"),
    (
        "SLACK_WEBHOOK_URL",
        "https://hooks.slack.com/services/T000/B000/XXXXXXXX",
    ),
    (
        "TEAMS_WEBHOOK_URL",
        "https://prod-00.westeurope.logic.azure.com/workflows/x/triggers/manual/paths/invoke?sig=s3cr3t",
    ),
    ("PAGERDUTY_ROUTING_KEY", "R0UT1NGKEY0000000000000000000000"),
    ("GRAFANA_TOKEN", "Bearer glsa_token"),
    ("AM_TOKEN", "am-token"),
];

/// `tests/configs/<dir>/*.toml`, sorted.
pub fn fixtures(dir: &str) -> Vec<PathBuf> {
    toml_files(&Path::new("tests/configs").join(dir))
}

/// The `.toml` files of a folder, sorted.
pub fn toml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}
