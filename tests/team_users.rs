//! Two on-call engineers who are two Unix users of one group, on one host:
//! the driver and the follower run the real binary as themselves, each in
//! a window of a real tmux (made with `useradd` for this test, removed when
//! it ends, pass or fail).
//!
//! With `[journal] group_may = "drive"` the follower's note reaches the
//! journal under the follower's name, the driver offers the wheel, the
//! follower takes it, and a breach is then rolled back by the follower's
//! cockpit while the first driver, a follower now, shows it. Every dir is
//! 02770 and every file 0660, owned by the group. Without it (the default)
//! the group only follows: 0750 and 0640, the lock 0600, and the
//! follower's note and `T` are refused in words saying what to change, and
//! so is its `run` (fresh or `--resume`).
//!
//! Needs root (to make users) and tmux: skipped with a printed reason
//! otherwise, a failure under `CI=true`.

mod journal_support;
#[path = "support/scrape_page.rs"]
mod scrape_page;
#[path = "support/tmux.rs"]
mod tmux;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tmux::{Tmux, poll};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Root, tmux and the account tools, or why this test cannot run (a
/// failure under `CI=true`).
fn can_run() -> bool {
    let why = if unsafe { libc::geteuid() } != 0 {
        Some("not root (needed to create users)".to_string())
    } else {
        [
            "groupadd", "useradd", "userdel", "groupdel", "runuser", "tmux",
        ]
        .into_iter()
        .find(|tool| Command::new(tool).arg("--help").output().is_err())
        .map(|tool| format!("{tool} not installed"))
    };
    let Some(why) = why else {
        return true;
    };
    assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "{why}");
    eprintln!("SKIP: {why}");
    false
}

/// A group and two members, made for one test and removed when it ends.
struct Team {
    group: String,
    gid: u32,
    users: Vec<String>,
}

impl Team {
    fn make(test: u32) -> Team {
        let tag = std::process::id() % 100_000 * 10 + test;
        let sh = |program: &str, args: &[&str]| {
            let out = Command::new(program).args(args).output().unwrap();
            assert!(out.status.success(), "{program} {args:?}: {}", stderr(&out));
        };
        let group = format!("ckt{tag}");
        sh("groupadd", &[&group]);
        let mut team = Team {
            group: group.clone(),
            gid: 0,
            users: vec![],
        };
        for name in ["cka", "ckb"] {
            let user = format!("{name}{tag}");
            // Pushed first: a failed useradd still gets its userdel.
            team.users.push(user.clone());
            sh(
                "useradd",
                &["-M", "-N", "-s", "/bin/false", "-G", &group, &user],
            );
        }
        let out = Command::new("getent")
            .args(["group", &group])
            .output()
            .unwrap();
        let line = String::from_utf8_lossy(&out.stdout).into_owned();
        team.gid = line.split(':').nth(2).unwrap().trim().parse().unwrap();
        team
    }

    fn uid(&self, user: &str) -> u32 {
        let out = Command::new("id").args(["-u", user]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }

    /// `program ARGS` as `user`, as a login would set them up (`runuser`
    /// sets `USER`, the name a cockpit goes by).
    fn run_as(&self, user: &str, cwd: &Path, program: &Path, args: &[&str]) -> Output {
        self.command_as(user, cwd, program, args).output().unwrap()
    }

    fn command_as(&self, user: &str, cwd: &Path, program: &Path, args: &[&str]) -> Command {
        let mut command = Command::new("runuser");
        command
            .args(["-u", user, "--"])
            .arg(program)
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null());
        command
    }
}

/// A headless cockpit started as a user through `runuser` (which waits for
/// it as a child of its own): killed by the pid its lock names, if still
/// running when the test ends.
struct Headless {
    runuser: Child,
    pid: Option<i32>,
}

impl Drop for Headless {
    fn drop(&mut self) {
        if let Some(pid) = self.pid {
            // SAFETY: a signal to the process this test started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        let _ = self.runuser.kill();
        let _ = self.runuser.wait();
    }
}

impl Drop for Team {
    fn drop(&mut self) {
        for user in &self.users {
            // -f: a cockpit or hook of theirs may still be on its way out.
            let _ = Command::new("userdel").args(["-f", user]).output();
        }
        let _ = Command::new("groupdel").arg(&self.group).output();
    }
}

/// A canary healthy until `failing` is set, then one request in two fails.
fn failing_when(failing: Arc<AtomicBool>) -> (String, tokio::runtime::Runtime) {
    scrape_page::serve(move || {
        (
            100,
            if failing.load(Ordering::SeqCst) {
                50
            } else {
                0
            },
        )
    })
}

/// The place both engineers work in: root's, readable by all; the hooks'
/// log writable by both; the journal dir's parent the driver's, so the
/// driver's cockpit makes the journal dir.
struct Place {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    journal_dir: PathBuf,
    bin: PathBuf,
}

impl Place {
    fn new(team: &Team, driver: &str) -> Place {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let log = dir.join("weights.log");
        std::fs::write(&log, "").unwrap();
        std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o666)).unwrap();
        let shared = dir.join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::os::unix::fs::chown(&shared, Some(team.uid(driver)), None).unwrap();
        let bin = runnable_bin(team, driver, &dir);
        Place {
            _tmp: tmp,
            journal_dir: shared.join("journal"),
            dir,
            bin,
        }
    }

    /// `cockpit.toml`: a first stage long enough to hand over in, hooks
    /// that log the weight and the Unix user they ran as, the journal
    /// shared with the team's group.
    fn config(&self, name: &str, url: &str, journal: &str) {
        let text = format!(
            r#"
[rollout]
name = "checkout 2.0"
service = "checkout"
old_version = "1.9"
new_version = "2.0"

[hooks]
enter = {{ exec = ["sh", "-c", "echo $0 $(id -un) >> weights.log", "{{weight}}"] }}
undo = {{ exec = ["sh", "-c", "echo undo $0 $(id -un) >> weights.log", "{{previous_weight}}"] }}

[[stage]]
name = "canary"
weight = 10
wait = "30m"

[[stage]]
name = "all"
weight = 100
wait = "2s"

[scrape]
canary = ["{url}"]
every = "200ms"

[[metric]]
name = "error_rate"
kind = "error_rate"
for = "1s"

[policy]
on_critical = "rollback"
rollback_verify_within = "2s"

[checklist]
items = []

[window]
enabled = false

[journal]
dir = "{dir}"
{journal}
"#,
            dir = self.journal_dir.display()
        );
        std::fs::write(self.dir.join(name), text).unwrap();
    }

    /// `cockpit run --headless ARGS` as `user`, its stderr kept.
    fn headless(&self, team: &Team, user: &str, args: &[&str]) -> Headless {
        let mut all = vec!["run", "--headless", "--auto-advance", "--checklist-done"];
        all.extend(args);
        let mut command = team.command_as(user, &self.dir, &self.bin, &all);
        let runuser = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Headless { runuser, pid: None }
    }

    fn lock(&self) -> PathBuf {
        self.journal_dir.join("checkout-2-0.lock")
    }

    /// The pid of the cockpit holding the lock as `operator`, once it does.
    fn driving(&self, operator: &str) -> i32 {
        poll(|| {
            let text = std::fs::read_to_string(self.lock()).ok()?;
            let holder: serde_json::Value = serde_json::from_str(&text).ok()?;
            (holder["operator"] == operator).then(|| holder["pid"].as_i64().unwrap() as i32)
        })
        .unwrap_or_else(|| panic!("{operator} never took the lock"))
    }

    /// What a tmux window runs for `cockpit ARGS` as `user`, here.
    fn window_as(&self, user: &str, args: &[&str]) -> String {
        let bin = self.bin.display();
        let cockpit = format!("'{bin}' {}", tmux::quoted(args));
        tmux::then_exit_status(&tmux::as_user(user, &self.dir, &cockpit))
    }

    fn weights(&self) -> String {
        std::fs::read_to_string(self.dir.join("weights.log")).unwrap_or_default()
    }

    fn journal(&self) -> PathBuf {
        let files = journal_support::journal_files(&self.journal_dir);
        files.into_iter().next().expect("a journal")
    }

    fn journal_lines(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.journal())
            .unwrap()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Every dir and file in the journal dir (the presence area too), by
    /// path, with its mode and group; a temporary file of a write in
    /// progress left out.
    fn modes(&self) -> Vec<(PathBuf, u32, u32, bool)> {
        let mut found = vec![];
        let mut dirs = vec![self.journal_dir.clone()];
        while let Some(dir) = dirs.pop() {
            let m = std::fs::symlink_metadata(&dir).unwrap();
            found.push((dir.clone(), m.mode() & 0o7777, m.gid(), true));
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                let Ok(m) = std::fs::symlink_metadata(&path) else {
                    continue;
                };
                if m.is_dir() {
                    dirs.push(path);
                } else if !path.to_string_lossy().ends_with(".tmp") {
                    found.push((path, m.mode() & 0o7777, m.gid(), false));
                }
            }
        }
        found
    }
}

/// The binary, where both users may run it: the test's own when every
/// parent dir lets them through, else a copy in the test's dir.
fn runnable_bin(team: &Team, user: &str, dir: &Path) -> PathBuf {
    let bin = journal_support::bin();
    let test = team.run_as(
        user,
        dir,
        Path::new("/bin/test"),
        &["-x", &bin.to_string_lossy()],
    );
    if test.status.success() {
        return bin;
    }
    let copy = dir.join("cockpit");
    std::fs::copy(&bin, &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    copy
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

/// The driver starts stage 1; the follower follows. Their windows, each
/// running the cockpit as that engineer's Unix user in one root tmux;
/// wide, for a refusal says what to change in one long line.
fn a_drives_b_follows(place: &Place, a: &str, b: &str) -> (Tmux, Tmux) {
    let driving = place.window_as(a, &["run", "--config", "cockpit.toml"]);
    let ta = Tmux::start_sized("team", (220, 40), &driving);
    ta.wait_for("s starts the rollout");
    ta.keys(&["s"]);
    poll(|| place.weights().contains("10").then_some(()))
        .unwrap_or_else(|| panic!("stage 1's enter hook never ran:\n{}", ta.screen()));
    let tb = ta.open(
        b,
        &place.window_as(b, &["watch", "--config", "cockpit.toml"]),
    );
    tb.wait_for(&format!("driver {a}@{}", host()));
    // Settled: what a key answers is shown while the situation it was
    // pressed in lasts.
    tb.wait_for("» Holding: observed");
    (ta, tb)
}

/// `cockpit check` and `cockpit status` as `user`, their stdout.
fn cockpit_as(team: &Team, place: &Place, user: &str, args: &[&str]) -> String {
    let out = team.run_as(user, &place.dir, &place.bin, args);
    assert!(out.status.success(), "{args:?} as {user}: {}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Team `test`, its group allowed to drive, working in the first member's
/// place against a canary that fails once told to.
fn a_team_that_drives(test: u32) -> (Team, Place, Arc<AtomicBool>, tokio::runtime::Runtime) {
    let team = Team::make(test);
    let place = Place::new(&team, &team.users[0]);
    let failing = Arc::new(AtomicBool::new(false));
    let (url, server) = failing_when(failing.clone());
    let sharing = format!("group = \"{}\"\ngroup_may = \"drive\"", team.group);
    place.config("cockpit.toml", &url, &sharing);
    (team, place, failing, server)
}

#[test]
fn a_team_member_notes_takes_the_wheel_and_rolls_back_as_themselves() {
    if !can_run() {
        return;
    }
    let (team, place, failing, _server) = a_team_that_drives(1);
    let [a, b] = [team.users[0].clone(), team.users[1].clone()];
    let (alice, bob) = (format!("{a}@{}", host()), format!("{b}@{}", host()));
    let checked = cockpit_as(&team, &place, &b, &["check", "--config", "cockpit.toml"]);
    let said = format!(
        "journals: shared with group {}: members may follow, note and take the wheel",
        team.group
    );
    assert!(checked.contains(&said), "{checked}");

    let (ta, tb) = a_drives_b_follows(&place, &a, &b);
    ta.wait_for(&format!("{bob} watching"));
    tb.keys(&["n"]);
    tb.wait_for("Note for the incident log");
    tb.type_text("canary p95 looks odd");
    tb.keys(&["Enter"]);
    ta.wait_for(&format!("note by {bob}: canary p95 looks odd"));
    let note = place
        .journal_lines()
        .into_iter()
        .find(|l| l["event"]["event"] == "note")
        .expect("the note journalled");
    assert!(note.to_string().contains(&bob), "{note}");

    ta.keys(&["H"]);
    ta.wait_for("· wheel offered");
    tb.wait_for("offers you the wheel: T takes it");
    tb.keys(&["T"]);
    tb.wait_for(&format!("driver {bob}"));
    ta.wait_for(&format!("driver {bob}"));
    ta.keys(&["r"]);
    ta.wait_for("read-only");

    failing.store(true, Ordering::SeqCst);
    poll(|| place.weights().contains("undo").then_some(()))
        .unwrap_or_else(|| panic!("no rollback; {b}'s screen:\n{}", tb.screen()));
    tb.wait_for("rolled back");
    ta.wait_for("rolled back");

    let lines = place.journal_lines();
    let change = lines
        .iter()
        .find(|l| l["type"] == "driver")
        .unwrap_or_else(|| panic!("no change of driver journalled: {lines:#?}"));
    assert_eq!(
        (&change["from"], &change["to"]),
        (&alice.as_str().into(), &bob.as_str().into())
    );
    let resumed = lines
        .iter()
        .find(|l| l["type"] == "resumed")
        .expect("resumed");
    assert_eq!(resumed["by"], bob.as_str());
    let weights = place.weights();
    // Stage 1's hook ran once, as the first driver; the rollback's as the
    // second.
    let entered = format!("10 {a}");
    assert_eq!(
        weights.lines().filter(|l| *l == entered).count(),
        1,
        "{weights}"
    );
    assert_eq!(weights.lines().count(), 2, "{weights}");
    assert!(weights.contains(&format!("undo 0 {b}")), "{weights}");

    // The journal is still the first driver's file, carried on by the
    // second; the lock and the feed are now the second driver's.
    let owner = |p: &Path| std::fs::metadata(p).unwrap().uid();
    assert_eq!(owner(&place.journal()), team.uid(&a));
    let lock = place.journal_dir.join("checkout-2-0.lock");
    assert_eq!(owner(&lock), team.uid(&b));
    assert!(std::fs::read_to_string(&lock).unwrap().contains(&bob));
    assert_eq!(
        owner(&place.journal().with_extension("live.json")),
        team.uid(&b)
    );
    let modes = place.modes();
    assert!(modes.len() >= 8, "{modes:#?}");
    for (path, mode, gid, is_dir) in modes {
        let want = if is_dir { 0o2770 } else { 0o660 };
        assert_eq!((mode, gid), (want, team.gid), "{}", path.display());
    }

    for user in [&a, &b] {
        let status = cockpit_as(&team, &place, user, &["status", "--config", "cockpit.toml"]);
        assert!(status.contains(&format!("driver {bob}")), "{status}");
        let after = ["rolled back", "verifying"];
        assert!(after.iter().any(|p| status.contains(p)), "{status}");
    }
}

#[test]
fn a_group_that_only_follows_is_told_why_its_note_and_take_are_refused() {
    if !can_run() {
        return;
    }
    let team = Team::make(2);
    let [a, b] = [team.users[0].clone(), team.users[1].clone()];
    let place = Place::new(&team, &a);
    let (url, _server) = scrape_page::healthy();
    place.config("cockpit.toml", &url, &format!("group = \"{}\"", team.group));
    let checked = cockpit_as(&team, &place, &b, &["check", "--config", "cockpit.toml"]);
    let said = format!(
        "journals: shared with group {}: members may follow (read the journals and the live feed)",
        team.group
    );
    assert!(checked.contains(&said), "{checked}");

    let (ta, tb) = a_drives_b_follows(&place, &a, &b);
    let refused = format!(
        "the journal dir lets group {} follow, not write",
        team.group
    );
    tb.keys(&["n"]);
    tb.wait_for("Note for the incident log");
    tb.type_text("canary p95 looks odd");
    tb.keys(&["Enter"]);
    let screen = tb.wait_for(&format!("note not left: {refused}"));
    assert!(screen.contains("group_may = \"drive\""), "{screen}");
    ta.keys(&["H"]);
    tb.wait_for("offers you the wheel: T takes it");
    tb.keys(&["T"]);
    tb.wait_for(&format!("cannot ask for the wheel: {refused}"));
    let a_drives = format!("driver {a}@{}", host());
    std::thread::sleep(Duration::from_secs(2));
    ta.wait_for(&a_drives);
    assert!(
        !place
            .journal_lines()
            .iter()
            .any(|l| l["event"]["event"] == "note" || l["type"] == "driver"),
        "nothing the follower asked reached the journal"
    );

    for (path, mode, gid, is_dir) in place.modes() {
        let lock = path.extension().is_some_and(|x| x == "lock");
        let want = match (is_dir, lock) {
            (true, _) => 0o750,
            (false, true) => 0o600,
            (false, false) => 0o640,
        };
        assert_eq!(mode, want, "{}", path.display());
        if !lock {
            assert_eq!(gid, team.gid, "{}", path.display());
        }
    }
    let status = cockpit_as(&team, &place, &b, &["status", "--config", "cockpit.toml"]);
    assert!(status.contains(&a_drives), "{status}");

    // Nor may the follower drive the rollout itself, fresh or resumed: told
    // what the dir allows and what to set, not "Permission denied".
    let drive = ["run", "--headless", "--auto-advance", "--checklist-done"];
    for resume in [&[][..], &["--resume"]] {
        let args = [&drive[..], resume, &["--config", "cockpit.toml"]].concat();
        let out = team.run_as(&b, &place.dir, &place.bin, &args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        let said = format!(
            "cannot drive here: the journal dir {} lets group {} follow, not drive",
            place.journal_dir.display(),
            team.group
        );
        assert!(err.contains(&said), "{args:?}: {err}");
        assert!(
            err.contains("`group_may = \"drive\"` under [journal]"),
            "{err}"
        );
        assert!(!err.contains("Permission denied"), "{err}");
    }
    ta.wait_for(&a_drives);

    // The same dir is not a team's: a member asked to drive in it is told
    // what its owner can do.
    let sharing = format!("group = \"{}\"\ngroup_may = \"drive\"", team.group);
    place.config("drive.toml", &url, &sharing);
    let args = [
        "run",
        "--headless",
        "--auto-advance",
        "--checklist-done",
        "--config",
        "drive.toml",
    ];
    let out = team.run_as(&b, &place.dir, &place.bin, &args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("group {} may not drive in it", team.group)),
        "{err}"
    );
    let fix = format!(
        "chgrp {} {dir} && chmod 2770 {dir}",
        team.group,
        dir = place.journal_dir.display()
    );
    assert!(err.contains(&fix), "{err}");
}

#[test]
fn a_member_resumes_the_run_of_a_driver_killed_and_takes_over_its_lock() {
    if !can_run() {
        return;
    }
    let (team, place, failing, _server) = a_team_that_drives(3);
    let [a, b] = [team.users[0].clone(), team.users[1].clone()];
    let (alice, bob) = (format!("{a}@{}", host()), format!("{b}@{}", host()));

    let mut first = place.headless(&team, &a, &["--config", "cockpit.toml"]);
    let pid = place.driving(&alice);
    first.pid = Some(pid);
    poll(|| place.weights().contains(&format!("10 {a}")).then_some(()))
        .expect("stage 1's enter hook ran");
    // SAFETY: a signal to the cockpit this test started.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let _ = first.runuser.wait();
    let owner = |p: &Path| std::fs::metadata(p).unwrap().uid();
    assert_eq!(
        owner(&place.lock()),
        team.uid(&a),
        "the crash left its lock"
    );

    let args = ["--resume", "--config", "cockpit.toml"];
    let mut second = place.headless(&team, &b, &args);
    second.pid = Some(place.driving(&bob));
    assert_eq!(
        owner(&place.lock()),
        team.uid(&a),
        "the very file, locked by the second"
    );
    failing.store(true, Ordering::SeqCst);
    let ended = poll(|| second.runuser.try_wait().unwrap());
    assert!(
        ended.is_some(),
        "the second driver never finished the rollback"
    );
    let mut err = String::new();
    std::io::Read::read_to_string(&mut second.runuser.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains("took over the stale lock"), "{err}");
    assert!(err.contains(&format!("{alice} (pid {pid})")), "{err}");

    let lines = place.journal_lines();
    let resumed = lines
        .iter()
        .find(|l| l["type"] == "resumed")
        .expect("resumed");
    assert_eq!(resumed["by"], bob.as_str());
    let weights = place.weights();
    assert!(weights.contains(&format!("undo 0 {b}")), "{weights}");
    assert_eq!(weights.lines().count(), 2, "{weights}");
    assert_eq!(owner(&place.journal()), team.uid(&a));
}
