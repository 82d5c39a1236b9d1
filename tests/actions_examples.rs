//! The example configs (hooks, and the Mimir and Thanos sources): each
//! passes `cockpit check`, and the NGINX one's hooks really move traffic
//! in a real NGINX on loopback.

mod actions_support;
mod config_support;

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use actions_support::Driver;
use cockpit::config;
use cockpit::httpd::{self, Response};
use cockpit::rollout::{self, Effect, Event, Group, Input, Phase, Reading, Sample};

fn examples() -> Vec<PathBuf> {
    config_support::toml_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"))
}

#[test]
fn every_example_passes_check() {
    let files = examples();
    let names: Vec<_> = files
        .iter()
        .map(|f| f.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for wanted in [
        "argo-rollouts",
        "blue-green-lb",
        "feature-flag",
        "kubernetes-rolling",
        "lambda-alias",
        "mimir",
        "nginx-weighted",
        "thanos",
    ] {
        assert!(names.iter().any(|n| n == wanted), "no example {wanted}");
    }
    for f in &files {
        // `check` needs the secrets exported, as `run` does.
        let out = Command::new(env!("CARGO_BIN_EXE_cockpit"))
            .args(["check", "--config"])
            .arg(f)
            .envs(config_support::SECRETS.iter().copied())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            f.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The NGINX binary, or a loud skip (a failure in CI).
fn nginx() -> Option<PathBuf> {
    let found = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "nginx not installed (CI installs nginx-light)"
        );
        eprintln!("SKIP: nginx not installed");
    }
    found
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// NGINX in the foreground with its own prefix; stopped on drop.
struct Nginx {
    child: Child,
    /// How the example's hooks must call it: `$NGINX -t`, `$NGINX -s reload`.
    command: String,
    port: u16,
}

impl Nginx {
    fn start(bin: &Path, prefix: &Path, upstream: &Path) -> Nginx {
        let port = free_port();
        let conf = prefix.join("nginx.conf");
        let p = prefix.display();
        fs::write(
            &conf,
            format!(
                "worker_processes 1;
pid {p}/nginx.pid;
error_log {p}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {p}/body;
    proxy_temp_path {p}/proxy;
    include {};
    server {{
        listen 127.0.0.1:{port};
        location / {{ proxy_pass http://checkout; }}
    }}
}}
",
                upstream.display()
            ),
        )
        .unwrap();
        let command = format!("{} -p {p} -c {}", bin.display(), conf.display());
        let child = Command::new(bin)
            .args(["-p", &p.to_string(), "-c", &conf.display().to_string()])
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut nginx = Nginx {
            child,
            command,
            port,
        };
        let until = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = nginx.child.try_wait() {
                let log = fs::read_to_string(prefix.join("error.log")).unwrap_or_default();
                panic!("nginx exited ({status}): {log}");
            }
            assert!(Instant::now() < until, "nginx did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        nginx
    }

    /// Live worker processes (children of the master that are not zombies).
    fn workers(&self) -> Vec<u32> {
        let master = self.child.id();
        let mut found = Vec::new();
        for entry in fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // After the ")" closing the command name: state, then ppid.
            let mut fields = stat.rsplit(')').next().unwrap_or("").split_whitespace();
            let (state, ppid) = (fields.next(), fields.next());
            if state != Some("Z") && ppid == Some(master.to_string().as_str()) {
                found.push(pid);
            }
        }
        found
    }

    /// Waits until every worker from before a reload has gone and new ones
    /// serve: from then on every request sees the new upstream weights.
    fn reloaded(&self, before: &[u32]) {
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            let now = self.workers();
            if !now.is_empty() && now.iter().all(|p| !before.contains(p)) {
                return;
            }
            assert!(
                Instant::now() < until,
                "nginx did not reload: workers {now:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: the master stops its workers too (SIGKILL would orphan them).
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

/// How many of 100 requests through NGINX reach the canary.
async fn canary_share(port: u16) -> usize {
    // A new connection per request: nothing is pinned to one backend.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/");
    let mut canary = 0;
    for _ in 0..100 {
        let body = client.get(&url).send().await.unwrap().text().await.unwrap();
        canary += usize::from(body == "canary");
    }
    canary
}

/// Two backends behind a real NGINX, and the NGINX example's config with
/// its hooks pointed at them.
struct Rig {
    server: Nginx,
    stable: (std::net::SocketAddr, tokio::task::JoinHandle<()>),
    canary: (std::net::SocketAddr, tokio::task::JoinHandle<()>),
    cfg: config::Config,
    _prefix: tempfile::TempDir,
}

impl Rig {
    async fn start(bin: &Path) -> Rig {
        let stable = httpd::serve(0, |_| async { Response::text(200, "stable") })
            .await
            .unwrap();
        let canary = httpd::serve(0, |_| async { Response::text(200, "canary") })
            .await
            .unwrap();
        let prefix = tempfile::tempdir().unwrap();
        let upstream = prefix.path().join("upstream.conf");
        fs::write(
            &upstream,
            format!(
                "upstream checkout {{ server {} weight=100; server {} down; }}\n",
                stable.0, canary.0
            ),
        )
        .unwrap();
        let server = Nginx::start(bin, prefix.path(), &upstream);
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/nginx-weighted.toml");
        let mut cfg = config::load(&path).unwrap_or_else(|e| panic!("{}", e[0]));
        // The example's hooks as written, pointed at this NGINX and these backends.
        let env = [
            ("UPSTREAM_FILE", upstream.display().to_string()),
            ("STABLE", stable.0.to_string()),
            ("CANARY", canary.0.to_string()),
            ("NGINX", server.command.clone()),
        ];
        for stage in &mut cfg.stages {
            for hook in stage.enter.0.iter_mut().chain(stage.undo.0.iter_mut()) {
                for (k, v) in &env {
                    hook.env.insert(k.to_string(), v.clone());
                }
            }
            // It curls the production canary; the measured share is the check here.
            stage.smoke = None;
        }
        Rig {
            server,
            stable,
            canary,
            cfg,
            _prefix: prefix,
        }
    }

    fn stop(self) {
        drop(self.server);
        self.stable.1.abort();
        self.canary.1.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nginx_example_moves_real_traffic_and_rolls_it_back() {
    let Some(bin) = nginx() else { return };
    let rig = Rig::start(&bin).await;
    let server = &rig.server;
    assert_eq!(canary_share(server.port).await, 0);
    let cfg = rig.cfg.clone();
    let weights: Vec<usize> = cfg
        .stages
        .iter()
        .map(|s| s.weight.unwrap() as usize)
        .collect();
    // The engine decides; the driver runs what it asks for.
    let before = server.workers();
    let mut d = Driver::started(cfg).await;
    server.reloaded(&before);
    let mut seen = vec![canary_share(server.port).await];
    for _ in 1..weights.len() {
        let before = server.workers();
        d.cmd(rollout::Command::ForceAdvance {
            reason: "test".into(),
        })
        .await;
        server.reloaded(&before);
        seen.push(canary_share(server.port).await);
    }
    // Roll back one undo at a time, measuring after each.
    d.hold = true;
    d.cmd(rollout::Command::Rollback {
        reason: "test".into(),
    })
    .await;
    while !d.held.is_empty() {
        let before = server.workers();
        d.run_one_held().await;
        server.reloaded(&before);
        seen.push(canary_share(server.port).await);
    }
    assert!(matches!(d.r.state.phase, Phase::Verifying { .. }));
    let mut expected = weights.clone();
    expected.extend(weights.iter().rev().skip(1));
    expected.push(0);
    eprintln!("canary share per step: {seen:?}, weights {expected:?}");
    assert_eq!(seen.len(), expected.len());
    for (got, want) in seen.iter().zip(&expected) {
        assert!(
            got.abs_diff(*want) <= 3,
            "canary got {got}% of requests, weight {want}%: {seen:?} vs {expected:?}"
        );
    }
    rig.stop();
}

/// What 100 requests through NGINX did, as one poll of the error rate
/// with its request counts: the cockpit reads the traffic back.
async fn poll_through(d: &mut Driver, port: u16) -> usize {
    let canary = canary_share(port).await;
    let reading = |n: usize| {
        if n == 0 {
            Reading::quiet("no requests between the last two scrapes")
        } else {
            Reading::value(0.0, Some(n as f64))
        }
    };
    d.now += 10_000;
    d.send(Input::Poll(vec![
        Sample {
            metric: 0,
            group: Group::Canary,
            reading: reading(canary),
        },
        Sample {
            metric: 0,
            group: Group::Baseline,
            reading: reading(100 - canary),
        },
    ]))
    .await;
    canary
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_that_says_ok_but_sets_the_wrong_weight_is_caught() {
    let Some(bin) = nginx() else { return };
    let mut rig = Rig::start(&bin).await;
    assert_eq!(rig.cfg.metrics[0].name, "error_rate");
    // Stage 25%'s hook is broken: it writes 5 whatever the stage asks, and
    // NGINX accepts it, so the hook exits 0.
    let argv = rig.cfg.stages[1].enter.0[0].exec.as_mut().unwrap();
    let arg = argv.iter_mut().find(|a| *a == "{weight}").unwrap();
    *arg = "5".into();
    let before = rig.server.workers();
    let mut d = Driver::started(rig.cfg.clone()).await;
    rig.server.reloaded(&before);
    for _ in 0..3 {
        poll_through(&mut d, rig.server.port).await;
    }
    let before = rig.server.workers();
    d.cmd(rollout::Command::ForceAdvance {
        reason: "test".into(),
    })
    .await;
    rig.server.reloaded(&before);
    assert_eq!(d.r.state.phase, Phase::Observing);
    assert_eq!(d.r.state.stage, 1);
    let ok = d.effects.iter().any(|e| {
        matches!(
            e,
            Effect::Journal {
                event: Event::HookFinished { ok: true, .. },
                ..
            }
        )
    });
    assert!(ok, "the hook said OK");
    // 10 s between polls: the 1m grace runs out on the seventh.
    let mut seen = vec![];
    for _ in 0..8 {
        seen.push(poll_through(&mut d, rig.server.port).await);
    }
    let off: Vec<_> = d
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::Journal {
                event: Event::TrafficOff { set, seen, .. },
                ..
            } => Some((*set, *seen)),
            _ => None,
        })
        .collect();
    eprintln!("canary share per poll at 25%: {seen:?}; warned {off:?}");
    assert_eq!(off.len(), 1, "{off:?}");
    let (set, share) = off[0];
    assert_eq!(set, 25.0);
    assert!(share <= 10.0, "seen {share}%");
    assert!(d.r.traffic_stuck());
    rig.stop();
}

/// The whole chain through the binary: the engine asks, the runtime spawns
/// the hook, its output reaches the JSON lines and its file is written.
#[test]
fn cockpit_run_carries_out_a_stage_hook_and_streams_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("cockpit.toml");
    fs::write(
        &cfg,
        format!(
            r#"
[rollout]
name = "checkout 2.0"
service = "checkout"
old_version = "1.9"
new_version = "2.0"

[[stage]]
name = "all"
weight = 100
wait = "1m"
irreversible = true
enter = {{ exec = ["sh", "-c", "echo \"$1\" > weight.txt; echo set weight $1", "sh", "{{weight}}"], cwd = '{dir}' }}

[scrape]
canary = ["http://127.0.0.1:9/metrics"]

[checklist]
items = []

[window]
enabled = false

[journal]
dir = '{dir}/journal'
"#,
            dir = dir.path().display()
        ),
    )
    .unwrap();
    // The source is down, so the stage holds on "no data"; stop it after a moment.
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_cockpit"))
        .args(["run", "--headless", "--auto-advance", "--config"])
        .arg(&cfg)
        .timeout(Duration::from_secs(5))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        fs::read_to_string(dir.path().join("weight.txt")).unwrap(),
        "100\n"
    );
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "output"
                && e["text"].as_str().unwrap().ends_with("] set weight 100")),
        "{stdout}"
    );
    assert!(stdout.contains("\"event\":\"stage_observing\""), "{stdout}");
    // What ran, as it ran: the label has the weight, the output carries its
    // time and comes before the outcome, and the outcome is said once.
    let at = |kind: &str| {
        events
            .iter()
            .position(|e| e["event"] == kind)
            .unwrap_or_else(|| panic!("no {kind}: {stdout}"))
    };
    let started = &events[at("hook_started")];
    assert!(
        started["label"].as_str().unwrap().ends_with(" sh 100"),
        "{started}"
    );
    let output = &events[at("output")];
    assert!(output["at"].as_u64().is_some(), "{output}");
    assert!(at("output") < at("hook_finished"), "{stdout}");
    assert_eq!(
        events
            .iter()
            .filter(|e| e["event"] == "hook_finished" || e["event"] == "output")
            .count(),
        2,
        "one output line, one outcome: {stdout}"
    );
}
