//! The one error a user of `cockpit` can meet: the words they read and the
//! kind of failure, which decides the exit code (in `exit.rs`). Every layer
//! returns it upward; `main` prints it, once, and exits with its code.

use std::fmt;

/// What kind of failure it is: the user fixes their input, the machine
/// failed, or only an operator can decide what happens next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A bad command line or config (or a pre-flight that found the config
    /// does not work against the real world).
    Usage,
    /// Not the config's fault: IO, a port, the runtime.
    Failed,
    /// Stopped before or without an outcome: a lock held, a run to resume
    /// or start over, a damaged journal, headless with nobody to advance.
    NeedsOperator,
}

/// What went wrong, in the words the user sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: Kind,
    /// One `error: ...` line each; empty when a view already said it.
    problems: Vec<String>,
    /// A closing line without the prefix: a count, what to do instead.
    after: Option<String>,
}

impl Error {
    pub fn usage(problem: impl Into<String>) -> Error {
        Error::many(Kind::Usage, vec![problem.into()], None)
    }

    pub fn failed(problem: impl Into<String>) -> Error {
        Error::many(Kind::Failed, vec![problem.into()], None)
    }

    pub fn needs_operator(problem: impl Into<String>) -> Error {
        Error::many(Kind::NeedsOperator, vec![problem.into()], None)
    }

    /// Several problems found at once (every error in a config), and a
    /// closing line.
    pub fn many(kind: Kind, problems: Vec<String>, after: Option<String>) -> Error {
        Error {
            kind,
            problems,
            after,
        }
    }

    /// A failure the user has already read (a view printed it, or they
    /// answered a question): only the exit code is left to give.
    pub fn shown(kind: Kind) -> Error {
        Error::many(kind, Vec::new(), None)
    }

    /// The same problem with a closing line that is not an error.
    pub fn then(mut self, after: impl Into<String>) -> Error {
        self.after = Some(after.into());
        self
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The process's exit code for this error.
    pub fn code(&self) -> i32 {
        crate::exit::of_error(self.kind)
    }

    /// Whether there is anything left to print.
    pub fn is_shown(&self) -> bool {
        self.problems.is_empty() && self.after.is_none()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines = self.problems.iter().map(|p| format!("error: {p}"));
        let lines: Vec<String> = lines.chain(self.after.clone()).collect();
        f.write_str(&lines.join("\n"))
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_problem_is_one_error_line_and_the_closing_line_has_no_prefix() {
        let e = Error::many(
            Kind::Usage,
            vec!["a".into(), "b".into()],
            Some("2 problems in x.toml".into()),
        );
        assert_eq!(e.to_string(), "error: a\nerror: b\n2 problems in x.toml");
        assert_eq!(e.code(), crate::exit::CONFIG);
    }

    #[test]
    fn a_shown_error_prints_nothing_and_keeps_its_code() {
        let e = Error::shown(Kind::NeedsOperator);
        assert!(e.is_shown());
        assert_eq!(e.code(), crate::exit::ABORTED);
        assert_eq!(Error::failed("x").code(), crate::exit::ERROR);
    }
}
