//! The README's first command on a real pseudo-terminal (tmux, 80x24):
//! `cockpit drill` draws the same screen `cockpit run` does, the fault and
//! the score appear in its log, and `q` after the outcome exits with the
//! outcome's code.

use std::process::Command;
use std::time::{Duration, Instant};

/// A tmux server of our own, killed when the test ends.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(command: &str) -> Tmux {
        let socket = format!("cockpit-drill-{}", std::process::id());
        let ok = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "new-session",
                "-d",
                "-x",
                "80",
                "-y",
                "24",
                command,
            ])
            .status()
            .unwrap()
            .success();
        assert!(ok, "tmux new-session failed");
        Tmux { socket }
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into()
    }

    /// Bounded: gives up after a minute and fails with what is on screen.
    fn wait_for(&self, text: &str) -> String {
        let begun = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                begun.elapsed() < Duration::from_secs(60),
                "never saw {text:?}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn keys(&self, keys: &str) {
        Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", keys])
            .status()
            .unwrap();
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

fn tmux_installed() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "tmux not installed, and CI=true"
        );
        eprintln!("SKIP: tmux not installed");
    }
    ok
}

#[test]
fn a_drill_on_screen_shows_the_fault_and_the_score_and_quits_with_the_outcome() {
    if !tmux_installed() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let command = format!(
        "XDG_DATA_HOME='{}' '{}' drill --scenario error-burst --speed 60 --operator ana; echo EXIT=$?; sleep 60",
        data.path().display(),
        env!("CARGO_BIN_EXE_cockpit")
    );
    let t = Tmux::start(&command);
    let screen = t.wait_for("drill error-burst");
    assert!(screen.contains("25%"), "{screen}");
    // On screen the operator advances: press `a` once the stage is green.
    let begun = Instant::now();
    while !t.screen().contains("drill fault on") {
        t.keys("a");
        assert!(begun.elapsed() < Duration::from_secs(60), "{}", t.screen());
        std::thread::sleep(Duration::from_millis(500));
    }
    // Nobody holds the countdown: the policy rolls back; the score follows.
    let screen = t.wait_for("drill score");
    assert!(screen.contains("rolled"), "{screen}");
    t.keys("q");
    let screen = t.wait_for("EXIT=");
    assert!(
        screen.contains("EXIT=3"),
        "rolled back is exit 3:\n{screen}"
    );
    assert!(screen.contains("RIGHT CALL"), "{screen}");
}
