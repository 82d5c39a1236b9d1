//! Reading a `/metrics` page (Prometheus text format 0.0.4, and the
//! OpenMetrics lines that text parsers meet in the wild) into a
//! `MetricSnapshot` holding only the families the config asks for.
//!
//! Our own parser rather than prometheus-parse 0.2.5, which drops names with
//! `:`, `m{} 1` and label values holding `}`, mangles values with `,` or
//! `=`, leaves `\"` escaped and invents timestamps (DEVELOPMENT.md, dependency
//! notes). Skipping unwanted families after reading only their name is
//! also what makes a poll cheaper than Prometheus' own scrape.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;

use super::compute::SeriesHasher;

/// What `# TYPE` says about a family, when it says anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FamilyType {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Untyped,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sample<'a> {
    pub name: &'a str,
    /// In the order the page wrote them, unescaped.
    pub labels: Labels<'a>,
    pub value: f64,
    /// Milliseconds, when the line carries one (OpenMetrics: seconds, converted).
    pub timestamp: Option<i64>,
    /// `series_id(name, labels)`, computed once while parsing.
    pub series: u64,
}

impl<'a> Sample<'a> {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_ref())
    }

    pub fn new(
        name: &'a str,
        labels: Labels<'a>,
        value: f64,
        timestamp: Option<i64>,
    ) -> Sample<'a> {
        Sample {
            series: series_id(name, &labels),
            name,
            labels,
            value,
            timestamp,
        }
    }
}

/// The series as a page writes it: `name{label="value",...}`.
impl std::fmt::Display for Sample<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)?;
        if self.labels.is_empty() {
            return Ok(());
        }
        let labels: Vec<String> = self
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect();
        write!(f, "{{{}}}", labels.join(","))
    }
}

/// A stable identity across scrapes: name and labels, whatever order the
/// page writes them in. A 64-bit hash, not a string, because a poll builds
/// one per sample; a collision among a target's few thousand series has a
/// chance near 1e-11.
pub fn series_id(name: &str, labels: &Labels) -> u64 {
    // Summing per-label hashes makes the order irrelevant without sorting.
    let labels_hash = labels.iter().fold(0u64, |acc, (k, v)| {
        let h = fnv1a(fnv1a(FNV_OFFSET, k.as_bytes()) ^ 0xff, v.as_bytes());
        acc.wrapping_add(mix(h))
    });
    mix(fnv1a(FNV_OFFSET, name.as_bytes()) ^ labels_hash)
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a: a few times faster than SipHash here, and no adversary picks
/// the series names of our own targets.
fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A finaliser (splitmix64) so sums of per-label hashes stay well spread.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The samples of the wanted families on one page, and their types.
#[derive(Debug, Clone, Default)]
pub struct MetricSnapshot<'a> {
    pub samples: Vec<Sample<'a>>,
    pub types: HashMap<String, FamilyType>,
    /// Series the page wrote more than once, as `name{labels}`: only the
    /// first copy is in `samples`, as Prometheus keeps only the first.
    pub duplicates: Vec<String>,
}

/// Which sample names to keep. A family `F` keeps `F`, `F_total`,
/// `F_bucket`, `F_count` and `F_sum` (every shape a counter or a histogram
/// named `F` can take); an empty filter keeps everything.
#[derive(Debug, Clone, Default)]
pub struct Wanted {
    families: Vec<String>,
}

const SUFFIXES: [&str; 5] = ["", "_total", "_bucket", "_count", "_sum"];

impl Wanted {
    pub fn all() -> Wanted {
        Wanted::default()
    }

    pub fn families<I: IntoIterator<Item = S>, S: Into<String>>(names: I) -> Wanted {
        let mut families: Vec<String> = names.into_iter().map(Into::into).collect();
        families.sort();
        families.dedup();
        Wanted { families }
    }

    pub fn keeps(&self, name: &str) -> bool {
        self.families.is_empty()
            || self.families.iter().any(|f| {
                name.strip_prefix(f.as_str())
                    .is_some_and(|rest| SUFFIXES.contains(&rest))
            })
    }

    /// `# TYPE` lines name the family without the sample suffix; OpenMetrics
    /// counters drop `_total` from it.
    fn keeps_type_of(&self, family: &str) -> bool {
        self.keeps(family)
            || self
                .families
                .iter()
                .any(|f| f.strip_suffix("_total") == Some(family))
    }
}

/// A line Prometheus would also refuse, and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Parses a whole page. Lines of unwanted families are skipped once their
/// name is read and found well formed, so garbage (an HTML error page, a
/// truncated body) is still refused as Prometheus refuses it.
pub fn parse<'a>(text: &'a str, wanted: &Wanted) -> Result<MetricSnapshot<'a>, ParseError> {
    let mut snapshot = MetricSnapshot::default();
    let mut seen: HashSet<u64, BuildHasherDefault<SeriesHasher>> = HashSet::default();
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let fail = |message: String| ParseError {
            line: i + 1,
            message,
        };
        let trimmed = line.trim_start_matches([' ', '\t']);
        if trimmed.is_empty() {
            continue;
        }
        if let Some(comment) = trimmed.strip_prefix('#') {
            if let Some((family, kind)) = type_line(comment)
                && wanted.keeps_type_of(family)
            {
                snapshot.types.insert(family.to_string(), kind);
            }
            continue;
        }
        let name_end = trimmed
            .find(|c: char| !is_name_char(c))
            .unwrap_or(trimmed.len());
        let name = &trimmed[..name_end];
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(fail(format!(
                "expected a metric name, found {:?}",
                excerpt(trimmed)
            )));
        }
        if !wanted.keeps(name) {
            continue;
        }
        let sample = sample_line(name, &trimmed[name_end..]).map_err(fail)?;
        if seen.insert(sample.series) {
            snapshot.samples.push(sample);
        } else {
            snapshot.duplicates.push(sample.to_string());
        }
    }
    Ok(snapshot)
}

fn excerpt(s: &str) -> String {
    s.chars().take(40).collect()
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

fn type_line(comment: &str) -> Option<(&str, FamilyType)> {
    let mut words = comment.split_whitespace();
    if words.next()? != "TYPE" {
        return None;
    }
    let family = words.next()?;
    let kind = match words.next()? {
        "counter" => FamilyType::Counter,
        "gauge" => FamilyType::Gauge,
        "histogram" | "gaugehistogram" => FamilyType::Histogram,
        "summary" => FamilyType::Summary,
        _ => FamilyType::Untyped,
    };
    Some((family, kind))
}

/// `rest` is everything after the name: `{labels} value [timestamp]`.
/// As in Prometheus' own lexer, blanks may come between the name and `{`,
/// and none are needed between `}` and the value (`m {a="b"} 1`, `m{a="b"}7`).
fn sample_line<'a>(name: &'a str, rest: &'a str) -> Result<Sample<'a>, String> {
    let (labels, rest) = match rest.trim_start_matches([' ', '\t']).strip_prefix('{') {
        Some(inner) => label_set(inner)?,
        None if rest.starts_with([' ', '\t']) => (Vec::new(), rest),
        None => {
            return Err(format!(
                "{name}: expected a space before the value, found {:?}",
                excerpt(rest)
            ));
        }
    };
    let mut fields = rest.split([' ', '\t']).filter(|f| !f.is_empty());
    let value_text = fields
        .next()
        .ok_or_else(|| format!("{name}: missing value"))?;
    let value = parse_float(value_text)
        .ok_or_else(|| format!("{name}: value {value_text:?} is not a number"))?;
    let timestamp = match fields.next() {
        None => None,
        // OpenMetrics exemplars (`# {...}`) follow a space and a hash.
        Some("#") => None,
        Some(t) => Some(
            parse_timestamp(t).ok_or_else(|| format!("{name}: timestamp {t:?} is not a number"))?,
        ),
    };
    Ok(Sample::new(name, labels, value, timestamp))
}

/// Go's ParseFloat words (`NaN`, `+Inf`, `-Inf`) are all Rust's too.
fn parse_float(s: &str) -> Option<f64> {
    s.parse::<f64>().ok()
}

/// Text format: integer milliseconds. OpenMetrics: seconds with a fraction.
fn parse_timestamp(s: &str) -> Option<i64> {
    if let Ok(ms) = s.parse::<i64>() {
        return Some(ms);
    }
    let secs: f64 = s.parse().ok()?;
    secs.is_finite().then(|| (secs * 1000.0).round() as i64)
}

/// Label names borrow the page; values too, unless they held escapes.
pub type Labels<'a> = Vec<(&'a str, Cow<'a, str>)>;

/// Reads `name="value",...}`; returns the labels and what follows `}`.
fn label_set(mut s: &str) -> Result<(Labels<'_>, &str), String> {
    let mut labels = Vec::new();
    loop {
        s = s.trim_start_matches([' ', '\t']);
        if let Some(rest) = s.strip_prefix('}') {
            return Ok((labels, rest));
        }
        let end = s.find(|c: char| !is_name_char(c)).unwrap_or(s.len());
        let key = &s[..end];
        if key.is_empty() || key.contains(':') {
            return Err(format!("expected a label name, found {:?}", excerpt(s)));
        }
        s = s[end..].trim_start_matches([' ', '\t']);
        s = s
            .strip_prefix('=')
            .ok_or_else(|| format!("label {key}: expected '='"))?
            .trim_start_matches([' ', '\t']);
        s = s
            .strip_prefix('"')
            .ok_or_else(|| format!("label {key}: expected a quoted value"))?;
        let (value, rest) = quoted(s).ok_or_else(|| format!("label {key}: unterminated value"))?;
        labels.push((key, value));
        s = rest.trim_start_matches([' ', '\t']);
        if let Some(rest) = s.strip_prefix(',') {
            s = rest;
        } else if !s.starts_with('}') {
            return Err(format!("label {key}: expected ',' or '}}' after the value"));
        }
    }
}

/// Reads up to the closing quote, unescaping `\\`, `\"` and `\n`.
fn quoted(s: &str) -> Option<(Cow<'_, str>, &str)> {
    // Most values hold no escape: copy them in one piece.
    let end = s.find(['"', '\\', '\n'])?;
    if s.as_bytes()[end] == b'"' {
        return Some((Cow::Borrowed(&s[..end]), &s[end + 1..]));
    }
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((Cow::Owned(out), &s[i + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => out.push('\n'),
                other => {
                    // Prometheus keeps an unknown escape as written.
                    if other != '\\' && other != '"' {
                        out.push('\\');
                    }
                    out.push(other);
                }
            },
            '\n' => return None,
            c => out.push(c),
        }
    }
    None
}
