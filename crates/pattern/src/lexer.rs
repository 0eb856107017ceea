//! Tokens of the STIX patterning language (STIX 2.1 part 9, the OASIS ANTLR grammar).
//!
//! The lexer follows the grammar's rules exactly, including their quirks, because the set of
//! patterns we accept must be the set the OASIS tools accept: keywords are upper case except
//! `true`/`false`; `=` and `==`, `!=` and `<>` are synonyms; an identifier may contain hyphens
//! (object types) or not (property names); `t'…'`, `h'…'` and `b'…'` are literals only when
//! their content has the literal's shape, and otherwise lex as an identifier followed by a
//! string, which the parser then rejects.

use crate::error::PatternError;

/// A token kind.
#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    /// `123`, `+123`, `-123` (the text without a leading `+`).
    Int(String),
    /// `1.5`, `-.5`.
    Float(String),
    /// `h'00ff'` (the hex digits).
    Hex(String),
    /// `b'AAE='` (the base64 text).
    Binary(String),
    /// `'text'`, unescaped.
    Str(String),
    /// `true` / `false`.
    Bool(bool),
    /// `t'2016-01-01T00:00:00Z'` (the timestamp text).
    Timestamp(String),
    /// An identifier without hyphens: property names and most object types.
    Ident(String),
    /// An identifier with hyphens: object types like `ipv4-addr`.
    IdentHyphen(String),
    /// A keyword (`AND`, `FOLLOWEDBY`…), or punctuation (`[`, `<=`…), by its text.
    Sym(&'static str),
    /// A character no token starts with; the parser reports it where it expected something.
    Invalid(char),
    /// The end of the pattern.
    Eof,
}

/// A token and the 1-based column (in characters) where it starts.
#[derive(Clone, Debug)]
pub struct Token {
    /// What it is.
    pub tok: Tok,
    /// Where it starts.
    pub column: usize,
}

const KEYWORDS: [&str; 18] = [
    "AND",
    "OR",
    "NOT",
    "FOLLOWEDBY",
    "LIKE",
    "MATCHES",
    "ISSUPERSET",
    "ISSUBSET",
    "EXISTS",
    "LAST",
    "IN",
    "START",
    "STOP",
    "SECONDS",
    "WITHIN",
    "REPEATS",
    "TIMES",
    "true",
];

/// Splits a pattern into tokens.
pub fn lex(text: &str) -> Result<Vec<Token>, PatternError> {
    let chars: Vec<char> = text.chars().collect();
    let mut lexer = Lexer { chars, pos: 0 };
    let mut out = Vec::new();
    loop {
        lexer.skip_trivia()?;
        let column = lexer.pos + 1;
        let Some(tok) = lexer.next_token()? else {
            out.push(Token {
                tok: Tok::Eof,
                column,
            });
            return Ok(out);
        };
        out.push(Token { tok, column });
    }
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
}

/// The grammar's whitespace: ASCII space and controls plus the Unicode spaces it lists.
fn is_ws(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t'
            | '\r'
            | '\n'
            | '\u{0b}'
            | '\u{0c}'
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'
            ..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}'
    )
}

impl Lexer {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn skip_trivia(&mut self) -> Result<(), PatternError> {
        loop {
            match (self.peek(0), self.peek(1)) {
                (Some(c), _) if is_ws(c) => self.pos += 1,
                (Some('/'), Some('*')) => {
                    let start = self.pos;
                    self.pos += 2;
                    loop {
                        match (self.peek(0), self.peek(1)) {
                            (Some('*'), Some('/')) => {
                                self.pos += 2;
                                break;
                            }
                            (Some(_), _) => self.pos += 1,
                            (None, _) => {
                                return Err(PatternError::syntax(
                                    start + 1,
                                    "the comment opened here is never closed with */",
                                ))
                            }
                        }
                    }
                }
                (Some('/'), Some('/')) => {
                    while self.peek(0).is_some_and(|c| c != '\r' && c != '\n') {
                        self.pos += 1;
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn next_token(&mut self) -> Result<Option<Tok>, PatternError> {
        let Some(c) = self.peek(0) else {
            return Ok(None);
        };
        let start = self.pos;
        let tok = match c {
            '\'' => Tok::Str(self.string(start)?),
            't' | 'h' | 'b' if self.peek(1) == Some('\'') => self.prefixed_literal(c),
            '0'..='9' | '+' | '-' | '.' if self.number_ahead() => self.number(),
            c if c.is_ascii_alphabetic() || c == '_' => self.identifier(),
            _ => self.punctuation(start)?,
        };
        Ok(Some(tok))
    }

    /// A quoted string from `start` (the opening quote), with `\'` and `\\` unescaped.
    fn string(&mut self, start: usize) -> Result<String, PatternError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek(0) {
                None => {
                    return Err(PatternError::syntax(
                        start + 1,
                        "the string opened here is never closed with '",
                    ))
                }
                Some('\'') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('\\') => match self.peek(1) {
                    Some(e @ ('\'' | '\\')) => {
                        out.push(e);
                        self.pos += 2;
                    }
                    _ => {
                        return Err(PatternError::syntax(
                            self.pos + 1,
                            "only \\' and \\\\ may be escaped in a string",
                        ))
                    }
                },
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// `t'…'`, `h'…'`, `b'…'` when the quoted text has the literal's shape; otherwise the
    /// letter is an identifier (and the string that follows a separate token), as in the
    /// grammar, so the parser reports the misplaced string.
    fn prefixed_literal(&mut self, prefix: char) -> Tok {
        let body_start = self.pos + 2;
        let mut end = body_start;
        while let Some(c) = self.chars.get(end) {
            if *c == '\'' {
                break;
            }
            end += 1;
        }
        if end < self.chars.len() {
            let body: String = self.chars[body_start..end].iter().collect();
            let shaped = match prefix {
                't' => timestamp_shape(&body),
                'h' => body.len() % 2 == 0 && body.chars().all(|c| c.is_ascii_hexdigit()),
                _ => base64_shape(&body),
            };
            if shaped {
                self.pos = end + 1;
                return match prefix {
                    't' => Tok::Timestamp(body),
                    'h' => Tok::Hex(body),
                    _ => Tok::Binary(body),
                };
            }
        }
        self.pos += 1;
        Tok::Ident(prefix.to_string())
    }

    /// Whether a number literal starts here (`+`/`-` alone are punctuation).
    fn number_ahead(&self) -> bool {
        let mut i = self.pos;
        if matches!(self.chars.get(i), Some('+' | '-')) {
            i += 1;
        }
        match self.chars.get(i) {
            Some(c) if c.is_ascii_digit() => true,
            Some('.') => self.chars.get(i + 1).is_some_and(char::is_ascii_digit),
            _ => false,
        }
    }

    /// IntLiteral `[+-]?('0'|[1-9][0-9]*)` or FloatLiteral `[+-]?[0-9]*'.'[0-9]+`, longest
    /// match first as ANTLR does: `01` is the integer `0` followed by the integer `1`.
    fn number(&mut self) -> Tok {
        let start = self.pos;
        let sign = match self.peek(0) {
            Some(s @ ('+' | '-')) => {
                self.pos += 1;
                Some(s)
            }
            _ => None,
        };
        let digits_start = self.pos;
        while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let int_end = self.pos;
        if self.peek(0) == Some('.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
            while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1;
            }
            let text: String = self.chars[start..self.pos].iter().collect();
            return Tok::Float(text.trim_start_matches('+').to_string());
        }
        // An integer may not have leading zeros: take just the `0`.
        let int_digits = &self.chars[digits_start..int_end];
        if int_digits.len() > 1 && int_digits[0] == '0' {
            self.pos = digits_start + 1;
        }
        let body: String = self.chars[digits_start..self.pos].iter().collect();
        Tok::Int(if sign == Some('-') {
            format!("-{body}")
        } else {
            body
        })
    }

    fn identifier(&mut self) -> Tok {
        let start = self.pos;
        while self
            .peek(0)
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            self.pos += 1;
        }
        let plain_end = self.pos;
        while self
            .peek(0)
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        if self.pos > plain_end {
            return Tok::IdentHyphen(text);
        }
        match text.as_str() {
            "true" => Tok::Bool(true),
            "false" => Tok::Bool(false),
            kw => match KEYWORDS.iter().find(|k| **k == kw) {
                Some(k) => Tok::Sym(k),
                None => Tok::Ident(text),
            },
        }
    }

    fn punctuation(&mut self, start: usize) -> Result<Tok, PatternError> {
        const TWO: [&str; 5] = ["==", "!=", "<>", "<=", ">="];
        const ONE: [&str; 14] = [
            "=", "<", ">", ":", ".", ",", ")", "(", "]", "[", "+", "-", "^", "/",
        ];
        let two: String = self.chars[start..(start + 2).min(self.chars.len())]
            .iter()
            .collect();
        if let Some(t) = TWO.iter().find(|t| **t == two) {
            self.pos += 2;
            return Ok(Tok::Sym(t));
        }
        let one = self.chars[start].to_string();
        if let Some(t) = ONE.iter().chain(["*"].iter()).find(|t| **t == one) {
            self.pos += 1;
            return Ok(Tok::Sym(t));
        }
        self.pos += 1;
        Ok(Tok::Invalid(self.chars[start]))
    }
}

/// The grammar's TimestampLiteral body: `YYYY-MM-DDTHH:MM:SS(.s+)?Z` with month 01–12, day
/// 01–31, hour 00–23, minute 00–59, second 00–60 (the calendar is checked later).
fn timestamp_shape(s: &str) -> bool {
    let b = s.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let two = |i: usize| u32::from(b[i] - b'0') * 10 + u32::from(b[i + 1] - b'0');
    if b.len() < 20 || !(0..4).all(digit) || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' {
        return false;
    }
    if b[13] != b':' || b[16] != b':' || b[b.len() - 1] != b'Z' {
        return false;
    }
    if ![5, 6, 8, 9, 11, 12, 14, 15, 17, 18].into_iter().all(digit) {
        return false;
    }
    let frac = &b[19..b.len() - 1];
    let frac_ok = frac.is_empty()
        || (frac[0] == b'.' && frac.len() > 1 && frac[1..].iter().all(u8::is_ascii_digit));
    frac_ok
        && (1..=12).contains(&two(5))
        && (1..=31).contains(&two(8))
        && two(11) <= 23
        && two(14) <= 59
        && two(17) <= 60
}

/// The grammar's BinaryLiteral body: groups of four base64 characters, the last possibly
/// padded; at least one group.
fn base64_shape(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || b.len() % 4 != 0 {
        return false;
    }
    let pad = b.iter().rev().take_while(|c| **c == b'=').count();
    pad <= 2
        && b[..b.len() - pad]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn literals_and_keywords() {
        assert_eq!(
            toks("[file:size >= -12 AND x:y == 1.5]"),
            [
                Tok::Sym("["),
                Tok::Ident("file".into()),
                Tok::Sym(":"),
                Tok::Ident("size".into()),
                Tok::Sym(">="),
                Tok::Int("-12".into()),
                Tok::Sym("AND"),
                Tok::Ident("x".into()),
                Tok::Sym(":"),
                Tok::Ident("y".into()),
                Tok::Sym("=="),
                Tok::Float("1.5".into()),
                Tok::Sym("]"),
                Tok::Eof
            ]
        );
        assert_eq!(toks("'it\\'s'")[0], Tok::Str("it's".into()));
        assert_eq!(
            toks("t'2016-01-01T00:00:00Z'")[0],
            Tok::Timestamp("2016-01-01T00:00:00Z".into())
        );
        assert_eq!(toks("t'2016-13-01T00:00:00Z'")[0], Tok::Ident("t".into()));
        assert_eq!(toks("b'AAE='")[0], Tok::Binary("AAE=".into()));
        assert_eq!(toks("b'===='")[0], Tok::Ident("b".into()));
        assert_eq!(toks("ipv4-addr")[0], Tok::IdentHyphen("ipv4-addr".into()));
        assert_eq!(toks("within")[0], Tok::Ident("within".into()));
        assert_eq!(
            toks("01"),
            [Tok::Int("0".into()), Tok::Int("1".into()), Tok::Eof]
        );
    }

    #[test]
    fn columns_count_characters() {
        let t = lex("[a:b = 'ắắ'] AND").unwrap();
        assert_eq!(t[5].tok, Tok::Str("ắắ".into()));
        assert_eq!(t[7].column, 14);
    }
}
