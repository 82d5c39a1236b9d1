//! The pure rollout core: no IO, no clock of its own.

pub mod reading;
pub mod window;

pub use reading::{Group, Reading};
