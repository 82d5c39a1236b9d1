//! Deploy windows (seed 003): when a rollout may start without a reason.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use serde::{Deserialize, Serialize};

use crate::config::model::WindowSpec;

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// Days of the week and a time range: `Tue-Thu 10:00-14:00`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeployWindow {
    days: [bool; 7],
    from_minute: u32,
    to_minute: u32,
    text: String,
}

impl DeployWindow {
    pub fn parse(text: &str) -> Result<DeployWindow, String> {
        let hint = "write days and hours like \"Tue-Thu 10:00-14:00\" or \"Mon,Fri 11:00-12:00\"";
        let (days_part, hours_part) = text
            .trim()
            .split_once(' ')
            .ok_or_else(|| format!("window \"{text}\" has no hours; {hint}"))?;
        let mut days = [false; 7];
        for piece in days_part.split(',') {
            let (a, b) = piece.split_once('-').unwrap_or((piece, piece));
            let (a, b) = (day_index(a, text, hint)?, day_index(b, text, hint)?);
            let mut d = a;
            loop {
                days[d] = true;
                if d == b {
                    break;
                }
                d = (d + 1) % 7;
            }
        }
        let (from, to) = hours_part
            .trim()
            .split_once('-')
            .ok_or_else(|| format!("window \"{text}\" has no hour range; {hint}"))?;
        let from_minute = minute_of_day(from, text, hint)?;
        let to_minute = minute_of_day(to, text, hint)?;
        if to_minute <= from_minute {
            return Err(format!("window \"{text}\" ends before it starts; {hint}"));
        }
        Ok(DeployWindow {
            days,
            from_minute,
            to_minute,
            text: text.trim().to_string(),
        })
    }

    pub fn contains(&self, at: NaiveDateTime) -> bool {
        let day = at.weekday().num_days_from_monday() as usize;
        let minute = at.hour() * 60 + at.minute();
        self.days[day] && minute >= self.from_minute && minute < self.to_minute
    }
}

fn day_index(name: &str, text: &str, hint: &str) -> Result<usize, String> {
    DAYS.iter()
        .position(|d| d.eq_ignore_ascii_case(name.trim()))
        .ok_or_else(|| {
            format!(
                "unknown day \"{}\" in window \"{text}\"; {hint}",
                name.trim()
            )
        })
}

fn minute_of_day(hhmm: &str, text: &str, hint: &str) -> Result<u32, String> {
    let bad = || format!("bad time \"{hhmm}\" in window \"{text}\"; {hint}");
    let (h, m) = hhmm.trim().split_once(':').ok_or_else(bad)?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 24 || m > 59 || (h == 24 && m > 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// A freeze: one date or an inclusive range `2026-12-20..2027-01-02`.
#[derive(Debug, Clone, PartialEq)]
pub struct Freeze {
    from: NaiveDate,
    to: NaiveDate,
}

impl Freeze {
    pub fn parse(text: &str) -> Result<Freeze, String> {
        let date = |s: &str| {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
                format!(
                    "bad freeze date \"{text}\"; write \"2026-12-24\" or \"2026-12-20..2027-01-02\""
                )
            })
        };
        let (from, to) = match text.split_once("..") {
            Some((a, b)) => (date(a)?, date(b)?),
            None => (date(text)?, date(text)?),
        };
        Ok(Freeze { from, to })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", content = "detail", rename_all = "snake_case")]
pub enum WindowStatus {
    Best(String),
    Acceptable(String),
    /// Outside every listed window.
    Outside,
    /// Inside a `never` window.
    Never(String),
    Frozen(String),
    /// Windows are switched off, or this is a security hotfix or a drill.
    Skipped(String),
}

impl WindowStatus {
    /// Starting now needs a typed reason in the incident log.
    pub fn needs_reason(&self) -> bool {
        matches!(
            self,
            WindowStatus::Outside | WindowStatus::Never(_) | WindowStatus::Frozen(_)
        )
    }

    pub fn describe(&self) -> String {
        match self {
            WindowStatus::Best(w) => format!("in best window ({w})"),
            WindowStatus::Acceptable(w) => format!("in acceptable window ({w})"),
            WindowStatus::Outside => "outside deploy windows".into(),
            WindowStatus::Never(w) => format!("no-deploy window ({w})"),
            WindowStatus::Frozen(d) => format!("deploy freeze ({d})"),
            WindowStatus::Skipped(why) => format!("window check skipped: {why}"),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct DeployWindows {
    enabled: bool,
    best: Vec<DeployWindow>,
    acceptable: Vec<DeployWindow>,
    never: Vec<DeployWindow>,
    freeze: Vec<(Freeze, String)>,
}

impl DeployWindows {
    /// Parses the spec; an error names the list, the index and what is wrong.
    pub fn from_spec(spec: &WindowSpec) -> Result<Self, (&'static str, usize, String)> {
        let parse_all = |name: &'static str, list: &[String]| {
            list.iter()
                .enumerate()
                .map(|(i, t)| DeployWindow::parse(t).map_err(|e| (name, i, e)))
                .collect::<Result<Vec<_>, _>>()
        };
        let freeze = spec
            .freeze
            .iter()
            .enumerate()
            .map(|(i, t)| {
                Freeze::parse(t)
                    .map(|f| (f, t.clone()))
                    .map_err(|e| ("freeze", i, e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(DeployWindows {
            enabled: spec.enabled,
            best: parse_all("best", &spec.best)?,
            acceptable: parse_all("acceptable", &spec.acceptable)?,
            never: parse_all("never", &spec.never)?,
            freeze,
        })
    }

    pub fn status(&self, local: NaiveDateTime) -> WindowStatus {
        if !self.enabled {
            return WindowStatus::Skipped("windows disabled in config".into());
        }
        let today = local.date();
        if let Some((_, text)) = self
            .freeze
            .iter()
            .find(|(f, _)| f.from <= today && today <= f.to)
        {
            return WindowStatus::Frozen(text.clone());
        }
        let first = |list: &[DeployWindow]| {
            list.iter()
                .find(|w| w.contains(local))
                .map(|w| w.text.clone())
        };
        if let Some(w) = first(&self.never) {
            WindowStatus::Never(w)
        } else if let Some(w) = first(&self.best) {
            WindowStatus::Best(w)
        } else if let Some(w) = first(&self.acceptable) {
            WindowStatus::Acceptable(w)
        } else {
            WindowStatus::Outside
        }
    }
}

impl DeployWindows {
    /// When starting next needs no reason, searching `days` ahead: the
    /// start of a best or acceptable window, or the end of a no-deploy
    /// window inside one. None when nothing opens (or windows are off).
    pub fn next_open(&self, local: NaiveDateTime, days: u32) -> Option<NaiveDateTime> {
        if !self.enabled {
            return None;
        }
        let starts: Vec<u32> = self
            .best
            .iter()
            .chain(&self.acceptable)
            .map(|w| w.from_minute)
            .chain(self.never.iter().map(|w| w.to_minute))
            .collect();
        let today = local.date();
        let mut found: Vec<NaiveDateTime> = (0..=days)
            .filter_map(|d| today.checked_add_days(chrono::Days::new(d.into())))
            .flat_map(|date| {
                starts.iter().filter_map(move |m| {
                    date.and_hms_opt(0, 0, 0)
                        .map(|t| t + chrono::Duration::minutes((*m).into()))
                })
            })
            .filter(|t| *t > local && !self.status(*t).needs_reason())
            .collect();
        found.sort();
        found.into_iter().next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_window_is_the_next_start_that_needs_no_reason() {
        let w = DeployWindows::from_spec(&WindowSpec::default()).unwrap();
        // Friday evening: Monday 11:00 (acceptable) comes first.
        assert_eq!(
            w.next_open(at("2026-11-27", "17:00"), 14),
            Some(at("2026-11-30", "11:00"))
        );
        // Monday 10:30, outside: the acceptable window at 11:00.
        assert_eq!(
            w.next_open(at("2026-11-23", "10:30"), 14),
            Some(at("2026-11-23", "11:00"))
        );
        let frozen = WindowSpec {
            freeze: vec!["2026-11-30..2026-12-01".into()],
            ..WindowSpec::default()
        };
        let w = DeployWindows::from_spec(&frozen).unwrap();
        assert_eq!(
            w.next_open(at("2026-11-27", "17:00"), 14),
            Some(at("2026-12-02", "10:00"))
        );
    }

    fn at(date: &str, time: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(&format!("{date} {time}"), "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn seed_003_defaults() {
        let w = DeployWindows::from_spec(&WindowSpec::default()).unwrap();
        // 2026-11-24 is a Tuesday.
        assert!(matches!(
            w.status(at("2026-11-24", "10:30")),
            WindowStatus::Best(_)
        ));
        assert!(matches!(
            w.status(at("2026-11-23", "11:30")),
            WindowStatus::Acceptable(_)
        ));
        assert!(matches!(
            w.status(at("2026-11-23", "10:30")),
            WindowStatus::Outside
        ));
        assert!(matches!(
            w.status(at("2026-11-27", "12:30")),
            WindowStatus::Never(_)
        ));
        assert!(matches!(
            w.status(at("2026-11-25", "16:30")),
            WindowStatus::Never(_)
        ));
        assert!(w.status(at("2026-11-27", "13:00")).needs_reason());
        assert!(!w.status(at("2026-11-26", "13:59")).needs_reason());
    }

    #[test]
    fn freezes_beat_windows() {
        let spec = WindowSpec {
            freeze: vec!["2026-11-24".into()],
            ..WindowSpec::default()
        };
        let w = DeployWindows::from_spec(&spec).unwrap();
        assert!(matches!(
            w.status(at("2026-11-24", "10:30")),
            WindowStatus::Frozen(_)
        ));
    }

    #[test]
    fn refuses_bad_windows() {
        assert!(DeployWindow::parse("Tus 10:00-14:00").is_err());
        assert!(DeployWindow::parse("Tue 14:00-10:00").is_err());
        assert!(DeployWindow::parse("Tue").is_err());
        assert!(DeployWindow::parse("Fri-Mon 09:00-10:00").unwrap().days[6]);
    }
}
