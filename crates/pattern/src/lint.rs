//! Warnings: what the specification says a pattern SHOULD do, which a matcher can still
//! evaluate — an object type that is neither a STIX 2.1 cyber-observable type nor an `x-`
//! custom type, a property that type does not have (with the nearest one it has).
//!
//! ```
//! use watchpost_pattern::{Pattern, Version};
//! let p = Pattern::validate_version("[ipv4-addr:valu = '203.0.113.1']", Version::V21).unwrap();
//! assert_eq!(p.warnings()[0].message,
//!     "`valu` is not a property of ipv4-addr; did you mean `value`?");
//! ```

use crate::ast::{ObsExpr, PropTest, Step};
use watchpost_stix::schema::{self, Category};

/// A warning about a pattern, with the column it points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternWarning {
    /// 1-based column.
    pub column: usize,
    /// What is unusual and what is expected.
    pub message: String,
}

/// The warnings of a pattern's tree, in reading order.
pub fn warnings(root: &ObsExpr) -> Vec<PatternWarning> {
    let mut out = Vec::new();
    root.for_each_test(&mut |t| test(t, &mut out));
    out
}

fn test(t: &PropTest, out: &mut Vec<PatternWarning>) {
    let object_type = t.path.object_type.as_str();
    let spec = schema::type_spec(object_type).filter(|s| s.category == Category::Sco);
    let Some(spec) = spec else {
        if !object_type.starts_with("x-") {
            out.push(PatternWarning {
                column: t.column,
                message: format!(
                    "`{object_type}` is not a STIX 2.1 cyber-observable type; a custom type should be named x-<source>-<name>"
                ),
            });
        }
        return;
    };
    let Some(Step::Key(first)) = t.path.steps.first() else {
        return;
    };
    let known = spec.prop(first).is_some()
        || schema::COMMON_SCO.iter().any(|p| p.name == first)
        || first.starts_with("x_");
    if known {
        return;
    }
    let names = spec
        .props
        .iter()
        .map(|p| p.name)
        .chain(["extensions", "id"]);
    let nearest = names
        .map(|n| (edit_distance(first, n), n))
        .filter(|(d, _)| *d <= 2)
        .min();
    let hint = nearest.map_or(String::new(), |(_, n)| format!("; did you mean `{n}`?"));
    out.push(PatternWarning {
        column: t.column,
        message: format!("`{first}` is not a property of {object_type}{hint}"),
    });
}

/// Levenshtein distance, for "did you mean" hints on short property names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut row = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            row[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(row[j] + 1);
        }
        prev = row;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use crate::{Pattern, Version};

    fn warnings(p: &str) -> Vec<String> {
        Pattern::validate_version(p, Version::V21)
            .unwrap()
            .warnings()
            .iter()
            .map(|w| format!("{}: {}", w.column, w.message))
            .collect()
    }

    #[test]
    fn known_types_and_properties_are_quiet() {
        let sha = "a".repeat(64);
        assert!(warnings(&format!(
            "[file:hashes.'SHA-256' = '{sha}' OR file:x_acme_score > 1]"
        ))
        .is_empty());
        assert!(warnings("[x-acme-widget:anything = 1]").is_empty());
        assert!(
            warnings("[network-traffic:extensions.'http-request-ext'.request_method = 'GET']")
                .is_empty()
        );
    }

    #[test]
    fn unknown_types_and_properties_are_named() {
        assert_eq!(
            warnings("[ipv4addr:value = '1.2.3.4'] AND [file:file_name = 'a']"),
            [
                "2: `ipv4addr` is not a STIX 2.1 cyber-observable type; a custom type should be named x-<source>-<name>",
                "35: `file_name` is not a property of file",
            ]
        );
    }
}
