//! Import of CSV files, plain lists and report text (`.txt`, `.md`, `.adoc`, `.html`): values
//! become STIX indicators (watchpost_exchange::list), each checked against the MISP warning
//! lists; a hit is marked on the indicator and printed, and keeps it out of the live pattern
//! set until `watchpost indicator confirm`.

use anyhow::{Context, Result};
use std::path::Path;
use watchpost_exchange::extract::Extractor;
use watchpost_exchange::list::{self, ColumnMap, ListRead};
use watchpost_exchange::warninglist::{WarningLists, FLAG_PROPERTY};

/// Whether a file is read as report text rather than STIX, by its extension.
pub fn is_report(path: &Path) -> bool {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    matches!(
        ext.as_deref(),
        Some("txt" | "md" | "markdown" | "adoc" | "html" | "htm")
    )
}

/// The indicators of a report: every IoC with a STIX pattern; HTML has its tags stripped
/// first. Read whole: an import keeps every indicator in memory anyway.
pub fn read_report(path: &Path) -> Result<ListRead> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut read = ListRead::default();
    if let Err(e) = std::str::from_utf8(&bytes) {
        let first = e.valid_up_to();
        let line = 1 + bytes[..first].iter().filter(|&&b| b == b'\n').count();
        read.problems.push(list::Problem {
            line,
            column: None,
            message: "bytes from here on are not all UTF-8; they were replaced by U+FFFD"
                .to_owned(),
        });
    }
    let text = String::from_utf8_lossy(&bytes);
    let html = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"));
    let text = if html {
        strip_tags(&text)
    } else {
        text.into_owned()
    };
    let mut line = 1;
    let mut counted = 0;
    for ioc in Extractor::get().extract(&text) {
        line += text[counted..ioc.byte_offset].matches('\n').count();
        counted = ioc.byte_offset;
        if ioc.kind.pattern(&ioc.value).is_some() {
            read.records
                .push(list::record_for(line, ioc.kind, ioc.value, None));
        }
    }
    Ok(read)
}

/// Reads a CSV file through a column map.
pub fn read_csv(path: &Path, map: &ColumnMap) -> Result<ListRead> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(list::read_csv(&bytes, map))
}

/// Prints the problems, flags the records that hit a warning list (and prints them), and
/// returns the indicators to store.
pub fn flag_and_report(path: &Path, read: ListRead) -> Vec<serde_json::Value> {
    for p in &read.problems {
        eprintln!("{}: {p}", path.display());
    }
    let lists = WarningLists::embedded();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for mut record in read.records {
        // A report names the same IoC many times; one indicator is enough.
        if !seen.insert((record.kind, record.value.clone())) {
            continue;
        }
        let hits = lists.check(record.kind, &record.value);
        if !hits.is_empty() {
            let names: Vec<String> = hits
                .iter()
                .map(|h| format!("{} ({})", h.list, h.name))
                .collect();
            let id = record
                .indicator
                .get("id")
                .and_then(|v| v.as_str())
                .unwrap_or("");
            println!(
                "{}:{}: {} ({id}) is on a warning list: {}; kept out of matching until confirmed",
                path.display(),
                record.line,
                record.value,
                names.join(", ")
            );
            record
                .indicator
                .insert(FLAG_PROPERTY.into(), WarningLists::flag_value(&hits));
        }
        out.push(serde_json::Value::Object(record.indicator));
    }
    out
}

/// Text of an HTML page: tags, scripts and styles removed, the common entities decoded.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        let lower: String = after
            .chars()
            .take(7)
            .collect::<String>()
            .to_ascii_lowercase();
        let skip_to = if lower.starts_with("<script") {
            find_ci(after, "</script>")
        } else if lower.starts_with("<style") {
            find_ci(after, "</style>")
        } else {
            after.find('>').map(|i| i + 1)
        };
        match skip_to {
            Some(n) => {
                // A tag separates words the way a space does.
                out.push(' ');
                rest = &after[n..];
            }
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    for (entity, c) in [
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&quot;", "\""),
        ("&#39;", "'"),
        ("&nbsp;", " "),
        ("&amp;", "&"),
    ] {
        out = out.replace(entity, c);
    }
    out
}

fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .to_ascii_lowercase()
        .find(needle)
        .map(|i| i + needle.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_text() {
        assert_eq!(
            strip_tags("<p>C2: <b>evil[.]vn</b><script>var x='1.2.3.4'</script> &amp; more</p>")
                .split_whitespace()
                .collect::<Vec<_>>(),
            vec!["C2:", "evil[.]vn", "&", "more"]
        );
    }
}
