//! Numbers and values as the operator reads them.

/// `5` not `5.0`, `0.25` not `0.250000001`.
pub fn number(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    if v == v.trunc() && v.abs() < 1e15 {
        return format!("{}", v as i64);
    }
    rounded(v, 3)
}

/// At most `decimals` decimals, trailing zeros dropped: `150.90` -> `150.9`.
fn rounded(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn suffixed(n: String, unit: &str) -> String {
    match unit {
        "%" => n + "%",
        "" => n,
        u => format!("{n} {u}"),
    }
}

/// A value with its unit: `0.8%`, `412 ms`, `12 /min`.
pub fn with_unit(v: f64, unit: &str) -> String {
    suffixed(number(v), unit)
}

/// `with_unit` in at most `width` columns where rounding can make it fit:
/// `150.893 ms` in 8 is `150.9 ms`, then `151 ms`. Never rounds away the
/// integer part: what does not fit even whole comes back with no decimals
/// for the caller to cut.
pub fn with_unit_within(v: f64, unit: &str, width: usize) -> String {
    let whole = with_unit(v, unit);
    if whole.chars().count() <= width || !v.is_finite() {
        return whole;
    }
    [2, 1]
        .into_iter()
        .map(|decimals| suffixed(rounded(v, decimals), unit))
        .find(|t| t.chars().count() <= width)
        .unwrap_or_else(|| suffixed(rounded(v, 0), unit))
}

/// A count as a whole number with thousands separators: "22,400".
pub fn count(v: f64) -> String {
    let digits = (v.max(0.0).round() as u64).to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The canary's share of traffic in words: `25% set · 24.3% seen`, or
/// whichever half is known; None when neither is.
pub fn share(set: Option<f64>, seen: Option<f64>) -> Option<String> {
    let set = set.map(|v| format!("{}% set", number(v)));
    let seen = seen.map(|v| format!("{}% seen", number(v)));
    match (set, seen) {
        (Some(a), Some(b)) => Some(format!("{a} · {b}")),
        (a, b) => a.or(b),
    }
}

/// A moment on a rollout's timeline, from its T+0 (the start, or the
/// first breach), whole seconds: `T+2m05s`, `T-15m00s`, `T+1h02m03s`.
/// Seconds and minutes after the first unit are two digits, so offsets in
/// a column line up.
pub fn offset(ms: i64) -> String {
    let sign = if ms < 0 { '-' } else { '+' };
    let s = ms.unsigned_abs() / 1000;
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, sec) => format!("T{sign}{sec}s"),
        (0, m, sec) => format!("T{sign}{m}m{sec:02}s"),
        (h, m, sec) => format!("T{sign}{h}h{m:02}m{sec:02}s"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn offsets_read_from_t_zero() {
        use super::offset;
        assert_eq!(offset(0), "T+0s");
        assert_eq!(offset(999), "T+0s", "whole seconds, rounded down");
        assert_eq!(offset(59_000), "T+59s");
        assert_eq!(offset(125_000), "T+2m05s");
        assert_eq!(offset(-900_000), "T-15m00s");
        assert_eq!(offset(3_723_000), "T+1h02m03s");
        assert_eq!(
            offset(90_000_000),
            "T+25h00m00s",
            "no days: a rollout is read in hours"
        );
    }

    #[test]
    fn numbers_read_cleanly() {
        assert_eq!(super::number(5.0), "5");
        assert_eq!(super::number(0.25), "0.25");
        assert_eq!(super::number(412.3333), "412.333");
        assert_eq!(super::with_unit(0.8, "%"), "0.8%");
        assert_eq!(super::with_unit(412.0, "ms"), "412 ms");
    }

    #[test]
    fn values_round_to_fit_their_column() {
        use super::with_unit_within as fit;
        assert_eq!(fit(150.893, "ms", 8), "150.9 ms");
        assert_eq!(fit(150.96, "ms", 8), "151 ms");
        assert_eq!(fit(149.688, "ms", 6), "150 ms");
        assert_eq!(fit(99.981, "%", 8), "99.981%", "fits: untouched");
        assert_eq!(fit(0.0194, "%", 6), "0.019%");
        assert_eq!(fit(0.0194, "%", 5), "0.02%");
        assert_eq!(fit(123456.7, "ms", 8), "123457 ms", "too wide even whole");
    }
}
