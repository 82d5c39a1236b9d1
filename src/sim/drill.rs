//! The cockpit config a drill runs with, built in memory: the scrape table
//! points at the simulator's ports, stage hooks call its control endpoint,
//! and the scenario sets the policy. `cockpit drill` builds its plan with
//! `plan::from_text`, so a drill runs exactly the validation, defaults and
//! parts a real config gets.

use std::path::Path;

use super::Scenario;
use crate::config::model::OnCritical;

/// Where the simulator listens, as the config needs it.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub stable_metrics: String,
    pub canary_metrics: String,
    pub canary_ready: String,
    pub weight_url: String,
    pub service: String,
    pub old_version: String,
    pub new_version: String,
}

/// The drill's config as TOML text, readable as a starting point for a
/// team's own config. Long by its template, which reads best whole, as the
/// file it makes.
pub fn config_text(
    scenario: &Scenario,
    at: &Endpoints,
    headless: bool,
    journal_dir: Option<&Path>,
) -> String {
    let p = &scenario.policy;
    let on_critical = match p.on_critical {
        OnCritical::Rollback => "rollback",
        OnCritical::Countdown => "countdown",
        OnCritical::Alert => "alert",
    };
    // The scenario's `for`, on every metric; none: each kind's default.
    let breach_for = p
        .breach_for
        .map(|f| format!("for = \"{f}\"\n"))
        .unwrap_or_default();
    let mut t = format!(
        r#"[rollout]
name = "drill {name}"
service = "{service}"
old_version = "{old}"
new_version = "{new}"
strategy = "canary"

[hooks]
enter = {{ name = "simulator: move traffic to the canary", http = "{url}", method = "POST", timeout = "10s" }}
undo = {{ name = "simulator: move traffic back", http = "{url}", method = "POST", timeout = "10s" }}

[scrape]
canary = ["{canary}"]
baseline = ["{stable}"]
every = "5s"
timeout = "2s"

[[metric]]
name = "error_rate"
kind = "error_rate"
{breach_for}
[[metric]]
name = "latency_p95"
kind = "latency_p95"
{breach_for}
[[metric]]
name = "success_rate"
kind = "success_rate"
{breach_for}
[policy]
on_critical = "{on_critical}"
countdown = "{countdown}"
on_no_data = "hold"
auto_advance = {headless}
rollback_verify_within = "{verify}"
"#,
        name = scenario.name,
        service = at.service,
        old = at.old_version,
        new = at.new_version,
        url = at.weight_url,
        canary = at.canary_metrics,
        stable = at.stable_metrics,
        countdown = p.countdown,
        verify = p.rollback_verify_within,
    );
    if scenario.rollout.readiness_probe {
        t.push_str(&format!(
            "\n[[metric]]\nname = \"readiness\"\nkind = \"readiness\"\nprobe = \"{}\"\n{breach_for}",
            at.canary_ready
        ));
    }
    for (name, weight) in scenario.stage_names().iter().zip(&scenario.rollout.stages) {
        t.push_str(&format!(
            "\n[[stage]]\nname = \"{name}\"\nweight = {weight}\nwait = \"{}\"\n",
            scenario.rollout.wait
        ));
    }
    if let Some(dir) = journal_dir {
        let dir = toml::Value::String(dir.display().to_string());
        t.push_str(&format!("\n[journal]\ndir = {dir}\n"));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::config::model::MetricKind;
    use crate::sim::scenario::BUILT_IN;

    /// The config of the plan `cockpit drill` builds.
    fn config(
        scenario: &Scenario,
        at: &Endpoints,
        headless: bool,
        journal_dir: Option<&Path>,
    ) -> Result<Config, String> {
        let text = config_text(scenario, at, headless, journal_dir);
        let origin = format!("drill config for scenario {}", scenario.name);
        let choices = crate::plan::Choices::default();
        let plan = crate::plan::from_text(Path::new(&origin), &text, &choices);
        plan.map(|p| p.config).map_err(|errors| {
            errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        })
    }

    fn endpoints() -> Endpoints {
        Endpoints {
            stable_metrics: "http://127.0.0.1:1001/metrics".into(),
            canary_metrics: "http://127.0.0.1:1002/metrics".into(),
            canary_ready: "http://127.0.0.1:1002/ready".into(),
            weight_url: "http://127.0.0.1:1003/control/weight".into(),
            service: "checkout".into(),
            old_version: "1.9.3".into(),
            new_version: "2.0.0".into(),
        }
    }

    #[test]
    fn every_scenario_builds_a_valid_config_watching_the_simulator() {
        for (name, _) in BUILT_IN {
            let s = Scenario::load(name).unwrap();
            let c = config(&s, &endpoints(), true, Some(Path::new("/tmp/j \"x\"")))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let names: Vec<_> = c.stages.iter().map(|s| s.name.clone()).collect();
            assert_eq!(names, s.stage_names(), "{name}");
            assert!(c.policy.auto_advance);
            assert_eq!(c.policy.on_critical, s.policy.on_critical);
            for stage in &c.stages {
                let enter = stage.enter.0[0].http.as_deref();
                assert_eq!(enter, Some("http://127.0.0.1:1003/control/weight"));
                assert_eq!(stage.undo.0.len(), 1);
            }
            let scrape = c.scrape.as_ref().unwrap();
            assert_eq!(scrape.canary, ["http://127.0.0.1:1002/metrics"]);
            assert_eq!(scrape.baseline, ["http://127.0.0.1:1001/metrics"]);
            let err = c
                .metrics
                .iter()
                .find(|m| m.kind == MetricKind::ErrorRate)
                .unwrap();
            assert_eq!(err.scrape.as_ref().unwrap().family, "http_requests_total");
            let probe = c.metrics.iter().find(|m| m.kind == MetricKind::Readiness);
            assert_eq!(probe.is_some(), s.rollout.readiness_probe, "{name}");
            assert_eq!(c.journal.dir.as_deref(), Some(Path::new("/tmp/j \"x\"")));
        }
    }

    #[test]
    fn on_screen_the_operator_advances() {
        let s = Scenario::load("healthy").unwrap();
        assert!(
            !config(&s, &endpoints(), false, None)
                .unwrap()
                .policy
                .auto_advance
        );
    }
}
