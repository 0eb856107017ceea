//! The OASIS reference test suites — every test of `stix2-matcher` 3.0.0 and every case of the
//! `stix2-patterns` 2.1.2 validator suite — run through `watchpost pattern eval` by
//! `tests/reference/pattern_conformance.py`, with the Python environment `scripts/test`
//! prepares. Deliberate differences are listed, with reasons, in
//! `tests/reference/pattern_conformance_allow.json` and docs/conformance.md.

// A panic in a test is a failing test, not a crashed hub.
#![allow(clippy::unwrap_used)]

use std::process::Command;

#[path = "../../../tests/reference/support.rs"]
mod support;

use support::{python, repo};

#[test]
fn the_reference_suites_pass_through_pattern_eval() {
    let out = Command::new(python())
        .arg(repo().join("tests/reference/pattern_conformance.py"))
        .arg("--bin")
        .arg(env!("CARGO_BIN_EXE_watchpost"))
        .arg("--cache-dir")
        .arg(repo().join("target/reference-sdists"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(
        summary.starts_with("conformance: ") && summary.ends_with(" 0 failed"),
        "{summary}"
    );
    // The matcher suite must have run in full: 842 tests go through match().
    assert!(
        stdout.contains("through match(): 842: 842 passed"),
        "{stdout}"
    );
}
