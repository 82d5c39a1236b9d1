//! Data flows down, never back up (STYLE.md): reads the source tree and
//! checks that no layer imports one above it. Exit codes, the clock and
//! host names live at the bottom (`src/exit.rs`, `src/clock.rs`), so no
//! layer needs `cli/` or `run/` for them.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, with its path relative to `src/`.
fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
            let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
            let rel = path
                .strip_prefix(&src)
                .expect("under src/")
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, text));
        }
    }
}

fn tree() -> Vec<(String, String)> {
    let mut out = Vec::new();
    sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
    assert!(out.len() > 20, "the source tree was not found");
    out
}

/// The top-level module a file belongs to: `run` for `run/live.rs` and
/// for `run.rs`, `main` for `main.rs`.
fn layer(rel: &str) -> &str {
    let first = rel.split('/').next().unwrap_or(rel);
    first.strip_suffix(".rs").unwrap_or(first)
}

/// Lines of files in `layers` that name `crate::<above>`, as `file:line: text`.
fn upward(layers: &[&str], above: &str) -> Vec<String> {
    let needle = format!("crate::{above}");
    let mut found = Vec::new();
    for (rel, text) in tree() {
        if !layers.contains(&layer(&rel)) {
            continue;
        }
        for (n, line) in text.lines().enumerate() {
            let hit = line.match_indices(&needle).any(|(i, _)| {
                // `crate::run` must not match `crate::runtime`.
                !line[i + needle.len()..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_')
            });
            if hit {
                found.push(format!("{rel}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn the_check_sees_imports_where_they_are() {
    // cli/ drives the runtime: if this finds nothing, the rules below
    // would pass for a reason that is not theirs.
    assert!(!upward(&["cli"], "run").is_empty());
}

#[test]
fn nothing_below_cli_imports_cli() {
    let below: Vec<String> = tree()
        .iter()
        .map(|(rel, _)| layer(rel).to_string())
        .filter(|l| l != "cli" && l != "main")
        .collect();
    let below: Vec<&str> = below.iter().map(String::as_str).collect();
    let found = upward(&below, "cli");
    assert!(
        found.is_empty(),
        "imports of cli/ below it:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_runtime_and_the_layers_under_it_import_no_view() {
    let found = upward(
        &[
            "run", "sim", "journal", "metrics", "actions", "rollout", "config",
        ],
        "tui",
    );
    assert!(found.is_empty(), "imports of tui/:\n{}", found.join("\n"));
}

#[test]
fn the_core_config_and_drill_do_not_import_the_runtime() {
    let found = upward(&["sim", "rollout", "config"], "run");
    assert!(found.is_empty(), "imports of run/:\n{}", found.join("\n"));
}

#[test]
fn exit_codes_and_the_clock_sit_at_the_bottom() {
    for above in [
        "cli", "run", "tui", "sim", "journal", "actions", "metrics", "config",
    ] {
        let found = upward(&["exit", "clock"], above);
        assert!(
            found.is_empty(),
            "the bottom imports {above}:\n{}",
            found.join("\n")
        );
    }
}

/// The core's data types, at the bottom of `rollout/`: the engine and the
/// derived views use them, they use neither.
const CORE_TYPES: [&str; 10] = [
    "rollout/decision.rs",
    "rollout/event.rs",
    "rollout/state.rs",
    "rollout/input.rs",
    "rollout/effect.rs",
    "rollout/reading.rs",
    "rollout/traffic.rs",
    "rollout/window.rs",
    "rollout/verdict.rs",
    "rollout/now.rs",
];

#[test]
fn the_engine_uses_its_types_and_they_do_not_use_it() {
    let files = tree();
    for rel in CORE_TYPES {
        let (_, text) = files
            .iter()
            .find(|(r, _)| r == rel)
            .unwrap_or_else(|| panic!("{rel} is not in the tree"));
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            let uses = ["engine", "track", "words", "Rollout"].iter().any(|m| {
                line.contains(&format!("rollout::{m}")) || line.contains(&format!("super::{m}"))
            });
            assert!(
                !uses,
                "{rel}:{}: a core type imports logic: {}",
                n + 1,
                line.trim()
            );
        }
    }
}

/// What the pure core must not touch (STYLE.md): IO, the terminal, the
/// network, processes, the environment, or a clock of its own.
const IMPURE: [&str; 12] = [
    "tokio",
    "ratatui",
    "crossterm",
    "reqwest",
    "std::fs",
    "std::net",
    "std::process",
    "std::env",
    "SystemTime",
    "Instant::now",
    "Utc::now",
    "Local::now",
];

#[test]
fn the_core_does_no_io_and_reads_no_clock() {
    let mut found = Vec::new();
    for (rel, text) in tree() {
        if layer(&rel) != "rollout" {
            continue;
        }
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if !code.starts_with("//") && IMPURE.iter().any(|word| code.contains(word)) {
                found.push(format!("{rel}:{}: {code}", n + 1));
            }
        }
    }
    assert!(found.is_empty(), "IO in the core:\n{}", found.join("\n"));
}
