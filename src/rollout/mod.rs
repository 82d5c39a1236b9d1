//! The pure rollout core: no IO, no clock of its own. Inputs carry their
//! time; outputs are effects for the edges to carry out.
//!
//! Data types sit at the bottom and import no logic: `reading`, `verdict`,
//! `traffic`, `window` under `decision`, `event`, `state`, `input` and
//! `effect`; the `engine` uses them all and nothing here uses it.

pub mod decision;
pub mod effect;
pub mod engine;
pub mod event;
pub mod evidence;
pub mod input;
pub mod now;
pub mod reading;
pub mod state;
pub mod track;
pub mod traffic;
pub mod verdict;
pub mod window;
pub mod words;

pub use decision::{Actor, Move, Purpose};
pub use effect::{Effect, Said};
pub use engine::Rollout;
pub use event::{DrillScore, Event, Outcome};
pub use input::{Command, Input};
pub use now::{Now, Ready};
pub use reading::{Group, Reading, Sample};
pub use state::{Phase, State};
pub use traffic::{Seen, Traffic, TrafficShare};
pub use verdict::{At, Level, Rule, Verdict};
