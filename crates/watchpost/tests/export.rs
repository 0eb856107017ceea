//! Exports for sensors: written by `watchpost export sensors`, and served by the hub with
//! `ETag`/`Last-Modified`, so a sensor polling with `If-None-Match` or `If-Modified-Since`
//! (`curl -z`) gets `304` until the indicators change. Each organisation exports only what it
//! may read.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_watchpost");
const INTEL: &str = "0b5e7b7e-4444-4444-8444-000000000001";
const RED: &str = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";

fn indicator(n: u32, pattern: &str) -> Value {
    json!({"type": "indicator", "spec_version": "2.1", "id": format!("indicator--{n:08x}-8888-4888-8888-888888888888"),
        "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z", "name": format!("Indicator {n}"),
        "pattern": pattern, "pattern_type": "stix", "valid_from": "2025-01-01T00:00:00Z"})
}

struct Hub(std::process::Child);

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn exports_are_written_served_with_validators_and_limited_to_what_the_caller_may_read() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("hub.db").display());
    let cli = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .args(["--db", &db])
            .env("WATCHPOST_PASSWORD", "export-password")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let import = |objects: Vec<Value>, name: &str| {
        let file = dir.path().join(name);
        let bundle = json!({"type": "bundle", "id": "bundle--6f1c0d7e-3c4a-4b8e-9a55-6a7b8c9d0e13", "objects": objects});
        std::fs::write(&file, bundle.to_string()).unwrap();
        cli(&[
            "import",
            file.to_str().unwrap(),
            "--collection",
            INTEL,
            "--org",
            "vncert",
        ]);
    };
    cli(&["org", "add", "vncert"]);
    cli(&["org", "add", "laocert"]);
    cli(&["user", "add", "lao", "--org", "laocert", "--role", "reader"]);
    cli(&[
        "collection",
        "add",
        "Indicators",
        "--id",
        INTEL,
        "--write",
        "vncert",
    ]);
    let mut secret = indicator(2, "[domain-name:value = 'red-only.example']");
    secret["object_marking_refs"] = json!([RED]);
    import(
        vec![
            indicator(
                1,
                "[domain-name:value = 'c2.evil.example'] OR [ipv4-addr:value = '198.51.100.7']",
            ),
            secret,
        ],
        "first.json",
    );

    // Written: vncert sees both domains; laocert only the one it may read.
    for (org, want_red) in [("vncert", true), ("laocert", false)] {
        let out = dir.path().join(org);
        cli(&[
            "export",
            "sensors",
            "--collection",
            INTEL,
            "--org",
            org,
            "--dir",
            out.to_str().unwrap(),
        ]);
        let domains = std::fs::read_to_string(out.join("domain.txt")).unwrap();
        assert!(domains.contains("c2.evil.example"), "{org}: {domains}");
        assert_eq!(
            domains.contains("red-only.example"),
            want_red,
            "{org}: {domains}"
        );
        let rules = std::fs::read_to_string(out.join("watchpost.rules")).unwrap();
        assert!(
            rules.contains("dataset:isset,watchpost-domain,type string,load watchpost-domain.lst;")
        );
        assert!(std::fs::read_to_string(out.join("watchpost.intel"))
            .unwrap()
            .contains("198.51.100.7\tIntel::ADDR"));
    }

    // Served, as laocert sees it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--db",
            &db,
        ])
        .args(["--secret-file", dir.path().join("secret").to_str().unwrap()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let _hub = Hub(child);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = reqwest::Client::new();
    let url = |file: &str| format!("http://127.0.0.1:{port}/exports/{INTEL}/{file}");
    let get = |file: &str, header: Option<(&str, String)>| {
        let mut req = client
            .get(url(file))
            .basic_auth("lao", Some("export-password"));
        if let Some((k, v)) = header {
            req = req.header(k, v);
        }
        rt.block_on(async { req.send().await.unwrap() })
    };
    let first = get("domain.txt", None);
    assert_eq!(first.status(), 200);
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    let modified = first.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_string();
    let body = rt.block_on(first.text()).unwrap();
    assert_eq!(body, "c2.evil.example\n");
    assert_eq!(
        get("domain.txt", Some(("if-none-match", etag.clone()))).status(),
        304
    );
    assert_eq!(
        get("domain.txt", Some(("if-modified-since", modified.clone()))).status(),
        304
    );
    let unauthenticated =
        rt.block_on(async { client.get(url("domain.txt")).send().await.unwrap() });
    assert_eq!(unauthenticated.status(), 401);
    let missing = get("nothing.txt", None);
    assert_eq!(missing.status(), 404);
    assert!(rt
        .block_on(missing.text())
        .unwrap()
        .contains("watchpost.rules"));

    // A new indicator: the file changes, its validators with it; the IP list did not change
    // and still answers 304 to its old validators.
    let ip_etag = get("ip.txt", None).headers()["etag"]
        .to_str()
        .unwrap()
        .to_string();
    import(
        vec![indicator(3, "[domain-name:value = 'new.evil.example']")],
        "second.json",
    );
    let changed = get("domain.txt", Some(("if-none-match", etag.clone())));
    assert_eq!(changed.status(), 200);
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(
        rt.block_on(changed.text()).unwrap(),
        "c2.evil.example\nnew.evil.example\n"
    );
    assert_eq!(
        get("ip.txt", Some(("if-none-match", ip_etag))).status(),
        304
    );
}
