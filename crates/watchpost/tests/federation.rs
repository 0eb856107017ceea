//! Three hubs on 127.0.0.1 — Vietnam, a partner (Laos) and a third country (Cambodia) — as
//! separate `watchpost serve` processes. Vietnam pushes its intelligence collection to both:
//! GREEN reaches both, AMBER only the partner of its sharing group, AMBER+STRICT and RED
//! nobody. The third country's hub is killed with SIGKILL while Vietnam adds more, then
//! restarted: it catches up, every version exactly once. Envelopes are signed with Vietnam's
//! Ed25519 key; one in Vietnam's name that it did not sign is refused.
//!
//! A 24/7 request from Vietnam's focal point to Laos's goes from hub to hub: received,
//! acknowledged, answered and closed, each side's events copied into the other's chain, the
//! third country never seeing it, both chains verifying, and one changed row failing.

// A panic in a test is a failing test.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_watchpost");
const INTEL: &str = "6f1c0a9e-8c1b-4c41-9d0e-5b7e2a3f4c10";
const PASSWORD: &str = "federation-test-1";

/// One hub: its database, its port, and its process when running.
struct Hub {
    db: String,
    port: u16,
    child: Option<Child>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Hub {
    fn new(dir: &Path, name: &str) -> Hub {
        Hub {
            db: format!("sqlite://{}", dir.join(format!("{name}.db")).display()),
            port: free_port(),
            child: None,
        }
    }

    fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(BIN)
            .args(args)
            .args(["--db", &self.db])
            .env("WATCHPOST_PASSWORD", PASSWORD)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Runs a command; returns its exit code and standard output (and error).
    fn run(&self, args: &[&str]) -> (i32, String) {
        let out = Command::new(BIN)
            .args(args)
            .args(["--db", &self.db])
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), text)
    }

    /// The state of a request as `org` lists it on this hub, if it does.
    fn request_state(&self, org: &str, id: &str) -> Option<String> {
        let list = self.cli(&["request", "list", "--org", org]);
        list.lines()
            .find(|l| l.starts_with(id))
            .and_then(|l| l.split('\t').nth(2))
            .map(str::to_string)
    }

    fn api(&self) -> String {
        format!("http://127.0.0.1:{}/taxii2/api/", self.port)
    }

    fn start(&mut self) {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", &format!("127.0.0.1:{}", self.port)])
            .args(["--db", &self.db])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        loop {
            let line = lines
                .next()
                .expect("the hub exited before it listened")
                .unwrap();
            if line.starts_with("TAXII 2.1 discovery: ") {
                break;
            }
        }
        std::thread::spawn(move || for _ in lines {});
        self.child = Some(child);
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGKILL: no chance to finish anything.
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// (id, version) → count of the intelligence collection, read as `user` over TAXII.
    fn versions(&self, user: &str) -> BTreeMap<(String, String), usize> {
        let url = format!(
            "{}collections/{INTEL}/objects/?match[version]=all&limit=1000",
            self.api()
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let body = runtime.block_on(async {
            let response = reqwest::Client::new()
                .get(&url)
                .basic_auth(user, Some(PASSWORD))
                .header("accept", "application/taxii+json;version=2.1")
                .send()
                .await;
            match response {
                Ok(r) => r.bytes().await.map(|b| b.to_vec()).unwrap_or_default(),
                Err(_) => Vec::new(),
            }
        });
        let envelope: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let mut seen = BTreeMap::new();
        for o in envelope["objects"].as_array().into_iter().flatten() {
            let key = (
                o["id"].as_str().unwrap_or("").to_string(),
                o["modified"].as_str().unwrap_or("").to_string(),
            );
            *seen.entry(key).or_insert(0) += 1;
        }
        seen
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.kill();
    }
}

fn indicator(n: u32, tlp: &str, recipients: &[&str]) -> Value {
    let marking = match tlp {
        "green" => "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        "amber" => "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        "amber+strict" => "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        _ => "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
    };
    let mut o = json!({"type": "indicator", "spec_version": "2.1",
        "id": format!("indicator--{n:08x}-7f1e-4d2c-9b3a-000000000000"),
        "created": "2026-11-20T00:00:00.000Z", "modified": "2026-11-20T00:00:00.000Z",
        "name": format!("{tlp} indicator {n}"),
        "pattern": format!("[ipv4-addr:value = '198.51.100.{}']", n % 250),
        "pattern_type": "stix", "valid_from": "2026-11-20T00:00:00Z",
        "object_marking_refs": [marking]});
    if !recipients.is_empty() {
        o["x_watchpost_recipients"] = json!(recipients);
    }
    o
}

fn import(hub: &Hub, dir: &Path, name: &str, objects: &[Value]) {
    let file = dir.join(name);
    let lines: String = objects.iter().map(|o| format!("{o}\n")).collect();
    std::fs::write(&file, lines).unwrap();
    hub.cli(&[
        "import",
        file.to_str().unwrap(),
        "--collection",
        INTEL,
        "--org",
        "vncert",
    ]);
}

/// Waits until `check` holds, for at most `limit`.
fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    check()
}

/// POSTs an envelope to `hub`'s intelligence collection; returns the HTTP status.
fn post(hub: &Hub, token: &str, body: &str, signature: Option<&str>) -> u16 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut request = reqwest::Client::new()
            .post(format!("{}collections/{INTEL}/objects/", hub.api()))
            .bearer_auth(token)
            .header("content-type", "application/taxii+json;version=2.1")
            .header("accept", "application/taxii+json;version=2.1")
            .body(body.to_string());
        if let Some(signature) = signature {
            request = request.header(watchpost_taxii::signing::HEADER, signature);
        }
        request.send().await.unwrap().status().as_u16()
    })
}

fn names(seen: &BTreeMap<(String, String), usize>) -> Vec<u32> {
    let mut out: Vec<u32> = seen
        .keys()
        .map(|(id, _)| u32::from_str_radix(&id[11..19], 16).unwrap())
        .collect();
    out.sort();
    out
}

#[test]
fn three_hubs_share_by_tlp_and_a_killed_peer_catches_up_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut vn = Hub::new(dir.path(), "vn");
    let mut la = Hub::new(dir.path(), "la");
    let mut kh = Hub::new(dir.path(), "kh");
    for hub in [&vn, &la, &kh] {
        for org in ["vncert", "laocert", "camcert"] {
            hub.cli(&["org", "add", org]);
        }
    }
    // Vietnam: LaoCERT is in the sharing group of the collection's AMBER objects.
    vn.cli(&["group", "add", "mekong", "--orgs", "vncert,laocert"]);
    vn.cli(&[
        "collection",
        "add",
        "Intelligence",
        "--id",
        INTEL,
        "--write",
        "vncert",
        "--group",
        "mekong",
    ]);
    // The partners: Vietnam's hub may write the same collection there.
    for hub in [&la, &kh] {
        hub.cli(&[
            "collection",
            "add",
            "Intelligence",
            "--id",
            INTEL,
            "--write",
            "vncert",
        ]);
        hub.cli(&["user", "add", "vn-hub", "--org", "vncert", "--role", "peer"]);
        hub.cli(&[
            "user", "add", "analyst", "--org", "vncert", "--role", "reader",
        ]);
    }
    la.cli(&[
        "user", "add", "local", "--org", "laocert", "--role", "reader",
    ]);
    let la_token = la.cli(&["token", "create", "vn-hub"]);
    let kh_token = kh.cli(&["token", "create", "vn-hub"]);
    let la_token = la_token.lines().last().unwrap().trim().to_string();
    let kh_token = kh_token.lines().last().unwrap().trim().to_string();
    // Keys are exchanged when peers are added: the partners hold Vietnam's public key, so what
    // Vietnam's account pushes there must be signed with it.
    let vn_key = vn.cli(&["peer", "key"]);
    for hub in [&la, &kh] {
        let url = vn.api();
        hub.cli(&[
            "peer", "add", "vncert", "--url", &url, "--token", "-", "--key", &vn_key,
        ]);
    }
    vn.cli(&[
        "peer",
        "add",
        "laocert",
        "--url",
        &la.api(),
        "--token",
        &la_token,
        "--push",
        INTEL,
    ]);
    vn.cli(&[
        "peer",
        "add",
        "camcert",
        "--url",
        &kh.api(),
        "--token",
        &kh_token,
        "--push",
        INTEL,
    ]);
    let laocert_identity = {
        let orgs = vn.cli(&["org", "list"]);
        orgs.lines()
            .find(|l| l.starts_with("laocert"))
            .and_then(|l| l.split('\t').find(|f| f.starts_with("identity--")))
            .unwrap_or("")
            .to_string()
    };
    import(
        &vn,
        dir.path(),
        "first.jsonl",
        &[
            indicator(1, "green", &[]),
            indicator(2, "amber", &[]),
            indicator(3, "amber+strict", &[]),
            indicator(4, "red", &[&laocert_identity]),
        ],
    );
    vn.start();
    la.start();
    kh.start();

    assert!(
        eventually(Duration::from_secs(30), || names(&la.versions("analyst"))
            == [1, 2]),
        "the partner got {:?}",
        names(&la.versions("analyst"))
    );
    assert!(
        eventually(Duration::from_secs(30), || names(&kh.versions("analyst"))
            == [1]),
        "the third country got {:?}",
        names(&kh.versions("analyst"))
    );
    // Nothing more arrives later.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(names(&la.versions("analyst")), [1, 2]);
    assert_eq!(names(&kh.versions("analyst")), [1]);

    // An envelope in Vietnam's name that Vietnam did not sign — unsigned, or signed with
    // another key over these bytes — is refused, and nothing in it is stored.
    let forged = json!({"objects": [indicator(900, "green", &[])]}).to_string();
    assert_eq!(post(&la, &la_token, &forged, None), 403);
    let other_key = watchpost_taxii::signing::sign(&[42u8; 32], forged.as_bytes());
    assert_eq!(post(&la, &la_token, &forged, Some(&other_key)), 403);
    assert_eq!(names(&la.versions("analyst")), [1, 2]);

    // The third country's hub dies; Vietnam goes on adding.
    kh.kill();
    let more: Vec<Value> = (100..160).map(|n| indicator(n, "green", &[])).collect();
    import(&vn, dir.path(), "more.jsonl", &more);
    assert!(
        eventually(Duration::from_secs(30), || la.versions("analyst").len()
            == 62),
        "the partner kept receiving"
    );
    let listed = vn.cli(&["peer", "list"]);
    assert!(
        eventually(Duration::from_secs(10), || {
            vn.cli(&["peer", "list"]).contains("cannot reach")
        }),
        "the failed pushes are recorded: {listed}"
    );
    kh.start();
    assert!(
        eventually(Duration::from_secs(60), || kh.versions("analyst").len()
            == 61),
        "caught up: {}",
        kh.versions("analyst").len()
    );
    let seen = kh.versions("analyst");
    assert!(seen.values().all(|&n| n == 1), "every version exactly once");

    // A revocation is a new version, and travels like one.
    let mut revoked = indicator(1, "green", &[]);
    revoked["modified"] = json!("2026-11-22T00:00:00.000Z");
    revoked["revoked"] = json!(true);
    import(&vn, dir.path(), "revoked.jsonl", &[revoked]);
    let first = "indicator--00000001-7f1e-4d2c-9b3a-000000000000".to_string();
    for hub in [&la, &kh] {
        assert!(
            eventually(Duration::from_secs(30), || {
                hub.versions("analyst")
                    .contains_key(&(first.clone(), "2026-11-22T00:00:00.000Z".to_string()))
            }),
            "the revocation reached {}",
            hub.api()
        );
    }
    assert!(
        !seen
            .keys()
            .any(|(id, _)| id.starts_with("indicator--00000002")),
        "no AMBER"
    );
}

/// Adds `name` as a peer of `hub`, with a token `there` issued to `hub`'s account and its key.
fn pair(hub: &Hub, there: &Hub, name: &str, account: &str) {
    let token = there.cli(&["token", "create", account]);
    let token = token.lines().last().unwrap().trim().to_string();
    let key = there.cli(&["peer", "key"]);
    hub.cli(&[
        "peer",
        "add",
        name,
        "--url",
        &there.api(),
        "--token",
        &token,
        "--key",
        &key,
    ]);
}

/// A webhook receiver on 127.0.0.1: answers 200 to every POST and keeps the bodies.
fn webhook() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut data = Vec::new();
            let mut buf = [0u8; 4096];
            // Headers, then as many body bytes as Content-Length says.
            let body_at = loop {
                let n = stream.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    break None;
                }
                data.extend_from_slice(&buf[..n]);
                if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                    break Some(i + 4);
                }
            };
            let Some(body_at) = body_at else { continue };
            let head = String::from_utf8_lossy(&data[..body_at]).to_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while data.len() < body_at + length {
                let n = stream.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    break;
                }
                data.extend_from_slice(&buf[..n]);
            }
            kept.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&data[body_at..]).into_owned());
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (url, bodies)
}

fn sqlite(hub: &Hub, sql: &str) -> String {
    let file = hub.db.trim_start_matches("sqlite://");
    let out = Command::new("sqlite3").args([file, sql]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn a_request_goes_from_one_hub_to_the_other_and_both_records_stand() {
    let dir = tempfile::tempdir().unwrap();
    let mut vn = Hub::new(dir.path(), "vn-req");
    let mut la = Hub::new(dir.path(), "la-req");
    let mut kh = Hub::new(dir.path(), "kh-req");
    for hub in [&vn, &la, &kh] {
        for org in ["vncert", "laocert", "camcert"] {
            hub.cli(&["org", "add", org]);
        }
    }
    // Each hub has an account for each hub it exchanges with, in that hub's organisation.
    for (hub, org) in [
        (&la, "vncert"),
        (&kh, "vncert"),
        (&vn, "laocert"),
        (&vn, "camcert"),
    ] {
        hub.cli(&[
            "user",
            "add",
            &format!("{org}-hub"),
            "--org",
            org,
            "--role",
            "peer",
        ]);
    }
    // Laos's duty officer is reached by webhook: the request's reminders go there.
    let (hook, delivered) = webhook();
    let directory = dir.path().join("la-directory.json");
    let entry = json!([{"org": "laocert", "focal_points": [{"name": "LaoCERT duty officer",
        "webhook": hook, "always_on": true, "language": "en", "order": 1}]}]);
    std::fs::write(&directory, entry.to_string()).unwrap();
    la.cli(&["org", "import", directory.to_str().unwrap()]);
    pair(&vn, &la, "laocert", "vncert-hub");
    pair(&vn, &kh, "camcert", "vncert-hub");
    pair(&la, &vn, "vncert", "laocert-hub");
    pair(&kh, &vn, "vncert", "camcert-hub");
    for hub in [&mut vn, &mut la, &mut kh] {
        hub.start();
    }

    let order = dir.path().join("order.txt");
    std::fs::write(&order, "preservation order no. 42").unwrap();
    let sent = vn.cli(&[
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
        "--deadline",
        "2026-12-24T10:00:00+07:00",
        "--attach",
        order.to_str().unwrap(),
    ]);
    let id = sent.split('\t').next().unwrap().to_string();
    assert!(sent.contains("\tsent\t(to the hub of laocert)"), "{sent}");

    // Laos's hub receives it (and records so); Vietnam's learns of the receipt.
    let state = |hub: &Hub, org: &str| hub.request_state(org, &id);
    assert!(
        eventually(Duration::from_secs(30), || state(&la, "laocert").as_deref()
            == Some("received")),
        "Laos has {:?}",
        state(&la, "laocert")
    );
    assert!(
        eventually(Duration::from_secs(30), || state(&vn, "vncert").as_deref()
            == Some("received")),
        "Vietnam has {:?}",
        state(&vn, "vncert")
    );
    // The file came with it, byte for byte.
    let stored = sqlite(&la, "SELECT CAST(content AS TEXT) FROM request_attachments");
    assert_eq!(stored, "preservation order no. 42");

    la.cli(&["request", "ack", &id, "--org", "laocert"]);
    // A note from either side reaches the other's record.
    la.cli(&[
        "request",
        "note",
        &id,
        "--org",
        "laocert",
        "--text",
        "preserved at Lao Telecom",
    ]);
    assert!(eventually(Duration::from_secs(30), || vn
        .cli(&["request", "show", &id, "--org", "vncert"])
        .contains("preserved at Lao Telecom")));
    assert!(eventually(Duration::from_secs(30), || state(&vn, "vncert")
        .as_deref()
        == Some("acknowledged")));
    // Vietnam cannot answer for Laos, on its own hub either.
    let (code, out) = vn.run(&[
        "request",
        "answer",
        &id,
        "--org",
        "laocert",
        "--outcome",
        "fulfilled",
    ]);
    assert_ne!(code, 0, "{out}");

    // The deadline clocks: each hub reminds its own organisation, once.
    let after_deadline = ["request", "clocks", "--now", "2026-12-25T00:00:00Z"];
    let reminded = la.cli(&after_deadline);
    assert!(
        reminded.contains("\tdeadline-passed\tlaocert\t"),
        "{reminded}"
    );
    assert!(!reminded.contains("vncert"), "{reminded}");
    assert_eq!(la.cli(&after_deadline), "", "raised once");
    let reminded = vn.cli(&after_deadline);
    assert!(
        reminded.contains("\tdeadline-passed\tvncert\t"),
        "{reminded}"
    );
    assert!(!reminded.contains("laocert"), "{reminded}");
    let warnings = la.cli(&["warnings", "list", "--org", "laocert"]);
    assert!(warnings.contains(&id), "{warnings}");
    // The running hub's courier delivers it to the duty officer like any warning.
    assert!(
        eventually(Duration::from_secs(30), || delivered
            .lock()
            .unwrap()
            .iter()
            .any(
                |b| b.contains(&id) && b.contains("not answered by the deadline")
            )),
        "delivered: {:?}",
        delivered.lock().unwrap()
    );

    la.cli(&[
        "request",
        "answer",
        &id,
        "--org",
        "laocert",
        "--outcome",
        "fulfilled",
    ]);
    assert!(eventually(Duration::from_secs(30), || state(&vn, "vncert")
        .as_deref()
        == Some("fulfilled")));
    // Answered, the reminder needs nobody any more: the hub acknowledges its warning.
    let settled = [
        "warnings",
        "list",
        "--org",
        "laocert",
        "--status",
        "acknowledged",
    ];
    assert!(
        eventually(Duration::from_secs(30), || la.cli(&settled).contains(&id)),
        "the reminder was settled"
    );
    // Laos's hub is away when Vietnam closes: the close reaches it once it is back.
    la.kill();
    vn.cli(&["request", "close", &id, "--org", "vncert"]);
    std::thread::sleep(Duration::from_secs(2));
    la.start();
    assert!(eventually(Duration::from_secs(60), || state(
        &la, "laocert"
    )
    .as_deref()
        == Some("closed")));

    // Both chains verify, each with the other's events copied in, the same first link.
    for hub in [&vn, &la] {
        let (code, out) = hub.run(&["request", "verify", &id]);
        assert_eq!((code, out.trim()), (0, "chain of 7 events verifies"));
    }
    let first = "SELECT hash FROM request_events WHERE seq = 1";
    assert_eq!(sqlite(&vn, first), sqlite(&la, first));
    let copies = "SELECT COUNT(*) FROM request_events WHERE body LIKE '%\"via\"%'";
    // Vietnam copied the receipt, acknowledgement, note and answer; Laos the sending and
    // closing (the creation it holds as it was written, hence the same first hash).
    assert_eq!(
        (sqlite(&vn, copies), sqlite(&la, copies)),
        ("4".into(), "2".into())
    );

    // The third country heard nothing of it.
    assert_eq!(kh.cli(&["request", "list", "--org", "camcert"]), "");
    assert_eq!(kh.cli(&["request", "list", "--org", "vncert"]), "");
    let kinds = "SELECT type, COUNT(*) FROM objects GROUP BY type";
    assert_eq!(
        sqlite(&kh, kinds),
        "extension-definition|1",
        "only the CLEAR definition"
    );
    // Each hub keeps both hubs' versions: Vietnam's two (sent, closed), Laos's four
    // (received, acknowledged, noted, answered).
    assert_eq!(
        sqlite(&la, kinds),
        "extension-definition|1\nx-watchpost-request|6"
    );

    // One changed row on Laos's side: its chain no longer verifies; Vietnam's still does.
    sqlite(
        &la,
        "UPDATE request_events SET actor = 'someone' WHERE seq = 4",
    );
    let (code, out) = la.run(&["request", "verify", &id]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("event 4"), "{out}");
    assert_eq!(vn.run(&["request", "verify", &id]).0, 0);
}
