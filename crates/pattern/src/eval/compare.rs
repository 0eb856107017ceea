//! Property tests on one value, with the OASIS matcher's typing rules.
//!
//! The reference compares values by their JSON type: equality only between integers and
//! floats, strings, booleans, binary values (and a binary value with a string whose characters
//! are all below U+0100), and timestamps; ordering likewise minus booleans. Any other pairing
//! is simply unequal and unordered — `<` and `>=` are then both false — which is what makes
//! `NOT <` differ from `>=`. `IN` uses Python's equality instead, where `true == 1`. A string
//! compared with a timestamp literal must itself be a timestamp, or the match fails with an
//! error.

use super::path::Val;
use super::EvalError;
use crate::ast::Op;
use crate::cidr;
use crate::literal::{timestamp_micros, Literal};
use crate::text::TextMatcher;
use serde_json::Value;
use std::cmp::Ordering;

/// A number as the matcher sees it: Python int or float.
#[derive(Clone, Copy, Debug)]
enum Num {
    Int(i128),
    Float(f64),
}

fn num_of(v: &Value) -> Option<Num> {
    let n = match v {
        Value::Number(n) => n,
        _ => return None,
    };
    if let Some(i) = n.as_i64() {
        Some(Num::Int(i128::from(i)))
    } else if let Some(u) = n.as_u64() {
        Some(Num::Int(i128::from(u)))
    } else {
        n.as_f64().map(Num::Float)
    }
}

/// Exact comparison of Python numbers (an int and a float compare mathematically).
fn num_cmp(a: Num, b: Num) -> Option<Ordering> {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => Some(x.cmp(&y)),
        (Num::Float(x), Num::Float(y)) => x.partial_cmp(&y),
        (Num::Int(x), Num::Float(y)) => int_float_cmp(x, y),
        (Num::Float(x), Num::Int(y)) => int_float_cmp(y, x).map(Ordering::reverse),
    }
}

fn int_float_cmp(i: i128, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    if f >= 1.7e38 {
        return Some(Ordering::Less);
    }
    if f <= -1.7e38 {
        return Some(Ordering::Greater);
    }
    let whole = f.trunc();
    match i.cmp(&(whole as i128)) {
        Ordering::Equal if f > whole => Some(Ordering::Less),
        Ordering::Equal if f < whole => Some(Ordering::Greater),
        other => Some(other),
    }
}

/// A string as Latin-1 bytes, when all its characters fit (the spec's binary/string rule).
fn latin1(s: &str) -> Option<Vec<u8>> {
    s.chars().map(|c| u8::try_from(c as u32).ok()).collect()
}

fn json_timestamp(v: &Val<'_>) -> Result<Option<i64>, EvalError> {
    match v {
        Val::Json(Value::String(s)) => timestamp_micros(s)
            .map(Some)
            .map_err(|e| EvalError::input(format!("invalid timestamp in the observation: {e}"))),
        _ => Ok(None),
    }
}

/// `value = literal` with the reference's typing.
fn equals(value: &Val<'_>, lit: &Literal) -> Result<bool, EvalError> {
    Ok(match (lit, value) {
        (Literal::Timestamp(t), v) => json_timestamp(v)? == Some(*t),
        (Literal::Int(i), Val::Json(v)) => {
            matches!(num_of(v), Some(n) if num_cmp(n, Num::Int(*i)) == Some(Ordering::Equal))
        }
        (Literal::Float(f), Val::Json(v)) => {
            matches!(num_of(v), Some(n) if num_cmp(n, Num::Float(*f)) == Some(Ordering::Equal))
        }
        (Literal::Str(s), Val::Json(Value::String(v))) => v == s,
        (Literal::Str(s), Val::Bytes(b)) => latin1(s).is_some_and(|l| l == **b),
        (Literal::Bool(b), Val::Json(Value::Bool(v))) => v == b,
        (Literal::Bytes(l), Val::Bytes(b)) => **b == **l,
        (Literal::Bytes(l), Val::Json(Value::String(s))) => latin1(s).is_some_and(|v| v == *l),
        _ => false,
    })
}

/// `value <=> literal`, or `None` when the pair has no order.
fn order(value: &Val<'_>, lit: &Literal) -> Result<Option<Ordering>, EvalError> {
    Ok(match (lit, value) {
        (Literal::Timestamp(t), v) => json_timestamp(v)?.map(|x| x.cmp(t)),
        (Literal::Int(i), Val::Json(v)) => num_of(v).and_then(|n| num_cmp(n, Num::Int(*i))),
        (Literal::Float(f), Val::Json(v)) => num_of(v).and_then(|n| num_cmp(n, Num::Float(*f))),
        (Literal::Str(s), Val::Json(Value::String(v))) => Some(v.as_str().cmp(s.as_str())),
        (Literal::Str(s), Val::Bytes(b)) => latin1(s).map(|l| (**b).cmp(&l[..])),
        (Literal::Bytes(l), Val::Bytes(b)) => Some((**b).cmp(&l[..])),
        (Literal::Bytes(l), Val::Json(Value::String(s))) => latin1(s).map(|v| v.cmp(l)),
        _ => None,
    })
}

/// Python's `value in set`: numbers and booleans compare numerically (`true == 1`), strings
/// with strings, binary with binary, timestamps with timestamps; lists and dictionaries are
/// never members.
fn member(value: &Val<'_>, set: &[Literal]) -> Result<bool, EvalError> {
    if matches!(set.first(), Some(Literal::Timestamp(_))) {
        let Some(t) = json_timestamp(value)? else {
            return Ok(false);
        };
        return Ok(set
            .iter()
            .any(|l| matches!(l, Literal::Timestamp(x) if *x == t)));
    }
    let as_num = |l: &Literal| match l {
        Literal::Int(i) => Some(Num::Int(*i)),
        Literal::Float(f) => Some(Num::Float(*f)),
        Literal::Bool(b) => Some(Num::Int(i128::from(*b))),
        _ => None,
    };
    Ok(match value {
        Val::Json(Value::Bool(b)) => set
            .iter()
            .filter_map(as_num)
            .any(|n| num_cmp(Num::Int(i128::from(*b)), n) == Some(Ordering::Equal)),
        Val::Json(v @ Value::Number(_)) => {
            let Some(x) = num_of(v) else { return Ok(false) };
            set.iter()
                .filter_map(as_num)
                .any(|n| num_cmp(x, n) == Some(Ordering::Equal))
        }
        Val::Json(Value::String(s)) => set.iter().any(|l| matches!(l, Literal::Str(x) if x == s)),
        Val::Bytes(b) => set
            .iter()
            .any(|l| matches!(l, Literal::Bytes(x) if **x == **b)),
        _ => false,
    })
}

/// The compiled operand of a `LIKE` / `MATCHES` test, compiled the first time it is needed:
/// a set of a million indicators must not pay for a hundred thousand regular expressions that
/// may never be evaluated.
pub type Prepared = std::sync::OnceLock<Option<TextMatcher>>;

fn text_matcher<'p>(op: &Op, prepared: &'p Prepared) -> Option<&'p TextMatcher> {
    prepared
        .get_or_init(|| match op {
            Op::Like(s) => crate::text::compile_like(s).ok(),
            Op::Matches(s) => crate::text::compile_matches(s).ok(),
            _ => None,
        })
        .as_ref()
}

/// Whether `value` passes `op` (before `NOT`).
pub fn passes(value: &Val<'_>, op: &Op, prepared: &Prepared) -> Result<bool, EvalError> {
    Ok(match op {
        Op::Eq(l) => equals(value, l)?,
        Op::Ne(l) => !equals(value, l)?,
        Op::Lt(l) => order(value, l)? == Some(Ordering::Less),
        Op::Le(l) => matches!(order(value, l)?, Some(Ordering::Less | Ordering::Equal)),
        Op::Gt(l) => order(value, l)? == Some(Ordering::Greater),
        Op::Ge(l) => matches!(order(value, l)?, Some(Ordering::Greater | Ordering::Equal)),
        Op::In(set) => member(value, set)?,
        Op::Like(_) | Op::Matches(_) => {
            let Some(m) = text_matcher(op, prepared) else {
                return Ok(false);
            };
            match value {
                Val::Json(Value::String(s)) => m.is_match_str(s),
                Val::Bytes(b) => m.is_match_bytes(b).map_err(EvalError::input)?,
                _ => false,
            }
        }
        Op::IsSubset(net) => match value {
            Val::Json(Value::String(s)) => cidr::contains(net, s).map_err(EvalError::input)?,
            _ => false,
        },
        Op::IsSuperset(inner) => match value {
            Val::Json(Value::String(s)) => cidr::contains(s, inner).map_err(EvalError::input)?,
            _ => false,
        },
        Op::Exists => true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eq(v: Value, l: Literal) -> bool {
        equals(&Val::Json(&v), &l).unwrap()
    }

    #[test]
    fn typing_rules() {
        assert!(eq(json!(5), Literal::Float(5.0)));
        assert!(!eq(json!(true), Literal::Int(1)));
        assert!(!eq(json!("5"), Literal::Int(5)));
        assert!(eq(
            json!(9007199254740992u64),
            Literal::Float(9007199254740992.0)
        ));
        assert!(!eq(
            json!(9007199254740993u64),
            Literal::Float(9007199254740992.0)
        ));
        assert!(member(&Val::Json(&json!(true)), &[Literal::Int(1)]).unwrap());
        assert!(!member(&Val::Json(&json!([1])), &[Literal::Int(1)]).unwrap());
        assert_eq!(
            order(&Val::Json(&json!(true)), &Literal::Int(0)).unwrap(),
            None
        );
    }
}
