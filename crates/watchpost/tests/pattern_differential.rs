//! Random differential test against the OASIS reference matcher: 12,000 generated
//! pattern/observation pairs covering every operator, qualifier and literal kind
//! (`tests/reference/pattern_differential.py generate`), evaluated by `stix2-matcher` and by
//! `watchpost pattern eval`; verdicts and the observed-data of the first binding must agree,
//! except for the deliberate differences of `tests/reference/pattern_differential_allow.json`
//! (docs/conformance.md, D4–D6).

// A panic in a test is a failing test, not a crashed hub.
#![allow(clippy::unwrap_used)]

use std::process::Command;

#[path = "../../../tests/reference/support.rs"]
mod support;

use support::{python, repo};

#[test]
fn twelve_thousand_generated_cases_agree_with_stix2_matcher() {
    let script = repo().join("tests/reference/pattern_differential.py");
    let dir = repo().join("target/pattern-differential");
    std::fs::create_dir_all(&dir).unwrap();
    let cases = dir.join("cases-seed11.jsonl");
    let generated = Command::new(python())
        .arg(&script)
        .args(["generate", "--seed", "11", "--count", "12000", "--out"])
        .arg(&cases)
        .output()
        .unwrap();
    assert!(
        generated.status.success(),
        "{}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let checked = Command::new(python())
        .arg(&script)
        .args(["check", "--cases"])
        .arg(&cases)
        .arg("--binary")
        .arg(env!("CARGO_BIN_EXE_watchpost"))
        .arg("--allow")
        .arg(repo().join("tests/reference/pattern_differential_allow.json"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&checked.stdout);
    assert!(
        checked.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let summary = out
        .lines()
        .find(|l| l.starts_with("agree "))
        .unwrap_or_default();
    assert!(summary.contains("disagree 0"), "{summary}");
    let agreed: usize = summary
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.trim_end_matches(',').parse().ok())
        .unwrap_or(0);
    assert!(agreed >= 11_000, "{summary}");
}
