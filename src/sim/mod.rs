//! The drill simulator: a stable and a canary version serving real
//! `/metrics`, `/health` and `/ready` on loopback, driven by scenarios.
//!
//! - `scenario`: the scripted faults and what a good operator does.
//! - `model`: the pure traffic model (seeded, simulated time passed in).
//! - `server`: the loopback endpoints, the control endpoint the drill's
//!   stage hooks call, and fault announcements.
//! - `drill`: the in-memory cockpit config that watches the simulator.
//! - `score`: the drill's score, a pure function of the journal's events.

pub mod batch;
pub mod drill;
pub mod model;
pub mod rng;
pub mod scenario;
pub mod score;
pub mod server;

pub use scenario::Scenario;
