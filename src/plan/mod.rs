//! The runnable plan: everything `run` starts from, built once from the
//! config file and reported whole. `check` prints it, `run` and `drill`
//! drive it; a config that passes `check` is one `run` starts.
//!
//! It sits above `config`, `metrics` and `tui` (it builds their parts), and
//! below `cli`, which only wires it.

mod describe;

use std::path::{Path, PathBuf};

use crate::at;
use crate::config::check::{is_env_name, written_hooks};
use crate::config::defaults::PLACEHOLDERS;
use crate::config::error::{Seg, did_you_mean};
use crate::config::model::MetricSpec;
use crate::config::{self, Config, ConfigError, Problem, problem};
use crate::metrics::Sources;
use crate::metrics::matcher::Matchers;
use crate::rollout::Rule;
use crate::rollout::verdict::stage_rules;
use crate::rollout::window::DeployWindows;
use crate::tui::Screen;
use crate::tui::keys::KeyMap;
use crate::tui::theme::{self, Theme};

/// What the command line chooses beyond the config.
#[derive(Debug, Clone, Default)]
pub struct Choices {
    /// `--theme NAME|FILE`, over `[ui] theme`.
    pub theme: Option<String>,
    /// Colour on the screen (NO_COLOR turns it off).
    pub colour: bool,
}

impl Choices {
    pub fn new(theme: Option<String>) -> Choices {
        Choices {
            theme,
            colour: theme::colour_wanted(),
        }
    }
}

/// A config with every part the run needs built from it.
pub struct Plan {
    pub path: PathBuf,
    /// Presets and defaults filled in.
    pub config: Config,
    pub windows: DeployWindows,
    /// Per stage, every metric's rule with the stage's overrides applied.
    pub rules: Vec<Vec<Rule>>,
    pub keys: KeyMap,
    pub theme: Theme,
    /// The metric source clients, built but not yet polled.
    pub sources: Sources,
}

impl Plan {
    /// What a session runs on: the config for the engine, the screen when
    /// `driver` (who, over SSH?) is given (none headless), the sources.
    pub fn into_parts(self, driver: Option<(&str, bool)>) -> (Config, Option<Screen>, Sources) {
        let screen =
            driver.map(|(who, ssh)| Screen::planned(self.keys, self.windows, self.theme, who, ssh));
        (self.config, screen, self.sources)
    }
}

/// Reads the config at `path` and builds the plan, or says every problem.
pub fn build(path: &Path, choices: &Choices) -> Result<Plan, Vec<ConfigError>> {
    let text = config::read(path)?;
    from_text(path, &text, choices)
}

/// The plan of a config held in memory (a drill's); `path` names it.
pub fn from_text(path: &Path, text: &str, choices: &Choices) -> Result<Plan, Vec<ConfigError>> {
    let (config, mut problems) = config::resolve_text(path, text)?;
    let mut unplaced = Vec::new();
    let keys = KeyMap::build(&config.ui.keys)
        .map_err(|bad| {
            problems.extend(
                bad.into_iter()
                    .map(|b| problem(at!["ui", "keys", &b.action], b.message, b.fix)),
            )
        })
        .ok();
    let theme = load_theme(path, &config, choices)
        .map_err(|e| match e {
            ThemeProblem::Config(p) => problems.push(p),
            ThemeProblem::Flag(e) => unplaced.push(e),
        })
        .ok();
    matchers(&config, &mut problems);
    bodies(&config, &mut problems);
    secrets(&config, &mut problems);
    // Already said by the config's own checks when it fails.
    let windows = DeployWindows::from_spec(&config.window).ok();
    let rules = (0..config.stages.len())
        .map(|stage| stage_rules(&config, stage))
        .collect();
    // The sources' own checks repeat what is said above; they speak only
    // once the rest is right (a CA file that cannot be read, a bad header).
    let sources =
        match (problems.is_empty() && unplaced.is_empty()).then(|| Sources::from_config(&config)) {
            Some(Ok(s)) => Some(s),
            Some(Err(e)) => {
                problems.push(source_problem(&config, &e));
                None
            }
            None => None,
        };
    let mut errors = unplaced;
    errors.extend(config::place(path, text, problems));
    errors.sort_by_key(|e| (e.line, e.column));
    match (keys, theme, windows, sources) {
        (Some(keys), Some(theme), Some(windows), Some(sources)) if errors.is_empty() => Ok(Plan {
            path: path.to_path_buf(),
            config,
            windows,
            rules,
            keys,
            theme,
            sources,
        }),
        _ => Err(errors),
    }
}

enum ThemeProblem {
    /// `[ui] theme`, placed in the file.
    Config(Problem),
    /// `--theme`, on the command line.
    Flag(ConfigError),
}

/// `--theme`, else `[ui] theme` (a file named there is looked up beside
/// the config), else dark.
fn load_theme(path: &Path, config: &Config, choices: &Choices) -> Result<Theme, ThemeProblem> {
    if let Some(choice) = &choices.theme {
        return Theme::load(choice, choices.colour).map_err(|e| {
            let mut error = ConfigError::unplaced(path, e, theme_fix(choice));
            error.key = "--theme".into();
            ThemeProblem::Flag(error)
        });
    }
    let Some(choice) = &config.ui.theme else {
        return Ok(Theme::load("dark", choices.colour).expect("the dark theme loads"));
    };
    let beside = path.parent().unwrap_or(Path::new(".")).join(choice);
    let file = if choice.ends_with(".toml") && beside.exists() {
        beside.display().to_string()
    } else {
        choice.clone()
    };
    Theme::load(&file, choices.colour)
        .map_err(|e| ThemeProblem::Config(problem(at!["ui", "theme"], e, theme_fix(choice))))
}

fn theme_fix(choice: &str) -> String {
    let names: Vec<&str> = theme::BUILT_IN.iter().map(|(n, _)| *n).collect();
    let hint = did_you_mean(choice, names.iter().copied())
        .map(|n| format!("did you mean \"{n}\"? "))
        .unwrap_or_default();
    if choice.ends_with(".toml") {
        format!(
            "{hint}fix the theme file, or name a built-in theme: {}",
            names.join(", ")
        )
    } else {
        format!(
            "{hint}name a built-in theme ({}) or a theme file (.toml, beside the config)",
            names.join(", ")
        )
    }
}

/// Every scrape and alert label matcher compiled where the config writes it.
fn matchers(config: &Config, out: &mut Vec<Problem>) {
    for (i, m) in config.metrics.iter().enumerate() {
        let mut maps = Vec::new();
        if let Some(sel) = &m.scrape {
            maps.extend([
                ("scrape", "labels", &sel.labels),
                ("scrape", "errors", &sel.errors),
            ]);
        }
        if let Some(sel) = &m.alerts {
            maps.extend([
                ("alerts", "canary", &sel.canary),
                ("alerts", "baseline", &sel.baseline),
            ]);
        }
        for (key, field, map) in maps {
            if let Err(bad) = Matchers::compile(map) {
                out.extend(
                    bad.into_iter()
                        .map(|b| problem(at!["metric", i, key, field, &b.label], b.message, b.fix)),
                );
            }
        }
    }
}

/// A hook `body` sent as JSON must be JSON whatever the values: each is
/// escaped into a string, so if it parses with every placeholder `x`, it
/// parses with any value.
fn bodies(config: &Config, out: &mut Vec<Problem>) {
    // Not a number: an unquoted placeholder must fail here as it would at run time.
    let sample = PLACEHOLDERS
        .map(|p| (p.to_string(), "x".to_string()))
        .into();
    for (mut path, hook) in written_hooks(config) {
        let Some(template) = hook.body.as_ref().filter(|_| hook.body_is_json()) else {
            continue;
        };
        let filled = crate::actions::placeholder::fill_json(template, &sample);
        if let Err(e) = serde_json::from_str::<serde_json::Value>(&filled) {
            path.push(Seg::Key("body".into()));
            out.push(problem(
                path,
                format!("`body` is sent as JSON but is not JSON: {e}"),
                "fix the template (write placeholders inside quotes: \"{reason}\"), or send it as text with headers = { \"Content-Type\" = \"text/plain\" }",
            ));
        }
    }
}

/// Secrets come from the environment; one that is not set stops the start
/// here, not a hook halfway through the rollout.
fn secrets(config: &Config, out: &mut Vec<Problem>) {
    endpoint_secrets(config, out);
    hook_secrets(config, out);
}

/// The value of `var`, or a problem at `path` saying what needs it.
fn need(path: Vec<Seg>, var: &str, what: &str, out: &mut Vec<Problem>) -> Option<String> {
    let value = std::env::var(var).ok().filter(|v| !v.is_empty());
    if value.is_none() && is_env_name(var) {
        out.push(problem(
            path,
            format!("environment variable {var} is not set"),
            format!(
                "export {var} before starting: {what} is read from it, never written in the config"
            ),
        ));
    }
    value
}

/// `env:NAME` as the name.
fn env_name(value: &str) -> Option<String> {
    value.strip_prefix("env:").map(str::to_string)
}

/// `[prometheus]` and `[alertmanager]`: tokens, Basic auth, headers.
fn endpoint_secrets(config: &Config, out: &mut Vec<Problem>) {
    for p in config.endpoints() {
        let table = p.table;
        if let Some(var) = p.token_env {
            need(at![table, "token_env"], var, "the bearer token", out);
        }
        if let Some(var) = p.basic_auth_env
            && let Some(pair) = need(at![table, "basic_auth_env"], var, "user:password", out)
            && !pair.contains(':')
        {
            out.push(problem(
                at![table, "basic_auth_env"],
                format!("{var} does not hold `user:password`"),
                format!("export {var}=user:password"),
            ));
        }
        for (name, value) in p.headers {
            if let Some(var) = env_name(value) {
                let what = format!("header `{name}`");
                need(at![table, "headers", name], &var, &what, out);
            }
        }
    }
}

/// Hooks: routing keys, headers, and URLs read from the environment.
fn hook_secrets(config: &Config, out: &mut Vec<Problem>) {
    for (mut path, hook) in written_hooks(config) {
        if let Some(var) = hook.routing_key.as_deref().and_then(env_name) {
            let mut at = path.clone();
            at.push(Seg::Key("routing_key".into()));
            need(at, &var, "PagerDuty's routing key", out);
        }
        for (name, value) in &hook.headers {
            if let Some(var) = env_name(value) {
                let mut at = path.clone();
                at.extend([Seg::Key("headers".into()), Seg::Key(name.clone())]);
                need(at, &var, &format!("header `{name}`"), out);
            }
        }
        path.push(Seg::Key("http".into()));
        let Some(var) = hook.http.as_deref().and_then(env_name) else {
            continue;
        };
        // The value is a secret: said to be wrong, never shown.
        let bad = need(path.clone(), &var, "the hook's URL", out).and_then(|url| {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Some("is not an http(s) URL".to_string());
            }
            config::check::unusable(&url).map(|why| format!("is not a URL ({why})"))
        });
        if let Some(why) = bad {
            out.push(problem(
                path,
                format!("the value of {var} {why}"),
                format!("export {var} as the full URL, e.g. https://chat.example.com/hook"),
            ));
        }
    }
}

/// What the metric source constructors refuse, placed by the table or the
/// metric it names: `[prometheus] ca_file: ...`, `metric "x" scrape: ...`.
fn source_problem(config: &Config, error: &str) -> Problem {
    let (head, rest) = error.split_once(": ").unwrap_or(("", error));
    let table = ["prometheus", "alertmanager"]
        .into_iter()
        .find(|t| head.starts_with(&format!("[{t}]")));
    let path = if let Some(t) = table {
        let mut path = at![t];
        if let Some(key) = head.strip_prefix(&format!("[{t}] ")) {
            path.extend(key.split('.').map(|k| Seg::Key(k.into())));
        }
        path
    } else if head.starts_with("[scrape]") {
        at!["scrape"]
    } else {
        let named = |m: &&MetricSpec| head.starts_with(&format!("metric \"{}\"", m.name));
        match config.metrics.iter().position(|m| named(&m)) {
            Some(i) => at!["metric", i],
            None => Vec::new(),
        }
    };
    let ca_file = path.last() == Some(&Seg::Key("ca_file".into()));
    let (message, fix) = if let Some((message, fix)) = rest.split_once("; ") {
        (message, fix.to_string())
    } else if let Some((message, example)) = rest.split_once(", e.g. ") {
        (message, format!("add it, e.g. {example}"))
    } else if ca_file {
        let fix = "point `ca_file` at the PEM file of the CA that signed the server's certificate \
                   (a relative path is read from where the cockpit runs)";
        (rest, fix.to_string())
    } else {
        let fix = "fix this value: the metric sources are built from it before anything starts";
        (rest, fix.to_string())
    };
    problem(path, message, fix)
}
