//! `cockpit init`: a starter config that passes `cockpit check` as written.

use std::io::IsTerminal;
use std::path::Path;

use crate::error::Error;
use crate::exit;
use crate::say::ask;

const STARTER: &str = r#"# cockpit.toml: a starter config. `cockpit check` explains every line it
# expands; cockpit.example.toml in the project lists every key.

[rollout]
name = "my-service PRESET_NAME rollout"
service = "my-service"
environment = "production"
old_version = "1.0.0"
new_version = "1.1.0"
PRESET_LINE
# What moves traffic, and what puts it back. {weight} is the stage's share in
# percent, {previous_weight} the one before it.
[hooks]
enter = { exec = ["echo", "set {service} weight to {weight}"] }
undo = { exec = ["echo", "set {service} weight back to {previous_weight}"] }

SOURCE
[policy]
on_critical = "countdown"   # rollback | countdown | alert
countdown = "30s"
"#;

const SCRAPE: &str = r#"# Where the numbers come from: /metrics pages of the new and old version.
[scrape]
canary = ["http://127.0.0.1:9100/metrics"]
baseline = ["http://127.0.0.1:9101/metrics"]
"#;

/// Where `init --prometheus` points the config, beyond the URL.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PromArgs {
    /// Read the metrics from this Prometheus (error rate, p95 and success
    /// rate from prometheus-client's http_requests_total and
    /// http_request_duration_seconds) instead of scraping /metrics.
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
    /// The Prometheus job both versions are scraped under.
    #[arg(long, value_name = "NAME", requires = "prometheus")]
    pub job: Option<String>,
    /// Label matchers selecting the canary, e.g. 'job="shop",version="2.0.0"'.
    #[arg(long, value_name = "SELECTOR", requires = "prometheus")]
    pub canary: Option<String>,
    /// Label matchers selecting the baseline (stable) version.
    #[arg(long, value_name = "SELECTOR", requires = "prometheus")]
    pub baseline: Option<String>,
}

/// `--prometheus`, else on a terminal the answer to a question (empty:
/// scrape `/metrics` pages directly).
fn prometheus_url(args: &PromArgs) -> Option<String> {
    if args.prometheus.is_some() || !std::io::stdin().is_terminal() {
        return args.prometheus.clone();
    }
    Some(ask(
        "Prometheus URL (empty: read /metrics pages directly): ",
    ))
    .filter(|a| !a.is_empty())
}

/// The `[prometheus]` table for `init --prometheus`; what the flags leave
/// out is asked on a terminal, else the defaults stand.
fn prometheus_source(url: &str, args: &PromArgs) -> String {
    let tty = std::io::stdin().is_terminal();
    let ask = |what: &str, default: String| -> String {
        if !tty {
            return default;
        }
        Some(ask(format!("{what} [{default}]: ")))
            .filter(|a| !a.is_empty())
            .unwrap_or(default)
    };
    let job = match (&args.job, &args.canary, &args.baseline) {
        (Some(j), ..) => Some(j.clone()),
        (None, Some(_), Some(_)) => None,
        (None, ..) => Some(ask(
            "Prometheus job of the service (empty: none)",
            String::new(),
        ))
        .filter(|j| !j.is_empty()),
    };
    let scope = match &job {
        Some(j) => format!("job=\"{j}\""),
        None => "service=\"{service}\"".to_string(),
    };
    let canary = args.canary.clone().unwrap_or_else(|| {
        ask(
            "canary selector",
            format!("{scope},version=\"{{new_version}}\""),
        )
    });
    let baseline = args.baseline.clone().unwrap_or_else(|| {
        ask(
            "baseline selector",
            format!("{scope},version=\"{{old_version}}\""),
        )
    });
    // Whatever was typed, written as a TOML string that reads back the same.
    let quoted = |v: &str| toml::Value::String(v.to_string()).to_string();
    format!(
        r#"# Where the numbers come from: a Prometheus, each version picked by its
# labels. `cockpit check --live` runs every query once and shows the answer.
[prometheus]
url = {}
every = "10s"
canary_selector = {}
baseline_selector = {}
rate_window = "1m"
"#,
        quoted(url),
        quoted(&canary),
        quoted(&baseline)
    )
}

pub fn run(preset: Option<&str>, path: Option<&Path>, prom: &PromArgs) -> Result<i32, Error> {
    let preset_line = match preset {
        None => {
            "strategy = \"canary\"      # 5% -> 25% -> 50% -> 100%, 15 minutes each\n".to_string()
        }
        Some(p @ ("zero" | "low" | "medium" | "high")) => {
            format!("preset = \"{p}\"          # seed 003's risk presets\n")
        }
        Some(other) => {
            return Err(Error::usage(format!(
                "unknown preset \"{other}\"\n  fix: use one of zero, low, medium, high"
            )));
        }
    };
    let text = STARTER
        .replace("PRESET_NAME", preset.unwrap_or("canary"))
        .replace("PRESET_LINE", &preset_line)
        .replace(
            "SOURCE",
            &match prometheus_url(prom) {
                Some(url) => prometheus_source(&url, prom),
                None => SCRAPE.to_string(),
            },
        );
    let target = path
        .map(Path::to_path_buf)
        .or_else(crate::config::user_config_path)
        .ok_or_else(|| {
            Error::failed("no user config dir on this system\n  fix: pass --path FILE")
        })?;
    if target.exists() {
        return Err(Error::usage(format!(
            "{} exists; init never overwrites\n  fix: edit it, or pass --path NEW_FILE",
            target.display()
        )));
    }
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::failed(format!("cannot create {}: {e}", dir.display())))?;
    }
    std::fs::write(&target, text)
        .map_err(|e| Error::failed(format!("cannot write {}: {e}", target.display())))?;
    println!(
        "wrote {}\nnext: cockpit check --live --config {}",
        target.display(),
        target.display()
    );
    Ok(exit::OK)
}
