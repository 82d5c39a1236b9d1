//! `cockpit init`: a starter config that passes `cockpit check` as written.

use std::path::Path;

use super::exit;

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

# Where the numbers come from: /metrics pages of the new and old version.
[scrape]
canary = ["http://127.0.0.1:9100/metrics"]
baseline = ["http://127.0.0.1:9101/metrics"]

[policy]
on_critical = "countdown"   # rollback | countdown | alert
countdown = "30s"
"#;

pub fn run(preset: Option<&str>, path: Option<&Path>) -> i32 {
    let preset_line = match preset {
        None => {
            "strategy = \"canary\"      # 5% -> 25% -> 50% -> 100%, 15 minutes each\n".to_string()
        }
        Some(p @ ("zero" | "low" | "medium" | "high")) => {
            format!("preset = \"{p}\"          # seed 003's risk presets\n")
        }
        Some(other) => {
            eprintln!(
                "error: unknown preset \"{other}\"\n  fix: use one of zero, low, medium, high"
            );
            return exit::CONFIG;
        }
    };
    let text = STARTER
        .replace("PRESET_NAME", preset.unwrap_or("canary"))
        .replace("PRESET_LINE", &preset_line);
    let target = match path
        .map(Path::to_path_buf)
        .or_else(crate::config::user_config_path)
    {
        Some(t) => t,
        None => {
            eprintln!("error: no user config dir on this system\n  fix: pass --path FILE");
            return exit::ERROR;
        }
    };
    if target.exists() {
        eprintln!(
            "error: {} exists; init never overwrites\n  fix: edit it, or pass --path NEW_FILE",
            target.display()
        );
        return exit::CONFIG;
    }
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty())
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        eprintln!("error: cannot create {}: {e}", dir.display());
        return exit::ERROR;
    }
    if let Err(e) = std::fs::write(&target, text) {
        eprintln!("error: cannot write {}: {e}", target.display());
        return exit::ERROR;
    }
    println!(
        "wrote {}\nnext: cockpit check --config {}",
        target.display(),
        target.display()
    );
    exit::OK
}
