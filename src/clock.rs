//! The session's clock (real time, or real time compressed for drills) and
//! who drives from where. At the bottom: the runtime, the drill server,
//! replay and the journal's lock all read time and host names here.

use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::rollout::At;

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    real0: Instant,
    at0: At,
    speed: f64,
    /// A drill on screen changes speed as it goes (human pace in decision
    /// windows): then the anchor lives here, shared by every copy. Leaked
    /// once per drill so the clock stays `Copy` for every task holding it.
    paced: Option<&'static Mutex<Anchor>>,
}

/// Where simulated time stood at a real instant, and how fast it runs since.
#[derive(Debug)]
struct Anchor {
    real: Instant,
    at: At,
    speed: f64,
}

impl Clock {
    /// `speed` 1 is real time; 60 makes a 15-minute stage take 15 seconds.
    pub fn new(speed: f64) -> Clock {
        let at0 = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as At);
        Clock {
            real0: Instant::now(),
            at0,
            speed: speed.max(0.01),
            paced: None,
        }
    }

    /// A clock whose speed `set_speed` changes while it runs, for every copy.
    pub fn paced(speed: f64) -> Clock {
        let c = Clock::new(speed);
        let anchor = Anchor {
            real: c.real0,
            at: c.at0,
            speed: c.speed,
        };
        Clock {
            paced: Some(Box::leak(Box::new(Mutex::new(anchor)))),
            ..c
        }
    }

    /// From now on, `speed` simulated seconds per real second (a paced
    /// clock only; time already passed stays as it was).
    pub fn set_speed(&self, speed: f64) {
        let Some(anchor) = self.paced else { return };
        let mut a = anchor.lock().unwrap_or_else(|e| e.into_inner());
        let real = Instant::now();
        a.at += (real.duration_since(a.real).as_secs_f64() * 1000.0 * a.speed) as At;
        a.real = real;
        a.speed = speed.max(0.01);
    }

    fn anchor(&self) -> (Instant, At, f64) {
        match self.paced {
            Some(anchor) => {
                let a = anchor.lock().unwrap_or_else(|e| e.into_inner());
                (a.real, a.at, a.speed)
            }
            None => (self.real0, self.at0, self.speed),
        }
    }

    pub fn now(&self) -> At {
        let (real, at, speed) = self.anchor();
        at + (real.elapsed().as_secs_f64() * 1000.0 * speed) as At
    }

    pub fn speed(&self) -> f64 {
        self.anchor().2
    }

    /// A simulated span as the real time to wait for it, never under 20 ms
    /// so a fast drill cannot spin the CPU.
    pub fn real(&self, simulated: std::time::Duration) -> std::time::Duration {
        simulated
            .div_f64(self.speed())
            .max(std::time::Duration::from_millis(20))
    }

    /// Wall-clock time of day where the operator is, for deploy windows.
    pub fn local_now() -> chrono::NaiveDateTime {
        chrono::Local::now().naive_local()
    }

    /// A timestamp as the operator's local HH:MM:SS.
    pub fn show(at: At) -> String {
        Clock::local(at, "%H:%M:%S")
    }

    /// A timestamp in the operator's time zone, as `format`.
    pub fn local(at: At, format: &str) -> String {
        chrono::DateTime::from_timestamp_millis(at as i64)
            .map(|t| t.with_timezone(&chrono::Local).format(format).to_string())
            .unwrap_or_default()
    }
}

/// Who drives: `user@host`, and whether over SSH.
pub fn operator() -> (String, bool) {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let host = host_name();
    (
        format!("{user}@{host}"),
        std::env::var_os("SSH_CONNECTION").is_some(),
    )
}

/// This machine's name, as the lock file records it and `operator` shows it.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_compresses_waits_but_never_below_20ms() {
        let c = Clock::new(60.0);
        assert_eq!(
            c.real(std::time::Duration::from_secs(60)),
            std::time::Duration::from_secs(1)
        );
        assert_eq!(
            c.real(std::time::Duration::from_millis(100)),
            std::time::Duration::from_millis(20)
        );
    }

    #[test]
    fn a_paced_clock_changes_speed_for_every_copy_without_jumping() {
        let c = Clock::paced(1000.0);
        let copy = c;
        let before = c.now();
        c.set_speed(1.0);
        assert_eq!(copy.speed(), 1.0);
        let after = copy.now();
        assert!(after >= before, "time never goes back");
        // At real pace, 50 ms of sleep is about 50 simulated ms, not 50 s.
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(copy.now() - after < 5_000, "{}", copy.now() - after);
    }
}
