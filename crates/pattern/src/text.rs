//! `LIKE` and `MATCHES` as the OASIS matcher defines them: both sides NFC-normalised; `LIKE`
//! anchored at both ends with `%` for any run and `_` for one character; `MATCHES` a
//! PCRE-style search anywhere in the value, applied to binary values byte by byte when the
//! expression is Latin-1.
//!
//! We use the `regex` crate, whose syntax covers what indicator feeds write, and whose matching
//! time is linear in the input — a pattern from a partner can never stall the matcher. What it
//! lacks (look-around, back-references) is reported as an error when the pattern is checked.
//! Python's `$` also matches before a final newline; we translate it so it does here too.

use unicode_normalization::UnicodeNormalization;

/// A compiled `LIKE` or `MATCHES` operand.
#[derive(Clone, Debug)]
pub struct TextMatcher {
    /// The expression over text; built on first use for `LIKE`, which usually needs none.
    text: std::sync::OnceLock<Option<regex::Regex>>,
    source: String,
    /// A `LIKE` operand without a newline, matched directly: compiling an expression costs
    /// tens of microseconds, and the matcher verifies candidates of a million indicators
    /// that it mostly meets once.
    like: Option<Vec<char>>,
    /// The expression over bytes, for binary values (rare): built on first use.
    bytes: std::sync::OnceLock<Option<regex::bytes::Regex>>,
    /// Whether every character of the expression is below U+0100, the matcher's condition for
    /// testing binary values at all.
    latin1: bool,
    anchored_like: bool,
}

/// The largest compiled expression accepted; bounds memory for hostile patterns.
const SIZE_LIMIT: usize = 1 << 22;

impl TextMatcher {
    /// Whether a string value matches.
    pub fn is_match_str(&self, value: &str) -> bool {
        let value = nfc_if_needed(value);
        if let Some(like) = &self.like {
            // `\A(?:…)\n?\z` where nothing in the operand matches a newline: the value may end
            // with one, and hold no other.
            let body = value.strip_suffix('\n').unwrap_or(&value);
            if body.len().saturating_mul(like.len()) <= GLOB_WORK {
                return !body.contains('\n') && glob(like, body);
            }
        }
        self.regex().is_some_and(|re| re.is_match(&value))
    }

    fn regex(&self) -> Option<&regex::Regex> {
        self.text
            .get_or_init(|| {
                regex::RegexBuilder::new(&self.source)
                    .size_limit(SIZE_LIMIT)
                    .build()
                    .ok()
            })
            .as_ref()
    }

    /// Whether a binary value matches: `LIKE` decodes it as UTF-8 first (an error when it is
    /// not UTF-8, as in the reference); `MATCHES` tests the bytes.
    pub fn is_match_bytes(&self, value: &[u8]) -> Result<bool, String> {
        if !self.latin1 {
            return Ok(false);
        }
        if self.anchored_like {
            let text = std::str::from_utf8(value)
                .map_err(|_| "a binary value compared with LIKE is not UTF-8 text".to_string())?;
            return Ok(self.is_match_str(text));
        }
        let re = self
            .bytes
            .get_or_init(|| bytes_regex(&self.source))
            .as_ref();
        Ok(re.is_some_and(|re| re.is_match(value)))
    }
}

/// The most work (value length × operand length) a direct `LIKE` match may take; the
/// backtracking of `%` makes that its worst case, so beyond it the linear-time expression runs.
const GLOB_WORK: usize = 1 << 20;

/// `LIKE` without newlines: `%` any run of characters, `_` one, anything else itself. The
/// classic wildcard walk: on a mismatch, the last `%` takes one more character.
fn glob(like: &[char], value: &str) -> bool {
    let text: Vec<char> = value.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match like.get(p) {
            Some('%') => {
                star = Some((p, t));
                p += 1;
            }
            Some(c) if *c == '_' || *c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    star = Some((sp, st + 1));
                    p = sp + 1;
                    t = st + 1;
                }
                None => return false,
            },
        }
    }
    like[p..].iter().all(|c| *c == '%')
}

/// `value` in Unicode normalization form C, borrowed when it is ASCII (the common case, and
/// already normalized).
pub fn nfc_if_needed(value: &str) -> std::borrow::Cow<'_, str> {
    if value.is_ascii() {
        std::borrow::Cow::Borrowed(value)
    } else {
        std::borrow::Cow::Owned(value.nfc().collect())
    }
}

/// Compiles a `LIKE` operand.
pub fn compile_like(like: &str) -> Result<TextMatcher, String> {
    let like: String = like.nfc().collect();
    let mut re = String::from(r"\A(?:");
    for c in like.chars() {
        match c {
            '%' => re.push_str(".*"),
            '_' => re.push('.'),
            c if c.is_alphanumeric() => re.push(c),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push_str(r")\n?\z");
    let latin1 = re.chars().all(|c| (c as u32) < 256);
    let glob = (!like.contains('\n')).then(|| like.chars().collect());
    let matcher = TextMatcher {
        text: std::sync::OnceLock::new(),
        source: re,
        like: glob,
        bytes: std::sync::OnceLock::new(),
        latin1,
        anchored_like: true,
    };
    if matcher.like.is_none() && matcher.regex().is_none() {
        return Err("cannot compile the LIKE operand: it is too large".into());
    }
    Ok(matcher)
}

/// Compiles a `MATCHES` operand.
pub fn compile_matches(pattern: &str) -> Result<TextMatcher, String> {
    let pattern: String = pattern.nfc().collect();
    let translated = translate_python(&pattern);
    let text = regex::RegexBuilder::new(&translated)
        .size_limit(SIZE_LIMIT)
        .build()
        .map_err(|e| unsupported(&pattern, e))?;
    let latin1 = pattern.chars().all(|c| (c as u32) < 256);
    Ok(TextMatcher {
        text: std::sync::OnceLock::from(Some(text)),
        source: translated,
        like: None,
        bytes: std::sync::OnceLock::new(),
        latin1,
        anchored_like: false,
    })
}

/// Checks that a `MATCHES` operand is an expression we can compile, without compiling it
/// (parsing is cheap; compiling happens on first use).
pub fn check_regex(pattern: &str) -> Result<(), String> {
    let pattern: String = pattern.nfc().collect();
    regex_syntax::ParserBuilder::new()
        .build()
        .parse(&translate_python(&pattern))
        .map(|_| ())
        .map_err(|e| unsupported(&pattern, e))
}

/// Why an expression does not compile; look-around, which Python has and we refuse on
/// purpose, gets its own explanation.
fn unsupported(pattern: &str, e: impl std::fmt::Display) -> String {
    let lookaround = ["(?=", "(?!", "(?<=", "(?<!"]
        .iter()
        .any(|s| pattern.contains(s));
    if lookaround {
        "look-around assertions are not supported in MATCHES (Watchpost matches in linear time); rewrite the expression without (?= (?! (?<= (?<!".into()
    } else {
        format!("cannot compile the MATCHES expression: {e}")
    }
}

/// The same expression over bytes: characters U+0080–U+00FF stand for single bytes, as in
/// Python when it turns the expression into a bytes pattern.
fn bytes_regex(translated: &str) -> Option<regex::bytes::Regex> {
    let mut re = String::with_capacity(translated.len());
    for c in translated.chars() {
        if (c as u32) >= 0x80 {
            re.push_str(&format!("\\x{:02X}", c as u32));
        } else {
            re.push(c);
        }
    }
    regex::bytes::RegexBuilder::new(&re)
        .unicode(false)
        .size_limit(SIZE_LIMIT)
        .build()
        .ok()
}

/// Rewrites the Python-only spellings: `\Z` (end of text) and `$` outside character classes
/// (end of text or before a final newline).
fn translate_python(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('Z') => out.push_str(r"\z"),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            },
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                // A `]` right after `[` or `[^` is a literal in both dialects.
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push_str(r"\]");
                    chars.next();
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            '$' if !in_class => out.push_str(r"(?:\n?\z)"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_is_anchored_and_escapes() {
        let m = compile_like("ab%.c_").unwrap();
        assert!(m.is_match_str("abXYZ.cd"));
        assert!(!m.is_match_str("abXYZxcd"));
        assert!(m.is_match_str("ab.cd\n"));
        assert!(!m.is_match_str("zab.cd"));
    }

    #[test]
    fn like_matched_directly_agrees_with_its_expression() {
        let likes = [
            "%", "a%", "%a", "a_c", "%b%", "a%b%c", "_%_", "%.%.%", "", "a\nb",
        ];
        let values = [
            "", "a", "abc", "aXbYc", "a\nc", "abc\n", "x.y.z", "acb", "ab\n\n", "é",
        ];
        for like in likes {
            let m = compile_like(like).unwrap();
            let re = regex::Regex::new(&m.source).unwrap();
            for v in values {
                assert_eq!(m.is_match_str(v), re.is_match(v), "{like:?} on {v:?}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn like_matched_directly_agrees_on_any_input(like in "[ab%_\n.]{0,8}", value in "[ab\n.é]{0,10}") {
            let m = compile_like(&like).unwrap();
            let re = regex::Regex::new(&m.source).unwrap();
            proptest::prop_assert_eq!(m.is_match_str(&value), re.is_match(&value));
        }
    }

    #[test]
    fn matches_searches_python_style() {
        let m = compile_matches("^Final Report.+\\.exe$").unwrap();
        assert!(m.is_match_str("Final Report 2024.exe"));
        assert!(m.is_match_str("Final Report 2024.exe\n"));
        assert!(!m.is_match_str("Final Report 2024.exe.txt"));
        assert!(compile_matches("a(?=b)")
            .unwrap_err()
            .contains("look-around"));
        let b = compile_matches("\u{e9}t\u{e9}").unwrap();
        assert_eq!(b.is_match_bytes(b"\xe9t\xe9"), Ok(true));
    }

    #[test]
    fn nfc_normalisation_on_both_sides() {
        let decomposed = "e\u{301}";
        assert!(compile_matches("\u{e9}").unwrap().is_match_str(decomposed));
    }
}
