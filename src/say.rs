//! What the user should read while things go on, that is not an error:
//! progress, warnings, notes, questions. All of it on stderr, so stdout
//! stays the command's output (JSON lines when headless, a report).

use std::fmt::Display;
use std::io::Write;

/// One line for the user: `pre-flight: ...`, `warning: ...`, `note: ...`.
pub fn tell(line: impl Display) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// A question on the terminal, and its answer line trimmed (empty on EOF).
pub fn ask(question: impl Display) -> String {
    {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{question}");
        let _ = err.flush();
    }
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    answer.trim().to_string()
}
