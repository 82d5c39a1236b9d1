//! `cockpit watch ssh://...` against a real OpenSSH server: the test starts
//! `/usr/sbin/sshd` on a loopback port with its own host key, config and
//! authorized key, a headless drill drives a rollout, and a follower reads
//! the drill's feed through `ssh` and `cockpit watch --feed` on the "host".
//! It sees every stage change within two of its one-second polls, and when
//! sshd's session process is killed it says so and reconnects. In tmux,
//! `cockpit watch ssh://...` draws the follower screen from the stream.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cockpit::feed::Follower;
use cockpit::feed::ssh::{Link, Remote, Ssh};

#[path = "support/tmux.rs"]
mod tmux;

use tmux::Tmux;

const SSHD: &str = "/usr/sbin/sshd";

fn have_sshd() -> bool {
    if Path::new(SSHD).exists() && which("ssh") && which("ssh-keygen") {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "sshd, ssh or ssh-keygen not installed (CI=true: .ci/run installs openssh-server)"
    );
    eprintln!("SKIP: openssh-server not installed");
    false
}

fn which(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn keygen(path: &Path) {
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .unwrap();
    assert!(ok.success());
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A real sshd on loopback, its client config, and a `cockpit` wrapper on
/// the "host" that finds the drill's journal dir (as a login shell would).
struct Host {
    dir: tempfile::TempDir,
    port: u16,
    sshd: Child,
}

impl Host {
    fn start(data: &Path) -> Host {
        let dir = tempfile::tempdir().unwrap();
        let p = |name: &str| dir.path().join(name);
        keygen(&p("host_key"));
        keygen(&p("id"));
        std::fs::copy(p("id.pub"), p("authorized_keys")).unwrap();
        let port = free_port();
        let user = if unsafe { libc::geteuid() } == 0 {
            "root".to_string()
        } else {
            std::env::var("USER").unwrap_or_else(|_| "nobody".into())
        };
        let d = dir.path().display();
        std::fs::write(
            p("sshd_config"),
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n\
                 AuthorizedKeysFile {d}/authorized_keys\nPermitRootLogin prohibit-password\n\
                 StrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 UsePAM no\nAllowUsers {user}\n"
            ),
        )
        .unwrap();
        let host_key = std::fs::read_to_string(p("host_key.pub")).unwrap();
        std::fs::write(p("known_hosts"), format!("[127.0.0.1]:{port} {host_key}")).unwrap();
        std::fs::write(
            p("ssh_config"),
            format!(
                "Host *\n  User {user}\n  IdentityFile {d}/id\n  IdentitiesOnly yes\n  \
                 UserKnownHostsFile {d}/known_hosts\n  StrictHostKeyChecking yes\n  LogLevel ERROR\n"
            ),
        )
        .unwrap();
        let wrapper = p("remote-cockpit");
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\nexport XDG_DATA_HOME='{}'\nexec '{}' \"$@\"\n",
                data.display(),
                env!("CARGO_BIN_EXE_cockpit")
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
        // sshd refuses to start without its privilege separation dir.
        let _ = std::fs::create_dir_all("/run/sshd");
        let sshd = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(p("sshd_config"))
            .stderr(std::fs::File::create(p("sshd.log")).unwrap())
            .spawn()
            .unwrap();
        let host = Host { dir, port, sshd };
        let up = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                up.elapsed() < Duration::from_secs(10),
                "sshd: {}",
                host.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        host
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    fn ssh(&self) -> Ssh {
        let config = self.dir.path().join("ssh_config");
        Ssh {
            program: vec!["ssh".into(), "-F".into(), config.display().to_string()],
            remote_cockpit: self.dir.path().join("remote-cockpit").display().to_string(),
        }
    }

    /// The session processes sshd forked for connections (its children).
    fn sessions(&self) -> Vec<u32> {
        let pid = self.sshd.id();
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.sshd.kill();
        let _ = self.sshd.wait();
    }
}

/// The drill's stage changes as it prints them, with when they came.
fn drill(data: &Path) -> (Child, mpsc::Receiver<(usize, Instant)>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cockpit"))
        .args([
            "drill",
            "--scenario",
            "healthy",
            "--speed",
            "20",
            "--headless",
        ])
        .env("XDG_DATA_HOME", data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            let event: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            if event["event"] == "stage_entering"
                && let Some(stage) = event["stage"].as_u64()
            {
                let _ = tx.send((stage as usize, Instant::now()));
            }
        }
    });
    (child, rx)
}

fn wait_for_feed(data: &Path) -> PathBuf {
    let dir = data.join("cockpit").join("journal");
    let start = Instant::now();
    loop {
        if let Some(feed) = cockpit::feed::newest(&dir, None) {
            return feed;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no drill feed in {dir:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `cockpit status ssh://...`, through the same sshd.
fn status_over_ssh(host: &Host) -> String {
    let ssh = host.ssh();
    let out = Command::new(env!("CARGO_BIN_EXE_cockpit"))
        .args(["status", &format!("ssh://127.0.0.1:{}", host.port)])
        .arg("--remote-cockpit")
        .arg(&ssh.remote_cockpit)
        .env("COCKPIT_SSH", ssh.program.join(" "))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_follower_over_real_ssh_sees_stage_changes_and_survives_a_killed_session() {
    if !have_sshd() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let host = Host::start(data.path());
    let (mut driver, stages) = drill(data.path());
    wait_for_feed(data.path());

    let remote = Remote::parse(&format!("ssh://127.0.0.1:{}", host.port))
        .unwrap()
        .unwrap();
    let ssh = host.ssh();
    let r = remote.clone();
    let link = Link::start(
        move |batch| ssh.command(&r, &["watch", "--feed"], batch),
        true,
    );
    let mut follower = Follower::connect(link, &remote.label())
        .unwrap_or_else(|e| panic!("{e}\nsshd: {}", host.log()));

    // A rollout the host does not drive: the remote cockpit's own words.
    let (ssh, r) = (host.ssh(), remote.clone());
    let none = Link::start(
        move |b| ssh.command(&r, &["watch", "--feed", "nosuch"], b),
        true,
    );
    match Follower::connect(none, &remote.label()) {
        Ok(_) => panic!("followed a rollout nobody drives"),
        Err(e) => assert!(e.contains("no cockpit is driving \"nosuch\""), "{e}"),
    }

    let poll = Duration::from_secs(1);
    let mut said = Vec::new();
    let mut seen_stage = follower.live.state.stage;
    let mut killed = false;
    let mut down = None;
    let mut seen = Vec::new();
    let start = Instant::now();
    // Three stage changes, the session killed after the first.
    while seen_stage < 3 && start.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(poll);
        follower.poll();
        said.extend(follower.new_lines().into_iter().map(|l| l.text));
        down = down.or(follower.link_down());
        if follower.live.state.stage > seen_stage {
            seen_stage = follower.live.state.stage;
            seen.push((seen_stage, Instant::now()));
            if !killed {
                let sessions = host.sessions();
                assert!(!sessions.is_empty(), "sshd has a session process");
                for pid in sessions {
                    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                }
                killed = true;
            }
        }
    }
    let status = status_over_ssh(&host);
    let _ = driver.kill();
    let _ = driver.wait();
    assert!(
        status.starts_with("drill healthy  canary  stage 100%") && status.contains("driver "),
        "cockpit status ssh://... prints the host's rollout: {status}"
    );
    let log = said.join("\n");
    assert!(
        seen_stage >= 3,
        "the follower saw stage {seen_stage}:\n{log}"
    );
    assert!(
        log.contains(&format!(
            "ssh: the connection to {} dropped",
            remote.label()
        )),
        "the drop is reported:\n{log}"
    );
    assert!(
        log.contains("ssh: following over"),
        "and the reconnect:\n{log}"
    );
    // What the banner draws (its words: tests/status_screens.rs).
    let down = down.expect("the screen was told the link was down");
    assert_eq!(
        (down.host.as_str(), down.attempt, down.gave_up),
        (remote.label().as_str(), 1, false),
        "{down:?}"
    );
    assert_eq!(follower.link_down(), None, "and told when it was back");
    let entered: Vec<(usize, Instant)> = stages.try_iter().collect();
    eprintln!("{log}");
    assert_eq!(seen.len(), 3, "each stage change seen once: {seen:?}");
    for (stage, at) in seen {
        let (_, driver_at) = entered
            .iter()
            .find(|(s, _)| *s == stage)
            .expect("the driver entered it");
        let after = at.saturating_duration_since(*driver_at);
        assert!(
            after <= 2 * poll,
            "stage {stage} reached the follower {after:?} after the driver entered it"
        );
    }
}

/// A drill driving on the host, and `cockpit ARGS ssh://host/...` (the
/// address follows ARGS) in a tmux of our own; `None` when sshd or tmux
/// is missing outside CI. The drill ends when the last of them is dropped.
struct OnHost {
    tmux: Tmux,
    driver: Child,
    _host: Host,
    _data: tempfile::TempDir,
}

impl Drop for OnHost {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn on_host_in_tmux(args: &str) -> Option<OnHost> {
    if !have_sshd() {
        return None;
    }
    if !tmux::installed() {
        return None;
    }
    let data = tempfile::tempdir().unwrap();
    let host = Host::start(data.path());
    let (driver, _stages) = drill(data.path());
    wait_for_feed(data.path());
    let ssh = host.ssh();
    let command = format!(
        "COCKPIT_SSH='{}' '{}' {args} ssh://127.0.0.1:{} --remote-cockpit '{}'",
        ssh.program.join(" "),
        env!("CARGO_BIN_EXE_cockpit"),
        host.port,
        ssh.remote_cockpit,
    );
    let tmux = Tmux::start_sized("ssh", (120, 40), &tmux::then_exit_status(&command));
    Some(OnHost {
        tmux,
        driver,
        _host: host,
        _data: data,
    })
}

#[test]
fn watch_ssh_draws_the_follower_screen_locally_and_q_leaves() {
    let Some(on) = on_host_in_tmux("watch") else {
        return;
    };
    let tmux = &on.tmux;
    let screen = tmux.wait_for("WATCHING · driver");
    assert!(screen.contains("drill healthy"), "{screen}");
    tmux.keys(&["q"]);
    assert_eq!(tmux.exited(), Some(0), "{}", tmux.history());
}

#[test]
fn status_watch_over_ssh_lists_the_hosts_rollouts_and_enter_follows_one() {
    let Some(on) = on_host_in_tmux("status --watch") else {
        return;
    };
    let tmux = &on.tmux;
    let list = tmux.wait_for("1 live rollout on 127.0.0.1:");
    assert!(list.contains("▶ drill healthy"), "{list}");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("WATCHING · driver");
    assert!(screen.contains("drill healthy"), "{screen}");
    tmux.keys(&["q"]);
    tmux.wait_for("1 live rollout on");
    tmux.keys(&["q"]);
    assert_eq!(tmux.exited(), Some(0), "{}", tmux.history());
}
