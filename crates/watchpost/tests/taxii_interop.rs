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
