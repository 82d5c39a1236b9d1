//! The cockpit screen: a `run::View` drawing the rollout with ratatui.
