//! Lexical checks of property values (base64, hex, language tags, names) and the wording of
//! messages.

use super::Seg;
use serde_json::Value;
use std::fmt::Write;

/// Renders a path as `objects[3].hashes.SHA-256`; keys that are not plain words are quoted.
pub(super) fn path(segs: &[Seg<'_>]) -> String {
    let mut out = String::new();
    for seg in segs {
        match seg {
            Seg::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
            Seg::Key(k) if is_plain_key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Key(k) => {
                let _ = write!(out, "[{}]", Value::String((*k).to_string()));
            }
        }
    }
    out
}

fn is_plain_key(k: &str) -> bool {
    !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Names a JSON value's kind for an "expected X, found Y" message.
pub(super) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("{b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string `{}`", excerpt(s)),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// At most 60 characters of `s`, so a 100 MB string does not become a 100 MB message.
pub(super) fn excerpt(s: &str) -> String {
    const MAX: usize = 60;
    match s.char_indices().nth(MAX) {
        None => s.to_string(),
        Some((cut, _)) => format!("{}…", &s[..cut]),
    }
}

/// `an identity`, `a file or directory`, `a file, directory or artifact`.
pub(super) fn one_of(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => with_article(one),
        [init @ .., last] => format!("{} or {last}", with_article(&init.join(", "))),
    }
}

/// `an identity`, `a url`: STIX type names starting with a, e, i, o or x take "an" (x509 is
/// read "ex"); those starting with u are read "you" and take "a".
pub(super) fn with_article(word: &str) -> String {
    let an = matches!(
        word.as_bytes().first(),
        Some(b'a' | b'e' | b'i' | b'o' | b'x')
    );
    format!("{} {word}", if an { "an" } else { "a" })
}

pub(super) fn range_message(what: &str, min: i64, max: i64, found: &Value) -> String {
    match (min, max) {
        (0, i64::MAX) => format!("expected a non-negative {}, found {found}", &what[3..]),
        (_, i64::MAX) => format!("expected {what} of at least {min}, found {found}"),
        _ => format!("expected {what} from {min} to {max}, found {found}"),
    }
}

/// An integer, also when written as a float with no fractional part (`1.0`), as JSON Schema
/// and the OASIS tools accept it.
pub(super) fn as_integer(value: &Value) -> Option<i128> {
    if let Some(i) = value.as_i64() {
        return Some(i128::from(i));
    }
    if let Some(u) = value.as_u64() {
        return Some(i128::from(u));
    }
    let f = value.as_f64()?;
    (f.fract() == 0.0 && f.abs() < 1e30).then_some(f as i128)
}

/// Property names: 3 to 250 ASCII lower-case letters, digits or `_` (§3.1).
pub(super) fn is_property_name(name: &str) -> bool {
    (3..=250).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Dictionary keys: at most 250 ASCII letters, digits, `_` or `-` (§2.8).
pub(super) fn is_dictionary_key(key: &str) -> bool {
    key.len() <= 250
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Predefined or custom extension names: a type name ending in `-ext`.
pub(super) fn is_extension_name(key: &str) -> bool {
    key.len() > 4 && key.ends_with("-ext") && crate::id::is_type_name(key)
}

/// Standard base64 with padding, non-empty (§2.2).
pub(crate) fn is_base64(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || b.len() % 4 != 0 {
        return false;
    }
    let pad = b.iter().rev().take_while(|&&c| c == b'=').count();
    pad <= 2
        && b[..b.len() - pad]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
}

/// Hexadecimal bytes: a non-empty, even number of hex digits (§2.8).
pub(crate) fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.len() % 2 == 0 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A URL with an RFC 3986 scheme and something after it.
pub(super) fn is_url(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.bytes();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
        && !rest.is_empty()
        && !s.bytes().any(|b| b.is_ascii_whitespace())
}

/// An RFC 5646 language tag, checked for its shape: a 2–3 letter primary language (or a
/// registered 4–8 letter one, or `i`/`x` for grandfathered and private tags) followed by
/// subtags of 1–8 letters or digits.
pub(super) fn is_lang(s: &str) -> bool {
    let mut parts = s.split('-');
    let primary = parts.next().unwrap_or("");
    let primary_ok = ((2..=8).contains(&primary.len()) || primary == "i" || primary == "x")
        && primary.bytes().all(|b| b.is_ascii_alphabetic());
    primary_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_checks() {
        assert!(is_base64("aGVsbG8="));
        assert!(!is_base64("aGVsbG8"));
        assert!(!is_base64(""));
        assert!(is_hex("00ff"));
        assert!(!is_hex("0ff"));
        assert!(is_lang("vi"));
        assert!(is_lang("en-US"));
        assert!(is_lang("zh-Hant-TW"));
        assert!(!is_lang("english language"));
        assert!(!is_lang("e"));
        assert!(is_url("https://attack.mitre.org/techniques/T1059"));
        assert!(!is_url("attack.mitre.org"));
        assert!(is_property_name("x_mitre_version"));
        assert!(!is_property_name("x_"));
        assert!(!is_property_name("xMitre"));
    }

    #[test]
    fn paths_render_like_json_paths() {
        let segs = [
            Seg::Key("objects"),
            Seg::Index(3),
            Seg::Key("hashes"),
            Seg::Key("SHA-256"),
        ];
        assert_eq!(path(&segs), "objects[3].hashes.SHA-256");
        assert_eq!(path(&[Seg::Key("a b")]), "[\"a b\"]");
    }
}
