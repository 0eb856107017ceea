//! A hub's watch follows telemetry while its indicators change: an indicator imported while
//! the watch runs starts matching, a revoked one and one whose `valid_until` passes stop, and
//! matching never stops for the rebuilds (`--reload-every 1`).
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use serde_json::{json, Value};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_watchpost");
const INTEL: &str = "0b5e7b7e-3333-4333-8333-000000000001";
const SEEN: &str = "0b5e7b7e-3333-4333-8333-000000000002";

fn indicator(n: u32, modified: &str, extra: Value) -> Value {
    let mut i = json!({"type": "indicator", "spec_version": "2.1",
        "id": format!("indicator--{n:08x}-7777-4777-8777-777777777777"),
        "created": "2025-01-01T00:00:00.000Z", "modified": modified,
        "pattern": format!("[ipv4-addr:value = '198.51.100.{n}']"), "pattern_type": "stix",
        "valid_from": "2025-01-01T00:00:00Z"});
    for (k, v) in extra.as_object().unwrap() {
        i[k] = v.clone();
    }
    i
}

/// A flow from the energy company's network to 198.51.100.N.
fn flow(n: u32) -> String {
    format!(
        "{}\n",
        json!({"timestamp": "2025-03-01T10:00:00.000000+0000", "event_type": "flow", "src_ip": "14.160.32.9", "dest_ip": format!("198.51.100.{n}"), "proto": "TCP"})
    )
}

fn append(path: &Path, text: &str) {
    let mut f = OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// The indicator numbers of the matches written so far, in order.
fn matches(out: &Path) -> Vec<u32> {
    std::fs::read_to_string(out)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let s: Value = serde_json::from_str(l).unwrap();
            u32::from_str_radix(&s["indicator"].as_str().unwrap()[11..19], 16).unwrap()
        })
        .collect()
}

/// Appends a flow to 198.51.100.N every 300 ms until `want` holds of the matches.
fn until(eve: &Path, out: &Path, n: u32, what: &str, want: impl Fn(&[u32]) -> bool) {
    let start = Instant::now();
    loop {
        append(eve, &flow(n));
        std::thread::sleep(Duration::from_millis(300));
        if want(&matches(out)) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out: {what}"
        );
    }
}

#[test]
fn indicators_added_revoked_and_expired_while_the_watch_follows() {
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
    };
    let import = |objects: Vec<Value>, name: &str| {
        let file = dir.path().join(name);
        let bundle = json!({"type": "bundle", "id": "bundle--6f1c0d7e-3c4a-4b8e-9a55-6a7b8c9d0e12", "objects": objects});
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
    cli(&[
        "org",
        "import",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../demo/directory.json"),
    ]);
    cli(&[
        "collection",
        "add",
        "Indicators",
        "--id",
        INTEL,
        "--write",
        "vncert",
    ]);
    cli(&[
        "collection",
        "add",
        "Sightings",
        "--id",
        SEEN,
        "--write",
        "vncert",
    ]);
    import(
        vec![indicator(1, "2025-01-01T00:00:00.000Z", json!({}))],
        "first.json",
    );
    let (eve, out) = (dir.path().join("eve.json"), dir.path().join("hits.jsonl"));
    std::fs::write(&eve, flow(9)).unwrap();
    let mut watch = Command::new(BIN)
        .args([
            "watch",
            "--follow",
            "--reload-every",
            "1",
            "--eve",
            eve.to_str().unwrap(),
        ])
        .args([
            "--sightings-collection",
            SEEN,
            "--org",
            "vncert",
            "--db",
            &db,
        ])
        .args(["--sightings-out", out.to_str().unwrap()])
        .args(["--quarantine", dir.path().join("q.jsonl").to_str().unwrap()])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    until(&eve, &out, 1, "the indicator known at start", |m| {
        m.contains(&1)
    });

    // Imported while the watch runs: it matches once the set is rebuilt. Indicator 3 expires
    // 20 s after its import: time enough to be seen matching first on a loaded machine.
    let soon = watchpost_stix_time(20);
    let expires = Instant::now() + Duration::from_secs(20);
    import(
        vec![
            indicator(2, "2025-01-01T00:00:00.000Z", json!({})),
            indicator(3, "2025-01-01T00:00:00.000Z", json!({"valid_until": soon})),
        ],
        "second.json",
    );
    until(&eve, &out, 2, "a new indicator", |m| m.contains(&2));
    until(&eve, &out, 3, "an indicator before its valid_until", |m| {
        m.contains(&3)
    });

    // Revoked: a new version; and the other one's valid_until passes.
    import(
        vec![indicator(
            2,
            "2025-06-01T00:00:00.000Z",
            json!({"revoked": true}),
        )],
        "revoked.json",
    );
    // Past the expiry and two reload periods.
    std::thread::sleep(
        (expires + Duration::from_secs(3)).saturating_duration_since(Instant::now()),
    );
    let before = matches(&out);
    for n in [2, 3, 2, 3, 1] {
        append(&eve, &flow(n));
    }
    until(
        &eve,
        &out,
        1,
        "the unchanged indicator still matching",
        |m| m.len() > before.len() + 1,
    );
    let after = &matches(&out)[before.len()..];
    assert!(
        after.iter().all(|n| *n == 1),
        "revoked or expired indicators matched: {after:?}"
    );

    terminate(watch.id());
    let status = watch.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let mut err = String::new();
    std::io::Read::read_to_string(&mut watch.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains("0 malformed"), "{err}");
}

/// An RFC 3339 time `secs` seconds from now.
fn watchpost_stix_time(secs: u64) -> String {
    let at = std::time::SystemTime::now() + Duration::from_secs(secs);
    let micros = at
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64;
    watchpost_stix::Timestamp::from_unix_micros(micros).to_string()
}

fn terminate(pid: u32) {
    let ok = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}
