//! Semantic checks after parsing, as the OASIS pattern validator and matcher make them:
//! hash literals must look like their algorithm's digests, a qualifier type may not repeat on one
//! observation expression, a set holds values of one type, a regular expression must compile.

use crate::ast::{CompExpr, ObsExpr, Op, PropTest, Qualifier, Step};
use crate::error::PatternError;
use crate::literal::Literal;
use crate::text::check_regex;

/// Which rules to apply: the matcher's (what it cannot evaluate) or also the validator's
/// (what the specification forbids even where a matcher could cope).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Rules {
    /// Mixed-type sets, regular expressions that do not compile.
    Matcher,
    /// Those, plus malformed hash literals and repeated qualifiers.
    Validator,
}

/// Runs the checks of `rules` over the tree.
pub fn check(root: &ObsExpr, rules: Rules) -> Result<(), PatternError> {
    check_obs(root, rules)
}

fn check_obs(expr: &ObsExpr, rules: Rules) -> Result<(), PatternError> {
    match expr {
        ObsExpr::Simple(c) => check_comp(c, rules),
        ObsExpr::Group(inner) => check_obs(inner, rules),
        ObsExpr::And(items) | ObsExpr::Or(items) | ObsExpr::FollowedBy(items) => {
            items.iter().try_for_each(|i| check_obs(i, rules))
        }
        ObsExpr::Qualified(..) => {
            if rules == Rules::Validator {
                check_duplicate_qualifiers(expr)?;
            }
            let mut inner = expr;
            while let ObsExpr::Qualified(e, _) = inner {
                inner = e;
            }
            check_obs(inner, rules)
        }
    }
}

/// Qualifiers written directly one after another on an observation expression must be of
/// different types; parentheses start a new expression (the validator's rule).
fn check_duplicate_qualifiers(expr: &ObsExpr) -> Result<(), PatternError> {
    let mut seen: Vec<&Qualifier> = Vec::new();
    let mut inner = expr;
    while let ObsExpr::Qualified(e, q) = inner {
        seen.push(q);
        inner = e;
    }
    if !matches!(inner, ObsExpr::Simple(_)) {
        return Ok(());
    }
    // `seen` is outermost first; report the first repetition in reading order.
    for (i, q) in seen.iter().enumerate().rev() {
        if seen[i + 1..].iter().any(|p| p.name() == q.name()) {
            return Err(PatternError::semantic(
                qualifier_column(q),
                format!(
                    "duplicate {} qualifier on one observation expression; wrap the expression in parentheses to apply it again",
                    q.name()
                ),
            ));
        }
    }
    Ok(())
}

fn qualifier_column(q: &Qualifier) -> usize {
    match q {
        Qualifier::Within { column, .. }
        | Qualifier::Repeats { column, .. }
        | Qualifier::StartStop { column, .. } => *column,
    }
}

fn check_comp(expr: &CompExpr, rules: Rules) -> Result<(), PatternError> {
    match expr {
        CompExpr::And(items) | CompExpr::Or(items) => {
            items.iter().try_for_each(|i| check_comp(i, rules))
        }
        CompExpr::Test(t) => check_test(t, rules),
    }
}

fn check_test(t: &PropTest, rules: Rules) -> Result<(), PatternError> {
    if rules == Rules::Validator {
        check_hash(t)?;
    }
    match &t.op {
        Op::In(items) => check_set(items, t.column),
        Op::Matches(re) => check_regex(re).map_err(|e| PatternError::semantic(t.column, e)),
        _ => Ok(()),
    }
}

/// The matcher refuses sets that mix types, except integers with floats.
fn check_set(items: &[Literal], column: usize) -> Result<(), PatternError> {
    let numeric = |l: &Literal| matches!(l, Literal::Int(_) | Literal::Float(_));
    let Some(first) = items.first() else {
        return Ok(());
    };
    let same = items.iter().all(|l| l.type_name() == first.type_name());
    if same || items.iter().all(numeric) {
        Ok(())
    } else {
        Err(PatternError::semantic(
            column,
            "the values of an IN set must all have one type (numbers may mix integers and floats)",
        ))
    }
}

/// Digest shapes the OASIS validator knows, by normalised algorithm name (upper case, no
/// hyphens): (hex length, display name). SSDEEP and MD6 have their own rules below.
const HASHES: [(&str, usize, &str); 12] = [
    ("MD5", 32, "MD5"),
    ("RIPEMD160", 40, "RIPEMD-160"),
    ("SHA1", 40, "SHA-1"),
    ("SHA224", 56, "SHA-224"),
    ("SHA256", 64, "SHA-256"),
    ("SHA384", 96, "SHA-384"),
    ("SHA512", 128, "SHA-512"),
    ("SHA3224", 56, "SHA3-224"),
    ("SHA3256", 64, "SHA3-256"),
    ("SHA3384", 96, "SHA3-384"),
    ("SHA3512", 128, "SHA3-512"),
    ("WHIRLPOOL", 128, "WHIRLPOOL"),
];

/// A string compared with `…hashes.<algorithm>` must be a digest of that algorithm.
fn check_hash(t: &PropTest) -> Result<(), PatternError> {
    let in_hashes = t
        .path
        .steps
        .iter()
        .any(|s| matches!(s, Step::Key(k) if k == "hashes"));
    let (Some(Step::Key(algo)), true) = (t.path.steps.last(), in_hashes) else {
        return Ok(());
    };
    let value = match &t.op {
        Op::Eq(Literal::Str(s))
        | Op::Ne(Literal::Str(s))
        | Op::Lt(Literal::Str(s))
        | Op::Le(Literal::Str(s))
        | Op::Gt(Literal::Str(s))
        | Op::Ge(Literal::Str(s))
        | Op::Like(s)
        | Op::Matches(s)
        | Op::IsSubset(s)
        | Op::IsSuperset(s) => s,
        _ => return Ok(()),
    };
    let norm = algo.to_uppercase().replace(['-', '\''], "");
    let value = value.replace('\'', "");
    let hex_prefix = value.bytes().take_while(u8::is_ascii_hexdigit).count();
    let ok = match norm.as_str() {
        "SSDEEP" => {
            !value.is_empty()
                && value.len() <= 128
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/+:.".contains(&b))
        }
        // The validator's MD6 expression accepts any value starting with 32 hex digits.
        "MD6" => hex_prefix >= 32,
        _ => match HASHES.iter().find(|(n, _, _)| *n == norm) {
            Some((_, len, _)) => hex_prefix == *len && value.len() == *len,
            None => true,
        },
    };
    if ok {
        return Ok(());
    }
    let name = HASHES
        .iter()
        .find(|(n, _, _)| *n == norm)
        .map_or(algo.as_str(), |(_, _, display)| display);
    Err(PatternError::semantic(
        t.column,
        format!("'{value}' is not a valid {name} hash"),
    ))
}
