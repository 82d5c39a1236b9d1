//! The postmortem report: a journal read back as Markdown (or JSON for
//! tooling). `model` reads the journal into rows, `markdown` writes them.

mod markdown;
mod model;

pub use markdown::markdown;
pub use model::*;
