//! The session's clock (real time, or real time compressed for drills) and
//! who drives from where. At the bottom: the runtime, the drill server,
//! replay and the journal's lock all read time and host names here.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::rollout::At;

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    real0: Instant,
    at0: At,
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
        }
    }

    pub fn now(&self) -> At {
        self.at0 + (self.real0.elapsed().as_secs_f64() * 1000.0 * self.speed) as At
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// A simulated span as the real time to wait for it, never under 20 ms
    /// so a fast drill cannot spin the CPU.
    pub fn real(&self, simulated: std::time::Duration) -> std::time::Duration {
        simulated
            .div_f64(self.speed)
            .max(std::time::Duration::from_millis(20))
    }

    /// Wall-clock time of day where the operator is, for deploy windows.
    pub fn local_now() -> chrono::NaiveDateTime {
        chrono::Local::now().naive_local()
    }

    /// A timestamp as the operator's local HH:MM:SS.
    pub fn show(at: At) -> String {
        chrono::DateTime::from_timestamp_millis(at as i64)
            .map(|t| {
                t.with_timezone(&chrono::Local)
                    .format("%H:%M:%S")
                    .to_string()
            })
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
}
