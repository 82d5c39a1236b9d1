//! `cockpit check`: build the plan `run` would run, and say what it will
//! do; with `--live`, also run the pre-flight `run` runs before stage 1.

use std::path::Path;

use crate::plan::Choices;

pub fn run(explicit: Option<&Path>, live: bool) -> i32 {
    let mut plan = match super::build_plan(explicit, &Choices::new(None)) {
        Ok(plan) => plan,
        Err(code) => return code,
    };
    print!("{}", plan.describe());
    if !live {
        return crate::exit::OK;
    }
    let runtime = match super::runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    println!("\nPre-flight (nothing is changed: no hook runs, hosts get a TCP connect only):");
    let (report, read) = runtime.block_on(crate::preflight::run_reading(
        &plan.config,
        &mut plan.sources,
    ));
    print!("{}", report.table());
    for w in plan.live_warnings(&read) {
        println!("warning: {w}");
    }
    if report.ok() {
        crate::exit::OK
    } else {
        crate::exit::CONFIG
    }
}
