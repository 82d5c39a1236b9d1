//! The cockpit screen: a `run::View` drawing the rollout with ratatui.
//!
//! - `keys`: the key map (defaults in code, `[ui] keys` overrides), the
//!   one source for the footer and the help screen.
//! - `theme`: named styles from `themes/*.toml`, user overrides, `NO_COLOR`.
//! - `screen`: prompts, help, log: what keys do, as engine inputs.
//! - `next`: the engine's `Now` and `Said` in words, with the keys bound now.
//! - `draw`: the frame, a function of the rollout and the screen state.
//! - `wheel`: handing the wheel over and followers' notes, in words.
//! - `terminal`: the real terminal, the key reader, redraw pacing, and
//!   restoring the terminal on every way out.

mod draw;
pub mod keys;
mod logpane;
pub mod next;
mod screen;
mod terminal;
pub mod theme;
mod wheel;

pub use draw::{draw, footer_line, height};
pub use screen::{Ask, Following, Mode, Screen, local_time, utc_time};
pub use terminal::{run, watch};
pub use wheel::take_over_remote;
