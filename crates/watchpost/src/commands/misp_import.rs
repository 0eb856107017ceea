//! `import` of MISP event JSON: recognise it, convert it with `watchpost_exchange::misp`, and
//! store the STIX objects as `import` stores any file's, reporting each skipped record with
//! the file and its JSON path.

use super::admin::{flush, ImportReport};
use anyhow::{Context, Result};
use serde_json::Value;
use std::io::{BufRead, Read};
use std::path::Path;
use watchpost_exchange::misp::{to_stix, Options};
use watchpost_exchange::warninglist::WarningLists;
use watchpost_stix::Validator;
use watchpost_store::{Caller, SqlStore, StatusDetail};
use watchpost_taxii::server::ingest;

/// Keys a MISP document can start with: the wrappers (`Event`, `response`) and the fields of
/// a bare event. No STIX object or bundle has any of them.
const MISP_FIRST_KEYS: &[&str] = &[
    "Event",
    "response",
    "Attribute",
    "Object",
    "Orgc",
    "Org",
    "Tag",
    "Galaxy",
    "info",
    "uuid",
    "date",
    "analysis",
    "threat_level_id",
];

/// Whether a file's first key is one of [`MISP_FIRST_KEYS`], read from its buffered start
/// without consuming it.
pub fn starts_like_misp(reader: &mut impl BufRead) -> Result<bool> {
    let head = reader.fill_buf().context("cannot read the file")?;
    let text = String::from_utf8_lossy(&head[..head.len().min(256)]);
    let rest = text.trim_start_matches('\u{feff}').trim_start();
    let Some(rest) = rest.strip_prefix('{') else {
        return Ok(false);
    };
    let rest = rest.trim_start();
    Ok(MISP_FIRST_KEYS
        .iter()
        .any(|key| rest.starts_with(&format!("\"{key}\""))))
}

/// Converts a MISP file; skipped records go to stderr as `file: path: message`.
pub fn convert(path: &Path, mut reader: impl Read) -> Result<(Vec<Value>, u64)> {
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let conversion = to_stix(&bytes, &Options::default())
        .with_context(|| format!("{} is not MISP event JSON", path.display()))?;
    for problem in &conversion.problems {
        eprintln!("{}: {problem}", path.display());
    }
    let mut objects = conversion.objects;
    for line in flag_warning_lists(&WarningLists::embedded(), &mut objects) {
        println!("{}: {line}", path.display());
    }
    Ok((objects, conversion.problems.len() as u64))
}

/// Flags the indicators whose value is on a MISP warning list, so that watches leave them out
/// until an analyst confirms them; returns one line per flagged indicator.
pub fn flag_warning_lists(lists: &WarningLists, objects: &mut [Value]) -> Vec<String> {
    let mut lines = Vec::new();
    for object in objects.iter_mut() {
        let Some(indicator) = object.as_object_mut() else {
            continue;
        };
        if indicator.get("type").and_then(Value::as_str) != Some("indicator") {
            continue;
        }
        let hits = lists.flag_indicator(indicator);
        if !hits.is_empty() {
            let names: Vec<String> = hits
                .iter()
                .map(|h| format!("{} ({})", h.list, h.name))
                .collect();
            let id = indicator.get("id").and_then(Value::as_str).unwrap_or("");
            lines.push(format!(
                "{id} is on a warning list: {}; kept out of matching until confirmed",
                names.join(", ")
            ));
        }
    }
    lines
}

/// Stores converted objects in batches, each checked as an uploaded object would be.
pub async fn store(
    store: &SqlStore,
    caller: &Caller,
    collection: &str,
    path: &Path,
    (objects, skipped): (Vec<Value>, u64),
    validator: &Validator,
    report: &mut ImportReport,
) -> Result<()> {
    report.skipped += skipped;
    let (mut batch, mut failures, mut issues) = (Vec::new(), Vec::new(), Vec::new());
    for object in &objects {
        match ingest::prepare(object, validator, &mut issues) {
            Ok(o) => batch.push(o),
            Err(f) => {
                eprintln!(
                    "{}: {} refused: {}",
                    path.display(),
                    f.id,
                    f.message.as_deref().unwrap_or("")
                );
                failures.push(StatusDetail { ..f });
            }
        }
        if batch.len() >= 1000 {
            flush(store, caller, collection, &mut batch, &mut failures, report).await?;
        }
    }
    flush(store, caller, collection, &mut batch, &mut failures, report).await
}
