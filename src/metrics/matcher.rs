//! Label matchers from the config: an exact value, or `~regex` anchored at
//! both ends as PromQL's `=~` is.

use std::collections::BTreeMap;

use regex::Regex;

use super::exposition::Sample;

#[derive(Debug, Clone)]
enum Match {
    Exact(String),
    Regex(Regex),
}

#[derive(Debug, Clone, Default)]
pub struct Matchers(Vec<(String, Match)>);

impl Matchers {
    /// `what` names the config key in the error, e.g. `metric "errors" scrape.labels`.
    pub fn from_config(map: &BTreeMap<String, String>, what: &str) -> Result<Matchers, String> {
        let mut out = Vec::new();
        for (label, pattern) in map {
            let m = match pattern.strip_prefix('~') {
                Some(re) => Regex::new(&format!("^(?:{re})$")).map(Match::Regex).map_err(|e| {
                    format!("{what}.{label}: {pattern:?} is not a valid regex ({e}); write `~5..` for a regex or a plain value for an exact match")
                })?,
                None => Match::Exact(pattern.clone()),
            };
            out.push((label.clone(), m));
        }
        Ok(Matchers(out))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A missing label reads as "", as in PromQL.
    pub fn matches(&self, sample: &Sample) -> bool {
        self.0.iter().all(|(label, m)| {
            let value = sample.label(label).unwrap_or("");
            match m {
                Match::Exact(v) => v == value,
                Match::Regex(re) => re.is_match(value),
            }
        })
    }
}
