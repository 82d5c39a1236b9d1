//! Label matchers from the config, PromQL's four kinds in one string: a
//! plain value is `=`, `~regex` is `=~` (anchored at both ends), and a
//! leading `!` negates either: `!value` is `!=`, `!~regex` is `!~`.

use std::collections::BTreeMap;

use regex::Regex;

use super::exposition::Sample;

#[derive(Debug, Clone)]
enum Match {
    Exact(String),
    Regex(Regex),
}

impl Match {
    fn is_match(&self, value: &str) -> bool {
        match self {
            Match::Exact(v) => v == value,
            Match::Regex(re) => re.is_match(value),
        }
    }
}

#[derive(Debug, Clone)]
struct Matcher {
    label: String,
    pattern: Match,
    negated: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Matchers(Vec<Matcher>);

/// A matcher the config wrote that cannot be compiled: its label, what is
/// wrong and the fix.
#[derive(Debug, Clone, PartialEq)]
pub struct BadMatcher {
    pub label: String,
    pub message: String,
    pub fix: String,
}

impl Matchers {
    /// `what` names the config key in the error, e.g. `metric "errors" scrape.labels`.
    pub fn from_config(map: &BTreeMap<String, String>, what: &str) -> Result<Matchers, String> {
        Matchers::compile(map).map_err(|bad| {
            let b = &bad[0];
            format!("{what}.{}: {}; {}", b.label, b.message, b.fix)
        })
    }

    /// Every matcher compiled, or every one that cannot be.
    pub fn compile(map: &BTreeMap<String, String>) -> Result<Matchers, Vec<BadMatcher>> {
        let mut out = Vec::new();
        let mut bad = Vec::new();
        for (label, written) in map {
            let (negated, pattern) = match written.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, written.as_str()),
            };
            let pattern = match pattern.strip_prefix('~') {
                Some(re) => match Regex::new(&format!("^(?:{re})$")) {
                    Ok(re) => Match::Regex(re),
                    Err(e) => {
                        bad.push(BadMatcher {
                            label: label.clone(),
                            message: format!("{written:?} is not a valid regex ({})", reason(&e)),
                            fix: "write `~5..` for a regex, `!~5..` for its negation, or a plain value for an exact match".into(),
                        });
                        continue;
                    }
                },
                None => Match::Exact(pattern.to_string()),
            };
            out.push(Matcher {
                label: label.clone(),
                pattern,
                negated,
            });
        }
        if bad.is_empty() {
            Ok(Matchers(out))
        } else {
            Err(bad)
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A missing label reads as "", as in PromQL.
    pub fn matches(&self, sample: &Sample) -> bool {
        self.0.iter().all(|m| {
            let value = sample.label(&m.label).unwrap_or("");
            m.pattern.is_match(value) != m.negated
        })
    }
}

/// The regex crate's reason in one line: its message draws the pattern
/// with a caret underneath, over several lines.
fn reason(e: &regex::Error) -> String {
    let text = e.to_string();
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    last.trim().trim_start_matches("error: ").to_string()
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    fn matchers(pairs: &[(&str, &str)]) -> Matchers {
        let map = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Matchers::from_config(&map, "scrape.labels").unwrap()
    }

    fn sample<'a>(labels: &[(&'a str, &'a str)]) -> Sample<'a> {
        let labels = labels
            .iter()
            .map(|(k, v)| (*k, Cow::Borrowed(*v)))
            .collect();
        Sample::new("http_requests_total", labels, 1.0, None)
    }

    #[test]
    fn the_four_promql_matchers() {
        let pay = sample(&[("route", "/pay"), ("code", "503")]);
        let health = sample(&[("route", "/health"), ("code", "200")]);
        let m = matchers(&[("route", "/pay")]);
        assert!(m.matches(&pay) && !m.matches(&health));
        let m = matchers(&[("route", "!/health")]);
        assert!(m.matches(&pay) && !m.matches(&health));
        let m = matchers(&[("code", "~5..")]);
        assert!(m.matches(&pay) && !m.matches(&health));
        let m = matchers(&[("code", "!~5..")]);
        assert!(!m.matches(&pay) && m.matches(&health));
        // Anchored: `~5.` would not match 503.
        assert!(!matchers(&[("code", "~5.")]).matches(&pay));
    }

    #[test]
    fn a_missing_label_reads_as_empty() {
        let bare = sample(&[]);
        assert!(matchers(&[("route", "")]).matches(&bare));
        assert!(matchers(&[("route", "!/health")]).matches(&bare));
        assert!(!matchers(&[("route", "!")]).matches(&bare));
    }

    #[test]
    fn a_bad_regex_says_how_to_write_one() {
        let map = [("code".to_string(), "!~5[".to_string())].into();
        let e = Matchers::from_config(&map, "metric \"errors\" scrape.labels").unwrap_err();
        assert!(
            e.starts_with("metric \"errors\" scrape.labels.code: \"!~5[\" is not a valid regex"),
            "{e}"
        );
        assert!(e.contains("`!~5..` for its negation"), "{e}");
    }
}
