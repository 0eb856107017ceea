//! Issue 7: values on a MISP warning list (a private address, a public resolver) are flagged
//! on import and not matched by a hub watch until an analyst confirms them; a CSV with a bad
//! row and a non-UTF-8 line keeps its good rows; `watchpost extract` shows the flags.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use serde_json::json;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_watchpost");

#[test]
fn flagged_values_match_only_after_confirmation() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("hub.db").display());
    let run = |args: &[&str], with_db: bool| {
        let mut cmd = Command::new(BIN);
        cmd.args(args);
        if with_db {
            cmd.args(["--db", &db]);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.code() != Some(101),
            "{args:?} panicked: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let cli = |args: &[&str]| {
        let (ok, out, err) = run(args, true);
        assert!(ok, "{args:?}: {err}");
        (out, err)
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

    let mut csv =
        b"first_seen,note,value\n2024-01-01,office,10.1.2.3\n2024-01-01,resolver,8.8.8.8\n"
            .to_vec();
    csv.extend_from_slice(b"2024-01-01,c\xe1f\xe9,14.160.32.9\nlast week,bad date,14.160.32.10\n");
    let csv_file = dir.path().join("iocs.csv");
    std::fs::write(&csv_file, csv).unwrap();
    let (ok, out, err) = run(
        &[
            "import",
            "--csv",
            csv_file.to_str().unwrap(),
            "--map",
            "value=2,type=auto,first_seen=0",
            "--collection",
            intel,
            "--org",
            "vncert",
        ],
        true,
    );
    // The bad row makes the exit code 1; the three good rows are stored all the same.
    assert!(!ok);
    assert!(out.contains("3 objects stored, 1 refused"), "{out}");
    assert!(
        err.contains("iocs.csv: line 4: bytes at 12 are not UTF-8"),
        "{err}"
    );
    assert!(
        err.contains("iocs.csv: line 5, column 0: `last week` is not a time"),
        "{err}"
    );
    assert!(out.contains(":2: 10.1.2.3 (indicator--"), "{out}");
    assert!(
        out.contains("rfc1918 (List of RFC 1918 CIDR blocks)"),
        "{out}"
    );
    let resolver = out
        .lines()
        .find(|l| l.contains(": 8.8.8.8 (indicator--"))
        .unwrap_or_else(|| panic!("8.8.8.8 is not flagged: {out}"));
    assert!(resolver.contains("public-dns-v4"), "{resolver}");
    let id = &resolver[resolver.find("(indicator--").unwrap() + 1..resolver.find(") is").unwrap()];

    let eve: String = [
        json!({"timestamp": "2025-03-01T10:00:00.000000+0000", "event_type": "flow", "src_ip": "10.1.2.3", "dest_ip": "8.8.8.8", "proto": "UDP"}),
        json!({"timestamp": "2025-03-01T10:05:00.000000+0000", "event_type": "flow", "src_ip": "203.0.113.5", "dest_ip": "14.160.32.9", "proto": "TCP"}),
    ]
    .iter()
    .map(|l| format!("{l}\n"))
    .collect();
    let eve_file = dir.path().join("eve.json");
    std::fs::write(&eve_file, eve).unwrap();
    let watch = || {
        cli(&[
            "watch",
            "--eve",
            eve_file.to_str().unwrap(),
            "--sightings-collection",
            seen,
            "--org",
            "vncert",
            "--quarantine",
            dir.path().join("q.jsonl").to_str().unwrap(),
        ])
        .0
    };
    let before = watch();
    assert!(
        before.contains("1 sightings of 1 indicators stored"),
        "{before}"
    );

    cli(&[
        "indicator",
        "confirm",
        id,
        "--collection",
        intel,
        "--org",
        "vncert",
    ]);
    let after = watch();
    assert!(
        after.contains("2 sightings of 2 indicators stored"),
        "{after}"
    );

    let report = dir.path().join("report.md");
    std::fs::write(&report, "Máy chủ DNS 8.8.8.8 và C2 hxxp://evil[.]vn/a\n").unwrap();
    let (ok, shown, _) = run(&["extract", report.to_str().unwrap()], false);
    assert!(ok);
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 2, "{shown}");
    assert!(
        lines[0]
            .trim_start()
            .starts_with("12  ipv4             8.8.8.8  [warning list: "),
        "{shown}"
    );
    assert!(lines[0].contains("public-dns-v4"), "{shown}");
    assert_eq!(
        lines[1].trim_start(),
        "26  url              http://evil.vn/a"
    );
}

#[test]
fn reports_import_as_indicators() {
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
    cli(&[
        "collection",
        "add",
        "Indicators",
        "--id",
        intel,
        "--write",
        "vncert",
    ]);
    // The script's address is not text a reader sees; CVE and ATT&CK ids are not indicators;
    // the repeated domain becomes one indicator.
    let html = dir.path().join("canh-bao.html");
    std::fs::write(
        &html,
        "<html><head><style>p{}</style><script>var a='192.0.2.1';</script></head><body>\
         <p>Mã độc khai thác CVE-2017-11882 (T1203), C2 <b>evil[.]vn</b> và evil.vn, \
         IP 103.56.53[.]120.</p></body></html>",
    )
    .unwrap();
    let out = cli(&[
        "import",
        html.to_str().unwrap(),
        "--collection",
        intel,
        "--org",
        "vncert",
    ]);
    assert!(out.contains("2 objects stored, 0 refused"), "{out}");
    let report = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/reports/mustang_panda-README.adoc"
    );
    let out = cli(&["import", report, "--collection", intel, "--org", "vncert"]);
    // Hand-counted in tests/data/reports/mustang_panda.labels.tsv: 28 SHA-1, 13 IPv4, 4 domains,
    // 2 URLs (ATT&CK ids are not indicators).
    assert!(out.contains("47 objects stored, 0 refused"), "{out}");
}
