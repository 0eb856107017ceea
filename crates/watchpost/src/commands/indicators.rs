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

/// The id, pattern and pattern version of an indicator with a STIX pattern; `None` for any
/// other object (a missing id reads as empty).
pub fn indicator_pattern(object: &Value) -> Option<IndicatorPattern> {
    let text = |k: &str| object.get(k).and_then(Value::as_str);
    if text("type") != Some("indicator") || text("pattern_type") != Some("stix") {
        return None;
    }
    let version = text("pattern_version")
        .and_then(Version::parse)
        .unwrap_or_default();
    Some((
        text("id").unwrap_or("").to_string(),
        text("pattern")?.to_string(),
        version,
    ))
}

/// Like [`read`], with each indicator's id first.
pub fn read_with_ids(path: &Path) -> Result<Vec<IndicatorPattern>> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut out = Vec::new();
    for entry in Reader::new(file) {
        let entry = entry.with_context(|| format!("cannot read {}", path.display()))?;
        if let Some(indicator) = entry.value.ok().as_ref().and_then(indicator_pattern) {
            out.push(indicator);
        }
    }
    Ok(out)
}
