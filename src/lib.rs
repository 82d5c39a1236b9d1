//! The deployment cockpit: watch and steer a staged rollout from a terminal.

pub mod cli;
pub mod config;
pub mod duration;
pub mod format;
pub mod httpd;
pub mod rollout;
