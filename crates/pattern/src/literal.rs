//! Literal values of patterns, and timestamps at the precision the OASIS matcher compares them.

use crate::error::PatternError;

/// A literal operand.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// An integer (any size a pattern may reasonably hold).
    Int(i128),
    /// A float.
    Float(f64),
    /// A string, unescaped.
    Str(String),
    /// `true` / `false`.
    Bool(bool),
    /// `b'…'` or `h'…'`, decoded.
    Bytes(Vec<u8>),
    /// `t'…'`, in microseconds since the epoch.
    Timestamp(i64),
}

impl Literal {
    /// The literal's type, as the matcher tells types apart.
    pub fn type_name(&self) -> &'static str {
        match self {
            Literal::Int(_) => "integer",
            Literal::Float(_) => "float",
            Literal::Str(_) => "string",
            Literal::Bool(_) => "boolean",
            Literal::Bytes(_) => "binary",
            Literal::Timestamp(_) => "timestamp",
        }
    }
}

/// Parses a timestamp as the reference matcher does (Python `strptime` with `%Y-%m-%dT%H:%M:%S`,
/// optional fraction, `Z`), to microseconds since the epoch: fractions past six digits are
/// truncated, lower-case letters and impossible dates are errors.
pub fn timestamp_micros(text: &str) -> Result<i64, String> {
    if text.chars().any(|c| c.is_lowercase()) {
        return Err(format!("`{text}` must be written in upper case (T and Z)"));
    }
    let t = watchpost_stix::Timestamp::parse(text).map_err(|e| format!("`{text}`: {e}"))?;
    Ok(t.unix_seconds() * 1_000_000 + i64::from(t.subsec_nanos() / 1000))
}

/// Decodes a hex literal body.
pub(crate) fn hex(text: &str, column: usize) -> Result<Vec<u8>, PatternError> {
    if text.len() % 2 != 0 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(PatternError::syntax(
            column,
            "expected an even number of hex digits",
        ));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16))
        .collect::<Result<_, _>>()
        .map_err(|_| PatternError::syntax(column, "expected an even number of hex digits"))
}

/// Decodes standard base64 (the lexer has checked its shape).
pub(crate) fn base64(text: &str) -> Vec<u8> {
    fn value(c: u8) -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            _ => 63,
        }
    }
    let body = text.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    for chunk in body.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, c)| acc | value(*c) << (18 - 6 * i));
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len() - 1]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_binary() {
        assert_eq!(base64("aGVsbG8="), b"hello");
        assert_eq!(base64("aGk="), b"hi");
        assert_eq!(base64("aGVs"), b"hel");
        assert_eq!(hex("00fF", 1).unwrap(), [0, 255]);
        assert!(hex("4d5a9", 1).is_err());
        assert!(hex("ắ0", 1).is_err());
    }

    #[test]
    fn timestamps_at_microsecond_precision() {
        assert_eq!(
            timestamp_micros("1970-01-01T00:00:01.1234569Z"),
            Ok(1_123_456)
        );
        assert!(timestamp_micros("2010-05-21t13:21:43Z").is_err());
        assert!(timestamp_micros("2023-02-29T00:00:00Z").is_err());
    }
}
