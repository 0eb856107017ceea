//! Differential tests against the OASIS reference implementations, run from the Python
//! environment that `scripts/test` prepares (`WATCHPOST_PYTHON`, or `.venv/bin/python`):
//!
//! - `stix2-validator`: on every example object and on thousands of generated mutations of
//!   them (`tests/reference/stix_validator_cases.py`), Watchpost and the reference agree on
//!   valid/invalid, except for the deliberate differences listed in `docs/conformance.md`,
//!   each of which is a case where the reference accepts what the specification forbids;
//! - `stix2` (python-stix2): deterministic SCO identifiers (`tests/reference/sco_ids.py`).

// A panic in a test is a failing test, not a crashed hub.
#![allow(clippy::unwrap_used)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;
use std::sync::OnceLock;
use watchpost_stix::{id, Validator};

#[path = "../../../tests/reference/support.rs"]
mod support;

use support::{python, repo};

/// Runs a reference script and returns its JSON lines.
fn run_reference(script: &str) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let status = Command::new(python())
        .arg(repo().join("tests/reference").join(script))
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {script}: {e}"));
    assert!(status.success(), "{script} failed");
    std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Where the reference accepts an object that breaks a MUST of the specification, and we
/// reject it. The key names the section of docs/conformance.md that justifies it.
fn deliberate_difference(case: &Value, issues: &[String]) -> Option<&'static str> {
    let mutation = case["mutation"].as_str().unwrap_or("");
    let object_type = case["object"]["type"].as_str().unwrap_or("");
    let reference_valid = case["reference_valid"].as_bool() == Some(true);
    let spec_says_invalid = case["expected_valid"].as_bool() == Some(false);
    if !(reference_valid && spec_says_invalid && !issues.is_empty()) {
        return None;
    }
    let known_type = watchpost_stix::schema::type_spec(object_type).is_some();
    match mutation {
        "bad_ref_type" => Some("D1 reference types"),
        "wrong_id_prefix" if !known_type => Some("D2 custom type identifiers"),
        "bad_custom_property_name" | "reserved_property" if object_type == "marking-definition" => {
            Some("D3 marking-definition property names")
        }
        _ => None,
    }
}

/// The generated cases, produced once for both tests that read them.
fn validator_cases() -> &'static [Value] {
    static CASES: OnceLock<Vec<Value>> = OnceLock::new();
    CASES.get_or_init(|| run_reference("stix_validator_cases.py"))
}

#[test]
fn validity_agrees_with_stix2_validator() {
    let cases = validator_cases();
    let validator = Validator::new();
    let mut disagreements = Vec::new();
    let mut deliberate: BTreeMap<&str, usize> = BTreeMap::new();
    let mut agreed_mutations = 0;
    for case in cases {
        let issues: Vec<String> = validator
            .validate(&case["object"])
            .iter()
            .map(ToString::to_string)
            .collect();
        let ours = issues.is_empty();
        let reference = case["reference_valid"].as_bool().unwrap();
        if ours == reference {
            agreed_mutations += usize::from(case["mutation"] != "none");
            continue;
        }
        match deliberate_difference(case, &issues) {
            Some(key) => *deliberate.entry(key).or_default() += 1,
            None => disagreements.push(format!(
                "{} ({}): reference says {}, we say {}\n  reference: {:?}\n  ours: {:?}",
                case["case"].as_str().unwrap(),
                case["detail"].as_str().unwrap_or(""),
                if reference { "valid" } else { "invalid" },
                if ours { "valid" } else { "invalid" },
                case["reference_errors"],
                issues
            )),
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreements with stix2-validator:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    assert!(
        agreed_mutations >= 300,
        "only {agreed_mutations} mutations agreed"
    );
    eprintln!("agreed on {agreed_mutations} mutations; deliberate differences: {deliberate:?}");
}

/// Where the reference and the specification disagree, we follow the specification: every
/// generated case whose validity the specification decides is decided our way.
#[test]
fn validity_follows_the_specification_where_the_reference_is_lax() {
    let cases = validator_cases();
    let validator = Validator::new();
    let mut wrong = Vec::new();
    for case in cases {
        let Some(expected) = case["expected_valid"].as_bool() else {
            continue;
        };
        let ours = validator.validate(&case["object"]).is_empty();
        if ours != expected {
            wrong.push(format!(
                "{}: {}",
                case["case"].as_str().unwrap(),
                case["detail"]
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cases:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn deterministic_ids_agree_with_python_stix2() {
    let cases = run_reference("sco_ids.py");
    assert!(cases.len() >= 200);
    for case in cases {
        let object = case["object"].as_object().unwrap();
        assert_eq!(
            id::deterministic_sco_id(object).as_deref(),
            case["id"].as_str(),
            "{}",
            case["object"]
        );
    }
}
