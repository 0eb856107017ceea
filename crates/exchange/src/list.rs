//! CSV files and plain one-per-line lists of indicator values, read into STIX indicators.
//!
//! A column map (`value=2,type=auto,first_seen=0`, columns counted from 0) says where the
//! value, its type and its first-seen time are. `type=auto`, or no `type`, recognises the value
//! by its form with the same automaton as [`crate::extract`]: the whole cell must be one IoC
//! (an IPv4/IPv6 address or CIDR block, a domain, a URL, an e-mail address, or a hash, whose
//! kind follows from its length); defanged values are refanged. `type=N` reads the kind from
//! column N, by Watchpost's names (`ipv4`, `sha256`…) or MISP's (`ip-dst`, `hostname`…).
//!
//! Reading never stops at a bad row: the row is skipped and a [`Problem`] names its line and
//! column, and the good rows of the same file are kept. Bytes that are not UTF-8 (a file saved
//! in two encodings) are replaced by U+FFFD and reported once per line. Quoted fields follow
//! RFC 4180 within one line; a quoted field does not span lines (such a row is reported).

use std::fmt;
use std::str::FromStr;

use serde_json::{json, Map, Value};
use watchpost_stix::Timestamp;

use crate::extract::{Extractor, IocKind};

/// Where the value, its type and its first-seen time are in a CSV row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnMap {
    /// The column of the value.
    pub value: usize,
    /// The column of the type, or `None` to recognise the value by its form.
    pub kind: Option<usize>,
    /// The column of the first-seen time, which becomes `valid_from`.
    pub first_seen: Option<usize>,
}

/// A column map that cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum MapError {
    /// A part is not `key=value`.
    #[error("`{0}` is not `key=column`; expected e.g. `value=2,type=auto,first_seen=0`")]
    NotAPair(String),
    /// A column is not a number.
    #[error("`{key}={column}`: the column must be a number counted from 0 (or `auto` for type)")]
    BadColumn {
        /// The key.
        key: String,
        /// What was given.
        column: String,
    },
    /// An unknown key.
    #[error("unknown key `{0}`; the keys are value, type and first_seen")]
    UnknownKey(String),
    /// No `value=` part.
    #[error("the map has no `value=` column")]
    NoValue,
}

impl FromStr for ColumnMap {
    type Err = MapError;

    fn from_str(spec: &str) -> Result<Self, MapError> {
        let mut map = (None, None, None);
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, column) = part
                .split_once('=')
                .ok_or_else(|| MapError::NotAPair(part.to_owned()))?;
            let (key, column) = (key.trim(), column.trim());
            if key == "type" && column == "auto" {
                continue;
            }
            let n: usize = column.parse().map_err(|_| MapError::BadColumn {
                key: key.to_owned(),
                column: column.to_owned(),
            })?;
            match key {
                "value" => map.0 = Some(n),
                "type" => map.1 = Some(n),
                "first_seen" => map.2 = Some(n),
                other => return Err(MapError::UnknownKey(other.to_owned())),
            }
        }
        Ok(ColumnMap {
            value: map.0.ok_or(MapError::NoValue)?,
            kind: map.1,
            first_seen: map.2,
        })
    }
}

/// A row that was skipped, or a line that needed repair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The line, counted from 1.
    pub line: usize,
    /// The column (counted from 0, as in the map), when one cell is at fault.
    pub column: Option<usize>,
    /// What is wrong, as a sentence.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.column {
            Some(c) => write!(f, "line {}, column {}: {}", self.line, c, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

/// One value read into an indicator.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The line it came from, counted from 1.
    pub line: usize,
    /// What the value is.
    pub kind: IocKind,
    /// The value, refanged and normalised.
    pub value: String,
    /// The STIX indicator.
    pub indicator: Map<String, Value>,
}

/// What a list yielded: the good records and the problems, in line order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListRead {
    /// Indicators built from good rows.
    pub records: Vec<Record>,
    /// Skipped rows and repaired lines.
    pub problems: Vec<Problem>,
}

/// Reads a CSV file (its bytes) through `map`. A first row whose value cell is not an IoC is
/// taken for a header and skipped silently.
pub fn read_csv(bytes: &[u8], map: &ColumnMap) -> ListRead {
    let mut out = ListRead::default();
    let all = lines(bytes, &mut out.problems);
    let mut next = 0;
    while let Some((line_no, line)) = all.get(next) {
        let line_no = *line_no;
        let (cells, used) = split_record(&all[next..]);
        next += used;
        let cells = match cells {
            Ok(cells) => cells,
            Err(message) => {
                out.problems.push(Problem {
                    line: line_no,
                    column: None,
                    message: format!("{message} (it starts `{}`)", shorten(line)),
                });
                continue;
            }
        };
        match row(&cells, map, line_no) {
            Ok(record) => out.records.push(record),
            Err(_) if line_no == 1 => {}
            Err(p) => out.problems.push(p),
        }
    }
    // Decoding problems were found first; a stable sort puts each before its row's own.
    out.problems.sort_by_key(|p| p.line);
    out
}

/// Reads a plain list: one value per line; `#` starts a comment line.
pub fn read_lines(bytes: &[u8]) -> ListRead {
    let mut out = ListRead::default();
    for (line_no, line) in lines(bytes, &mut out.problems) {
        let value = line.trim();
        if value.starts_with('#') {
            continue;
        }
        match recognise(value) {
            Some((kind, value)) => out.records.push(record_for(line_no, kind, value, None)),
            None => out.problems.push(Problem {
                line: line_no,
                column: None,
                message: format!("`{}` is not an IoC Watchpost recognises", shorten(value)),
            }),
        }
    }
    out.problems.sort_by_key(|p| p.line);
    out
}

/// The non-blank lines with their numbers, decoded lossily; each line with bytes that are
/// not UTF-8 is reported.
fn lines(bytes: &[u8], problems: &mut Vec<Problem>) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let line = match std::str::from_utf8(raw) {
            Ok(s) => s.to_owned(),
            Err(e) => {
                problems.push(Problem {
                    line: i + 1,
                    column: None,
                    message: format!(
                        "bytes at {} are not UTF-8 (another encoding?); they were replaced by U+FFFD",
                        e.valid_up_to()
                    ),
                });
                String::from_utf8_lossy(raw).into_owned()
            }
        };
        if !line.trim().is_empty() {
            out.push((i + 1, line));
        }
    }
    out
}

/// How many lines a quoted field may span; a stray quote must not swallow the rest of a file.
const MAX_RECORD_LINES: usize = 100;

/// Splits the record that starts at `lines[0]`: a quoted field may go on over the next lines
/// (RFC 4180). Returns the cells and how many lines they took; an unclosed quote costs its
/// first line only, so the records after it are still read.
fn split_record(lines: &[(usize, String)]) -> (Result<Vec<String>, String>, usize) {
    let mut text = lines[0].1.clone();
    for used in 1..=lines.len().min(MAX_RECORD_LINES) {
        if let Ok(cells) = split_csv(&text) {
            return (Ok(cells), used);
        }
        if let Some((_, more)) = lines.get(used) {
            text.push('\n');
            text.push_str(more);
        }
    }
    let message = format!(
        "a quoted field is not closed on its line or the {} after it",
        MAX_RECORD_LINES - 1
    );
    (Err(message), 1)
}

/// Splits one CSV record (RFC 4180 quoting, `""` for a quote inside quotes).
fn split_csv(line: &str) -> Result<Vec<String>, String> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (false, '"') if cell.trim().is_empty() => quoted = true,
            (false, ',') => cells.push(std::mem::take(&mut cell)),
            (_, c) => cell.push(c),
        }
    }
    if quoted {
        return Err("a quoted field is not closed on its line".to_owned());
    }
    cells.push(cell);
    Ok(cells)
}

fn row(cells: &[String], map: &ColumnMap, line: usize) -> Result<Record, Problem> {
    let problem = |column: usize, message: String| Problem {
        line,
        column: Some(column),
        message,
    };
    let cell = |column: usize| {
        cells
            .get(column)
            .map(|c| c.trim())
            .ok_or_else(|| problem(column, format!("the row has {} columns", cells.len())))
    };
    let value = cell(map.value)?;
    let (kind, value) = match map.kind {
        None => recognise(value)
            .ok_or_else(|| problem(map.value, format!("`{}` is not an IoC", shorten(value))))?,
        Some(k) => {
            let name = cell(k)?;
            let kind = kind_named(name).ok_or_else(|| {
                problem(
                    k,
                    format!("`{}` is not a type Watchpost knows", shorten(name)),
                )
            })?;
            let (found, value) = recognise(value).ok_or_else(|| {
                problem(
                    map.value,
                    format!("`{}` is not a valid {}", shorten(value), kind.name()),
                )
            })?;
            if !compatible(kind, found) {
                return Err(problem(
                    map.value,
                    format!(
                        "`{}` is a {}, not a {}",
                        shorten(&value),
                        found.name(),
                        kind.name()
                    ),
                ));
            }
            (found, value)
        }
    };
    let valid_from = match map.first_seen {
        None => None,
        Some(c) => {
            let text = cell(c)?;
            Some(first_seen(text).ok_or_else(|| {
                problem(
                    c,
                    format!(
                        "`{}` is not a time; expected 2024-03-15, 2024-03-15 08:00:00, an RFC 3339 time or epoch seconds",
                        shorten(text)
                    ),
                )
            })?)
        }
    };
    Ok(record_for(line, kind, value, valid_from))
}

/// The kind and normalised value of a cell that is exactly one IoC, or `None`.
pub fn recognise(value: &str) -> Option<(IocKind, String)> {
    let iocs = Extractor::get().extract(value);
    match iocs.as_slice() {
        [one] if one.byte_offset == 0 && one.len == value.chars().count() => {
            one.kind.pattern(&one.value)?;
            Some((one.kind, one.value.clone()))
        }
        _ => None,
    }
}

/// A type column's kind, by Watchpost's names or MISP's attribute types.
fn kind_named(name: &str) -> Option<IocKind> {
    Some(match name.to_ascii_lowercase().as_str() {
        "ipv4" | "ip" | "ip-src" | "ip-dst" | "ipv4-addr" => IocKind::Ipv4,
        "ipv6" | "ipv6-addr" => IocKind::Ipv6,
        "cidr" | "ipv4-cidr" | "ip-cidr" => IocKind::Ipv4Cidr,
        "ipv6-cidr" => IocKind::Ipv6Cidr,
        "domain" | "hostname" | "domain-name" => IocKind::Domain,
        "url" | "uri" | "link" => IocKind::Url,
        "email" | "email-src" | "email-dst" | "email-addr" => IocKind::Email,
        "md5" => IocKind::Md5,
        "sha1" | "sha-1" => IocKind::Sha1,
        "sha256" | "sha-256" => IocKind::Sha256,
        "sha512" | "sha-512" => IocKind::Sha512,
        _ => return None,
    })
}

/// Whether a value recognised as `found` may stand for a declared `kind`: an address column
/// also takes CIDR blocks, and either IP family.
fn compatible(kind: IocKind, found: IocKind) -> bool {
    use IocKind::*;
    let ip = |k| matches!(k, Ipv4 | Ipv6 | Ipv4Cidr | Ipv6Cidr);
    kind == found || ip(kind) && ip(found)
}

/// `valid_from` from a first-seen cell.
fn first_seen(text: &str) -> Option<Timestamp> {
    if let Ok(t) = Timestamp::parse(text) {
        return Some(t);
    }
    if let Ok(secs) = text.parse::<i64>() {
        return Some(Timestamp::from_unix(secs, 0));
    }
    let candidate = match text.len() {
        10 => format!("{text}T00:00:00Z"),
        19 => format!("{}Z", text.replacen(' ', "T", 1)),
        _ => return None,
    };
    Timestamp::parse(&candidate).ok()
}

/// A record for a value already known to be of `kind` (as [`crate::extract`] found it):
/// a STIX indicator with its pattern, `valid_from` = `valid_from` or now.
pub fn record_for(
    line: usize,
    kind: IocKind,
    value: String,
    valid_from: Option<Timestamp>,
) -> Record {
    let now = Timestamp::now().to_string();
    // `recognise` only returns kinds that have a pattern.
    let pattern = kind.pattern(&value).unwrap_or_default();
    let valid_from = valid_from.map_or_else(|| now.clone(), |t| t.to_string());
    let indicator = json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": watchpost_stix::id::random_id("indicator"),
        "created": now,
        "modified": now,
        "name": value,
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": valid_from,
    });
    Record {
        line,
        kind,
        value,
        indicator: match indicator {
            Value::Object(map) => map,
            _ => Map::new(),
        },
    }
}

/// Long cells are cut in messages so a 1 MB cell does not flood the report.
fn shorten(s: &str) -> String {
    const MAX: usize = 80;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(spec: &str) -> ColumnMap {
        spec.parse().unwrap()
    }

    #[test]
    fn column_maps() {
        assert_eq!(
            map("value=2,type=auto,first_seen=0"),
            ColumnMap {
                value: 2,
                kind: None,
                first_seen: Some(0)
            }
        );
        assert_eq!("type=1".parse::<ColumnMap>(), Err(MapError::NoValue));
        assert!(matches!(
            "value=x".parse::<ColumnMap>(),
            Err(MapError::BadColumn { .. })
        ));
        assert_eq!(
            "value=1,colour=2".parse::<ColumnMap>(),
            Err(MapError::UnknownKey("colour".into()))
        );
    }

    #[test]
    fn auto_types_by_form() {
        let csv = "first_seen,note,value\n\
                   2024-03-15,a,203.0.113.5\n\
                   2024-03-15 08:00:00,b,evil[.]vn\n\
                   1710489600,c,hxxp://evil.vn/x\n\
                   2024-03-15T08:00:00Z,d,44d88612fea8a8f36de82e1278abb02f\n\
                   2024-03-15,\"e, quoted\",2001:db8::/32\n";
        let read = read_csv(csv.as_bytes(), &map("value=2,type=auto,first_seen=0"));
        assert_eq!(read.problems, vec![]);
        let got: Vec<(IocKind, &str, &str)> = read
            .records
            .iter()
            .map(|r| {
                (
                    r.kind,
                    r.value.as_str(),
                    r.indicator["valid_from"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (IocKind::Ipv4, "203.0.113.5", "2024-03-15T00:00:00Z"),
                (IocKind::Domain, "evil.vn", "2024-03-15T08:00:00Z"),
                (IocKind::Url, "http://evil.vn/x", "2024-03-15T08:00:00.000Z"),
                (
                    IocKind::Md5,
                    "44d88612fea8a8f36de82e1278abb02f",
                    "2024-03-15T08:00:00Z"
                ),
                (IocKind::Ipv6Cidr, "2001:db8::/32", "2024-03-15T00:00:00Z"),
            ]
        );
        assert_eq!(
            read.records[1].indicator["pattern"],
            "[domain-name:value = 'evil.vn']"
        );
    }

    #[test]
    fn bad_rows_are_named_and_good_rows_kept() {
        let mut csv =
            b"2024-01-01,1.2.3.4\nyesterday,5.6.7.8\n2024-01-01,not an ioc\n2024-01-01\n".to_vec();
        csv.extend_from_slice(b"2024-01-01,caf\xe9.example.com\n2024-01-02,9.9.9.9\n");
        let read = read_csv(&csv, &map("value=1,first_seen=0"));
        let values: Vec<&str> = read.records.iter().map(|r| r.value.as_str()).collect();
        assert_eq!(values, vec!["1.2.3.4", "9.9.9.9"]);
        let problems: Vec<String> = read.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(problems.len(), 5, "{problems:#?}");
        assert!(problems[0].starts_with("line 2, column 0: `yesterday` is not a time"));
        assert!(problems[1].starts_with("line 3, column 1: `not an ioc` is not an IoC"));
        assert!(problems[2].starts_with("line 4, column 1: the row has 1 columns"));
        assert!(problems[3].starts_with("line 5: bytes at 14 are not UTF-8"));
        assert!(problems[4].starts_with("line 5, column 1:"));
    }

    #[test]
    fn declared_types_are_checked() {
        let csv = "ip-dst,1.2.3.4\nsha256,1.2.3.4\ncolour,red\n";
        let read = read_csv(csv.as_bytes(), &map("value=1,type=0"));
        assert_eq!(read.records.len(), 1);
        assert_eq!(
            read.problems[0].to_string(),
            "line 2, column 1: `1.2.3.4` is a ipv4, not a sha256"
        );
        assert_eq!(
            read.problems[1].to_string(),
            "line 3, column 0: `colour` is not a type Watchpost knows"
        );
    }

    #[test]
    fn plain_lists() {
        let read = read_lines(b"# feed\n8.8.8.8\n\nevil[.]com\nreport.pdf\n");
        let values: Vec<&str> = read.records.iter().map(|r| r.value.as_str()).collect();
        assert_eq!(values, vec!["8.8.8.8", "evil.com"]);
        assert_eq!(
            read.problems[0].to_string(),
            "line 5: `report.pdf` is not an IoC Watchpost recognises"
        );
    }

    #[test]
    fn quoted_fields_may_span_lines_and_an_unclosed_quote_costs_one_line() {
        let csv = "value,note\n\
                   198.51.100.7,\"seen in two\nlines, with a comma\"\n\
                   evil.example.com,plain\n\
                   203.0.113.9,\"never closed\n";
        let read = read_csv(csv.as_bytes(), &map("value=0"));
        let values: Vec<(usize, &str)> = read
            .records
            .iter()
            .map(|r| (r.line, r.value.as_str()))
            .collect();
        assert_eq!(
            values,
            [(2, "198.51.100.7"), (4, "evil.example.com")],
            "{read:?}"
        );
        assert_eq!(read.problems.len(), 1, "{:?}", read.problems);
        assert_eq!(read.problems[0].line, 5);
        assert!(read.problems[0].message.contains("not closed"));

        // A stray quote early on does not swallow the records after it.
        let mut long = String::from("\"stray,1\n");
        for i in 0..150 {
            long.push_str(&format!("10.9.{}.{},x\n", i / 200, i % 200 + 1));
        }
        let read = read_csv(long.as_bytes(), &map("value=0"));
        assert_eq!(read.problems.len(), 1, "{:?}", read.problems);
        assert_eq!(read.records.len(), 150);
    }
}
