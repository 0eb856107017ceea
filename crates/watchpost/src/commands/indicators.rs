//! Reading indicator patterns from STIX files, for the commands that compile pattern sets.

use anyhow::{Context, Result};
use serde_json::Value;
use std::fs::File;
use std::path::Path;
use watchpost_pattern::Version;
use watchpost_stix::reader::Reader;

/// The STIX patterns of the indicators in `path` (a bundle or JSON lines), with their
/// grammar versions; other objects and non-STIX patterns are skipped.
pub fn read(path: &Path) -> Result<Vec<(String, Version)>> {
    Ok(read_with_ids(path)?
        .into_iter()
        .map(|(_, pattern, version)| (pattern, version))
        .collect())
}

/// An indicator to match: its id, its pattern, the pattern's grammar version.
pub type IndicatorPattern = (String, String, Version);

/// Like [`read`], with each indicator's id first.
pub fn read_with_ids(path: &Path) -> Result<Vec<IndicatorPattern>> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut out = Vec::new();
    for entry in Reader::new(file) {
        let entry = entry.with_context(|| format!("cannot read {}", path.display()))?;
        let Ok(object) = entry.value else { continue };
        if object.get("type").and_then(Value::as_str) != Some("indicator")
            || object.get("pattern_type").and_then(Value::as_str) != Some("stix")
        {
            continue;
        }
        let Some(pattern) = object.get("pattern").and_then(Value::as_str) else {
            continue;
        };
        let version = object
            .get("pattern_version")
            .and_then(Value::as_str)
            .and_then(Version::parse)
            .unwrap_or_default();
        let id = object.get("id").and_then(Value::as_str).unwrap_or("");
        out.push((id.to_string(), pattern.to_string(), version));
    }
    Ok(out)
}
