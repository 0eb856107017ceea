//! Hostile patterns: never a panic, never a hang — a clear error, or a bounded run.

// A panic in a test is a failing test, not a crashed hub.
#![allow(clippy::unwrap_used)]

use serde_json::json;
use watchpost_pattern::{ErrorKind, Pattern};

#[test]
fn nested_parentheses_100000_deep() {
    let n = 100_000;
    let observation_parens = format!("{}[a:b = 1]{}", "(".repeat(n), ")".repeat(n));
    let comparison_parens = format!("[{}a:b = 1{}]", "(".repeat(n), ")".repeat(n));
    for p in [observation_parens, comparison_parens] {
        let err = Pattern::parse(&p).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Syntax);
        assert!(err.message.contains("nests more than"), "{err}");
    }
}

#[test]
fn a_one_megabyte_string_literal() {
    let big = "x".repeat(1 << 20);
    let pattern = Pattern::parse(&format!("[file:name = '{big}']")).unwrap();
    let obs = json!([{"type": "observed-data", "number_observed": 1, "id": "observed-data--1",
        "first_observed": "2024-01-01T00:00:00Z", "last_observed": "2024-01-01T00:00:00Z",
        "objects": {"0": {"type": "file", "name": big}}}]);
    let v20 = Pattern::parse_version(
        &format!("[file:name = '{big}']"),
        watchpost_pattern::Version::V20,
    )
    .unwrap();
    assert!(v20.evaluate(obs.as_array().unwrap()).unwrap().is_some());
    drop(pattern);
    let unterminated = format!("[file:name = '{big}]");
    assert!(Pattern::parse(&unterminated)
        .unwrap_err()
        .message
        .contains("never closed"));
}

#[test]
fn long_operator_chains_stay_shallow() {
    let terms: Vec<String> = (0..50_000).map(|i| format!("a:b = {i}")).collect();
    let p = format!("[{}]", terms.join(" OR "));
    let pattern = Pattern::parse(&p).unwrap();
    let obs = json!([{"type": "observed-data", "id": "observed-data--1", "number_observed": 1,
        "first_observed": "2024-01-01T00:00:00Z", "last_observed": "2024-01-01T00:00:00Z",
        "objects": {"0": {"type": "a", "b": 49_999}}}]);
    let v20 = Pattern::parse_version(&p, watchpost_pattern::Version::V20).unwrap();
    assert!(v20.evaluate(obs.as_array().unwrap()).unwrap().is_some());
    drop(pattern);
}

#[test]
fn pathological_regexes_run_in_bounded_time_or_are_refused() {
    let value = format!("{}!", "a".repeat(50_000));
    let obs = json!([{"type": "observed-data", "id": "observed-data--1", "number_observed": 1,
        "first_observed": "2024-01-01T00:00:00Z", "last_observed": "2024-01-01T00:00:00Z",
        "objects": {"0": {"type": "a", "b": value}}}]);
    // Catastrophic backtracking in PCRE; linear here.
    for re in ["(a+)+b", "(a|aa)*c", "(a*)*$x", "^(a|a?)+$"] {
        let p = Pattern::parse_version(
            &format!("[a:b MATCHES '{re}']"),
            watchpost_pattern::Version::V20,
        )
        .unwrap();
        let start = std::time::Instant::now();
        assert!(
            p.evaluate(obs.as_array().unwrap()).unwrap().is_none(),
            "{re}"
        );
        assert!(
            start.elapsed().as_secs() < 10,
            "{re} took {:?}",
            start.elapsed()
        );
    }
    // A repetition too large to compile is an error, not an allocation spree.
    let p = Pattern::parse("[a:b MATCHES '(a{1000}){1000}']").unwrap();
    let bundle = json!([{"type": "bundle", "objects": [
        {"type": "observed-data", "id": "observed-data--1", "number_observed": 1,
         "first_observed": "2024-01-01T00:00:00Z", "last_observed": "2024-01-01T00:00:00Z",
         "object_refs": ["a--1"]},
        {"type": "a", "id": "a--1", "b": "aaa"}]}]);
    assert!(p.evaluate(bundle.as_array().unwrap()).unwrap().is_none());
    // Look-around is refused with the reason.
    let err = Pattern::parse("[a:b MATCHES '(?<=x)a']").unwrap_err();
    assert!(err.message.contains("look-around"), "{err}");
}

#[test]
fn garbage_is_a_syntax_error_with_a_column() {
    for (p, column) in [
        ("", 1),
        ("[", 2),
        ("[a:b = 'x'] AND", 16),
        ("[a:b = 'x']]", 12),
        ("\u{0}", 1),
        ("[a:b = 1] FOLLOWEDBY", 21),
    ] {
        let err = Pattern::parse(p).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Syntax, "{p:?}");
        assert_eq!(err.column, column, "{p:?}: {err}");
    }
}
