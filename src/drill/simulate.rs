//! `cockpit simulate`: the simulator alone, on loopback ports, until
//! SIGINT or SIGTERM, for a real Prometheus or a second cockpit to watch.

use std::io::Write;

use tokio::sync::mpsc;

use crate::clock::Clock;
use crate::error::Error;
use crate::exit;
use crate::sim::Scenario;
use crate::sim::model::{FaultChange, Version};
use crate::sim::server::{Ports, Simulator};

/// Serves `scenario` at `speed` on `ports`, printing its addresses and
/// each fault as it switches, until stopped.
pub async fn serve(scenario: Scenario, speed: f64, ports: Ports) -> Result<i32, Error> {
    let clock = Clock::new(speed);
    let (tx, mut faults) = mpsc::unbounded_channel::<FaultChange>();
    let name = scenario.name.clone();
    let sim = Simulator::start_on(scenario, clock, Some(tx), ports)
        .await
        .map_err(|e| {
            Error::failed(format!(
                "cannot serve the simulator on 127.0.0.1 ({ports:?}): {e}"
            ))
        })?;
    let (old, new) = sim.versions();
    println!("simulating scenario {name} at {speed}x");
    println!(
        "stable  {}  version {old}: /metrics /health /ready",
        sim.base(Version::Stable)
    );
    println!(
        "canary  {}  version {new}: /metrics /health /ready",
        sim.base(Version::Canary)
    );
    println!(
        "control {}  POST {{\"weight\": 25}} moves 25% of traffic to the canary",
        sim.weight_url()
    );
    let _ = std::io::stdout().flush();
    tokio::spawn(async move {
        while let Some(f) = faults.recv().await {
            let state = if f.active { "on" } else { "off" };
            let at = crate::format::offset(f.at_ms as i64);
            crate::say::tell(format!("{at} fault {state}: {}", f.what));
        }
    });
    wait_for_stop().await;
    drop(sim);
    Ok(exit::OK)
}

/// SIGINT or SIGTERM (or Ctrl-C where those cannot be watched).
async fn wait_for_stop() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
