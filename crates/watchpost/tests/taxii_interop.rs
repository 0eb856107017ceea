//! The hub, started with `watchpost serve` on a database set up with the CLI, driven by the
//! OASIS Python client `taxii2-client` (tests/reference/taxii_interop.py).
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

#[path = "../../../tests/reference/support.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use support::{python, repo};

const BIN: &str = env!("CARGO_BIN_EXE_watchpost");
const COLLECTION: &str = "c0ffee00-1234-4abc-8def-0123456789ab";

fn cli(db: &str, args: &[&str]) {
    let out = Command::new(BIN)
        .args(args)
        .args(["--db", db])
        .env("WATCHPOST_PASSWORD", "interop-password")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "watchpost {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A running `watchpost serve` and its discovery URL; killed when dropped.
pub struct Hub {
    child: Child,
    pub url: String,
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(db: &str) -> Hub {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--db", db])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    Hub { child, url }
}

#[test]
fn taxii2_client_drives_every_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("hub.db").display());
    cli(
        &db,
        &[
            "org",
            "add",
            "vncert",
            "--country",
            "VN",
            "--sector",
            "government-national",
        ],
    );
    cli(
        &db,
        &["user", "add", "lan", "--org", "vncert", "--role", "analyst"],
    );
    cli(
        &db,
        &[
            "collection",
            "add",
            "Interop",
            "--id",
            COLLECTION,
            "--write",
            "vncert",
        ],
    );
    let hub = serve(&db);
    let out = Command::new(python())
        .arg(repo().join("tests/reference/taxii_interop.py"))
        .args([&hub.url, "lan", "interop-password", COLLECTION])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("all steps passed"));
}

fn envelope(start: u32, count: u32) -> String {
    let objects: Vec<String> = (start..start + count)
        .map(|n| {
            format!(
                r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--{n:08x}-4444-4444-8444-444444444444","created":"2025-01-01T00:00:00.000Z","modified":"2025-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '192.0.2.{}']","pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z"}}"#,
                n % 250
            )
        })
        .collect();
    format!("{{\"objects\":[{}]}}", objects.join(","))
}

const TAXII: &str = "application/taxii+json;version=2.1";

/// Kills the server in the middle of ingestion, again and again: every object of every status
/// reported as a success is there after the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_keeps_every_object_it_reported_stored() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("hub.db").display());
    cli(&db, &["org", "add", "vncert"]);
    cli(
        &db,
        &["user", "add", "lan", "--org", "vncert", "--role", "analyst"],
    );
    cli(
        &db,
        &[
            "collection",
            "add",
            "Crash",
            "--id",
            COLLECTION,
            "--write",
            "vncert",
        ],
    );
    let http = reqwest::Client::new();
    let mut reported = Vec::new();
    let mut next = 0u32;
    for round in 0..6u64 {
        let hub = serve(&db);
        let url = format!("{}api/collections/{COLLECTION}/objects/", hub.url);
        let post = |body: String| {
            http.post(&url)
                .basic_auth("lan", Some("interop-password"))
                .header("accept", TAXII)
                .header("content-type", TAXII)
                .body(body)
                .send()
        };
        // Some envelopes that complete, then one cut short by SIGKILL after a varying delay.
        for _ in 0..3 {
            let resp = post(envelope(next, 500)).await.unwrap();
            assert_eq!(resp.status(), 202);
            reported.push(resp.json::<serde_json::Value>().await.unwrap());
            next += 500;
        }
        let in_flight = post(envelope(next, 2000));
        next += 2000;
        let killer = async {
            tokio::time::sleep(std::time::Duration::from_millis(5 + round * 7)).await;
        };
        tokio::select! {
            r = in_flight => if let Ok(resp) = r {
                if resp.status() == 202 {
                    if let Ok(status) = resp.json::<serde_json::Value>().await { reported.push(status) }
                }
            },
            _ = killer => {}
        }
        drop(hub); // SIGKILL
    }
    let hub = serve(&db);
    let mut stored = std::collections::HashSet::new();
    let mut page_url = format!(
        "{}api/collections/{COLLECTION}/manifest/?limit=10000",
        hub.url
    );
    loop {
        let page: serde_json::Value = http
            .get(&page_url)
            .basic_auth("lan", Some("interop-password"))
            .header("accept", TAXII)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for o in page["objects"].as_array().into_iter().flatten() {
            stored.insert(o["id"].as_str().unwrap().to_string());
        }
        match page["next"].as_str() {
            Some(n) => {
                page_url = format!(
                    "{}api/collections/{COLLECTION}/manifest/?limit=10000&next={n}",
                    hub.url
                )
            }
            None => break,
        }
    }
    let mut promised = 0;
    for status in &reported {
        for s in status["successes"].as_array().unwrap() {
            promised += 1;
            assert!(
                stored.contains(s["id"].as_str().unwrap()),
                "lost {s} after a crash"
            );
        }
        // The status resource survived too.
        let id = status["id"].as_str().unwrap();
        let again = http
            .get(format!("{}api/status/{id}/", hub.url))
            .basic_auth("lan", Some("interop-password"))
            .header("accept", TAXII)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 200);
    }
    assert!(promised >= 9000, "{promised} objects reported stored");
}

#[test]
fn feed_add_and_poll_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let remote_db = format!("sqlite://{}", dir.path().join("remote.db").display());
    cli(&remote_db, &["org", "add", "laocert"]);
    cli(
        &remote_db,
        &[
            "user", "add", "partner", "--org", "laocert", "--role", "reader",
        ],
    );
    cli(
        &remote_db,
        &[
            "collection",
            "add",
            "Shared",
            "--id",
            COLLECTION,
            "--write",
            "laocert",
        ],
    );
    let bundle = dir.path().join("bundle.json");
    std::fs::write(&bundle, envelope(0, 40).replacen("{\"objects\"", "{\"type\":\"bundle\",\"id\":\"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d\",\"objects\"", 1)).unwrap();
    cli(
        &remote_db,
        &[
            "import",
            bundle.to_str().unwrap(),
            "--collection",
            COLLECTION,
            "--org",
            "laocert",
        ],
    );
    let remote = serve(&remote_db);

    let local_db = format!("sqlite://{}", dir.path().join("local.db").display());
    cli(&local_db, &["org", "add", "vncert"]);
    let api_root = format!("{}api/", remote.url);
    let out = Command::new(BIN)
        .args([
            "feed",
            "add",
            &api_root,
            "--collection",
            COLLECTION,
            "--org",
            "vncert",
            "--user",
            "partner",
            "--db",
            &local_db,
        ])
        .env("WATCHPOST_FEED_PASSWORD", "interop-password")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let poll = Command::new(BIN)
        .args(["feed", "poll", "--db", &local_db])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&poll.stdout);
    assert!(
        poll.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&poll.stderr)
    );
    assert!(
        text.contains("40 objects received, 40 stored, 0 refused"),
        "{text}"
    );
    let again = Command::new(BIN)
        .args(["feed", "poll", "--db", &local_db])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 objects received"));
}
