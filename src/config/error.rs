//! Config errors that say where, what and how to fix it.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based; 0 when the problem has no place in the file (e.g. unreadable).
    pub line: usize,
    pub column: usize,
    /// Dotted key path: `stage[2].weight`.
    pub key: String,
    pub message: String,
    pub fix: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        if !self.key.is_empty() {
            write!(f, ": `{}`", self.key)?;
        }
        write!(f, ": {}", self.message)?;
        if !self.fix.is_empty() {
            write!(f, "\n  fix: {}", self.fix)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    pub fn unplaced(file: &Path, message: impl Into<String>, fix: impl Into<String>) -> Self {
        ConfigError {
            file: file.to_path_buf(),
            line: 0,
            column: 0,
            key: String::new(),
            message: message.into(),
            fix: fix.into(),
        }
    }
}

/// A problem found after parsing, placed by its key path.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub path: Vec<Seg>,
    pub message: String,
    pub fix: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

pub fn path_text(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Builds key paths tersely: `at!["stage", i, "weight"]`.
#[macro_export]
macro_rules! at {
    ($($seg:expr),* $(,)?) => {
        vec![$($crate::config::error::IntoSeg::seg($seg)),*]
    };
}

pub trait IntoSeg {
    fn seg(self) -> Seg;
}
impl IntoSeg for &str {
    fn seg(self) -> Seg {
        Seg::Key(self.to_string())
    }
}
impl IntoSeg for &String {
    fn seg(self) -> Seg {
        Seg::Key(self.clone())
    }
}
impl IntoSeg for usize {
    fn seg(self) -> Seg {
        Seg::Index(self)
    }
}

/// A problem at a key path, with what is wrong and the fix.
pub fn problem(path: Vec<Seg>, message: impl Into<String>, fix: impl Into<String>) -> Problem {
    Problem {
        path,
        message: message.into(),
        fix: fix.into(),
    }
}

/// The closest candidate within a small edit distance, for "did you mean".
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("wieght", ["weight", "wait", "name"]),
            Some("weight")
        );
        assert_eq!(did_you_mean("colour", ["weight", "wait"]), None);
    }

    #[test]
    fn formats_place_key_and_fix() {
        let e = ConfigError {
            file: "c.toml".into(),
            line: 3,
            column: 1,
            key: "stage[0].wait".into(),
            message: "bad".into(),
            fix: "do this".into(),
        };
        assert_eq!(
            e.to_string(),
            "c.toml:3:1: `stage[0].wait`: bad\n  fix: do this"
        );
    }
}
