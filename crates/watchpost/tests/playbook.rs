//! `watchpost playbook import|export`: a CACAO 2.0 playbook shared as a course of action comes
//! back byte for byte; a broken one is refused with its JSON path; its marking decides who may
//! take it.

// A panic in a test is a failing test.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_watchpost");
const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/data/cacao/block-c2-server.json"
);

fn run(db: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .args(["--db", db])
        .output()
        .unwrap()
}

#[test]
fn playbooks_travel_as_courses_of_action() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("hub.db").display());
    for org in ["vncert", "laocert"] {
        assert!(run(&db, &["org", "add", org]).status.success());
    }
    let out = run(&db, &["collection", "add", "Practice", "--write", "vncert"]);
    let collection = String::from_utf8(out.stdout).unwrap().trim().to_string();

    let out = run(
        &db,
        &[
            "playbook",
            "import",
            SAMPLE,
            "--collection",
            &collection,
            "--org",
            "vncert",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(id.starts_with("course-of-action--"), "{id}");
    let back = dir.path().join("back.json");
    let out = run(
        &db,
        &[
            "playbook",
            "export",
            &id,
            "--collection",
            &collection,
            "--org",
            "laocert",
            "--out",
            back.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(&back).unwrap(),
        std::fs::read(SAMPLE).unwrap()
    );

    // A RED playbook (no recipients named) is for its owner only.
    let amber = dir.path().join("amber.json");
    let text = std::fs::read_to_string(SAMPLE).unwrap().replace(
        "6b2b1f3e-3c1f-4a36-8a3e-9f5d2c1b0a77",
        "7c3c2f4e-4d2a-4b47-9b4f-0a6e3d2c1b88",
    );
    std::fs::write(&amber, text).unwrap();
    let out = run(
        &db,
        &[
            "playbook",
            "import",
            amber.to_str().unwrap(),
            "--collection",
            &collection,
            "--org",
            "vncert",
            "--tlp",
            "red",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let amber_id = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let out = run(
        &db,
        &[
            "playbook",
            "export",
            &amber_id,
            "--collection",
            &collection,
            "--org",
            "laocert",
        ],
    );
    assert!(!out.status.success());
    let out = run(
        &db,
        &[
            "playbook",
            "export",
            &amber_id,
            "--collection",
            &collection,
            "--org",
            "vncert",
        ],
    );
    assert!(out.status.success());

    // A broken playbook is refused, each problem with its JSON path.
    let broken = dir.path().join("broken.json");
    let text = std::fs::read_to_string(SAMPLE).unwrap().replace(
        "\"workflow_start\": \"start--",
        "\"workflow_start\": \"nowhere--",
    );
    std::fs::write(&broken, text).unwrap();
    let out = run(
        &db,
        &[
            "playbook",
            "import",
            broken.to_str().unwrap(),
            "--collection",
            &collection,
            "--org",
            "vncert",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("broken.json: $.workflow_start: expected the id of a step"),
        "{err}"
    );
}
