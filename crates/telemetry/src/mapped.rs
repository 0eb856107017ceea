//! Plain JSON lines (proxy, DNS resolver, firewall logs…) read through a field mapping that
//! says which input field becomes which property of which cyber-observable object:
//!
//! ```json
//! {"time": "ts",
//!  "fields": {"client": "network-traffic:src_ref", "server.ip": "network-traffic:dst_ref",
//!             "server.port": "network-traffic:dst_port", "host": "domain-name:value",
//!             "url": "url:value", "sha256": "file:hashes.'SHA-256'"}}
//! ```
//!
//! Fields aimed at the same type fill one object; `network-traffic:src_ref`/`dst_ref` take an
//! address and make the `ipv4-addr`/`ipv6-addr` object it refers to; an `ipv4-addr` field that
//! holds an IPv6 address becomes an `ipv6-addr`. A field is found by its literal name first
//! (`id.orig_h`), then as a path through nested objects (`server.ip`).

use crate::{parse_time, Decoder, Event, EventBuilder};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// A field mapping, as written in its JSON file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The field holding the event's time (RFC 3339 or epoch seconds).
    #[serde(default)]
    pub time: Option<String>,
    /// The name events get (`proxy`, `dns`…).
    #[serde(default = "default_kind")]
    pub kind: String,
    /// Input field → `type:property`.
    pub fields: BTreeMap<String, String>,
}

fn default_kind() -> String {
    "json".into()
}

/// Where one field goes.
#[derive(Clone, Debug)]
enum Target {
    /// A property of the object of this type (`hashes.'SHA-256'` is a nested key).
    Property {
        object_type: String,
        path: Vec<String>,
    },
    /// An address referred to by the network traffic (`src_ref`, `dst_ref`).
    Address { reference: String },
}

/// The decoder for a mapping.
#[derive(Clone, Debug)]
pub struct Mapped {
    kind: String,
    time: Option<String>,
    fields: Vec<(String, Target)>,
}

impl Mapped {
    /// Checks a mapping; the error names the field whose target is not `type:property`.
    pub fn new(mapping: Mapping) -> Result<Self, String> {
        let mut fields = Vec::new();
        for (field, target) in mapping.fields {
            let (object_type, property) = target
                .split_once(':')
                .filter(|(t, p)| watchpost_stix::id::is_type_name(t) && !p.is_empty())
                .ok_or_else(|| {
                    format!(
                        "fields.{field}: {target:?} is not type:property (e.g. domain-name:value)"
                    )
                })?;
            let target = match (object_type, property) {
                ("network-traffic", "src_ref" | "dst_ref") => Target::Address {
                    reference: property.to_string(),
                },
                _ => Target::Property {
                    object_type: object_type.to_string(),
                    path: property_path(property),
                },
            };
            fields.push((field, target));
        }
        Ok(Mapped {
            kind: mapping.kind,
            time: mapping.time,
            fields,
        })
    }
}

/// `hashes.'SHA-256'` → `["hashes", "SHA-256"]`.
fn property_path(property: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = property;
    while !rest.is_empty() {
        if let Some(quoted) = rest.strip_prefix('\'') {
            let end = quoted.find('\'').unwrap_or(quoted.len());
            out.push(quoted[..end].to_string());
            rest = quoted.get(end + 1..).unwrap_or("").trim_start_matches('.');
        } else {
            let end = rest.find('.').unwrap_or(rest.len());
            out.push(rest[..end].to_string());
            rest = rest.get(end + 1..).unwrap_or("");
        }
    }
    out
}

fn lookup<'a>(record: &'a Map<String, Value>, field: &str) -> Option<&'a Value> {
    if let Some(v) = record.get(field) {
        return Some(v);
    }
    let mut parts = field.split('.');
    let mut v = record.get(parts.next()?)?;
    for p in parts {
        v = v.get(p)?;
    }
    Some(v)
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Decoder for Mapped {
    fn decode(&mut self, line: &str) -> Result<Option<Event>, String> {
        let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
        let record = value.as_object().ok_or("expected a JSON object")?;
        let time = match self.time.as_deref().and_then(|f| lookup(record, f)) {
            None => None,
            Some(t) => Some(scalar_text(t).and_then(|t| parse_time(&t)).ok_or_else(|| {
                format!("{}: {t} is not a time", self.time.as_deref().unwrap_or(""))
            })?),
        };
        let mut b = EventBuilder::new(&self.kind, time);
        let mut by_type: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
        let mut traffic = Map::new();
        for (field, target) in &self.fields {
            let Some(v) = lookup(record, field).filter(|v| !v.is_null()) else {
                continue;
            };
            match target {
                Target::Address { reference } => {
                    let Some(id) = scalar_text(v).and_then(|a| b.ip(&a)) else {
                        return Err(format!("{field}: {v} is not an IP address"));
                    };
                    traffic.insert(reference.clone(), json!(id));
                }
                Target::Property { object_type, path } => {
                    let object_type = match (object_type.as_str(), v.as_str()) {
                        ("ipv4-addr", Some(a)) if a.contains(':') => "ipv6-addr",
                        (t, _) => t,
                    };
                    let object = if object_type == "network-traffic" {
                        &mut traffic
                    } else {
                        by_type.entry(object_type.to_string()).or_default()
                    };
                    let mut slot = object;
                    for key in &path[..path.len().saturating_sub(1)] {
                        slot = slot
                            .entry(key.clone())
                            .or_insert_with(|| json!({}))
                            .as_object_mut()
                            .ok_or_else(|| format!("{field}: {key} is not an object"))?;
                    }
                    // Domain names are matched lower-case, as the EVE and Zeek decoders give them.
                    let v = match (object_type, v.as_str()) {
                        ("domain-name", Some(name)) => {
                            json!(name.trim_end_matches('.').to_ascii_lowercase())
                        }
                        _ => v.clone(),
                    };
                    if let Some(last) = path.last() {
                        slot.insert(last.clone(), v);
                    }
                }
            }
        }
        for (object_type, mut object) in by_type {
            object.insert("type".into(), json!(object_type));
            b.add(Value::Object(object));
        }
        if !traffic.is_empty() {
            traffic.insert("type".into(), json!("network-traffic"));
            traffic.entry("protocols").or_insert_with(|| json!([]));
            b.add(Value::Object(traffic));
        }
        Ok(Some(b.finish()))
    }
}
