//! `watchpost feed add --misp URL` and `feed poll` against a MISP feed served over real HTTP
//! on 127.0.0.1: events are fetched once, again only when their manifest timestamp changes, a
//! broken event costs that event only (and is fetched again next time), and what a warning list
//! names is held out of matching.

// A panic in a test is a failing test, not a crashed hub.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

/// A static file server that records every path asked for.
struct FeedServer {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl FeedServer {
    fn start(root: PathBuf) -> FeedServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/feeds/circl/", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let mut stream = stream.unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let path = line.split(' ').nth(1).unwrap_or("").to_string();
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap() <= 2 {
                        break;
                    }
                }
                log.lock().unwrap().push(path.clone());
                let file = path.strip_prefix("/feeds/circl/").map(|f| root.join(f));
                let response = match file.and_then(|f| std::fs::read(f).ok()) {
                    Some(body) => {
                        let mut r = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                             Content-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        )
                        .into_bytes();
                        r.extend(body);
                        r
                    }
                    None => {
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .to_vec()
                    }
                };
                let _ = stream.write_all(&response);
            }
        });
        FeedServer { url, requests }
    }

    /// The paths asked for since the last call, in order (the poller asks one at a time).
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.requests.lock().unwrap())
    }
}

const REAL: &str = "57c4445b-c548-4654-af0b-4be3950d210f";
const PLANTED: &str = "6a1d2c3b-4e5f-4a6b-8c7d-0e1f2a3b4c5d";
const BROKEN: &str = "7b2e3d4c-5f6a-4b7c-9d8e-1f2a3b4c5d6e";

fn planted(timestamp: &str, extra: Option<(&str, &str)>) -> Value {
    let mut attributes = vec![
        json!({"uuid": "6a1d2c3b-0000-4000-8000-000000000001", "type": "domain",
               "value": "cdn-update.oceanlotus-test.net", "to_ids": true, "timestamp": timestamp}),
        json!({"uuid": "6a1d2c3b-0000-4000-8000-000000000002", "type": "ip-dst",
               "value": "8.8.8.8", "to_ids": true, "timestamp": timestamp}),
    ];
    if let Some((kind, value)) = extra {
        attributes.push(
            json!({"uuid": "6a1d2c3b-0000-4000-8000-000000000003", "type": kind,
               "value": value, "to_ids": true, "timestamp": timestamp}),
        );
    }
    json!({"Event": {"uuid": PLANTED, "info": "Planted test event", "date": "2026-11-20",
        "timestamp": timestamp, "Orgc": {"name": "CIRCL", "uuid": "55f6ea5e-2c60-40e5-964f-47a8950d210f"},
        "Tag": [{"name": "tlp:green"}], "Attribute": attributes}})
}

fn write_feed(root: &Path, planted_event: &Value, broken: bool) {
    let real: Value = serde_json::from_slice(
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/data/misp/57c4445b-c548-4654-af0b-4be3950d210f.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let entry =
        |e: &Value| json!({"info": e["Event"]["info"], "timestamp": e["Event"]["timestamp"]});
    let mut manifest = json!({REAL: entry(&real), PLANTED: entry(planted_event)});
    std::fs::write(root.join(format!("{REAL}.json")), real.to_string()).unwrap();
    std::fs::write(
        root.join(format!("{PLANTED}.json")),
        planted_event.to_string(),
    )
    .unwrap();
    if broken {
        manifest[BROKEN] = json!({"info": "cut short", "timestamp": "1700000000"});
        std::fs::write(
            root.join(format!("{BROKEN}.json")),
            r#"{"Event": {"uuid": "#,
        )
        .unwrap();
    }
    std::fs::write(root.join("manifest.json"), manifest.to_string()).unwrap();
}

#[test]
fn a_misp_feed_is_polled_incrementally() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("hub.db").display());
    let root = dir.path().join("feed");
    std::fs::create_dir(&root).unwrap();
    write_feed(&root, &planted("1763600000", None), true);
    let server = FeedServer::start(root.clone());
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_watchpost"))
            .args(args)
            .args(["--db", &db])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    };
    assert!(run(&["org", "add", "vncert"]).0);
    let (ok, added) = run(&[
        "feed",
        "add",
        "--misp",
        &server.url,
        "--org",
        "vncert",
        "--every",
        "60",
    ]);
    assert!(ok, "{added}");
    assert!(added.contains("MISP feed"), "{added}");
    let collection = added
        .split("into collection ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    let (again, why) = run(&["feed", "add", "--misp", &server.url, "--org", "vncert"]);
    assert!(!again && why.contains("already"), "{why}");

    // First poll: both good events stored, the broken one named by URL and kept for next time.
    let (ok, first) = run(&["feed", "poll"]);
    assert!(!ok, "a lost event makes the poll fail: {first}");
    assert!(first.contains("3 events listed, 2 fetched"), "{first}");
    assert!(first.contains("1 indicators on a warning list"), "{first}");
    assert!(
        first.contains(&format!("{}{BROKEN}.json", server.url)),
        "{first}"
    );
    let asked = server.take();
    assert_eq!(asked.len(), 4, "{asked:?}");

    let values = || {
        let (ok, out) = run(&[
            "export",
            "misp",
            "--collection",
            &collection,
            "--org",
            "vncert",
        ]);
        assert!(ok, "{out}");
        out
    };
    let exported = values();
    for value in [
        "0749bae92ca336a02c83d126e04ec628",
        "b3c4ae251f8094fa15b510051835c657eaef2a6cea46075d3aec964b14a99f68",
        "cdn-update.oceanlotus-test.net",
        "8.8.8.8",
    ] {
        assert!(exported.contains(value), "{value} missing from the export");
    }

    // Nothing changed but the broken event, mended: only it is fetched.
    write_feed(&root, &planted("1763600000", None), false);
    let mut manifest: Value =
        serde_json::from_slice(&std::fs::read(root.join("manifest.json")).unwrap()).unwrap();
    manifest[BROKEN] = json!({"info": "mended", "timestamp": "1700000000"});
    std::fs::write(root.join("manifest.json"), manifest.to_string()).unwrap();
    let mended = planted("1700000000", None)
        .to_string()
        .replace(PLANTED, BROKEN)
        .replace("6a1d2c3b-0000", "7b2e3d4c-0000");
    std::fs::write(root.join(format!("{BROKEN}.json")), mended).unwrap();
    let (ok, second) = run(&["feed", "poll"]);
    assert!(ok, "{second}");
    assert!(second.contains("3 events listed, 1 fetched"), "{second}");
    assert_eq!(
        server.take(),
        [
            "/feeds/circl/manifest.json".to_string(),
            format!("/feeds/circl/{BROKEN}.json")
        ]
    );

    // An event updated upstream (new timestamp, one more attribute) is fetched again, alone.
    write_feed(
        &root,
        &planted("1763700000", Some(("sha256", &"ab".repeat(32)))),
        false,
    );
    manifest = serde_json::from_slice(&std::fs::read(root.join("manifest.json")).unwrap()).unwrap();
    manifest[BROKEN] = json!({"info": "mended", "timestamp": "1700000000"});
    std::fs::write(root.join("manifest.json"), manifest.to_string()).unwrap();
    let (ok, third) = run(&["feed", "poll"]);
    assert!(ok, "{third}");
    assert!(third.contains("3 events listed, 1 fetched"), "{third}");
    assert_eq!(
        server.take(),
        [
            "/feeds/circl/manifest.json".to_string(),
            format!("/feeds/circl/{PLANTED}.json")
        ]
    );
    assert!(values().contains(&"ab".repeat(32)));

    let (ok, fourth) = run(&["feed", "poll"]);
    assert!(ok && fourth.contains("0 fetched"), "{fourth}");
    assert_eq!(server.take(), ["/feeds/circl/manifest.json".to_string()]);
}
