//! The cockpit screen: a `run::View` drawing the rollout with ratatui.
//!
//! - `actions`: every action with its name, default keys and help text.
//! - `keys`: the key map (defaults in code, `[ui] keys` overrides), the
//!   one source for the footer and the help screen.
//! - `theme`: named styles from `themes/*.toml`, user overrides, `NO_COLOR`.
//! - `screen`: the screen's own state: prompts, help, the log.
//! - `modes`: what keys do in each mode, as engine inputs.
//! - `opened`: what the metric detail view keeps, built from what arrives.
//! - `logpane`: the log, a ring of lines scrolled by line.
//! - `next`: the engine's `Now` and `Said` in words, with the keys bound now.
//! - `draw/`: the frame, a function of the rollout and the screen state.
//! - `list`: every live rollout, one row each; `enter` watches one.
//! - `wheel`: handing the wheel over and followers' notes, in words.
//! - `terminal`: the real terminal, the key reader, redraw pacing, and
//!   restoring the terminal on every way out.

mod actions;
mod draw;
pub mod keys;
pub mod list;
mod logpane;
mod modes;
pub mod next;
mod opened;
mod screen;
mod terminal;
pub mod theme;
mod wheel;

pub use draw::{draw, footer_line, height};
pub use screen::{Ask, Following, Mode, Screen, local_time, utc_time};
pub use terminal::{Watched, run, watch};
pub use wheel::take_over_remote;
