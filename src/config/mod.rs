//! Loading, defaulting and validating `cockpit.toml`.

pub mod check;
pub mod defaults;
pub mod error;
pub mod expand;
mod locate;
pub mod model;

use std::path::{Path, PathBuf};

pub use error::{ConfigError, Problem, problem};
pub use model::Config;

use error::{did_you_mean, path_text};
use locate::Source;

/// `--config PATH`, else `./cockpit.toml`, else the user's config dir.
pub fn discover(explicit: Option<&Path>) -> Result<PathBuf, ConfigError> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    let local = PathBuf::from("cockpit.toml");
    if local.exists() {
        return Ok(local);
    }
    if let Some(user) = user_config_path()
        && user.exists()
    {
        return Ok(user);
    }
    Err(ConfigError::unplaced(
        &local,
        "no config found (looked for --config, ./cockpit.toml and the user config dir)",
        "run `cockpit init` to write a starter config, or pass --config PATH",
    ))
}

pub fn user_config_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "cockpit").map(|d| d.config_dir().join("cockpit.toml"))
}

/// Reads, parses and validates; every problem found is returned, in file order.
pub fn load(path: &Path) -> Result<Config, Vec<ConfigError>> {
    parse(path, &read(path)?)
}

/// The config file's text: a regular file, capped (see `files`).
pub fn read(path: &Path) -> Result<String, Vec<ConfigError>> {
    crate::files::read_text(path).map_err(|e| {
        vec![ConfigError::unplaced(
            path,
            format!("cannot read config: {e}"),
            "check the path and its permissions",
        )]
    })
}

pub fn parse(path: &Path, text: &str) -> Result<Config, Vec<ConfigError>> {
    let (config, problems) = resolve_text(path, text)?;
    if problems.is_empty() {
        return Ok(config);
    }
    Err(place(path, text, problems))
}

/// Parsed, with presets and defaults filled in, and the rules it breaks
/// still unplaced: the plan adds what it finds building the rest before
/// every problem is placed and reported at once. Only a file serde cannot
/// read at all stops here.
pub fn resolve_text(path: &Path, text: &str) -> Result<(Config, Vec<Problem>), Vec<ConfigError>> {
    let source = Source::new(text);
    let mut config: Config =
        toml::from_str(text).map_err(|e| vec![serde_error(path, &source, &e)])?;
    let problems = resolve(&mut config);
    Ok((config, problems))
}

/// Expands presets and defaults in place, then checks every rule.
pub fn resolve(config: &mut Config) -> Vec<Problem> {
    let mut out = Vec::new();
    // Hooks first: once [hooks] defaults are copied into stages, a bad one
    // would be reported once per stage at no line of the file.
    check::check_hooks(config, &mut out);
    expand::stages(config, &mut out);
    expand::metrics(config, &mut out);
    check::rules(config, &mut out);
    out
}

/// Every problem at its line and column in `text`, in file order.
pub fn place(path: &Path, text: &str, problems: Vec<Problem>) -> Vec<ConfigError> {
    let source = Source::new(text);
    let mut errors: Vec<ConfigError> = problems
        .into_iter()
        .map(|p| {
            let (line, column) = source
                .find(&p.path)
                .map_or((0, 0), |r| source.line_col(r.start));
            ConfigError {
                file: path.to_path_buf(),
                line,
                column,
                key: path_text(&p.path),
                message: p.message,
                fix: p.fix,
            }
        })
        .collect();
    errors.sort_by_key(|e| (e.line, e.column));
    errors
}

fn serde_error(path: &Path, source: &Source, e: &toml::de::Error) -> ConfigError {
    let span = e.span().unwrap_or(0..0);
    let (line, column) = source.line_col(span.start);
    let mut key_path = source.path_at(span.start);
    let raw = e.message().trim().to_string();
    let (message, fix) = explain(&raw, &mut key_path);
    ConfigError {
        file: path.to_path_buf(),
        line,
        column,
        key: path_text(&key_path),
        message,
        fix,
    }
}

/// Turns serde's wording into the operator's: what was wrong and the fix.
fn explain(raw: &str, key_path: &mut Vec<error::Seg>) -> (String, String) {
    let ticked =
        |s: &str| -> Vec<String> { s.split('`').skip(1).step_by(2).map(String::from).collect() };
    if let Some(rest) = raw.strip_prefix("unknown field ") {
        let words = ticked(rest);
        let (bad, expected) = words
            .split_first()
            .map_or(("", &[][..]), |(b, e)| (b.as_str(), e));
        let hint = did_you_mean(bad, expected.iter().map(String::as_str))
            .map(|s| format!("did you mean `{s}`? "))
            .unwrap_or_default();
        return (
            format!("unknown key `{bad}`"),
            format!("{hint}keys allowed here: {}", expected.join(", ")),
        );
    }
    if let Some(rest) = raw.strip_prefix("unknown variant ") {
        let words = ticked(rest);
        let (bad, expected) = words
            .split_first()
            .map_or(("", &[][..]), |(b, e)| (b.as_str(), e));
        let hint = did_you_mean(bad, expected.iter().map(String::as_str))
            .map(|s| format!("did you mean \"{s}\"? "))
            .unwrap_or_default();
        return (
            format!("unknown value \"{bad}\""),
            format!("{hint}expected one of: {}", expected.join(", ")),
        );
    }
    if let Some(rest) = raw.strip_prefix("missing field ") {
        let field = ticked(rest).into_iter().next().unwrap_or_default();
        key_path.push(error::Seg::Key(field.clone()));
        return (
            format!("missing key `{field}`"),
            format!("add `{field} = ...` here"),
        );
    }
    if let Some((what, expected)) = raw.split_once(", expected ")
        && raw.starts_with("invalid type")
    {
        return (
            what.replace("invalid type: ", "wrong type: found "),
            format!("write {}", type_words(expected)),
        );
    }
    if let Some((msg, fix)) = raw.split_once("; ") {
        return (msg.to_string(), fix.to_string());
    }
    let first_line = raw.lines().next().unwrap_or(raw).to_string();
    (first_line, "check the TOML syntax at this place".into())
}

/// Rust type names as an operator would say them.
fn type_words(expected: &str) -> String {
    match expected {
        "f64" | "f32" => "a number, without quotes or unit (5 means 5%)".into(),
        "u32" | "u64" | "usize" | "i64" => "a whole number".into(),
        "a boolean" => "true or false".into(),
        "a sequence" => "an array: [\"a\", \"b\"]".into(),
        other => other.to_string(),
    }
}

/// A dozen lines that make a whole config: seed defaults fill the rest.
#[cfg(test)]
pub(crate) const MINIMAL: &str = r#"
[rollout]
name = "checkout 2.0"
service = "checkout"
old_version = "1.9"
new_version = "2.0"

[hooks]
enter = { exec = ["set-weight", "{weight}"] }
undo = { exec = ["set-weight", "{previous_weight}"] }

[scrape]
canary = ["http://127.0.0.1:9100/metrics"]
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dozen_lines_get_seed_defaults() {
        let c = parse(Path::new("c.toml"), MINIMAL).unwrap();
        let weights: Vec<_> = c.stages.iter().map(|s| s.weight.unwrap()).collect();
        assert_eq!(weights, [5.0, 25.0, 50.0, 100.0]);
        assert!(
            c.stages
                .iter()
                .all(|s| s.wait == crate::duration::Span::mins(15))
        );
        let err = c.metrics.iter().find(|m| m.name == "error_rate").unwrap();
        assert_eq!((err.warning, err.critical), (Some(0.2), Some(0.5)));
        assert_eq!(c.stages[2].undo.0.len(), 1);
    }

    #[test]
    fn unknown_key_suggests_the_right_one() {
        let text = MINIMAL.replace(
            "service = \"checkout\"",
            "service = \"checkout\"\nservise = \"x\"",
        );
        let e = &parse(Path::new("c.toml"), &text).unwrap_err()[0];
        assert_eq!(e.key, "rollout.servise");
        assert_eq!(e.line, 5);
        assert!(e.fix.starts_with("did you mean `service`?"), "{}", e.fix);
    }
}
