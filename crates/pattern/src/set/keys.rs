//! Which comparisons become index keys.
//!
//! A key is a fact an observation must show for the comparison expression `[...]` to have any
//! chance of being true. For `[file:hashes.'SHA-256' = 'ab…' AND file:size > 10]` one key is
//! enough — the equality — because a conjunction is false without it. For an `OR` every side
//! needs a key, or the expression could be true through the unkeyed side. Negated tests,
//! orderings and `EXISTS` give no key; a conjunction can still be keyed by its other terms.
//!
//! ```text
//! [a:x = 'v' AND a:y > 3]          -> {eq a:x 'v'}
//! [a:x = 'v' OR a:z IN (1, 2)]     -> {eq a:x 'v', eq a:z 1, eq a:z 2}
//! [a:x ISSUBSET '10.0.0.0/8']      -> {cidr a:x 10.0.0.0/8}
//! [a:u MATCHES '^https?://evil\.'] -> {substring a:u "://evil."}
//! [a:x != 'v' OR a:y = 1]          -> unindexed (the != side has no key)
//! ```
//!
//! Among the keys of a conjunction we prefer equality over a CIDR over a substring, and the
//! longest substring, since fewer observations carry them.

use crate::ast::{CompExpr, ObjectPath, Op, PropTest, Step};
use crate::cidr::{self, Net};
use crate::literal::Literal;

/// A value an equality index is keyed by. Numbers are one kind, because the matcher finds
/// `5`, `5.0` and — inside `IN` sets — `true` and `1` equal.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KeyValue {
    /// A string.
    Str(String),
    /// An integral number (booleans as 0 and 1).
    Int(i128),
    /// A non-integral float, by its bits.
    Float(u64),
}

impl KeyValue {
    /// The key of a JSON value of an observation, if it can equal a keyed literal.
    pub fn of_json(v: &serde_json::Value) -> Option<KeyValue> {
        match v {
            serde_json::Value::String(s) => Some(KeyValue::Str(s.clone())),
            serde_json::Value::Bool(b) => Some(KeyValue::Int(i128::from(*b))),
            serde_json::Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Some(KeyValue::Int(i128::from(i)))
                } else if let Some(u) = n.as_u64() {
                    Some(KeyValue::Int(i128::from(u)))
                } else {
                    n.as_f64().map(float_key)
                }
            }
            _ => None,
        }
    }

    fn of_literal(l: &Literal) -> Option<KeyValue> {
        match l {
            Literal::Str(s) => Some(KeyValue::Str(s.clone())),
            Literal::Int(i) => Some(KeyValue::Int(*i)),
            Literal::Float(f) => Some(float_key(*f)),
            Literal::Bool(b) => Some(KeyValue::Int(i128::from(*b))),
            Literal::Bytes(_) | Literal::Timestamp(_) => None,
        }
    }
}

fn float_key(f: f64) -> KeyValue {
    if f.fract() == 0.0 && f.abs() < 1e30 {
        KeyValue::Int(f as i128)
    } else {
        KeyValue::Float(f.to_bits())
    }
}

/// One index key of a comparison expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Key {
    /// The value at `path` equals this.
    Eq(ObjectPath, KeyValue),
    /// The address at `path` lies in this network.
    Cidr(ObjectPath, Net),
    /// The string at `path` contains this text.
    Substring(ObjectPath, String),
}

impl Key {
    /// How selective the key is likely to be: an equality on a string (an address, a hash)
    /// picks out few observations; an equality on a number (a port) many.
    fn rank(&self) -> usize {
        match self {
            Key::Eq(_, KeyValue::Str(_)) => 4,
            Key::Eq(..) => 2,
            Key::Cidr(..) => 3,
            Key::Substring(_, s) => 1 + 2 * usize::from(s.len() >= 8),
        }
    }

    /// The path the key looks at.
    pub fn path(&self) -> &ObjectPath {
        match self {
            Key::Eq(p, _) | Key::Cidr(p, _) | Key::Substring(p, _) => p,
        }
    }
}

/// The shortest literal piece worth a substring key: shorter ones match too many values.
const MIN_PIECE: usize = 3;

/// The keys of a comparison expression, or `None` when it cannot be indexed.
pub fn keys(expr: &CompExpr) -> Option<Vec<Key>> {
    match expr {
        CompExpr::Test(t) => test_keys(t),
        CompExpr::Or(items) => {
            let mut all = Vec::new();
            for item in items {
                all.extend(keys(item)?);
            }
            Some(all)
        }
        // The first of the best-ranked conjuncts; a disjunction is as good as its worst key.
        CompExpr::And(items) => items.iter().filter_map(keys).fold(None, |best, ks| {
            let rank = |ks: &Vec<Key>| {
                ks.iter().map(Key::rank).min().unwrap_or(0) * 1000 / ks.len().max(1)
            };
            match best {
                Some(b) if rank(&b) >= rank(&ks) => Some(b),
                _ => Some(ks),
            }
        }),
    }
}

fn test_keys(t: &PropTest) -> Option<Vec<Key>> {
    if t.negated || binary_path(&t.path) {
        return None;
    }
    let path = || t.path.clone();
    match &t.op {
        Op::Eq(l) => Some(vec![Key::Eq(path(), KeyValue::of_literal(l)?)]),
        Op::In(set) if !set.is_empty() => set
            .iter()
            .map(|l| KeyValue::of_literal(l).map(|k| Key::Eq(path(), k)))
            .collect(),
        Op::IsSubset(net) => match cidr::parse(net, true) {
            Ok(n) => Some(vec![Key::Cidr(path(), n)]),
            Err(_) => None,
        },
        Op::Like(like) => longest_piece(like_pieces(like)).map(|p| vec![Key::Substring(path(), p)]),
        Op::Matches(re) => longest_piece(regex_pieces(re)).map(|p| vec![Key::Substring(path(), p)]),
        _ => None,
    }
}

/// `_hex` / `_bin` values are compared as bytes, which the substring index does not see.
fn binary_path(path: &ObjectPath) -> bool {
    path.steps
        .iter()
        .any(|s| matches!(s, Step::Key(k) if k.ends_with("_hex") || k.ends_with("_bin")))
}

fn longest_piece(pieces: Vec<String>) -> Option<String> {
    pieces
        .into_iter()
        .filter(|p| p.len() >= MIN_PIECE && p.is_ascii())
        .max_by_key(String::len)
}

/// The literal runs of a `LIKE` operand, between its `%` and `_` wildcards.
fn like_pieces(like: &str) -> Vec<String> {
    like.split(['%', '_']).map(str::to_string).collect()
}

/// Literal runs every match of a regular expression must contain.
fn regex_pieces(re: &str) -> Vec<String> {
    let Ok(hir) = regex_syntax::ParserBuilder::new().build().parse(re) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    required(&hir, &mut out);
    out
}

fn required(hir: &regex_syntax::hir::Hir, out: &mut Vec<String>) {
    use regex_syntax::hir::HirKind;
    match hir.kind() {
        HirKind::Literal(lit) => out.extend(std::str::from_utf8(&lit.0).ok().map(str::to_string)),
        HirKind::Capture(c) => required(&c.sub, out),
        HirKind::Repetition(r) if r.min >= 1 => required(&r.sub, out),
        HirKind::Concat(parts) => {
            let mut run = String::new();
            for part in parts {
                match part.kind() {
                    HirKind::Literal(lit) => match std::str::from_utf8(&lit.0) {
                        Ok(s) => run.push_str(s),
                        Err(_) => out.push(std::mem::take(&mut run)),
                    },
                    // Zero-width assertions neither add nor break a run of text.
                    HirKind::Look(_) => {}
                    _ => {
                        out.push(std::mem::take(&mut run));
                        required(part, out);
                    }
                }
            }
            out.push(run);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ast::ObsExpr, Pattern};

    fn keys_of(p: &str) -> Option<Vec<Key>> {
        let pattern = Pattern::parse(p).unwrap();
        let ObsExpr::Simple(c) = pattern.root() else {
            panic!("simple")
        };
        keys(c)
    }

    fn pieces(p: &str) -> Vec<String> {
        keys_of(p)
            .unwrap()
            .into_iter()
            .map(|k| match k {
                Key::Substring(_, s) => s,
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn conjunctions_take_the_best_key_disjunctions_need_all() {
        let k = keys_of("[file:size > 10 AND file:name = 'a.exe']").unwrap();
        assert!(matches!(&k[..], [Key::Eq(_, KeyValue::Str(s))] if s == "a.exe"));
        let k = keys_of(
            "[network-traffic:dst_port = 4444 AND network-traffic:dst_ref.value = '203.0.113.5']",
        )
        .unwrap();
        assert!(matches!(&k[..], [Key::Eq(_, KeyValue::Str(_))]), "{k:?}");
        assert_eq!(
            keys_of("[a:x = 'v' OR a:y IN (1, 2.0, 3)]").unwrap().len(),
            4
        );
        assert!(keys_of("[a:x != 'v' OR a:y = 1]").is_none());
        assert!(keys_of("[a:x NOT = 'v']").is_none());
        assert!(matches!(
            &keys_of("[a:x ISSUBSET '10.0.0.0/8']").unwrap()[..],
            [Key::Cidr(..)]
        ));
    }

    #[test]
    fn literal_pieces_of_like_and_matches() {
        assert_eq!(
            pieces("[url:value LIKE 'http://%/gate.php']"),
            ["/gate.php"]
        );
        assert_eq!(
            pieces("[url:value MATCHES '^https?://evil\\\\.example/']"),
            ["://evil.example/"]
        );
        assert!(keys_of("[url:value MATCHES '(?i)evil']").is_none());
        assert!(keys_of("[url:value MATCHES 'a|bcd']").is_none());
    }
}
