//! Pattern errors: what went wrong, where (the 1-based column), and how to show it.

use std::fmt;

/// The class of a pattern error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The text is not a STIX pattern.
    Syntax,
    /// The text parses but breaks a rule of the specification (a malformed hash, a
    /// duplicated qualifier, an impossible timestamp, a mixed-type set…).
    Semantic,
}

/// An error in a pattern, with the column it points at.
///
/// ```
/// let err = watchpost_pattern::Pattern::parse("[file:size = 1280").unwrap_err();
/// assert_eq!(err.to_string(),
///     "column 18: expected ']' to close the observation expression opened at column 1, found the end of the pattern");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct PatternError {
    /// Syntax or semantic.
    pub kind: ErrorKind,
    /// 1-based column, in characters.
    pub column: usize,
    /// What was expected, as a sentence.
    pub message: String,
}

impl PatternError {
    pub(crate) fn syntax(column: usize, message: impl Into<String>) -> Self {
        PatternError {
            kind: ErrorKind::Syntax,
            column,
            message: message.into(),
        }
    }

    pub(crate) fn semantic(column: usize, message: impl Into<String>) -> Self {
        PatternError {
            kind: ErrorKind::Semantic,
            column,
            message: message.into(),
        }
    }

    /// The error under the pattern, rustc-style:
    ///
    /// ```text
    /// error: expected ']' …
    ///  --> pattern:1:18
    ///   |
    /// 1 | [file:size = 1280
    ///   |                  ^
    /// ```
    pub fn render(&self, pattern: &str) -> String {
        // Show the line the column falls on; patterns are usually one line.
        let mut col = self.column.max(1);
        let mut line_no = 1;
        let mut line = pattern;
        for (i, l) in pattern.split('\n').enumerate() {
            let len = l.chars().count() + 1;
            if col <= len {
                line_no = i + 1;
                line = l;
                break;
            }
            col -= len;
        }
        let pad = " ".repeat(line_no.to_string().len());
        let caret = format!("{}^", " ".repeat(col - 1));
        format!(
            "error: {}\n{pad}--> pattern:{line_no}:{col}\n{pad} |\n{line_no} | {line}\n{pad} | {caret}",
            self.message
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::Syntax => "syntax",
            ErrorKind::Semantic => "semantic",
        })
    }
}
