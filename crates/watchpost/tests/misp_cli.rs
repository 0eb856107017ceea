//! `watchpost import` of MISP files and `watchpost export misp`, as a user runs them: a MISP
//! file is recognised, converted and stored; skipped records are named by file and JSON path;
//! the export, read as an organisation, gives back every indicator value.

// A panic in a test is a failing test, not a crashed hub.
#![allow(clippy::unwrap_used)]

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

fn watchpost(db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_watchpost"))
        .args(args)
        .env("WATCHPOST_DB", db)
        .output()
        .unwrap()
}

fn misp(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/misp")
        .join(name)
        .display()
        .to_string()
}

/// (type, value) of an event's attributes with to_ids set.
fn indicators(event: &Value) -> BTreeSet<(String, String)> {
    let event = event.get("Event").unwrap_or(event);
    event["Attribute"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["to_ids"] == true)
        .map(|a| {
            (
                a["type"].as_str().unwrap().into(),
                a["value"].as_str().unwrap().into(),
            )
        })
        .collect()
}

#[test]
fn misp_files_import_and_export_as_misp() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("w.db").display());
    assert!(watchpost(&db, &["org", "add", "cert"]).status.success());
    assert!(watchpost(&db, &["org", "add", "other"]).status.success());
    let out = watchpost(
        &db,
        &[
            "collection",
            "add",
            "intel",
            "--write",
            "cert",
            "--read",
            "cert",
        ],
    );
    let collection = String::from_utf8(out.stdout).unwrap().trim().to_string();

    // A bad record costs that record only, and is named by file and JSON path.
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"Event": {"uuid": "11111111-1111-4111-8111-111111111111", "info": "mixed",
            "Tag": [{"name": "tlp:amber"}],
            "Attribute": [
              {"uuid": "22222222-2222-4222-8222-000000000001", "type": "ip-dst", "value": "198.51.100.9", "to_ids": true},
              {"uuid": "22222222-2222-4222-8222-000000000002", "type": "nonsense", "value": "x", "to_ids": true}]}}"#,
    )
    .unwrap();
    let file = misp("to_delete1.json");
    let out = watchpost(
        &db,
        &[
            "import",
            &file,
            bad.to_str().unwrap(),
            "--collection",
            &collection,
            "--org",
            "cert",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{}: Event.Attribute[1].type: unknown attribute type `nonsense`; skipped",
            bad.display()
        )),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("objects stored, 0 refused"));
    assert_eq!(
        out.status.code(),
        Some(1),
        "skipped records are reported in the exit code"
    );

    let exported = dir.path().join("out.json");
    let out = watchpost(
        &db,
        &[
            "export",
            "misp",
            "--collection",
            &collection,
            "--org",
            "cert",
            "--out",
            exported.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let back: Value = serde_json::from_str(&std::fs::read_to_string(&exported).unwrap()).unwrap();
    let original: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let want = indicators(&original);
    let got = indicators(&back);
    assert!(
        want.is_subset(&got),
        "{:?}",
        want.difference(&got).collect::<Vec<_>>()
    );
    assert!(got.contains(&("ip-dst".to_string(), "198.51.100.9".to_string())));

    // Another organisation reads nothing of a collection it may not read.
    let out = watchpost(
        &db,
        &[
            "export",
            "misp",
            "--collection",
            &collection,
            "--org",
            "other",
        ],
    );
    let none: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert!(
        !out.status.success()
            || none["Event"]["Attribute"]
                .as_array()
                .is_some_and(Vec::is_empty),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
