//! The `watchpost` binary as a user runs it: output lines, summaries and exit codes.

// A panic in a test is a failing test, not a crashed hub.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn watchpost(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_watchpost"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn data(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data")
        .join(rel)
        .display()
        .to_string()
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn valid_files_exit_zero_with_a_summary() {
    let out = watchpost(
        &[
            "stix",
            "validate",
            &data("stix/examples/threat-reports/apt1.json"),
            &data("attack/ics-attack.json"),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.ends_with("objects in 2 files: 0 invalid (0 problems)\n")
            || text.contains("invalid (0 problems)"),
        "{text}"
    );
}

#[test]
fn invalid_objects_are_named_by_file_index_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = r#"{"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": [
      {"type": "identity", "spec_version": "2.1", "id": "identity--311b2d2d-f010-4473-83ec-1edf84858f4c",
       "created": "2015-12-21T19:59:11.000Z", "modified": "2015-12-21T19:59:11.000Z", "name": "ACME"},
      {"type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
       "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
       "pattern": "[ipv4-addr:value = '203.0.113.7']", "pattern_type": "stix",
       "valid_from": "2024-01-01T00:00:00Z", "valid_until": "2023-06-01T00:00:00Z",
       "created_by_ref": "malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061"}]}"#;
    let file = write(&dir, "b.json", bundle);
    let out = watchpost(&["stix", "validate", file.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    let f = file.display();
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            format!("{f}:objects[1].created_by_ref: must refer to an identity, not to a malware"),
            format!(
                "{f}:objects[1].valid_until: must be later than valid_from (2024-01-01T00:00:00Z)"
            ),
            "2 objects in 1 files: 1 valid, 1 invalid (2 problems)".to_string(),
        ]
    );
}

#[test]
fn json_lines_and_stdin_are_read() {
    let ok = r#"{"type": "ipv4-addr", "id": "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4", "value": "198.51.100.3"}"#;
    let bad = r#"{"type": "ipv4-addr", "id": "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4", "value": "198.51.100.300"}"#;
    let out = watchpost(&["stix", "validate", "-"], Some(&format!("{ok}\n{bad}\n")));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).starts_with("-:line 2: value: expected an IPv4 address"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn unreadable_input_exits_two() {
    let out = watchpost(&["stix", "validate", "/nonexistent/file.json"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).contains("cannot open"));

    let dir = tempfile::tempdir().unwrap();
    let file = write(
        &dir,
        "t.json",
        r#"{"type": "bundle", "objects": [{"type": "ipv4-addr", "va"#,
    );
    let out = watchpost(&["stix", "validate", file.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).contains("truncated"), "{}", stdout(&out));
}

#[test]
fn a_broken_object_in_a_bundle_is_reported_and_the_rest_read() {
    let dir = tempfile::tempdir().unwrap();
    let text = "{\"type\":\"bundle\",\"id\":\"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d\",\"objects\":[\n{\"type\": nul},\n{\"type\":\"mutex\",\"id\":\"mutex--eba44954-d4e4-5d3b-814c-2b17dd8de300\",\"name\":\"m\"}]}";
    let file = write(&dir, "x.json", text);
    let out = watchpost(&["stix", "validate", file.to_str().unwrap()], None);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(":objects[0]: not valid JSON: line 2, column"),
        "{text}"
    );
    assert!(
        text.ends_with("2 objects in 1 files: 1 valid, 1 invalid (1 problems)\n"),
        "{text}"
    );
}

#[test]
fn stix_id_computes_deterministic_ids() {
    let input = r#"{"type": "ipv4-addr", "value": "198.51.100.3"}
{"type": "file", "name": "resume.pdf", "hashes": {"SHA-1": "c79a326f8411e9488bdc3779753e1e3489aaedea", "MD5": "1717b7fff97d37a1e1a0029d83492de1"}, "size": 83968}
{"type": "indicator", "pattern": "x"}
"#;
    let out = watchpost(&["stix", "id"], Some(input));
    assert_eq!(out.status.code(), Some(1));
    // The file id is the one in the OASIS sighting-of-observed-data example.
    assert_eq!(
        stdout(&out),
        "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4\nfile--364fe3e5-b1f4-5ba3-b951-ee5983b3538d\n"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("`indicator` is not a cyber-observable type")
    );
}

#[test]
fn pattern_check_points_at_the_column() {
    let out = watchpost(&["pattern", "check", "[file:size = ]"], None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        "error: expected a literal value, found `]`\n --> pattern:1:14\n  |\n1 | [file:size = ]\n  |              ^\n"
    );
    let out = watchpost(
        &[
            "pattern",
            "check",
            "[ipv4-addr:value ISSUBSET '198.51.100.0/24']",
        ],
        None,
    );
    assert_eq!(
        (out.status.code(), stdout(&out).as_str()),
        (Some(0), "valid\n")
    );
}

#[test]
fn pattern_eval_answers_every_line_in_order() {
    let bundle = r#"{"type": "bundle", "id": "bundle--1", "objects": [{"type": "observed-data", "id": "observed-data--1", "number_observed": 1, "first_observed": "2024-01-01T00:00:00Z", "last_observed": "2024-01-01T00:00:00Z", "object_refs": ["domain-name--1"]}, {"type": "domain-name", "id": "domain-name--1", "value": "evil.example"}]}"#;
    let input = format!(
        "{{\"pattern\": \"[domain-name:value = 'evil.example']\", \"observations\": [{bundle}]}}\nnot json\n{{\"pattern\": \"[domain-name:value = \", \"observations\": []}}\n{{\"pattern\": \"[x:y = t'2020-01-01T00:00:00Z']\", \"observations\": [{bundle}], \"stix_version\": \"2.1\"}}\n"
    );
    let out = watchpost(&["pattern", "eval"], Some(&input));
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(
        lines[0],
        serde_json::json!({"matched": true, "sdos": ["observed-data--1"]})
    );
    assert_eq!(lines[1]["error"]["kind"], "input");
    assert_eq!(lines[2]["error"]["kind"], "syntax");
    assert_eq!(lines[2]["error"]["column"], 22);
    assert_eq!(lines[3], serde_json::json!({"matched": false}));
}

#[test]
fn stix_validate_checks_indicator_patterns() {
    let dir = tempfile::tempdir().unwrap();
    let indicator = r#"{"type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z", "pattern": "[file:hashes.'SHA-256' = 'f00']", "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z"}"#;
    let file = write(&dir, "i.json", indicator);
    let out = watchpost(&["stix", "validate", file.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains(":pattern: column 2: 'f00' is not a valid SHA-256 hash"),
        "{}",
        stdout(&out)
    );
}
