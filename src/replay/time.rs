//! The times `--from`, `--to` and `--stage-at` are written in.

use crate::config::Config;
use crate::rollout::At;

/// `--from`/`--to`/`--stage-at` times: RFC 3339 (`2026-12-01T14:00:00Z`,
/// `2026-12-01T15:00:00+01:00`), `now`, or `now` minus a duration written
/// `-2h`, `-90m`, `-1h30m`, `-1d`.
pub fn parse_time(text: &str, now: At) -> Result<At, String> {
    let t = text.trim();
    if t == "now" {
        return Ok(now);
    }
    if let Some(ago) = t.strip_prefix('-') {
        let span = crate::duration::parse(ago)
            .map_err(|e| format!("time \"{text}\": {e}"))?
            .as_millis();
        return now
            .checked_sub(span)
            .ok_or_else(|| format!("time \"{text}\" is before 1970"));
    }
    let at = chrono::DateTime::parse_from_rfc3339(t).map_err(|e| {
        format!(
            "time \"{text}\": {e}; write RFC 3339 (2026-12-01T14:00:00Z) or a time ago (-2h, -90m)"
        )
    })?;
    u64::try_from(at.timestamp_millis()).map_err(|_| format!("time \"{text}\" is before 1970"))
}

/// `TIME=STAGE`: a stage by its name or its number (1 is the first).
pub fn parse_stage_at(text: &str, config: &Config, now: At) -> Result<(At, usize), String> {
    let (time, stage) = text
        .rsplit_once('=')
        .ok_or_else(|| format!("--stage-at \"{text}\": write TIME=STAGE, e.g. -2h=25%"))?;
    let names: Vec<&str> = config.stages.iter().map(|s| s.name.as_str()).collect();
    let index = match names.iter().position(|n| *n == stage) {
        Some(i) => i,
        None => match stage.parse::<usize>() {
            Ok(n) if (1..=names.len()).contains(&n) => n - 1,
            _ => {
                return Err(format!(
                    "--stage-at \"{text}\": no stage \"{stage}\"; the stages are {} (or 1-{})",
                    names.join(", "),
                    names.len()
                ));
            }
        },
    };
    Ok((parse_time(time, now)?, index))
}

pub(super) fn rfc3339(at: At) -> String {
    chrono::DateTime::from_timestamp_millis(at as i64)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_now_or_a_time_ago() {
        let now = 1_800_000_000_000;
        assert_eq!(parse_time("now", now), Ok(now));
        assert_eq!(parse_time("-2h", now), Ok(now - 7_200_000));
        assert_eq!(parse_time("-1h30m", now), Ok(now - 5_400_000));
        assert_eq!(
            parse_time("2027-01-15T08:00:00Z", now),
            parse_time("2027-01-15T09:00:00+01:00", now)
        );
        assert_eq!(parse_time("1970-01-01T00:00:01.5Z", now), Ok(1500));
        for bad in ["yesterday", "2h", "-2 hours", "-", "2027-01-15 08:00"] {
            assert!(parse_time(bad, now).is_err(), "{bad}");
        }
    }
}
