//! Durations as operators write them in config: `90s`, `15m`, `2h`, `1h30m`.
//!
//! Deliberately stricter than humantime: "15 minutes" or "-5m" in a rollout
//! config is far more likely a typo than intent, so only compact unit
//! suffixes are accepted.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A non-negative span of time written as `<n><unit>` runs (`ms s m h d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span(pub Duration);

impl Span {
    pub const ZERO: Span = Span(Duration::ZERO);

    pub fn secs(s: u64) -> Span {
        Span(Duration::from_secs(s))
    }

    pub fn mins(m: u64) -> Span {
        Span(Duration::from_secs(m * 60))
    }

    pub fn hours(h: u64) -> Span {
        Span(Duration::from_secs(h * 3600))
    }

    pub fn as_millis(self) -> u64 {
        self.0.as_millis() as u64
    }

    pub fn from_millis(ms: u64) -> Span {
        Span(Duration::from_millis(ms))
    }

    /// Milliseconds cut to whole seconds, as elapsed times are shown:
    /// `2m5s` rather than `2m5s250ms`.
    pub fn whole_secs(ms: u64) -> Span {
        Span::from_millis(ms / 1000 * 1000)
    }
}

/// Why a duration string was refused; phrased to be shown after the key.
pub fn parse(text: &str) -> Result<Span, String> {
    let hint = "write a number and a unit with no space, e.g. \"90s\", \"15m\", \"2h\" or \"1h30m\" (units: ms, s, m, h, d)";
    let t = text.trim();
    if t.is_empty() {
        return Err(format!("empty duration; {hint}"));
    }
    if t.starts_with('-') {
        return Err(format!("negative duration \"{text}\"; {hint}"));
    }
    let mut total_ms: u64 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!("malformed duration \"{text}\"; {hint}"));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("duration \"{text}\" is too large"))?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let per_unit_ms = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(format!("malformed duration \"{text}\"; {hint}")),
        };
        rest = &rest[unit_len..];
        total_ms = n
            .checked_mul(per_unit_ms)
            .and_then(|ms| total_ms.checked_add(ms))
            .ok_or_else(|| format!("duration \"{text}\" is too large"))?;
    }
    Ok(Span::from_millis(total_ms))
}

impl fmt::Display for Span {
    /// Compact and round-trippable: `1h30m`, `45s`, `0s`, `250ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.as_millis();
        if ms == 0 {
            return write!(f, "0s");
        }
        if ms < 1000 {
            return write!(f, "{ms}ms");
        }
        let mut s = ms / 1000;
        let d = s / 86_400;
        s %= 86_400;
        let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
        for (n, unit) in [(d, "d"), (h, "h"), (m, "m"), (sec, "s")] {
            if n > 0 {
                write!(f, "{n}{unit}")?;
            }
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_compact_units() {
        assert_eq!(parse("15m").unwrap(), Span::mins(15));
        assert_eq!(parse("1h30m").unwrap(), Span::mins(90));
        assert_eq!(parse("250ms").unwrap(), Span::from_millis(250));
        assert_eq!(parse("2d").unwrap(), Span::hours(48));
        assert_eq!(parse("0s").unwrap(), Span::ZERO);
    }

    #[test]
    fn refuses_words_spaces_and_signs() {
        for bad in ["15 minutes", "-5m", "15", "m", "1.5h", "15min", "", "5m 3s"] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn display_round_trips() {
        for text in ["1h30m", "45s", "250ms", "1d2h", "0s"] {
            assert_eq!(parse(text).unwrap().to_string(), text);
        }
    }
}
