//! The real binary: one driver per rollout, the unfinished-run question,
//! `--fresh`, `cockpit report --list`, damaged journals, and files in the
//! journal dir that are not what they seem (links, FIFOs, devices).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

mod journal_support;
use cockpit::journal::lock::{self, Holder, Lock};
use journal_support::{bin, journal_files};

/// A rollout whose first stage's hook takes a few seconds and whose metric
/// source is down (no data holds the stage): a headless run of it keeps
/// running, and holding the lock, until killed.
fn config(dir: &Path) -> PathBuf {
    let text = format!(
        r#"
[rollout]
name = "checkout 2.0"
service = "checkout"
old_version = "1.9"
new_version = "2.0"

[[stage]]
name = "5%"
weight = 5
enter = {{ exec = ["sleep", "3"] }}
undo = {{ exec = ["true"] }}

[window]
enabled = false

[journal]
dir = "{}"

[scrape]
canary = ["http://127.0.0.1:9/metrics"]
"#,
        dir.join("journal").display()
    );
    let path = dir.join("cockpit.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn cockpit(config: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.args([
        "run",
        "--headless",
        "--auto-advance",
        "--checklist-done",
        "--operator",
        "alice@ops-1",
        "--config",
    ])
    .arg(config)
    .args(extra)
    .stdin(Stdio::null());
    c
}

/// Kills the driver it started when the test ends, pass or fail.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Driver {
    /// Starts a driver and waits (bounded) until it holds the lock and the
    /// journals hold `marks` copies of `mark`.
    fn start(config: &Path, extra: &[&str], mark: &str, marks: usize) -> Driver {
        Driver::start_with(cockpit(config, extra), config, mark, marks)
    }

    /// `start`, for a command set up by the test (another user, a umask).
    fn start_with(mut command: Command, config: &Path, mark: &str, marks: usize) -> Driver {
        let extra: Vec<_> = command.get_args().map(|a| a.to_owned()).collect();
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let d = Driver(child);
        let dir = config.parent().unwrap().join("journal");
        let mine = format!("\"pid\":{},", d.0.id());
        for _ in 0..600 {
            let lock = std::fs::read_to_string(dir.join("checkout-2-0.lock")).unwrap_or_default();
            let seen: usize = journal_files(&dir)
                .iter()
                .map(|p| {
                    std::fs::read_to_string(p)
                        .unwrap_or_default()
                        .matches(mark)
                        .count()
                })
                .sum();
            if lock.contains(&mine) && seen >= marks {
                return d;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("cockpit {extra:?} never wrote {mark} x{marks}");
    }

    fn sigkill(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const HOOK: &str = "\"event\":\"hook_started\"";

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_second_cockpit_on_the_same_rollout_is_told_who_drives() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config(tmp.path());
    let first = Driver::start(&config, &[], HOOK, 1);
    let out = cockpit(&config, &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let err = stderr(&out);
    let want = format!(
        "error: rollout checkout 2.0 is driven by alice@ops-1 (pid {}) since ",
        first.0.id()
    );
    assert!(err.starts_with(&want), "{err}");
    assert!(err.contains("one driver per rollout"), "{err}");
    assert_eq!(
        journal_files(&tmp.path().join("journal")).len(),
        1,
        "no second journal"
    );
}

#[test]
fn after_a_kill_the_stale_lock_is_taken_over_and_the_unfinished_run_offered() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config(tmp.path());
    Driver::start(&config, &[], HOOK, 1).sigkill();
    let dir = tmp.path().join("journal");
    let old = journal_files(&dir).pop().unwrap();

    // Headless without --resume or --fresh: stop and say how to go on.
    let out = cockpit(&config, &[]).output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(err.contains("warning: took over the stale lock"), "{err}");
    assert!(
        err.contains("error: rollout checkout 2.0 has an unfinished run started "),
        "{err}"
    );
    assert!(
        err.contains("--resume carries it on, --fresh REASON starts over"),
        "{err}"
    );
    assert_eq!(journal_files(&dir), vec![old.clone()], "nothing written");

    // --resume carries the same journal on, at the gate where it was.
    let resumed = Driver::start(&config, &["--resume", "--unknown-hook", "rerun"], HOOK, 2);
    drop(resumed);
    assert_eq!(journal_files(&dir), vec![old.clone()], "same journal");
    let text = std::fs::read_to_string(&old).unwrap();
    assert_eq!(text.matches("\"type\":\"resumed\"").count(), 1, "{text}");
    assert_eq!(text.matches("\"event\":\"started\"").count(), 1, "{text}");

    // --fresh leaves the old journal, marked abandoned, and starts another.
    let fresh = Driver::start(&config, &["--fresh", "the hook host was rebuilt"], HOOK, 3);
    drop(fresh);
    let files = journal_files(&dir);
    assert_eq!(files.len(), 2, "{files:?}");
    let text = std::fs::read_to_string(&old).unwrap();
    assert!(text.contains("\"type\":\"abandoned\""), "{text}");
    assert!(
        text.contains("\"reason\":\"--fresh: the hook host was rebuilt\""),
        "{text}"
    );

    let list = Command::new(bin())
        .args(["report", "--list", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&list.stdout);
    let rows: Vec<&str> = stdout.lines().collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    assert!(
        rows[0].contains("unfinished") && rows[1].contains("abandoned"),
        "newest first:\n{stdout}"
    );
    assert!(rows[1].ends_with(&old.display().to_string()), "{stdout}");
}

#[test]
fn resume_with_nothing_to_resume_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config(tmp.path());
    // An unfinished drill of the same rollout is no run to resume.
    let drill = cockpit::journal::Header {
        rollout: "checkout 2.0".into(),
        config_path: "cockpit.toml".into(),
        config_hash: "sha256:0".into(),
        operator: "alice@ops-1".into(),
        ssh_connection: None,
        drill: true,
        started_at: 1_795_516_200_000,
    };
    cockpit::journal::Journal::create(&tmp.path().join("journal"), drill).unwrap();
    let out = cockpit(&config, &["--resume"]).output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(
        err.contains("nothing to resume: no unfinished run of rollout checkout 2.0"),
        "{err}"
    );
}

/// Contenders that all start at once, as threads: each opens the lock file
/// on its own, as separate processes would.
fn contend(dir: &Path, contenders: usize) -> Vec<Result<Lock, String>> {
    let start = std::sync::Arc::new(std::sync::Barrier::new(contenders));
    let handles: Vec<_> = (0..contenders)
        .map(|i| {
            let (dir, start) = (dir.to_path_buf(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                let me = Holder::me(&format!("op{i}@ops-1"), 0);
                Lock::acquire(&dir, "checkout 2.0", &me)
                    .map(|(lock, _)| lock)
                    .map_err(|e| e.to_string())
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

/// A lock file left by a crash: its holder's process is gone.
fn leave_stale_lock(dir: &Path) {
    let dead = Holder {
        pid: i32::MAX as u32,
        host: lock::host_name(),
        operator: "carol@ops-1".into(),
        since: 0,
    };
    let text = serde_json::to_string(&dead).unwrap();
    std::fs::write(dir.join("checkout-2-0.lock"), text).unwrap();
}

#[test]
fn ten_cockpits_starting_at_once_make_exactly_one_driver_with_or_without_a_stale_lock() {
    let tmp = tempfile::tempdir().unwrap();
    for trial in 0..200 {
        let dir = tmp.path().join(format!("trial-{trial}"));
        std::fs::create_dir(&dir).unwrap();
        let stale = trial % 2 == 1;
        if stale {
            leave_stale_lock(&dir);
        }
        // Every lock stays held until all contenders are done.
        let results = contend(&dir, 10);
        let drivers = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(
            drivers, 1,
            "trial {trial} (stale lock: {stale}): {results:?}"
        );
        for e in results.iter().filter_map(|r| r.as_ref().err()) {
            assert!(
                e.starts_with("rollout checkout 2.0 is driven by op"),
                "trial {trial}: {e}"
            );
        }
    }
}

#[test]
fn a_link_planted_where_the_lock_goes_is_never_written_through() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("journal");
    std::fs::create_dir(&dir).unwrap();
    let victim = tmp.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    // Where a lock was once written before being linked into place.
    let pid = std::process::id();
    std::os::unix::fs::symlink(&victim, dir.join(format!("checkout-2-0.lock.{pid}"))).unwrap();
    let me = Holder::me("alice@ops-1", 0);
    let taken = Lock::acquire(&dir, "checkout 2.0", &me).map(|_| ());
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert_eq!(taken, Ok(()));

    // The lock itself replaced by a link: refused, not followed.
    std::os::unix::fs::symlink(&victim, dir.join("checkout-2-0.lock")).unwrap();
    let err = Lock::acquire(&dir, "checkout 2.0", &me)
        .unwrap_err()
        .to_string();
    assert!(err.contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
}

/// Runs `command` for at most `secs`: its exit code (`None` when it had to
/// be killed) and its stderr.
fn run_for(command: Command, secs: u64) -> (Option<i32>, String) {
    let (code, _, err) = run_for_output(command, secs);
    (code, err)
}

/// `run_for`, with stdout too. Output is read into files, so a chatty
/// child never blocks on a full pipe.
fn run_for_output(mut command: Command, secs: u64) -> (Option<i32>, String, String) {
    let out = tempfile::tempfile().unwrap();
    let err = tempfile::tempfile().unwrap();
    let mut child = command
        .stdout(out.try_clone().unwrap())
        .stderr(err.try_clone().unwrap())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    let mut killed = false;
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() >= deadline {
            killed = true;
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let code = child.wait().unwrap().code().filter(|_| !killed);
    let text = |mut f: std::fs::File| {
        use std::io::{Read, Seek};
        let mut s = String::new();
        f.seek(std::io::SeekFrom::Start(0)).unwrap();
        f.read_to_string(&mut s).unwrap();
        s
    };
    let mut err = text(err);
    if killed {
        err += &format!("\n(still running after {secs} s: killed)");
    }
    (code, text(out), err)
}

#[test]
fn a_journal_dir_that_cannot_be_used_is_an_io_error_exit_1() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config(tmp.path());
    // The journal dir's path is a file.
    std::fs::write(tmp.path().join("journal"), "").unwrap();
    let (code, err) = run_for(cockpit(&config, &[]), 20);
    assert_eq!(code, Some(1), "{err}");
    let want = format!(
        "error: cannot use the journal dir {}: not a directory",
        tmp.path().join("journal").display()
    );
    assert!(err.contains(&want), "{err}");

    // A dir this user may not write to (root ignores mode bits, so a root
    // test runs the cockpit as nobody).
    std::fs::remove_file(tmp.path().join("journal")).unwrap();
    let dir = tmp.path().join("journal");
    std::fs::create_dir(&dir).unwrap();
    let root = unsafe { libc::geteuid() } == 0;
    let mut command = cockpit(&config, &[]);
    if root {
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        command = journal_support::as_user(command, 65534, 65534);
    } else {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    }
    let (code, err) = run_for(command, 20);
    assert_eq!(code, Some(1), "{err}");
    // Another user's dir: said in words, with what to do instead.
    let want = format!(
        "error: cannot drive here: the journal dir {} is its owner's alone",
        dir.display()
    );
    assert!(err.contains(&want), "{err}");
    assert!(err.contains("use a journal dir of your own"), "{err}");
}

/// A driver killed in stage 1's hook: the config, the journal dir and the
/// unfinished run's journal.
fn crashed(tmp: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let config = config(tmp);
    Driver::start(&config, &[], HOOK, 1).sigkill();
    let dir = tmp.join("journal");
    let journal = journal_files(&dir).pop().unwrap();
    (config, dir, journal)
}

/// A journal's lines, rewritten with line `n` (1-based) replaced.
fn damage_line(path: &Path, n: usize, with: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[n - 1] = with;
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

#[test]
fn a_journal_damaged_in_the_middle_stops_the_cockpit_until_repaired_or_started_fresh() {
    let tmp = tempfile::tempdir().unwrap();
    let (config, dir, old) = crashed(tmp.path());
    damage_line(&old, 2, r#"{"type":"event","at":17955"#);
    let damaged = std::fs::read_to_string(&old).unwrap();

    // Neither resumed nor started over: stage 1's hook is not run again.
    for extra in [&["--resume", "--unknown-hook", "rerun"][..], &[]] {
        let (code, err) = run_for(cockpit(&config, extra), 30);
        assert_eq!(code, Some(5), "{extra:?}: {err}");
        let at = format!("error: {}:2: not a journal record", old.display());
        assert!(err.contains(&at), "{extra:?}: {err}");
        assert!(err.contains("Repair the file at that line"), "{err}");
        assert!(err.contains("`--fresh REASON`"), "{err}");
        assert_eq!(journal_files(&dir), vec![old.clone()], "nothing started");
        assert_eq!(std::fs::read_to_string(&old).unwrap(), damaged);
    }

    // Starting over needs a reason, which goes into the new journal.
    let (code, err) = run_for(cockpit(&config, &["--fresh", " "]), 30);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--fresh needs a reason"), "{err}");
    let fresh = Driver::start(&config, &["--fresh", "disk fault on ops-1"], HOOK, 1);
    drop(fresh);
    let files = journal_files(&dir);
    assert_eq!(files.len(), 1, "{files:?}");
    assert_ne!(files[0], old);
    let kept = PathBuf::from(format!("{}.damaged", old.display()));
    assert_eq!(
        std::fs::read_to_string(&kept).unwrap(),
        damaged,
        "kept as it was"
    );
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        text.contains("started fresh (--fresh): disk fault on ops-1; the damaged journal"),
        "{text}"
    );
}

#[test]
fn a_journal_replaced_by_a_link_is_refused_and_a_link_planted_for_the_feed_is_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let (config, _, journal) = crashed(tmp.path());
    let elsewhere = tmp.path().join("elsewhere.jsonl");
    std::fs::rename(&journal, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &journal).unwrap();
    let before = std::fs::read(&elsewhere).unwrap();
    let (code, err) = run_for(
        cockpit(&config, &["--resume", "--unknown-hook", "rerun"]),
        30,
    );
    assert_eq!(code, Some(5), "{err}");
    assert!(err.contains("it is a symbolic link"), "{err}");
    assert_eq!(
        std::fs::read(&elsewhere).unwrap(),
        before,
        "not appended to"
    );

    // The journal back in place, its last line cut short by a crash (that
    // much is tolerated); the feed's temporary file planted as a link.
    std::fs::remove_file(&journal).unwrap();
    std::fs::rename(&elsewhere, &journal).unwrap();
    let mut cut = std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap();
    std::io::Write::write_all(&mut cut, br#"{"type":"event","at":179"#).unwrap();
    drop(cut);
    let victim = tmp.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let feed = journal.with_extension("live.json");
    std::os::unix::fs::symlink(&victim, format!("{}.tmp", feed.display())).unwrap();
    let resumed = Driver::start(&config, &["--resume", "--unknown-hook", "rerun"], HOOK, 2);
    wait_for(&feed);
    drop(resumed);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(std::fs::symlink_metadata(&feed).unwrap().is_file());
}

/// Waits (bounded) until `path` exists.
fn wait_for(path: &Path) {
    for _ in 0..200 {
        if std::fs::symlink_metadata(path).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{} never appeared", path.display());
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

#[test]
fn the_journal_dir_and_its_files_are_owner_only_whatever_the_umask() {
    use std::os::unix::process::CommandExt;
    let tmp = tempfile::tempdir().unwrap();
    let config = config(tmp.path());
    let mut command = cockpit(&config, &[]);
    // SAFETY: umask is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            libc::umask(0);
            Ok(())
        });
    }
    let driver = Driver::start_with(command, &config, HOOK, 1);
    let dir = tmp.path().join("journal");
    let journal = journal_files(&dir).pop().unwrap();
    let feed = journal.with_extension("live.json");
    wait_for(&feed);
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&journal), 0o600);
    assert_eq!(mode(&feed), 0o600);
    assert_eq!(mode(&dir.join("checkout-2-0.lock")), 0o600);
    drop(driver);
}

/// Commands that would read forever get a memory limit, so a regression
/// fails the test instead of the machine.
fn bounded(mut command: Command) -> Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: setrlimit is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 512 << 20,
                rlim_max: 512 << 20,
            };
            libc::setrlimit(libc::RLIMIT_AS, &limit);
            Ok(())
        });
    }
    command
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

#[test]
fn fifos_and_devices_are_refused_at_once_not_read() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config(tmp.path());
    let dir = tmp.path().join("journal");
    std::fs::create_dir(&dir).unwrap();
    mkfifo(&dir.join("x.jsonl"));
    std::os::unix::fs::symlink("/dev/zero", dir.join("zero.jsonl")).unwrap();

    let mut list = Command::new(bin());
    list.args(["report", "--list", "--config"]).arg(&config);
    let (code, out, err) = run_for_output(bounded(list), 20);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("not a regular file (a FIFO)"), "{out}");
    assert!(out.contains("it is a symbolic link"), "{out}");

    let zero = Path::new("/dev/zero");
    let cases: [(&[&str], i32, String); 4] = [
        (
            &["check", "--config", "/dev/zero"],
            2,
            "/dev/zero: cannot read config: not a regular file (a device)".into(),
        ),
        (
            &[
                "run",
                "--theme",
                "/dev/zero",
                "--config",
                &config.display().to_string(),
            ],
            2,
            "theme file /dev/zero: cannot read it: not a regular file (a device)".into(),
        ),
        (
            &["drill", "--headless", "--scenario", "/dev/zero"],
            2,
            "cannot read scenario /dev/zero: not a regular file (a device)".into(),
        ),
        (
            &["report", "/dev/zero"],
            1,
            "cannot read /dev/zero: not a regular file (a device)".into(),
        ),
    ];
    for (args, want, message) in cases {
        let mut command = Command::new(bin());
        command.args(args).current_dir(tmp.path());
        let (code, err) = run_for(bounded(command), 20);
        assert_eq!(code, Some(want), "{args:?}: {err}");
        assert!(err.contains(&message), "{args:?}: {err}");
    }
    assert!(zero.exists());

    // Past the limit: named, with the limit.
    let big = tmp.path().join("big.toml");
    std::fs::write(&big, vec![b'#'; (4 << 20) + 1]).unwrap();
    let mut check = Command::new(bin());
    check.args(["check", "--config"]).arg(&big);
    let (code, err) = run_for(bounded(check), 20);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("big.toml"), "{err}");
    assert!(err.contains("larger than 4 MiB"), "{err}");

    // A FIFO among the journals does not hold up a driver.
    let driver = Driver::start(&config, &[], HOOK, 1);
    drop(driver);
}

/// A group and users made for one test, removed when it ends, pass or fail.
struct Accounts {
    group: String,
    users: Vec<String>,
}

impl Accounts {
    fn make(tag: u32) -> Accounts {
        let sh = |program: &str, args: &[&str]| {
            let out = Command::new(program).args(args).output().unwrap();
            assert!(out.status.success(), "{program} {args:?}: {}", stderr(&out));
        };
        let group = format!("ckg{tag}");
        let mut accounts = Accounts {
            group: group.clone(),
            users: vec![],
        };
        sh("groupadd", &[&group]);
        for (name, member) in [("ckd", true), ("ckf", true), ("cko", false)] {
            let user = format!("{name}{tag}");
            let mut args = vec!["-M", "-N", "-s", "/bin/false"];
            if member {
                args.extend(["-G", &group]);
            }
            args.push(&user);
            sh("useradd", &args);
            accounts.users.push(user);
        }
        accounts
    }

    fn id(&self, user: &str, flag: &str) -> u32 {
        let out = Command::new("id").args([flag, user]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }

    /// `command` as `user`, with the groups the system gives them.
    fn as_member(&self, command: Command, user: &str) -> Command {
        let mut run = Command::new("setpriv");
        run.arg(format!("--reuid={}", self.id(user, "-u")))
            .arg(format!("--regid={}", self.id(user, "-g")))
            .args(["--init-groups", "--"])
            .arg(command.get_program())
            .args(command.get_args())
            .stdin(Stdio::null());
        run
    }
}

impl Drop for Accounts {
    fn drop(&mut self) {
        for user in &self.users {
            // -f: a hook of the killed driver may still run as this user.
            let _ = Command::new("userdel").args(["-f", user]).output();
        }
        let _ = Command::new("groupdel").arg(&self.group).output();
    }
}

/// Root and the account tools, or why this test cannot run.
fn can_make_accounts() -> Result<(), String> {
    if unsafe { libc::geteuid() } != 0 {
        return Err("not root (needed to create users)".into());
    }
    for tool in [
        "groupadd", "useradd", "userdel", "groupdel", "setpriv", "id",
    ] {
        if Command::new(tool).arg("--help").output().is_err() {
            return Err(format!("{tool} not installed"));
        }
    }
    Ok(())
}

#[test]
fn a_journal_group_may_read_the_journals_and_the_feed_and_nobody_else() {
    if let Err(why) = can_make_accounts() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
        eprintln!("SKIP: {why}");
        return;
    }
    let accounts = Accounts::make(std::process::id() % 100_000);
    let [driver, follower, outsider] = [0, 1, 2].map(|i| accounts.users[i].clone());
    let gid = {
        let out = Command::new("getent")
            .args(["group", &accounts.group])
            .output()
            .unwrap();
        let line = String::from_utf8_lossy(&out.stdout).into_owned();
        line.split(':')
            .nth(2)
            .unwrap()
            .trim()
            .parse::<u32>()
            .unwrap()
    };
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let home = tmp.path().join("home");
    std::fs::create_dir(&home).unwrap();
    std::os::unix::fs::chown(&home, Some(accounts.id(&driver, "-u")), None).unwrap();
    let config = config(&home);
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "[journal]\n",
        &format!("[journal]\ngroup = \"{}\"\n", accounts.group),
    );
    std::fs::write(&config, text).unwrap();

    let command = accounts.as_member(cockpit(&config, &[]), &driver);
    let running = Driver::start_with(command, &config, HOOK, 1);
    let dir = home.join("journal");
    let journal = journal_files(&dir).pop().unwrap();
    let feed = journal.with_extension("live.json");
    wait_for(&feed);
    let group_of = |p: &Path| std::os::unix::fs::MetadataExt::gid(&std::fs::metadata(p).unwrap());
    assert_eq!((mode(&dir), group_of(&dir)), (0o750, gid));
    assert_eq!((mode(&journal), group_of(&journal)), (0o640, gid));
    assert_eq!((mode(&feed), group_of(&feed)), (0o640, gid));
    assert_eq!(
        mode(&dir.join("checkout-2-0.lock")),
        0o600,
        "the lock stays the driver's"
    );

    let cat = |user: &str, path: &Path| {
        let mut c = Command::new("cat");
        c.arg(path);
        accounts.as_member(c, user).output().unwrap()
    };
    let read = cat(&follower, &feed);
    assert!(read.status.success(), "{}", stderr(&read));
    assert!(String::from_utf8_lossy(&read.stdout).contains("\"driver\""));
    let mut report = Command::new(bin());
    report.arg("report").arg(&journal);
    let out = accounts.as_member(report, &follower).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    for path in [&feed, &journal] {
        let out = cat(&outsider, path);
        assert!(!out.status.success(), "{outsider} read {}", path.display());
        assert!(
            stderr(&out).contains("Permission denied"),
            "{}",
            stderr(&out)
        );
    }
    drop(running);
}

/// The same race with the real binary, as operators meet it: ten
/// `cockpit run` at once, half the trials over a lock left by a crash.
#[test]
fn ten_cockpit_processes_started_at_once_leave_exactly_one_driving() {
    let tmp = tempfile::tempdir().unwrap();
    for trial in 0..20 {
        let home = tmp.path().join(format!("trial-{trial}"));
        std::fs::create_dir(&home).unwrap();
        let config = config(&home);
        if trial % 2 == 1 {
            let dir = home.join("journal");
            std::fs::create_dir(&dir).unwrap();
            leave_stale_lock(&dir);
        }
        let mut all: Vec<Driver> = (0..10)
            .map(|_| {
                let child = cockpit(&config, &[])
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap();
                Driver(child)
            })
            .collect();
        // Everyone but the driver stops at once, told who drives.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut stopped = Vec::new();
        while stopped.len() < 9 && std::time::Instant::now() < deadline {
            for (i, d) in all.iter_mut().enumerate() {
                if !stopped.contains(&i) && d.0.try_wait().unwrap().is_some() {
                    stopped.push(i);
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(stopped.len(), 9, "trial {trial}: {} stopped", stopped.len());
        for &i in &stopped {
            let d = &mut all[i];
            let code = d.0.wait().unwrap().code();
            let mut err = String::new();
            std::io::Read::read_to_string(d.0.stderr.as_mut().unwrap(), &mut err).unwrap();
            assert_eq!(code, Some(5), "trial {trial}: {err}");
            assert!(
                err.contains("is driven by alice@ops-1 (pid "),
                "trial {trial}: {err}"
            );
        }
        let driver = (0..10).find(|i| !stopped.contains(i)).unwrap();
        let lock = std::fs::read_to_string(home.join("journal/checkout-2-0.lock")).unwrap();
        let pid = all[driver].0.id();
        assert!(
            lock.contains(&format!("\"pid\":{pid},")),
            "trial {trial}: {lock}"
        );
    }
}
