//! `cockpit check`: build the plan `run` would run, and say what it will
//! do; with `--live`, also run the pre-flight `run` runs before stage 1.

use std::path::Path;

use crate::error::Error;
use crate::plan::Choices;

pub fn run(explicit: Option<&Path>, live: bool) -> Result<i32, Error> {
    let mut plan = super::build_plan(explicit, &Choices::new(None))?;
    print!("{}", plan.describe());
    if !live {
        return Ok(crate::exit::OK);
    }
    let runtime = crate::run::runtime()?;
    println!("\nPre-flight (nothing is changed: no hook runs, hosts get a TCP connect only):");
    let report = runtime.block_on(crate::preflight::run(&plan.config, &mut plan.sources));
    print!("{}", report.table());
    // The table said what failed: the code is all that is left to give.
    Ok(crate::exit::of_preflight(report.ok()))
}
