//! The drill simulator: a stable and a canary version serving real
//! `/metrics`, `/health` and `/ready` on loopback, driven by scenarios.
//!
//! - `scenario`: the scripted faults and what a good operator does.
//! - `model`: the pure traffic model (seeded, simulated time passed in).
//! - `server`: the loopback endpoints, the control endpoint the drill's
//!   stage hooks call, and fault announcements.
//! - `drill`: the in-memory cockpit config that watches the simulator.
//! - `score`: the drill's score, a pure function of the journal's events;
//!   `debrief`: the score in words.
//! - `pace`: when a drill on screen runs at the person's pace.
//! - `referee`: when a drill is over and what it scored, from its events.

pub mod batch;
pub mod debrief;
pub mod drill;
pub mod model;
pub mod pace;
pub mod referee;
pub mod rng;
pub mod scenario;
pub mod score;
pub mod server;

pub use scenario::Scenario;
