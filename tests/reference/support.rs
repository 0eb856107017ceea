//! What the Rust tests that drive the OASIS reference implementations share: where the
//! repository is, and which Python runs the reference (`scripts/test` prepares `.venv/`).
//! Included by path from each crate's tests.

use std::path::{Path, PathBuf};

/// The repository root, from a crate directory `crates/<name>`.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `WATCHPOST_PYTHON`, or the repository's `.venv`; a clear failure when neither exists.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("WATCHPOST_PYTHON") {
        return p.into();
    }
    let venv = repo().join(".venv/bin/python");
    assert!(
        venv.exists(),
        "the reference tests need the OASIS Python packages: run ./scripts/test once, or set WATCHPOST_PYTHON"
    );
    venv
}
