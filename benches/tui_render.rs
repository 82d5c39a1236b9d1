//! Render time of a full frame at 200x50: 3 stages x 5 metrics with full
//! sparkline history, drawn on ratatui's TestBackend. Target: under 1 ms.

#[path = "common/tui.rs"]
mod common;

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn render(c: &mut Criterion) {
    let (r, screen, now) = common::watched();
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).unwrap();
    c.bench_function("full frame 200x50, 5 metrics", |b| {
        b.iter(|| {
            // A fresh buffer each time: the whole frame is built and diffed.
            terminal.clear().unwrap();
            terminal
                .draw(|f| cockpit::tui::draw(f, &screen, &r, now))
                .unwrap();
        })
    });
}

criterion_group!(benches, render);
criterion_main!(benches);
