//! What the simulator costs: one simulated hour of the noisiest scenario
//! (36,000 steps, both versions, faults checked every step), and rendering
//! a `/metrics` page. A drill at --speed 60 needs a simulated hour in a
//! minute of real time; the model must take a small fraction of that.

use cockpit::sim::Scenario;
use cockpit::sim::model::{Model, Version};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let scenario = Scenario::load("noisy-healthy").unwrap();
    c.bench_function("sim: one simulated hour at 25% canary", |b| {
        b.iter(|| {
            let mut m = Model::new(scenario.clone());
            m.set_weight(25.0);
            m.advance_to(3_600_000);
            m
        })
    });
    let mut m = Model::new(scenario.clone());
    m.set_weight(25.0);
    m.advance_to(60_000);
    c.bench_function("sim: render one /metrics page", |b| {
        b.iter(|| m.exposition(Version::Canary))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
