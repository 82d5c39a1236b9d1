//! `cockpit check`: build the plan `run` would run, and say what it will do.

use std::path::Path;

use crate::plan::Choices;

pub fn run(explicit: Option<&Path>) -> i32 {
    match super::build_plan(explicit, &Choices::new(None)) {
        Ok(plan) => {
            print!("{}", plan.describe());
            super::exit::OK
        }
        Err(code) => code,
    }
}
