//! The pure rollout core: no IO, no clock of its own. Inputs carry their
//! time; outputs are effects for the edges to carry out.

pub mod counted;
pub mod engine;
pub mod event;
pub mod evidence;
pub mod now;
pub mod reading;
pub mod track;
pub mod traffic;
pub mod verdict;
pub mod window;
pub mod words;

pub use engine::Rollout;
pub use event::{
    Action, Actor, Command, DrillScore, Effect, Event, Input, Outcome, Phase, Purpose, Said,
    Sample, State,
};
pub use now::{Now, Ready};
pub use reading::{Group, Reading};
pub use traffic::{Seen, Traffic, TrafficShare};
pub use verdict::{At, Level, Rule, Verdict};
