//! Decision quality: `cockpit drill --batch` for every built-in scenario,
//! both judges side by side, over many seeded runs in simulated time. The
//! README quotes this table. `BENCH_RUNS` sets the runs per scenario
//! (default 1,000).

use std::time::Instant;

use cockpit::config::model::Judge;
use cockpit::sim::Scenario;
use cockpit::sim::batch::{batch, table};
use cockpit::sim::scenario::BUILT_IN;

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let scenarios: Vec<Scenario> = BUILT_IN
        .iter()
        .map(|(name, _)| Scenario::load(name).expect("a built-in scenario loads"))
        .collect();
    for judge in [Judge::Thresholds, Judge::Evidence] {
        let started = Instant::now();
        let rows = batch(&scenarios, runs, 1, judge).expect("the batch runs");
        print!("{}", table(judge, &rows));
        println!(
            "({} runs in {:.1}s)\n",
            runs * scenarios.len(),
            started.elapsed().as_secs_f64()
        );
    }
}
