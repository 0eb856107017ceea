//! `watchpost request`: a preservation request from Vietnam to Laos goes the whole way on one
//! hub, its audit chain verifies, and a changed audit row makes `request verify` fail (issue 9).
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_watchpost");

fn watchpost(db: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .args(["--db", db])
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(db: &str, args: &[&str]) -> String {
    let (code, out, err) = watchpost(db, args);
    assert_eq!(code, Some(0), "{args:?}: {out}{err}");
    out
}

fn new_request(db: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "request",
        "new",
        "--type",
        "preservation",
        "--from",
        "vncert",
        "--to",
        "laocert",
        "--case",
        "VN-2026-0042",
        "--legal-basis",
        "UN Convention against Cybercrime, art. 42",
        "--ip",
        "203.0.113.5:443@2026-11-23T10:00:00+07:00",
        "--account",
        "shop-admin@example.la",
        "--deadline",
        "2026-11-24T10:00:00+07:00",
    ];
    args.extend_from_slice(extra);
    let out = ok(db, &args);
    out.split('\t').next().unwrap().trim().to_string()
}

#[test]
fn a_preservation_request_goes_the_whole_way_and_its_record_stands() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hub.db");
    let db = format!("sqlite://{}", file.display());
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/../../demo/directory.json");
    ok(&db, &["org", "import", demo]);
    let order = dir.path().join("order.txt");
    std::fs::write(&order, "preservation order").unwrap();

    let id = new_request(&db, &["--attach", order.to_str().unwrap()]);
    assert!(id.starts_with("x-watchpost-request--"), "{id}");
    let list = ok(&db, &["request", "list", "--org", "laocert"]);
    assert!(
        list.contains(&id) && list.contains("\treceived\t"),
        "{list}"
    );
    assert!(ok(&db, &["request", "list", "--org", "camcert"]).is_empty());
    let (code, _, err) = watchpost(&db, &["request", "show", &id, "--org", "camcert"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("was not found"), "{err}");

    // Answering before acknowledging is refused, and so is acknowledging for the requester.
    let (code, _, err) = watchpost(
        &db,
        &[
            "request",
            "answer",
            &id,
            "--org",
            "laocert",
            "--outcome",
            "fulfilled",
        ],
    );
    assert_eq!(code, Some(2));
    assert!(
        err.contains("a request cannot go from received to fulfilled"),
        "{err}"
    );
    let (code, _, err) = watchpost(&db, &["request", "ack", &id, "--org", "vncert"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("only laocert can"), "{err}");

    ok(&db, &["request", "ack", &id, "--org", "laocert"]);
    let (code, _, err) = watchpost(
        &db,
        &[
            "request",
            "answer",
            &id,
            "--org",
            "laocert",
            "--outcome",
            "refused",
        ],
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("a refusal needs a reason"), "{err}");
    ok(
        &db,
        &[
            "request",
            "answer",
            &id,
            "--org",
            "laocert",
            "--outcome",
            "fulfilled",
        ],
    );
    ok(
        &db,
        &[
            "request",
            "extend",
            &id,
            "--until",
            "2027-02-24T10:00:00+07:00",
        ],
    );
    ok(&db, &["request", "close", &id, "--org", "vncert"]);
    let show = ok(&db, &["request", "show", &id, "--org", "vncert"]);
    assert!(show.contains("\tclosed"), "{show}");
    assert!(
        show.contains("preserved until: 2027-02-24T10:00:00+07:00"),
        "{show}"
    );
    assert!(show.contains("attachment: order.txt (18 bytes"), "{show}");
    assert!(show.contains("203.0.113.5"), "{show}");

    // created, sent, received, acknowledged, fulfilled, extension, closed
    let out = ok(&db, &["request", "verify", &id]);
    assert_eq!(out.trim(), "chain of 7 events verifies");

    // Someone edits the record of the acknowledgement behind the hub's back.
    let edit = std::process::Command::new("sqlite3")
        .arg(&file)
        .arg(format!(
            "UPDATE request_events SET actor = 'vncert/cli' WHERE request_id = '{id}' AND seq = 4"
        ))
        .status()
        .unwrap();
    assert!(edit.success());
    let (code, out, _) = watchpost(&db, &["request", "verify", &id]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("event 4 (transition) was changed"), "{out}");
    // A broken chain is not acted on.
    let (code, _, err) = watchpost(&db, &["request", "close", &id]);
    assert_eq!(code, Some(2));
    assert!(err.contains("event 4"), "{err}");
}

#[test]
fn a_draft_cannot_be_closed() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("hub.db").display());
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/../../demo/directory.json");
    ok(&db, &["org", "import", demo]);
    let id = new_request(&db, &["--draft"]);
    let (code, _, err) = watchpost(&db, &["request", "close", &id]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("a request cannot go from draft to closed; from draft it can go to sent"),
        "{err}"
    );
    ok(&db, &["request", "send", &id, "--org", "vncert"]);
    let out = ok(&db, &["request", "verify", &id]);
    assert_eq!(out.trim(), "chain of 3 events verifies");
    let (code, _, err) = watchpost(
        &db,
        &[
            "request",
            "new",
            "--type",
            "preservation",
            "--from",
            "vncert",
            "--to",
            "laocert",
            "--case",
            "X",
            "--legal-basis",
            "Y",
            "--ip",
            "203.0.113.5:443@2026-11-23T10:00:00",
        ],
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("not a time with its offset"), "{err}");
}
