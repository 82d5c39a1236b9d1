//! Render time of a full frame at 200x50: 3 stages x 5 metrics with full
//! sparkline history, drawn on ratatui's TestBackend. Target: under 1 ms.
//! Also the per-second redraw, and ratatui's own floor for a full repaint
//! of that size, to read the numbers on a loaded machine.

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
            // A fresh buffer each time: the whole frame is built and written.
            terminal.clear().unwrap();
            terminal
                .draw(|f| cockpit::tui::draw(f, &screen, &r, now))
                .unwrap();
        })
    });
    // What happens every second: the same frame, only changed cells written.
    c.bench_function("redraw 200x50, clock moved", |b| {
        let mut at = now;
        b.iter(|| {
            at += 1000;
            terminal
                .draw(|f| cockpit::tui::draw(f, &screen, &r, at))
                .unwrap();
        })
    });
    // The floor on this machine: ratatui filling and writing 200x50 cells.
    c.bench_function("bare 200x50 repaint (ratatui floor)", |b| {
        b.iter(|| {
            terminal.clear().unwrap();
            terminal
                .draw(|f| {
                    let area = f.area();
                    f.render_widget(ratatui::widgets::Block::bordered(), area)
                })
                .unwrap();
        })
    });
}

criterion_group!(benches, render);
criterion_main!(benches);
