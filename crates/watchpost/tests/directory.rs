//! `watchpost org import` and `org route` on the demo directory (real VN, LA and KH ranges).
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::process::Command;

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

#[test]
fn the_demo_directory_routes_each_network_to_its_organisation() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("hub.db").display());
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/../../demo/directory.json");
    let (ok, out, err) = watchpost(&db, &["org", "import", demo]);
    assert!(ok, "{err}");
    assert!(
        out.contains("4 organisations, 2571 prefixes imported; 0 entries refused"),
        "{out}"
    );
    // Addresses from the source lists (vn.cidr 14.160.0.0/11, la.cidr 43.224.36.0/22,
    // kh.cidr 45.114.160.0/22), the energy company's /24 inside the VN range, and Google DNS.
    for (target, expected) in [
        ("14.160.1.1", "vncert (prefix)"),
        ("14.160.32.9", "vn-energy (prefix)"),
        ("43.224.36.10", "laocert (prefix)"),
        ("45.114.160.1", "camcert (prefix)"),
        ("8.8.8.8", "vncert (national fallback)"),
        ("portal.energy.example.vn", "vn-energy (domain)"),
        ("mof.gov.la", "laocert (domain)"),
    ] {
        let (ok, out, err) = watchpost(&db, &["org", "route", target]);
        assert!(ok, "{target}: {err}");
        assert!(
            out.starts_with(&format!("{target}: {expected}")),
            "{target}: {out}"
        );
    }
    let (_, out, _) = watchpost(&db, &["org", "route", "14.160.33.1"]);
    assert!(
        out.contains("1. Energy SOC") && out.contains("2. CISO"),
        "the escalation chain in order: {out}"
    );
    let (_, orgs, _) = watchpost(&db, &["org", "list"]);
    assert!(
        orgs.lines().any(|l| l.starts_with("vn-energy\tVN\tenergy")),
        "{orgs}"
    );
    // A CSV with a bad row: the good rows are imported, the bad one named, exit 1.
    let csv = dir.path().join("more.csv");
    std::fs::write(&csv, "org,country,prefixes,contact,email,language\nvn-bank,VN,14.161.0.0/24,SOC,soc@bank.example,vi\nvn-rail,VN,14.162.0.0/24,SOC,soc@rail.example,fr\n").unwrap();
    let (ok, out, err) = watchpost(&db, &["org", "import", csv.to_str().unwrap()]);
    assert!(
        !ok && out.contains("1 organisations") && err.contains("line 3, column language"),
        "{out}{err}"
    );
    let (_, out, _) = watchpost(&db, &["org", "route", "14.161.0.5"]);
    assert!(out.starts_with("14.161.0.5: vn-bank (prefix)"), "{out}");
}

/// README's first command: `watchpost demo` seeds the hub (here without serving).
#[test]
fn the_demo_seeds_organisations_collections_and_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("demo.db").display());
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../../demo");
    let out = Command::new(BIN)
        .args(["demo", "--no-serve", "--db", &db, "--data", data])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("demo: 189 objects from"), "{text}");
    assert!(text.contains("demo: 14 objects from"), "{text}");
    assert!(
        text.contains("4 organisations, 2571 prefixes imported"),
        "{text}"
    );
    assert!(text.contains("login: demo / watchpost-demo"), "{text}");
    // The sample telemetry is replayed: each hit warns the organisation whose network it is,
    // in its focal point's language, and the truncated line is quarantined.
    for line in [
        "high warning to vn-energy: C2 server of Demo Loader → Energy SOC (vi)",
        "high warning to vn-energy: Scanning range seen against the energy sector → Energy SOC (vi)",
        "medium warning to laocert: Domain contacted by Demo Loader → LaoCERT operations (en)",
        "medium warning to camcert: Payload URL → CamCERT operations (en)",
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }
    assert_eq!(text.matches(" warning to ").count(), 4, "{text}");
    let quarantined =
        std::fs::read_to_string(dir.path().join("watchpost-demo-quarantine.jsonl")).unwrap();
    assert_eq!(quarantined.lines().count(), 1, "{quarantined}");
    let (ok, out, _) = watchpost(&db, &["warnings", "list", "--org", "laocert"]);
    assert!(ok && out.lines().count() == 2, "{out}");
    let (ok, out, _) = watchpost(&db, &["org", "route", "14.160.32.9"]);
    assert!(
        ok && out.starts_with("14.160.32.9: vn-energy (prefix)"),
        "{out}"
    );
    // A second start finds the data there and adds nothing.
    let again = Command::new(BIN)
        .args(["demo", "--no-serve", "--db", &db, "--data", data])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&again.stdout).contains("demo: 189 objects"));
}
