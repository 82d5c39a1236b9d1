//! The deployment cockpit: watch and steer a staged rollout from a terminal.

pub mod actions;
pub mod cli;
pub mod clock;
pub mod config;
pub mod drill;
pub mod duration;
pub mod error;
pub mod exit;
pub mod feed;
pub mod files;
pub mod format;
pub mod httpd;
pub mod journal;
pub mod metrics;
pub mod net;
pub mod placeholder;
pub mod plan;
pub mod preflight;
pub mod replay;
pub mod rollout;
pub mod run;
pub mod say;
pub mod secrets;
pub mod sim;
pub mod tui;
