//! A hook's output as lines, in bounded memory: a hook that prints
//! megabytes, or one line with no newline at all, costs a few kilobytes.

use std::collections::VecDeque;

/// Longest line kept or shown; the rest of it is dropped and counted.
pub const MAX_LINE: usize = 2000;
/// Lines kept for the journal and the failure summary.
pub const TAIL_LINES: usize = 20;

/// Splits a byte stream into lines, truncating each to `MAX_LINE` bytes
/// while it arrives (never buffering more than that of one line).
#[derive(Debug, Default)]
pub struct LineSplitter {
    current: Vec<u8>,
    dropped: usize,
}

impl LineSplitter {
    /// Feeds a chunk; returns the lines it completed.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<String> {
        let mut done = Vec::new();
        let mut rest = chunk;
        while let Some(nl) = rest.iter().position(|b| *b == b'\n') {
            self.push(&rest[..nl]);
            done.push(self.take());
            rest = &rest[nl + 1..];
        }
        self.push(rest);
        done
    }

    /// The last line when the stream ended without a newline.
    pub fn finish(&mut self) -> Option<String> {
        (!self.current.is_empty() || self.dropped > 0).then(|| self.take())
    }

    fn push(&mut self, bytes: &[u8]) {
        let room = MAX_LINE.saturating_sub(self.current.len());
        let kept = bytes.len().min(room);
        self.current.extend_from_slice(&bytes[..kept]);
        self.dropped += bytes.len() - kept;
    }

    fn take(&mut self) -> String {
        let mut line = String::from_utf8_lossy(&self.current).into_owned();
        if line.ends_with('\r') {
            line.pop();
        }
        if self.dropped > 0 {
            line.push_str(&format!(" ... [{} more bytes cut]", self.dropped));
        }
        self.current.clear();
        self.dropped = 0;
        line
    }
}

/// The last `TAIL_LINES` lines seen.
#[derive(Debug, Default, Clone)]
pub struct Tail {
    lines: VecDeque<String>,
    /// Lines seen in all, kept or not.
    pub seen: usize,
}

impl Tail {
    pub fn push(&mut self, line: String) {
        if self.lines.len() == TAIL_LINES {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
        self.seen += 1;
    }

    pub fn last(&self) -> Option<&str> {
        self.lines.back().map(String::as_str)
    }

    pub fn into_vec(self) -> Vec<String> {
        self.lines.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_across_chunks_come_out_whole() {
        let mut s = LineSplitter::default();
        assert_eq!(s.feed(b"one\ntw"), vec!["one"]);
        assert_eq!(s.feed(b"o\r\nthr"), vec!["two"]);
        assert_eq!(s.finish().as_deref(), Some("thr"));
        assert_eq!(s.finish(), None);
    }

    #[test]
    fn a_huge_line_is_cut_and_says_how_much() {
        let mut s = LineSplitter::default();
        for _ in 0..1000 {
            assert!(s.feed(&[b'x'; 1000]).is_empty());
        }
        let line = s.feed(b"\n").pop().unwrap();
        assert!(line.starts_with(&"x".repeat(MAX_LINE)));
        assert!(line.ends_with(&format!("[{} more bytes cut]", 1_000_000 - MAX_LINE)));
    }

    #[test]
    fn invalid_utf8_is_shown_not_refused() {
        let mut s = LineSplitter::default();
        assert_eq!(s.feed(b"caf\xe9\n"), vec!["caf\u{fffd}"]);
    }

    #[test]
    fn the_tail_keeps_the_last_lines_only() {
        let mut t = Tail::default();
        for i in 0..100 {
            t.push(i.to_string());
        }
        assert_eq!(t.seen, 100);
        assert_eq!(t.last(), Some("99"));
        let v = t.into_vec();
        assert_eq!(v.len(), TAIL_LINES);
        assert_eq!(v[0], "80");
    }
}
