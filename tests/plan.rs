//! `check` accepts exactly what `run` runs: both build the same plan with
//! `plan::build`, so what check prints is the plan run starts from, and
//! every config check refuses, run refuses with the same words.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use cockpit::plan::{self, Choices};
use config_support::{SECRETS, fixtures, toml_files};

mod config_support;

fn cockpit() -> Command {
    let mut c = Command::cargo_bin("cockpit").unwrap();
    c.envs(SECRETS.iter().copied()).env_remove("NO_COLOR");
    c
}

/// One test in this binary: it sets the secrets in its own environment
/// before any other thread could read it.
#[test]
fn check_prints_the_plan_run_starts_from_and_refuses_what_run_refuses() {
    for (name, value) in SECRETS {
        // SAFETY: the only test of this binary, before it starts a thread.
        unsafe { std::env::set_var(name, value) };
    }
    // SAFETY: as above.
    unsafe { std::env::remove_var("NO_COLOR") };

    let mut runnable: Vec<PathBuf> = fixtures("valid");
    runnable.extend(toml_files(Path::new("examples")));
    runnable.push("cockpit.example.toml".into());
    assert!(
        runnable.len() >= 15,
        "only {} runnable configs",
        runnable.len()
    );
    for f in &runnable {
        let plan = plan::build(f, &Choices::new(None))
            .unwrap_or_else(|e| panic!("{}: {}", f.display(), e[0]));
        assert_eq!(
            plan.rules.len(),
            plan.config.stages.len(),
            "{}",
            f.display()
        );
        let out = cockpit()
            .args(["check", "--config"])
            .arg(f)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", f.display());
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            plan.describe(),
            "{}: check prints another plan than the one run builds",
            f.display()
        );
    }

    let refused = fixtures("invalid");
    assert!(
        refused.len() >= 60,
        "only {} invalid fixtures",
        refused.len()
    );
    let data = tempfile::tempdir().unwrap();
    for f in &refused {
        let expected = std::fs::read_to_string(f.with_extension("err")).unwrap();
        let errors = plan::build(f, &Choices::new(None))
            .err()
            .unwrap_or_else(|| panic!("{}: the plan builds", f.display()));
        let shown: String = errors.iter().map(|e| format!("error: {e}\n")).collect();
        assert!(expected.starts_with(&shown), "{}:\n{shown}", f.display());
        for command in [&["check"][..], &["run", "--headless", "--auto-advance"]] {
            let out = cockpit()
                .args(command)
                .arg("--config")
                .arg(f)
                .env("XDG_DATA_HOME", data.path())
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(2), "{command:?} {}", f.display());
            assert_eq!(
                String::from_utf8_lossy(&out.stderr),
                expected,
                "{command:?} {}",
                f.display()
            );
        }
    }
}
