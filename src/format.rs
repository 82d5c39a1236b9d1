//! Numbers and values as the operator reads them.

/// `5` not `5.0`, `0.25` not `0.250000001`.
pub fn number(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    if v == v.trunc() && v.abs() < 1e15 {
        return format!("{}", v as i64);
    }
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A value with its unit: `0.8%`, `412 ms`, `12 /min`.
pub fn with_unit(v: f64, unit: &str) -> String {
    match unit {
        "%" => format!("{}%", number(v)),
        "" => number(v),
        u => format!("{} {u}", number(v)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_read_cleanly() {
        assert_eq!(super::number(5.0), "5");
        assert_eq!(super::number(0.25), "0.25");
        assert_eq!(super::number(412.3333), "412.333");
        assert_eq!(super::with_unit(0.8, "%"), "0.8%");
        assert_eq!(super::with_unit(412.0, "ms"), "412 ms");
    }
}
