//! The directory: each member organisation's focal points (who to warn, how, in which
//! language, in which order) and constituency (the networks and names it answers for).
//!
//! Read from JSON (a list of entries, the shape of [`DirectoryEntry`]) or from CSV, one row per
//! focal point, list cells separated by `;`, rows of the same organisation merged:
//!
//! ```text
//! org,country,sector,critical,national,prefixes,domains,asns,contact,email,phone,webhook,always_on,language,order
//! vncert,VN,government-national,false,true,14.160.0.0/11;2001:dc8::/32,gov.vn,,Duty officer,duty@vncert.example,+84 24 0000,https://hooks.example/vn,true,vi,1
//! ```

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An IP prefix (`14.160.0.0/11`, `2001:dc8::/32`); a bare address is a host prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Prefix {
    /// The network address (host bits cleared).
    pub addr: IpAddr,
    /// Its length in bits.
    pub len: u8,
}

impl Prefix {
    /// Whether `ip` is inside.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => mask4(u32::from(a), self.len) == u32::from(n),
            (IpAddr::V6(n), IpAddr::V6(a)) => mask6(u128::from(a), self.len) == u128::from(n),
            _ => false,
        }
    }
}

pub(crate) fn mask4(a: u32, len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        a & (u32::MAX << (32 - u32::from(len.min(32))))
    }
}

pub(crate) fn mask6(a: u128, len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        a & (u128::MAX << (128 - u32::from(len.min(128))))
    }
}

impl FromStr for Prefix {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (addr, len) = s.split_once('/').unwrap_or((s, ""));
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or prefix"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len: u8 = if len.is_empty() {
            max
        } else {
            len.parse()
                .ok()
                .filter(|l| *l <= max)
                .ok_or_else(|| format!("{s:?}: the prefix length must be 0 to {max}"))?
        };
        let addr = match addr {
            IpAddr::V4(a) => IpAddr::V4(mask4(u32::from(a), len).into()),
            IpAddr::V6(a) => IpAddr::V6(mask6(u128::from(a), len).into()),
        };
        Ok(Prefix { addr, len })
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl Serialize for Prefix {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Prefix {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The language of a focal point's warnings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Vietnamese.
    Vi,
    /// English.
    #[default]
    En,
}

impl Language {
    /// The ISO 639-1 code (`vi`, `en`).
    pub fn code(self) -> &'static str {
        match self {
            Language::Vi => "vi",
            Language::En => "en",
        }
    }
}

/// A person or desk to warn.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FocalPoint {
    /// Who (a name or a desk).
    pub name: String,
    /// E-mail address for warnings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Telephone, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Webhook URL for machines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<String>,
    /// Reachable 24/7.
    #[serde(default)]
    pub always_on: bool,
    /// The language of its warnings.
    #[serde(default)]
    pub language: Language,
    /// Its place in the escalation chain (1 is warned first).
    #[serde(default = "first")]
    pub order: u32,
}

fn first() -> u32 {
    1
}

/// What an organisation answers for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Constituency {
    /// IPv4 and IPv6 prefixes.
    #[serde(default)]
    pub prefixes: Vec<Prefix>,
    /// Autonomous systems.
    #[serde(default)]
    pub asns: Vec<u32>,
    /// Domain names, with all their subdomains.
    #[serde(default)]
    pub domains: Vec<String>,
    /// Sector (STIX industry-sector vocabulary).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector: Option<String>,
    /// Critical information infrastructure.
    #[serde(default)]
    pub critical: bool,
    /// ISO 3166-1 alpha-2 country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// One organisation of the directory.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryEntry {
    /// The organisation's short name (as in `watchpost org add`).
    pub org: String,
    /// The national CERT: warned for whatever no other organisation answers for.
    #[serde(default)]
    pub national: bool,
    /// Who to warn.
    #[serde(default)]
    pub focal_points: Vec<FocalPoint>,
    /// What it answers for.
    #[serde(default)]
    pub constituency: Constituency,
}

/// A problem in a directory file, with its place.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {message}")]
pub struct ImportError {
    /// Where: `line 4, column 7`, `[2].focal_points[0].language`, `line 3, column prefixes`.
    pub place: String,
    /// What is wrong and what was expected.
    pub message: String,
}

fn normalise(entry: &mut DirectoryEntry) {
    for d in &mut entry.constituency.domains {
        *d = d.trim().trim_end_matches('.').to_ascii_lowercase();
    }
}

/// Stores directory entries: each organisation not yet known is added (with the entry's
/// sector and country), then its entry replaces the one stored. The CLI's `org import` and the
/// console's directory import both come here.
pub async fn save(
    store: &dyn watchpost_store::Store,
    entries: &[DirectoryEntry],
) -> Result<(), watchpost_store::StoreError> {
    let known: Vec<String> = store.orgs().await?.into_iter().map(|o| o.name).collect();
    for entry in entries {
        if !known.contains(&entry.org) {
            let c = &entry.constituency;
            let org = watchpost_store::NewOrg {
                name: entry.org.clone(),
                sector: c.sector.clone(),
                country: c.country.clone(),
            };
            match store.add_org(org).await {
                Ok(_) | Err(watchpost_store::StoreError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let json = serde_json::to_string(entry)
            .map_err(|e| watchpost_store::StoreError::Invalid(e.to_string()))?;
        store.set_directory_entry(&entry.org, &json).await?;
    }
    Ok(())
}

/// Reads a JSON directory: a list of entries. Each bad entry is reported with its JSON path
/// and the good ones are kept.
pub fn from_json(text: &str) -> (Vec<DirectoryEntry>, Vec<ImportError>) {
    let values: Vec<serde_json::Value> = match serde_json::from_str(text) {
        Ok(serde_json::Value::Array(v)) => v,
        Ok(_) => {
            return (
                Vec::new(),
                vec![ImportError {
                    place: "$".into(),
                    message: "expected a list of directory entries".into(),
                }],
            )
        }
        Err(e) => {
            return (
                Vec::new(),
                vec![ImportError {
                    place: format!("line {}, column {}", e.line(), e.column()),
                    message: format!("not JSON: {e}"),
                }],
            )
        }
    };
    let (mut entries, mut errors) = (Vec::new(), Vec::new());
    for (i, v) in values.into_iter().enumerate() {
        match serde_json::from_value::<DirectoryEntry>(v) {
            Ok(mut e) => {
                normalise(&mut e);
                entries.push(e);
            }
            Err(e) => errors.push(ImportError {
                place: format!("[{i}]"),
                message: e.to_string(),
            }),
        }
    }
    (entries, errors)
}

const CSV_COLUMNS: [&str; 15] = [
    "org",
    "country",
    "sector",
    "critical",
    "national",
    "prefixes",
    "domains",
    "asns",
    "contact",
    "email",
    "phone",
    "webhook",
    "always_on",
    "language",
    "order",
];

/// Reads a CSV directory (see the module documentation). A bad row is reported with its line
/// and column name and skipped; rows of the same organisation are merged.
pub fn from_csv(text: &str) -> (Vec<DirectoryEntry>, Vec<ImportError>) {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return (
            Vec::new(),
            vec![ImportError {
                place: "line 1".into(),
                message: "the file is empty; expected a header row".into(),
            }],
        );
    };
    let names: Vec<String> = split_csv(header)
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    if let Some(unknown) = names.iter().find(|n| !CSV_COLUMNS.contains(&n.as_str())) {
        return (
            Vec::new(),
            vec![ImportError {
                place: "line 1".into(),
                message: format!(
                    "unknown column {unknown:?}; the columns are {}",
                    CSV_COLUMNS.join(",")
                ),
            }],
        );
    }
    if !names.iter().any(|n| n == "org") {
        return (
            Vec::new(),
            vec![ImportError {
                place: "line 1".into(),
                message: format!(
                    "no org column; expected the columns {}",
                    CSV_COLUMNS.join(",")
                ),
            }],
        );
    }
    let (mut entries, mut errors): (Vec<DirectoryEntry>, Vec<ImportError>) =
        (Vec::new(), Vec::new());
    for (index, line) in lines {
        let cells = split_csv(line);
        let cell = |name: &str| {
            names
                .iter()
                .position(|n| n == name)
                .and_then(|i| cells.get(i))
                .map(|c| c.trim())
                .filter(|c| !c.is_empty())
        };
        match csv_row(&cell) {
            Ok(row) => merge(&mut entries, row),
            Err((column, message)) => errors.push(ImportError {
                place: format!("line {}, column {column}", index + 1),
                message,
            }),
        }
    }
    for e in &mut entries {
        normalise(e);
    }
    (entries, errors)
}

fn merge(entries: &mut Vec<DirectoryEntry>, row: DirectoryEntry) {
    let Some(e) = entries.iter_mut().find(|e| e.org == row.org) else {
        entries.push(row);
        return;
    };
    e.national |= row.national;
    e.focal_points.extend(row.focal_points);
    let (c, r) = (&mut e.constituency, row.constituency);
    c.prefixes.extend(r.prefixes);
    c.domains.extend(r.domains);
    c.asns.extend(r.asns);
    c.critical |= r.critical;
    c.sector = c.sector.take().or(r.sector);
    c.country = c.country.take().or(r.country);
}

type CellError = (&'static str, String);

fn csv_row<'a>(cell: &impl Fn(&str) -> Option<&'a str>) -> Result<DirectoryEntry, CellError> {
    let flag = |name: &'static str| -> Result<bool, CellError> {
        match cell(name).map(str::to_ascii_lowercase).as_deref() {
            None | Some("false" | "no" | "0") => Ok(false),
            Some("true" | "yes" | "1") => Ok(true),
            Some(other) => Err((name, format!("{other:?} is not true or false"))),
        }
    };
    let list = |name: &str| -> Vec<String> {
        cell(name)
            .map(|c| {
                c.split(';')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    };
    let org = cell("org")
        .ok_or(("org", "an organisation name is required".to_string()))?
        .to_string();
    let prefixes = list("prefixes")
        .iter()
        .map(|p| p.parse())
        .collect::<Result<Vec<Prefix>, _>>()
        .map_err(|e| ("prefixes", e))?;
    let asns = list("asns")
        .iter()
        .map(|a| {
            a.trim_start_matches("AS")
                .trim_start_matches("as")
                .parse::<u32>()
                .map_err(|_| ("asns", format!("{a:?} is not an AS number")))
        })
        .collect::<Result<Vec<u32>, _>>()?;
    let language = match cell("language").map(str::to_ascii_lowercase).as_deref() {
        None | Some("en") => Language::En,
        Some("vi") => Language::Vi,
        Some(other) => {
            return Err((
                "language",
                format!("{other:?} is not a language: use vi or en"),
            ))
        }
    };
    let order = match cell("order") {
        None => 1,
        Some(o) => o.parse().map_err(|_| {
            (
                "order",
                format!("{o:?} is not a position in the escalation chain (1, 2…)"),
            )
        })?,
    };
    let focal_points = match cell("contact") {
        None => Vec::new(),
        Some(name) => vec![FocalPoint {
            name: name.to_string(),
            email: cell("email").map(str::to_string),
            phone: cell("phone").map(str::to_string),
            webhook: cell("webhook").map(str::to_string),
            always_on: flag("always_on")?,
            language,
            order,
        }],
    };
    Ok(DirectoryEntry {
        org,
        national: flag("national")?,
        focal_points,
        constituency: Constituency {
            prefixes,
            asns,
            domains: list("domains"),
            sector: cell("sector").map(str::to_string),
            critical: flag("critical")?,
            country: cell("country").map(str::to_string),
        },
    })
}

/// Splits one CSV line (RFC 4180 quoting, without line breaks inside cells).
fn split_csv(line: &str) -> Vec<String> {
    let (mut cells, mut cell, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => cells.push(std::mem::take(&mut cell)),
            (c, _) => cell.push(c),
        }
    }
    cells.push(cell);
    cells
}
