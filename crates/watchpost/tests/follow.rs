//! `watchpost watch --follow`: a real process following real files while they grow, are
//! rotated (rename and create) and truncated (copytruncate), then stopped with SIGTERM.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_watchpost");

fn indicator(n: u32) -> String {
    json!({"type": "indicator", "spec_version": "2.1", "id": format!("indicator--{n:08x}-5555-4555-8555-555555555555"),
        "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
        "pattern": format!("[ipv4-addr:value = '203.0.113.{n}']"), "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z"})
    .to_string()
}

/// An EVE flow line to `dest`; a hit when `dest` is 203.0.113.N.
fn eve(dest: &str) -> String {
    format!(
        "{}\n",
        json!({"timestamp": "2025-03-01T10:00:00.000000+0000", "event_type": "flow", "src_ip": "10.0.0.1", "dest_ip": dest, "proto": "TCP"})
    )
}

fn hit(n: u32) -> String {
    eve(&format!("203.0.113.{n}"))
}

fn miss() -> String {
    eve("10.9.9.9")
}

fn append(path: &Path, text: &str) {
    let mut f = OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// The matches written so far: (indicator number, source file name, line).
fn sightings(out: &Path) -> Vec<(u32, String, u64)> {
    let text = std::fs::read_to_string(out).unwrap_or_default();
    text.lines()
        .map(|l| {
            let s: Value = serde_json::from_str(l).unwrap();
            let id = s["indicator"].as_str().unwrap();
            let source = s["source"].as_str().unwrap();
            (
                u32::from_str_radix(&id[11..19], 16).unwrap(),
                source.rsplit('/').next().unwrap().to_string(),
                s["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Waits until `out` holds `count` matches (no more, and within a timeout).
fn wait_for(out: &Path, count: usize, child: &mut Child) -> Vec<(u32, String, u64)> {
    let start = Instant::now();
    loop {
        let found = sightings(out);
        if found.len() >= count {
            assert_eq!(found.len(), count, "{found:?}");
            return found;
        }
        assert!(child.try_wait().unwrap().is_none(), "watchpost ended early");
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{count} matches expected, found {found:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Run {
    dir: tempfile::TempDir,
    eve: PathBuf,
    later: PathBuf,
    out: PathBuf,
    quarantine: PathBuf,
    child: Child,
}

fn start() -> Run {
    let dir = tempfile::tempdir().unwrap();
    let indicators = dir.path().join("indicators.jsonl");
    let text: String = (1..=20).map(|n| indicator(n) + "\n").collect();
    std::fs::write(&indicators, text).unwrap();
    let eve_file = dir.path().join("eve.json");
    append(&eve_file, &(miss() + &hit(1)));
    let later = dir.path().join("later.json");
    let out = dir.path().join("sightings.jsonl");
    let quarantine = dir.path().join("quarantine.jsonl");
    let child = Command::new(BIN)
        .arg("watch")
        .arg("--indicators")
        .arg(&indicators)
        .arg("--eve")
        .arg(&eve_file)
        .arg("--eve")
        .arg(&later)
        .arg("--follow")
        .arg("--sightings-out")
        .arg(&out)
        .arg("--quarantine")
        .arg(&quarantine)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Run {
        dir,
        eve: eve_file,
        later,
        out,
        quarantine,
        child,
    }
}

fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn follows_appends_rotation_and_truncation_and_stops_on_sigterm() {
    let mut run = start();
    let (eve_file, out) = (run.eve.clone(), run.out.clone());
    // What the file held at the start.
    wait_for(&out, 1, &mut run.child);
    // Appended lines, one written in two parts.
    append(&eve_file, &(hit(2) + &miss()));
    let third = hit(3);
    let (begin, end) = third.split_at(30);
    append(&eve_file, begin);
    std::thread::sleep(Duration::from_millis(500));
    append(&eve_file, end);
    wait_for(&out, 3, &mut run.child);
    // A file that did not exist at the start, read alongside the first.
    append(&run.later, &(miss() + &hit(4)));
    wait_for(&out, 4, &mut run.child);
    // logrotate: rename, create; the writer finishes a line in the old file and writes one
    // more there before it reopens the path.
    let rotated = run.dir.path().join("eve.json.1");
    let fifth = hit(5);
    let (begin, end) = fifth.split_at(40);
    append(&eve_file, begin);
    std::thread::sleep(Duration::from_millis(300));
    std::fs::rename(&eve_file, &rotated).unwrap();
    append(&eve_file, &(miss() + &hit(7)));
    append(&rotated, &(end.to_string() + &hit(6)));
    wait_for(&out, 7, &mut run.child);
    append(&eve_file, "{\"event_type\": \"flow\", broken\n");
    append(&eve_file, &hit(8));
    wait_for(&out, 8, &mut run.child);
    // copytruncate: copied aside, cut to nothing in place, written again from the start.
    std::fs::copy(&eve_file, run.dir.path().join("eve.json.2")).unwrap();
    OpenOptions::new()
        .write(true)
        .open(&eve_file)
        .unwrap()
        .set_len(0)
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    append(&eve_file, &hit(9));
    let found = wait_for(&out, 9, &mut run.child);
    sigterm(&run.child);
    let start = Instant::now();
    let status = loop {
        if let Some(status) = run.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut run.child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "{status}: {stderr}");
    // Each hit once, at its line of the file it was in when read (numbers restart with each
    // new file of the path).
    let found: BTreeSet<_> = found.into_iter().collect();
    let expected: BTreeSet<(u32, String, u64)> = [
        (1, "eve.json", 2),
        (2, "eve.json", 3),
        (3, "eve.json", 5),
        (4, "later.json", 2),
        (5, "eve.json", 6),
        (6, "eve.json", 7),
        (7, "eve.json", 2),
        (8, "eve.json", 4),
        (9, "eve.json", 1),
    ]
    .into_iter()
    .map(|(n, s, l)| (n, s.to_string(), l))
    .collect();
    assert_eq!(found, expected);
    assert_eq!(sightings(&out).len(), 9, "nothing more after the stop");
    let q = std::fs::read_to_string(&run.quarantine).unwrap();
    let q: Vec<Value> = q
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(q.len(), 1, "{q:?}");
    assert_eq!(q[0]["line"], 3);
    // 7 lines in the first file of eve.json, 4 in the second, 1 in the third; 2 in later.json.
    assert!(
        stderr.contains("14 lines, 13 events, 0 skipped, 1 malformed"),
        "{stderr}"
    );
    assert!(stderr.contains("9 matches"), "{stderr}");
}

#[test]
fn sigint_ends_a_follow_that_saw_nothing() {
    let mut run = start();
    wait_for(&run.out.clone(), 1, &mut run.child);
    let status = Command::new("kill")
        .args(["-INT", &run.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = run.child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("2 lines, 2 events"), "{stderr}");
    assert!(stderr.contains("1 matches"), "{stderr}");
}
