//! `watchpost warnings list|show|ack` on a real SQLite file with warnings raised through the
//! library, as the watch path raises them.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use serde_json::{json, Value};
use std::process::Command;
use std::sync::Arc;
use watchpost_store::{NewOrg, SqlStore, Store};
use watchpost_warn::{Config, DirectoryEntry, FocalPoint, RaiseRequest, Warnings};

const BIN: &str = env!("CARGO_BIN_EXE_watchpost");

fn watchpost(db: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .args(["--db", db])
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Two warnings for vn-energy (critical infrastructure) and one for bank; returns their ids.
fn seed(db: &str) -> Vec<String> {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store: Arc<dyn Store> = Arc::new(SqlStore::open(db).await.unwrap());
        let mut directory = Vec::new();
        for (org, critical) in [("vn-energy", true), ("bank", false)] {
            store
                .add_org(NewOrg {
                    name: org.into(),
                    ..Default::default()
                })
                .await
                .unwrap();
            let mut e = DirectoryEntry {
                org: org.into(),
                focal_points: vec![FocalPoint {
                    name: "SOC".into(),
                    email: Some(format!("soc@{org}.example")),
                    ..Default::default()
                }],
                ..Default::default()
            };
            e.constituency.critical = critical;
            directory.push(e);
        }
        let warnings = Warnings::new(store.clone(), directory, Config::default());
        let now = watchpost_stix::Timestamp::now().unix_micros();
        let mut ids = Vec::new();
        for (n, org, confidence) in [(1, "vn-energy", 90), (2, "vn-energy", 10), (3, "bank", 50)] {
            let indicator = json!({"type": "indicator", "name": format!("indicator {n}"),
                "id": format!("indicator--{n:08x}-0000-4000-8000-000000000000"),
                "confidence": confidence, "pattern": "[domain-name:value = 'evil.example']"});
            let raised = warnings
                .raise(RaiseRequest {
                    indicator: &indicator,
                    org,
                    observation: "a DNS query for evil.example",
                    seen: now - 3600 * 1_000_000,
                    now,
                })
                .await
                .unwrap();
            ids.push(raised.warning.id);
        }
        ids
    })
}

#[test]
fn warnings_are_listed_shown_and_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("hub.db").display());
    let ids = seed(&db);

    let (ok, out, err) = watchpost(&db, &["warnings", "list"]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "a header and three warnings: {out}");
    assert!(lines[0].starts_with("id\tseverity\tstatus"));
    // 90 on critical infrastructure is critical; 10 there is medium; 50 elsewhere is medium.
    assert!(
        out.contains(&format!("{}\tcritical\topen\tvn-energy\t1\t", ids[0])),
        "{out}"
    );
    assert!(
        out.contains(&format!("{}\tmedium\topen\tvn-energy", ids[1])),
        "{out}"
    );
    assert!(
        out.contains(&format!("{}\tmedium\topen\tbank", ids[2])),
        "{out}"
    );

    let (ok, out, err) = watchpost(
        &db,
        &[
            "warnings",
            "list",
            "--org",
            "vn-energy",
            "--severity",
            "critical",
            "--json",
        ],
    );
    assert!(ok, "{err}");
    let listed: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], ids[0].as_str());
    assert_eq!(listed[0]["detail"]["indicator_name"], "indicator 1");

    let (ok, out, _) = watchpost(&db, &["warnings", "list", "--since", "10m"]);
    assert!(ok);
    assert_eq!(
        out.lines().count(),
        1,
        "all were last seen an hour ago: {out}"
    );
    let (ok, out, _) = watchpost(&db, &["warnings", "list", "--since", "2h", "--org", "bank"]);
    assert!(ok);
    assert_eq!(out.lines().count(), 2, "{out}");

    let (ok, out, err) = watchpost(&db, &["warnings", "show", &ids[0]]);
    assert!(ok, "{err}");
    assert!(out.contains("severity      critical"), "{out}");
    assert!(
        out.contains("indicator     indicator 1 (indicator--00000001"),
        "{out}"
    );
    assert!(
        out.contains("0\temail\tpending\t0\tSOC\tsoc@vn-energy.example"),
        "the level-0 delivery: {out}"
    );

    let (ok, out, err) = watchpost(&db, &["warnings", "ack", &ids[0], "--by", "Lan (SOC)"]);
    assert!(ok, "{err}");
    assert_eq!(
        out.trim(),
        format!("warning {} acknowledged by Lan (SOC)", ids[0])
    );
    let (_, out, _) = watchpost(&db, &["warnings", "ack", &ids[0], "--by", "Minh"]);
    assert!(out.contains("already acknowledged by Lan (SOC)"), "{out}");
    let (_, out, _) = watchpost(&db, &["warnings", "show", &ids[0]]);
    assert!(out.contains("status        acknowledged"), "{out}");
    assert!(out.contains("0\temail\tcancelled\t"), "{out}");

    let (ok, out, _) = watchpost(&db, &["warnings", "list", "--status", "acknowledged"]);
    assert!(ok);
    assert_eq!(out.lines().count(), 2);
    assert!(out.contains(&ids[0]));
    let (ok, out, _) = watchpost(&db, &["warnings", "list", "--status", "open", "--json"]);
    assert!(ok);
    assert_eq!(serde_json::from_str::<Vec<Value>>(&out).unwrap().len(), 2);

    let (ok, _, err) = watchpost(&db, &["warnings", "ack", "no-such-id", "--by", "x"]);
    assert!(
        !ok && err.contains("warning no-such-id was not found"),
        "{err}"
    );
    let (ok, _, err) = watchpost(&db, &["warnings", "list", "--severity", "urgent"]);
    assert!(!ok && err.contains("not a severity"), "{err}");
    let (ok, _, err) = watchpost(&db, &["warnings", "list", "--since", "soon"]);
    assert!(!ok && err.contains("neither a timestamp"), "{err}");
}
