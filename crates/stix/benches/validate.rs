//! Parse + validate throughput on the ATT&CK bundles, with `serde_json::Value` parsing of the
//! same bytes as the baseline in the same run (see docs/benchmarks.md).
//!
//! `cargo bench -p watchpost-stix --bench validate`

// A panic in a bench is a broken bench, not a crashed hub.
#![allow(clippy::unwrap_used)]

use divan::counter::BytesCount;
use divan::{black_box, Bencher};
use serde_json::Value;
use std::path::Path;
use watchpost_stix::reader::Reader;
use watchpost_stix::Validator;

fn main() {
    divan::main();
}

/// The bundles measured: the ICS ATT&CK copy in tests/data, and the Enterprise subset when the
/// shared data set sits beside the project.
const BUNDLES: &[&str] = &[
    "tests/data/attack/ics-attack.json",
    "../shared/data/attack/enterprise-attack-subset.json",
];

fn load(rel: &str) -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::read(root.join(rel)).unwrap_or_default()
}

#[divan::bench(args = BUNDLES)]
fn stream_parse_and_validate(bencher: Bencher, file: &str) {
    let bytes = load(file);
    let validator = Validator::new();
    bencher.counter(BytesCount::of_slice(&bytes)).bench(|| {
        let mut issues = Vec::new();
        for entry in Reader::new(black_box(&bytes[..])).flatten() {
            if let Ok(value) = &entry.value {
                validator.validate_into(value, &mut issues);
            }
        }
        black_box(issues.len())
    });
}

#[divan::bench(args = BUNDLES)]
fn validate_only(bencher: Bencher, file: &str) {
    let bytes = load(file);
    let objects: Vec<Value> = Reader::new(&bytes[..])
        .filter_map(|e| e.ok()?.value.ok())
        .collect();
    let validator = Validator::new();
    bencher.counter(BytesCount::of_slice(&bytes)).bench(|| {
        let mut issues = Vec::new();
        for object in &objects {
            validator.validate_into(black_box(object), &mut issues);
        }
        black_box(issues.len())
    });
}

#[divan::bench(args = BUNDLES)]
fn stream_parse_only(bencher: Bencher, file: &str) {
    let bytes = load(file);
    bencher.counter(BytesCount::of_slice(&bytes)).bench(|| {
        let mut n = 0;
        for entry in Reader::new(black_box(&bytes[..])).flatten() {
            n += usize::from(entry.value.is_ok());
        }
        black_box(n)
    });
}

/// The baseline: parse the bundle into a `serde_json::Value` and free it. The free is inside
/// the timed closure on purpose: divan drops a returned value outside the timing, which would
/// leave out a third of the cost that every real consumer of a parsed bundle pays, and that
/// the streaming benchmarks above pay per object.
#[divan::bench(args = BUNDLES)]
fn baseline_serde_json_value(bencher: Bencher, file: &str) {
    let bytes = load(file);
    bencher.counter(BytesCount::of_slice(&bytes)).bench(|| {
        let v = serde_json::from_slice::<Value>(black_box(&bytes)).ok();
        black_box(v.is_some())
    });
}
