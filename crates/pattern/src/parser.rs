//! A recursive-descent parser for the STIX patterning grammar, with errors that name the column
//! and what was expected.
//!
//! Precedence, loosest first: `FOLLOWEDBY`, `OR`, `AND` between observation expressions, then
//! qualifiers (postfix, any number); inside `[…]`, `OR` then `AND` between property tests.
//! Nesting is limited to [`MAX_DEPTH`] levels so a hostile pattern cannot exhaust the stack.

use crate::ast::{CompExpr, ObjectPath, ObsExpr, Op, PropTest, Qualifier, Step, Version};
use crate::error::PatternError;
use crate::lexer::{lex, Tok, Token};
use crate::literal::{self, Literal};

/// The deepest nesting of parentheses and brackets accepted. Real patterns nest a handful of
/// levels; the limit only stops input crafted to exhaust the stack.
pub const MAX_DEPTH: usize = 256;

/// Parses a pattern of `version` into its syntax tree (no semantic checks).
pub fn parse(text: &str, version: Version) -> Result<ObsExpr, PatternError> {
    let tokens = lex(text)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        depth: 0,
        version,
    };
    if p.peek() == &Tok::Eof {
        return Err(PatternError::syntax(1, "the pattern is empty; expected an observation expression such as [ipv4-addr:value = '198.51.100.1']"));
    }
    let root = p.followed_by()?;
    match p.peek() {
        Tok::Eof => Ok(root),
        other => Err(p.error_here(format!(
            "expected AND, OR, FOLLOWEDBY, a qualifier or the end of the pattern, found {}",
            describe(other)
        ))),
    }
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
    version: Version,
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Int(s) | Tok::Float(s) => format!("the number {s}"),
        Tok::Hex(_) => "a hex literal".into(),
        Tok::Binary(_) => "a binary literal".into(),
        Tok::Str(s) => format!("the string '{}'", s.chars().take(40).collect::<String>()),
        Tok::Bool(b) => format!("`{b}`"),
        Tok::Timestamp(_) => "a timestamp".into(),
        Tok::Ident(s) | Tok::IdentHyphen(s) => format!("`{s}`"),
        Tok::Sym(s) => format!("`{s}`"),
        Tok::Invalid(c) => format!("`{c}`, which cannot appear in a pattern outside a string"),
        Tok::Eof => "the end of the pattern".into(),
    }
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.tokens[self.pos].tok
    }

    fn column(&self) -> usize {
        self.tokens[self.pos].column
    }

    fn bump(&mut self) -> Token {
        let t = self.tokens[self.pos].clone();
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
        t
    }

    /// Takes the current token when `f` accepts it.
    fn take<T>(&mut self, f: impl FnOnce(&Tok) -> Option<T>) -> Option<T> {
        let out = f(self.peek());
        if out.is_some() {
            self.bump();
        }
        out
    }

    fn eat(&mut self, sym: &str) -> bool {
        if matches!(self.peek(), Tok::Sym(s) if *s == sym) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn error_here(&self, message: String) -> PatternError {
        PatternError::syntax(self.column(), message)
    }

    fn expected(&self, what: &str) -> PatternError {
        self.error_here(format!("expected {what}, found {}", describe(self.peek())))
    }

    fn enter(&mut self) -> Result<(), PatternError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_here(format!(
                "the pattern nests more than {MAX_DEPTH} levels of parentheses and brackets"
            )));
        }
        Ok(())
    }

    /// A left-associative chain of `operand (keyword operand)*` as one n-ary node.
    fn chain<T>(
        &mut self,
        keyword: &str,
        mut operand: impl FnMut(&mut Self) -> Result<T, PatternError>,
        build: impl FnOnce(Vec<T>) -> T,
    ) -> Result<T, PatternError> {
        let mut items = vec![operand(self)?];
        while self.eat(keyword) {
            items.push(operand(self)?);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or_else(|| unreachable!("one item"))
        } else {
            build(items)
        })
    }

    fn followed_by(&mut self) -> Result<ObsExpr, PatternError> {
        self.chain("FOLLOWEDBY", Self::obs_or, ObsExpr::FollowedBy)
    }

    fn obs_or(&mut self) -> Result<ObsExpr, PatternError> {
        self.chain("OR", Self::obs_and, ObsExpr::Or)
    }

    fn obs_and(&mut self) -> Result<ObsExpr, PatternError> {
        self.chain("AND", Self::observation, ObsExpr::And)
    }

    fn observation(&mut self) -> Result<ObsExpr, PatternError> {
        let open = self.column();
        let mut expr = if self.eat("[") {
            self.enter()?;
            let comparison = self.comp_or()?;
            if !self.eat("]") {
                return Err(self.expected_close("]", "observation expression", open));
            }
            self.depth -= 1;
            ObsExpr::Simple(comparison)
        } else if self.eat("(") {
            self.enter()?;
            let inner = self.followed_by()?;
            if !self.eat(")") {
                return Err(self.expected_close(")", "parenthesised observation expression", open));
            }
            self.depth -= 1;
            ObsExpr::Group(Box::new(inner))
        } else {
            return Err(self.expected("'[' to start an observation expression"));
        };
        while let Some(q) = self.qualifier()? {
            expr = ObsExpr::Qualified(Box::new(expr), q);
        }
        Ok(expr)
    }

    fn expected_close(&self, close: &str, what: &str, open: usize) -> PatternError {
        self.error_here(format!(
            "expected '{close}' to close the {what} opened at column {open}, found {}",
            describe(self.peek())
        ))
    }

    fn qualifier(&mut self) -> Result<Option<Qualifier>, PatternError> {
        let column = self.column();
        if self.eat("WITHIN") {
            let seconds = self.take(|t| match t {
                Tok::Int(s) | Tok::Float(s) if !s.starts_with('-') => {
                    Some(s.parse::<f64>().unwrap_or(f64::MAX))
                }
                _ => None,
            });
            let Some(seconds) = seconds else {
                return Err(self.expected("a positive number of seconds after WITHIN"));
            };
            if !self.eat("SECONDS") {
                return Err(self.expected("SECONDS (the only unit of WITHIN)"));
            }
            if seconds <= 0.0 {
                return Err(PatternError::semantic(
                    column,
                    "WITHIN needs a positive number of seconds",
                ));
            }
            let micros = (seconds * 1e6).round().min(i64::MAX as f64) as i64;
            return Ok(Some(Qualifier::Within { micros, column }));
        }
        if self.eat("REPEATS") {
            let times = self.take(|t| match t {
                Tok::Int(s) if !s.starts_with('-') => Some(s.parse::<u64>().unwrap_or(u64::MAX)),
                _ => None,
            });
            let Some(times) = times else {
                return Err(self.expected("a positive integer after REPEATS"));
            };
            if !self.eat("TIMES") {
                return Err(self.expected("TIMES after the REPEATS count"));
            }
            if times == 0 {
                return Err(PatternError::semantic(
                    column,
                    "REPEATS needs a count of at least 1",
                ));
            }
            return Ok(Some(Qualifier::Repeats { times, column }));
        }
        if self.eat("START") {
            let start = self.qualifier_time("START")?;
            if !self.eat("STOP") {
                return Err(self.expected("STOP after the START time"));
            }
            let stop = self.qualifier_time("STOP")?;
            return Ok(Some(Qualifier::StartStop {
                start,
                stop,
                column,
            }));
        }
        Ok(None)
    }

    /// STIX 2.1 writes START/STOP times as `t'…'`; STIX 2.0 as plain strings.
    fn qualifier_time(&mut self, keyword: &str) -> Result<i64, PatternError> {
        let column = self.column();
        let version = self.version;
        // STIX 2.0 wrote these times as plain strings; later 2.0 grammars (and every 2.1
        // one) use `t'…'`. A 2.0 pattern may use either.
        let text = self.take(|t| match (version, t) {
            (_, Tok::Timestamp(t)) | (Version::V20, Tok::Str(t)) => Some(t.clone()),
            _ => None,
        });
        let text = match text {
            Some(t) => t,
            None => {
                let want = match self.version {
                    Version::V21 => "a timestamp literal t'…'",
                    Version::V20 => "a timestamp string '…'",
                };
                return Err(self.expected(&format!("{want} after {keyword}")));
            }
        };
        literal::timestamp_micros(&text)
            .map_err(|e| PatternError::semantic(column, format!("invalid {keyword} time: {e}")))
    }

    fn comp_or(&mut self) -> Result<CompExpr, PatternError> {
        self.chain("OR", Self::comp_and, CompExpr::Or)
    }

    fn comp_and(&mut self) -> Result<CompExpr, PatternError> {
        self.chain("AND", Self::prop_test, CompExpr::And)
    }

    fn prop_test(&mut self) -> Result<CompExpr, PatternError> {
        let open = self.column();
        if self.eat("(") {
            self.enter()?;
            let inner = self.comp_or()?;
            if !self.eat(")") {
                return Err(self.expected_close(")", "parenthesised comparison", open));
            }
            self.depth -= 1;
            return Ok(inner);
        }
        let column = self.column();
        let exists_negated = self.eat("NOT");
        if self.version == Version::V21 && self.eat("EXISTS") {
            let path = self.object_path()?;
            return Ok(CompExpr::Test(PropTest {
                path,
                negated: exists_negated,
                op: Op::Exists,
                column,
            }));
        }
        if exists_negated {
            return Err(self.expected("EXISTS after NOT (NOT goes after the object path)"));
        }
        let path = self.object_path()?;
        let negated = self.eat("NOT");
        let op = self.operator()?;
        Ok(CompExpr::Test(PropTest {
            path,
            negated,
            op,
            column,
        }))
    }

    fn object_path(&mut self) -> Result<ObjectPath, PatternError> {
        let object_type = self.take(|t| match t {
            Tok::Ident(t) | Tok::IdentHyphen(t) => Some(t.clone()),
            _ => None,
        });
        let Some(object_type) = object_type else {
            return Err(self.expected("an object path such as file:name"));
        };
        if !self.eat(":") {
            return Err(self.expected(&format!("':' after the object type `{object_type}`")));
        }
        let mut steps = vec![match self.key() {
            Some(k) => Step::Key(k),
            None => return Err(self.bad_key(&format!("a property name after `{object_type}:`"))),
        }];
        loop {
            if self.eat(".") {
                match self.key() {
                    Some(k) => steps.push(Step::Key(k)),
                    None => return Err(self.bad_key("a property name or quoted key after '.'")),
                }
            } else if matches!(self.peek(), Tok::Sym("[")) {
                self.bump();
                let step = self.take(|t| match t {
                    Tok::Int(n) => Some(Step::Index(n.parse().unwrap_or(i64::MAX))),
                    Tok::Sym("*") => Some(Step::AnyIndex),
                    _ => None,
                });
                let Some(step) = step else {
                    return Err(self.expected("a list index or * inside [ ]"));
                };
                if !self.eat("]") {
                    return Err(self.expected("']' after the list index"));
                }
                steps.push(step);
            } else {
                return Ok(ObjectPath { object_type, steps });
            }
        }
    }

    fn key(&mut self) -> Option<String> {
        self.take(|t| match t {
            Tok::Ident(k) | Tok::Str(k) => Some(k.clone()),
            _ => None,
        })
    }

    fn bad_key(&self, what: &str) -> PatternError {
        match self.peek() {
            Tok::IdentHyphen(k) => self.error_here(format!(
                "`{k}` is not a property name; quote names with hyphens: '{k}'"
            )),
            _ => self.expected(what),
        }
    }

    fn operator(&mut self) -> Result<Op, PatternError> {
        const OPS: [&str; 13] = [
            "=",
            "==",
            "!=",
            "<>",
            "<",
            "<=",
            ">",
            ">=",
            "IN",
            "LIKE",
            "MATCHES",
            "ISSUBSET",
            "ISSUPERSET",
        ];
        let sym = self.take(|t| match t {
            Tok::Sym(s) if OPS.contains(s) => Some(*s),
            _ => None,
        });
        let Some(sym) = sym else {
            return Err(self.expected("a comparison operator (=, !=, <, <=, >, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET)"));
        };
        Ok(match sym {
            "=" | "==" => Op::Eq(self.literal(true)?),
            "!=" | "<>" => Op::Ne(self.literal(true)?),
            "<" => Op::Lt(self.literal(false)?),
            "<=" => Op::Le(self.literal(false)?),
            ">" => Op::Gt(self.literal(false)?),
            ">=" => Op::Ge(self.literal(false)?),
            "IN" => Op::In(self.set()?),
            "LIKE" => Op::Like(self.string_operand("LIKE")?),
            "MATCHES" => Op::Matches(self.string_operand("MATCHES")?),
            "ISSUBSET" => Op::IsSubset(self.string_operand("ISSUBSET")?),
            _ => Op::IsSuperset(self.string_operand("ISSUPERSET")?),
        })
    }

    fn string_operand(&mut self, op: &str) -> Result<String, PatternError> {
        let s = self.take(|t| match t {
            Tok::Str(s) => Some(s.clone()),
            _ => None,
        });
        s.ok_or_else(|| self.expected(&format!("a quoted string after {op}")))
    }

    fn literal(&mut self, allow_bool: bool) -> Result<Literal, PatternError> {
        let column = self.column();
        let tok = self.peek().clone();
        let lit = match tok {
            Tok::Int(s) => Literal::Int(s.parse().map_err(|_| {
                PatternError::semantic(column, format!("the integer {s} is too large"))
            })?),
            Tok::Float(s) => Literal::Float(s.parse().unwrap_or(f64::INFINITY)),
            Tok::Str(s) => Literal::Str(s),
            Tok::Bool(b) if allow_bool => Literal::Bool(b),
            Tok::Hex(h) => Literal::Bytes(literal::hex(&h, column)?),
            Tok::Binary(b) => Literal::Bytes(literal::base64(&b)),
            Tok::Timestamp(t) => {
                Literal::Timestamp(literal::timestamp_micros(&t).map_err(|e| {
                    PatternError::semantic(column, format!("invalid timestamp: {e}"))
                })?)
            }
            _ => {
                let what = if allow_bool {
                    "a literal value"
                } else {
                    "an orderable literal (number, string, binary or timestamp)"
                };
                return Err(self.expected(what));
            }
        };
        self.bump();
        Ok(lit)
    }

    fn set(&mut self) -> Result<Vec<Literal>, PatternError> {
        let open = self.column();
        if !self.eat("(") {
            return Err(self.expected("'(' to open the set of values after IN"));
        }
        let mut items = Vec::new();
        if self.eat(")") {
            return Ok(items);
        }
        loop {
            items.push(self.literal(true)?);
            if self.eat(")") {
                return Ok(items);
            }
            if !self.eat(",") {
                return Err(self.expected_close(")", "set", open));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(p: &str) -> String {
        parse(p, Version::V21).unwrap_err().to_string()
    }

    #[test]
    fn parses_the_whole_grammar() {
        for p in [
            "[file:hashes.'SHA-256' = 'abc' AND file:size > 10] FOLLOWEDBY [ipv4-addr:value ISSUBSET '10.0.0.0/8']",
            "([a:b[*].c = 1] OR [a:b[0] != 'x']) WITHIN 5 SECONDS REPEATS 2 TIMES",
            "[a:b IN (1, 2.5, 'x', true)] START t'2016-01-01T00:00:00Z' STOP t'2017-01-01T00:00:00Z'",
            "[NOT EXISTS a:b] AND [EXISTS a:c.d]",
            "[a:x_bin = b'AAE=' OR a:y_hex = h'00ff' OR (a:z LIKE 'a%' AND a:w MATCHES '^x')]",
            "[a:b NOT IN ()] /* comment */ // line comment",
        ] {
            parse(p, Version::V21).unwrap_or_else(|e| panic!("{p}: {e}"));
        }
    }

    #[test]
    fn errors_name_the_column() {
        assert_eq!(
            err("[file:size = 1280"),
            "column 18: expected ']' to close the observation expression opened at column 1, found the end of the pattern"
        );
        assert!(err("file:size = 1280").starts_with("column 1: expected '[' to start"));
        assert!(err("[file:size = ]").starts_with("column 14: expected a literal value"));
        assert!(err("[foo:bar=1] within 2 seconds").starts_with("column 13:"));
        assert!(err("[a:b = 1] WITHIN 0 SECONDS").contains("positive number"));
    }

    #[test]
    fn deep_nesting_is_refused_not_a_crash() {
        let p = format!("{}[a:b = 1]{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(err(&p).contains("nests more than"));
    }
}
