//! `watchpost watch` without a hub: real Suricata and Zeek samples (tests/data/telemetry)
//! against indicators planted on values those samples carry, plus a file of broken lines.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_watchpost");

fn data(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/telemetry")
        .join(path)
}

fn indicator(n: u32, pattern: &str) -> Value {
    json!({"type": "indicator", "spec_version": "2.1", "id": format!("indicator--{n:08x}-5555-4555-8555-555555555555"),
        "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
        "pattern": pattern, "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z"})
}

#[test]
fn planted_indicators_match_exactly_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    let patterns = [
        "[ipv4-addr:value = '78.40.125.4']",                                                      // 1: CTU-13 alert, line 1
        "[domain-name:value = 'irc.freenode.net']",                                                // 2: CTU-13 dns, line 2
        "[file:hashes.'SHA-256' = '2e4c462b3424afcc04f43429d5f001e4ef9a28143bfeefb9af2254b4df3a7c1a']", // 3: fileinfo, line 3
        "[url:value = 'http://www.nmap.org/']",                                                    // 4: fileinfo, line 3
        "[network-traffic:dst_ref.value = '83.135.95.78' AND network-traffic:dst_port = 22]",      // 5: Zeek conn.log
        "[domain-name:value = 'nothing.example']",                                                 // 6: nowhere
    ];
    let bundle = json!({"type": "bundle", "id": "bundle--6f1c0d7e-3c4a-4b8e-9a55-6a7b8c9d0e1f",
        "objects": patterns.iter().enumerate().map(|(i, p)| indicator(i as u32 + 1, p)).collect::<Vec<_>>()});
    let indicators = dir.path().join("indicators.json");
    std::fs::write(&indicators, bundle.to_string()).unwrap();
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{\"event_type\": \"dns\",\n{\"event_type\":\"dns\",\"dns\":{\"rrname\":\"irc.freenode.net\"}}\n").unwrap();
    let out = dir.path().join("sightings.jsonl");
    let quarantine = dir.path().join("quarantine.jsonl");
    let proxy = dir.path().join("proxy.jsonl");
    std::fs::write(&proxy, "{\"when\": 1700000000, \"dest\": \"78.40.125.4\"}\n{\"when\": 1700000001, \"dest\": \"10.9.9.9\"}\n").unwrap();
    let mapping = dir.path().join("mapping.json");
    std::fs::write(
        &mapping,
        r#"{"time": "when", "kind": "proxy", "fields": {"dest": "ipv4-addr:value"}}"#,
    )
    .unwrap();
    let conn = data("zeek/vast-pcap-2018/conn.log");
    let run = Command::new(BIN)
        .arg("watch")
        .arg("--indicators")
        .arg(&indicators)
        .arg("--eve")
        .arg(data("suricata/vast-ctu13-eve.json"))
        .arg("--eve")
        .arg(&broken)
        .arg("--zeek")
        .arg(&conn)
        .arg("--json")
        .arg(&proxy)
        .arg("--mapping")
        .arg(&mapping)
        .arg("--sightings-out")
        .arg(&out)
        .arg("--quarantine")
        .arg(&quarantine)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let sightings: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut found: Vec<(String, String, u64)> = sightings
        .iter()
        .map(|s| {
            (
                s["indicator"].as_str().unwrap()[11..19].to_string(),
                s["source"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string(),
                s["line"].as_u64().unwrap(),
            )
        })
        .collect();
    found.sort();
    let expected = [
        ("00000001", "proxy.jsonl", 1),
        ("00000001", "vast-ctu13-eve.json", 1),
        ("00000002", "broken.json", 2),
        ("00000002", "vast-ctu13-eve.json", 2),
        ("00000003", "vast-ctu13-eve.json", 3),
        ("00000004", "vast-ctu13-eve.json", 3),
        // grep 83.135.95.78 conn.log: three SSH connections to it.
        ("00000005", "conn.log", 9),
        ("00000005", "conn.log", 25),
        ("00000005", "conn.log", 29),
    ];
    let expected: Vec<(String, String, u64)> = expected
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), *c))
        .collect();
    assert_eq!(found, expected);
    let dns = sightings
        .iter()
        .find(|s| {
            s["line"] == 2
                && s["source"]
                    .as_str()
                    .unwrap()
                    .ends_with("vast-ctu13-eve.json")
        })
        .unwrap();
    assert_eq!(dns["pattern"], patterns[1]);
    assert_eq!(
        dns["observation"]["objects"]["3"]["value"],
        "irc.freenode.net"
    );
    assert_eq!(dns["observation"]["time"], "2011-08-12T12:55:22.154618Z");
    // The broken line is quarantined with its place and reason, and the next line still matched.
    let q: Vec<Value> = std::fs::read_to_string(&quarantine)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0]["line"], 1);
    assert!(q[0]["source"].as_str().unwrap().ends_with("broken.json"));
    assert!(String::from_utf8_lossy(&run.stderr).contains("1 malformed"));
}

/// With a hub: indicators from the knowledge base, each match routed by the directory, sightings
/// stored with their indicator's markings and listed by `watchpost sightings`.
#[test]
fn with_a_hub_matches_become_routed_sightings() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("hub.db").display());
    let cli = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .args(["--db", &db])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    cli(&[
        "org",
        "import",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../demo/directory.json"),
    ]);
    let intel = "0b5e7b7e-1111-4111-8111-000000000001";
    let seen = "0b5e7b7e-1111-4111-8111-000000000002";
    cli(&[
        "collection",
        "add",
        "Indicators",
        "--id",
        intel,
        "--write",
        "vncert",
    ]);
    cli(&[
        "collection",
        "add",
        "Sightings",
        "--id",
        seen,
        "--write",
        "vncert",
    ]);
    let red = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";
    let mut energy = indicator(1, "[ipv4-addr:value = '14.160.32.9']");
    energy["object_marking_refs"] = json!([red]);
    energy["x_watchpost_recipients"] = json!(["identity--00000000-0000-4000-8000-000000000000"]);
    let lao = indicator(2, "[domain-name:value = 'c2.example.la']");
    let mut expired = indicator(3, "[ipv4-addr:value = '14.160.1.1']");
    expired["valid_until"] = json!("2024-06-01T00:00:00Z");
    let bundle = json!({"type": "bundle", "id": "bundle--6f1c0d7e-3c4a-4b8e-9a55-6a7b8c9d0e10", "objects": [energy, lao, expired]});
    let file = dir.path().join("intel.json");
    std::fs::write(&file, bundle.to_string()).unwrap();
    cli(&[
        "import",
        file.to_str().unwrap(),
        "--collection",
        intel,
        "--org",
        "vncert",
    ]);
    // Three hits on the energy company's address in one hour, one on the Lao domain, one on
    // the expired indicator's address (not matched: expired).
    let eve: String = [
        json!({"timestamp": "2025-03-01T10:00:00.000000+0000", "event_type": "flow", "src_ip": "14.160.32.9", "dest_ip": "203.0.113.5", "proto": "TCP"}),
        json!({"timestamp": "2025-03-01T10:20:00.000000+0000", "event_type": "flow", "src_ip": "203.0.113.5", "dest_ip": "14.160.32.9", "proto": "TCP"}),
        json!({"timestamp": "2025-03-01T10:40:00.000000+0000", "event_type": "flow", "src_ip": "14.160.32.9", "dest_ip": "198.51.100.1", "proto": "UDP"}),
        json!({"timestamp": "2025-03-01T10:50:00.000000+0000", "event_type": "dns", "src_ip": "43.224.36.10", "dest_ip": "43.224.36.1", "dns": {"type": "query", "rrname": "c2.example.la"}}),
        json!({"timestamp": "2025-03-01T10:55:00.000000+0000", "event_type": "flow", "src_ip": "14.160.1.1", "dest_ip": "198.51.100.1", "proto": "UDP"}),
    ]
    .iter()
    .map(|l| format!("{l}\n"))
    .collect();
    let eve_file = dir.path().join("eve.json");
    std::fs::write(&eve_file, eve).unwrap();
    let out = cli(&[
        "watch",
        "--eve",
        eve_file.to_str().unwrap(),
        "--sightings-collection",
        seen,
        "--org",
        "vncert",
        "--sightings-out",
        dir.path().join("hits.jsonl").to_str().unwrap(),
        "--quarantine",
        dir.path().join("q.jsonl").to_str().unwrap(),
    ]);
    assert!(out.contains("2 sightings of 2 indicators stored"), "{out}");
    let listed = cli(&["sightings"]);
    let rows: Vec<&str> = listed.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{listed}");
    assert!(rows.contains(&"2025-03-01T10:40:00.000Z\t3\tvn-energy\tindicator--00000001-5555-4555-8555-555555555555"), "{listed}");
    assert!(rows.contains(&"2025-03-01T10:50:00.000Z\t1\tlaocert\tindicator--00000002-5555-4555-8555-555555555555"), "{listed}");
    assert_eq!(cli(&["sightings", "--org", "laocert"]).lines().count(), 2);
    // The RED indicator's sighting is RED for the same recipients: stored that way, and hidden
    // from an organisation that is not one of them.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use watchpost_store::{Caller, Query, Role, SqlStore, Store};
        let store = SqlStore::open(&db).await.unwrap();
        let orgs = store.orgs().await.unwrap();
        let camcert = orgs
            .iter()
            .find(|o| o.name == "camcert")
            .unwrap()
            .id
            .clone();
        let reader = Caller {
            user: "r".into(),
            org: camcert,
            role: Role::Reader,
        };
        let page = store.read(&reader, seen, &Query::default()).await.unwrap();
        assert_eq!(
            page.objects.len(),
            1,
            "camcert sees the GREEN sighting only"
        );
        let all = store.current_objects_of_type("sighting").await.unwrap();
        let red_one: Value = all
            .iter()
            .map(|(_, b)| serde_json::from_str::<Value>(b).unwrap())
            .find(|s| s["count"] == 3)
            .unwrap();
        assert_eq!(red_one["object_marking_refs"], json!([red]));
        assert_eq!(
            red_one["x_watchpost_recipients"],
            json!(["identity--00000000-0000-4000-8000-000000000000"])
        );
    });
}
