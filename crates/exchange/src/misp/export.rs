//! STIX 2.1 objects to one MISP event, importable by MISP (`/events/add` or a feed file).
//!
//! Indicators become attributes with `to_ids` set, observed-data attributes without it. The
//! MISP type comes from the `misp:type="…"` label this module's importer (and `misp-stix`)
//! write, so a MISP → STIX → MISP round trip keeps every type and value; without the label it
//! is read from the comparisons' object paths (`file:hashes.'SHA-256'` is `sha256`).

use super::attribute::{Comparison, HASHES};
use super::pattern::comparisons;
use super::NAMESPACE;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use uuid::Uuid;
use watchpost_stix::marking::Tlp;

/// Converts STIX objects to one MISP event (`{"Event": {...}}`): the first report gives its
/// `info`, `date` and `uuid`; TLP markings become `tlp:*` tags.
pub fn from_stix(objects: &[Value]) -> Value {
    let by_id: HashMap<&str, &Value> = objects
        .iter()
        .filter_map(|o| Some((o.get("id")?.as_str()?, o)))
        .collect();
    let mut attributes = Vec::new();
    for object in objects {
        match object.get("type").and_then(Value::as_str) {
            Some("indicator") => attributes.extend(from_indicator(object)),
            Some("observed-data") => attributes.extend(from_observed(object, &by_id)),
            _ => {}
        }
    }
    let report = objects
        .iter()
        .find(|o| o.get("type").and_then(Value::as_str) == Some("report"));
    let mut event = Map::new();
    let uuid = report
        .and_then(uuid_of)
        .unwrap_or_else(|| derived_uuid(objects));
    event.insert("uuid".into(), json!(uuid));
    let info = report
        .and_then(|r| r.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("Watchpost export");
    event.insert("info".into(), json!(info));
    let date = report
        .and_then(|r| r.get("published").or_else(|| r.get("created")))
        .and_then(Value::as_str)
        .map(|t| t.chars().take(10).collect::<String>())
        .unwrap_or_else(|| "1970-01-01".into());
    event.insert("date".into(), json!(date));
    event.insert("published".into(), json!(false));
    event.insert("analysis".into(), json!("2"));
    event.insert("threat_level_id".into(), json!("4"));
    event.insert("distribution".into(), json!("0"));
    if let Some(org) = report.and_then(|r| creator(r, &by_id)) {
        event.insert("Orgc".into(), org);
    }
    let tlp = report.and_then(marking).or_else(|| strictest(objects));
    if let Some(tlp) = tlp {
        event.insert("Tag".into(), json!([{"name": tag(tlp)}]));
    }
    event.insert("Attribute".into(), Value::Array(attributes));
    json!({ "Event": event })
}

fn from_indicator(indicator: &Value) -> Vec<Value> {
    let Some(uuid) = uuid_of(indicator) else {
        return Vec::new();
    };
    let pattern = indicator
        .get("pattern")
        .and_then(Value::as_str)
        .unwrap_or("");
    let pattern_type = indicator
        .get("pattern_type")
        .and_then(Value::as_str)
        .unwrap_or("stix");
    let pairs = if pattern_type == "stix" {
        let (found, _) = comparisons(pattern);
        attributes_of(&found, label(indicator, "type").as_deref())
    } else {
        vec![(pattern_type.to_string(), pattern.to_string())]
    };
    build(indicator, &uuid, pairs, true)
}

fn from_observed(observed: &Value, by_id: &HashMap<&str, &Value>) -> Vec<Value> {
    let Some(uuid) = uuid_of(observed) else {
        return Vec::new();
    };
    let refs: Vec<&Value> = observed
        .get("object_refs")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(|id| by_id.get(id.as_str()?).copied())
                .collect()
        })
        .unwrap_or_default();
    let found = sco_comparisons(&refs, by_id);
    let pairs = attributes_of(&found, label(observed, "type").as_deref());
    build(observed, &uuid, pairs, false)
}

/// MISP attributes for (type, value) pairs; the first keeps the STIX object's uuid so a
/// round trip keeps the attribute's identity.
fn build(object: &Value, uuid: &str, pairs: Vec<(String, String)>, to_ids: bool) -> Vec<Value> {
    let category = label(object, "category");
    let comment = object
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut out = Vec::new();
    for (i, (misp_type, value)) in pairs.into_iter().enumerate() {
        let uuid = if i == 0 {
            uuid.to_string()
        } else {
            Uuid::new_v5(&NAMESPACE, format!("{uuid}/{i}").as_bytes()).to_string()
        };
        let mut attr = json!({
            "uuid": uuid,
            "type": misp_type,
            "category": category.clone().unwrap_or_else(|| default_category(&misp_type).into()),
            "value": value,
            "to_ids": to_ids,
            "comment": comment,
            "distribution": "5",
        });
        if let Some(tlp) = marking(object) {
            attr["Tag"] = json!([{"name": tag(tlp)}]);
        }
        out.push(attr);
    }
    out
}

/// The comparisons the SCOs of an observed-data stand for: those of its root objects (not
/// referenced by another of its objects), following references as the patterns do.
fn sco_comparisons(scos: &[&Value], by_id: &HashMap<&str, &Value>) -> Vec<Comparison> {
    let referenced: Vec<&str> = scos.iter().flat_map(|s| refs_of(s)).collect();
    let mut found = Vec::new();
    for sco in scos {
        let id = sco.get("id").and_then(Value::as_str).unwrap_or("");
        if !referenced.contains(&id) {
            describe(sco, by_id, &mut found);
        }
    }
    found
}

fn refs_of(sco: &Value) -> Vec<&str> {
    let Some(map) = sco.as_object() else {
        return Vec::new();
    };
    let mut ids = Vec::new();
    for (key, value) in map {
        if key.ends_with("_ref") {
            ids.extend(value.as_str());
        } else if key.ends_with("_refs") {
            ids.extend(
                value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str),
            );
        }
    }
    ids
}

fn describe(sco: &Value, by_id: &HashMap<&str, &Value>, found: &mut Vec<Comparison>) {
    let sco_type = sco.get("type").and_then(Value::as_str).unwrap_or("");
    let mut push = |path: String, value: &Value| {
        let value = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return,
        };
        found.push(Comparison { path, value });
    };
    let deref = |id: Option<&Value>| {
        id.and_then(Value::as_str)
            .and_then(|i| by_id.get(i).copied())
    };
    match sco_type {
        "network-traffic" => {
            for side in ["src", "dst"] {
                if let Some(ip) = deref(sco.get(format!("{side}_ref").as_str())) {
                    if let Some(t) = ip.get("type") {
                        push(format!("network-traffic:{side}_ref.type"), t);
                    }
                    if let Some(v) = ip.get("value") {
                        push(format!("network-traffic:{side}_ref.value"), v);
                    }
                }
                if let Some(port) = sco.get(format!("{side}_port").as_str()) {
                    push(format!("network-traffic:{side}_port"), port);
                }
            }
        }
        "email-message" => {
            if let Some(from) = deref(sco.get("from_ref")).and_then(|a| a.get("value")) {
                push("email-message:from_ref.value".into(), from);
            }
            for to in sco
                .get("to_refs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(v) = deref(Some(to)).and_then(|a| a.get("value")) {
                    push("email-message:to_refs[*].value".into(), v);
                }
            }
            if let Some(s) = sco.get("subject") {
                push("email-message:subject".into(), s);
            }
        }
        "domain-name" => {
            if let Some(v) = sco.get("value") {
                push("domain-name:value".into(), v);
            }
            for ip in sco
                .get("resolves_to_refs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(v) = deref(Some(ip)).and_then(|a| a.get("value")) {
                    push("domain-name:resolves_to_refs[*].value".into(), v);
                }
            }
        }
        "file" | "x509-certificate" => {
            if let Some(n) = sco.get("name") {
                push("file:name".into(), n);
            }
            for (key, v) in sco
                .get("hashes")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                push(
                    format!("{sco_type}:hashes.{}", super::attribute::path_step(key)),
                    v,
                );
            }
        }
        "windows-registry-key" => {
            if let Some(k) = sco.get("key") {
                push("windows-registry-key:key".into(), k);
            }
            for v in sco
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(d) = v.get("data") {
                    push("windows-registry-key:values.data".into(), d);
                }
            }
        }
        _ => {
            for key in ["value", "name", "number", "key"] {
                if let Some(v) = sco.get(key) {
                    push(format!("{sco_type}:{key}"), v);
                    break;
                }
            }
        }
    }
}

/// (MISP type, value) pairs for comparisons. With the `misp:type` label of a type that is
/// one attribute, its value is the comparisons' values joined with `|` (the `…_ref.type`
/// comparisons name the address family, not a value); otherwise each comparison is read by
/// its path, and a file name next to a hash becomes `filename|<hash>`.
fn attributes_of(found: &[Comparison], hint: Option<&str>) -> Vec<(String, String)> {
    let values: Vec<&str> = found
        .iter()
        .filter(|c| !c.path.ends_with("_ref.type"))
        .map(|c| c.value.as_str())
        .collect();
    if let Some(misp_type) = hint {
        let parts = misp_type.matches('|').count() + 1;
        if values.len() == parts && super::attribute::map(misp_type, &values.join("|")).is_ok() {
            return vec![(misp_type.to_string(), values.join("|"))];
        }
    }
    let mut pairs = Vec::new();
    let mut i = 0;
    while i < found.len() {
        let c = &found[i];
        let next = found.get(i + 1);
        if c.path == "file:name" {
            if let Some(hash) = next.and_then(|n| hash_type(&n.path, "file")) {
                pairs.push((
                    format!("filename|{hash}"),
                    format!("{}|{}", c.value, found[i + 1].value),
                ));
                i += 2;
                continue;
            }
        }
        if let Some(misp_type) = type_of_path(&c.path) {
            pairs.push((misp_type, c.value.clone()));
        }
        i += 1;
    }
    pairs
}

fn type_of_path(path: &str) -> Option<String> {
    if let Some(hash) = hash_type(path, "file") {
        return Some(hash.to_string());
    }
    if let Some(hash) = hash_type(path, "x509-certificate") {
        return Some(format!("x509-fingerprint-{}", hash.replace('-', "")));
    }
    let t = match path {
        "file:name" => "filename",
        "domain-name:value" => "domain",
        "domain-name:resolves_to_refs[*].value" => "ip-dst",
        "url:value" => "url",
        "ipv4-addr:value" | "ipv6-addr:value" | "network-traffic:dst_ref.value" => "ip-dst",
        "network-traffic:src_ref.value" => "ip-src",
        "network-traffic:dst_port" => "port",
        "email-addr:value" => "email",
        "email-message:from_ref.value" => "email-src",
        "email-message:to_refs[*].value" => "email-dst",
        "email-message:subject" => "email-subject",
        "mutex:name" => "mutex",
        "windows-registry-key:key" => "regkey",
        "autonomous-system:number" => "AS",
        "mac-addr:value" => "mac-address",
        "file:size" => "size-in-bytes",
        "network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'" => "user-agent",
        "network-traffic:extensions.'http-request-ext'.request_method" => "http-method",
        _ => return None,
    };
    Some(t.to_string())
}

/// The MISP hash type of a `<object>:hashes.<key>` path, accepting the vocabulary's names,
/// MISP's and the unhyphenated forms other producers write (`SHA256`).
fn hash_type(path: &str, object: &str) -> Option<&'static str> {
    let key = path
        .strip_prefix(object)?
        .strip_prefix(":hashes.")?
        .trim_matches('\'');
    let squash = |k: &str| k.replace('-', "").to_ascii_uppercase();
    HASHES
        .iter()
        .find(|(misp, stix)| squash(stix) == squash(key) || squash(misp) == squash(key))
        .map(|(misp, _)| *misp)
}

fn default_category(misp_type: &str) -> &'static str {
    match misp_type {
        t if t.starts_with("ip-") || t.starts_with("domain") || t.starts_with("hostname") => {
            "Network activity"
        }
        "url" | "uri" | "user-agent" | "http-method" | "port" | "AS" | "mac-address" => {
            "Network activity"
        }
        t if t.starts_with("email") => "Payload delivery",
        "mutex" | "regkey" | "regkey|value" => "Artifacts dropped",
        _ => "Payload delivery",
    }
}

/// The value of a `misp:<name>="…"` label.
fn label(object: &Value, name: &str) -> Option<String> {
    let prefix = format!("misp:{name}=\"");
    object
        .get("labels")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .find_map(|l| {
            l.strip_prefix(&prefix)?
                .strip_suffix('"')
                .map(str::to_string)
        })
}

fn marking(object: &Value) -> Option<Tlp> {
    object
        .get("object_marking_refs")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .find_map(Tlp::from_marking_id)
}

/// The most restrictive TLP over all objects, for an export without a report.
fn strictest(objects: &[Value]) -> Option<Tlp> {
    objects.iter().filter_map(marking).max_by_key(|t| rank(*t))
}

fn rank(tlp: Tlp) -> u8 {
    match tlp {
        Tlp::Clear => 0,
        Tlp::Green => 1,
        Tlp::Amber => 2,
        Tlp::AmberStrict => 3,
        _ => 4,
    }
}

fn tag(tlp: Tlp) -> String {
    format!("tlp:{}", tlp.tlp2_name())
}

fn creator(report: &Value, by_id: &HashMap<&str, &Value>) -> Option<Value> {
    let id = report.get("created_by_ref")?.as_str()?;
    let identity = by_id.get(id)?;
    let name = identity.get("name")?.as_str()?;
    let uuid = id.split_once("--")?.1;
    Some(json!({"name": name, "uuid": uuid}))
}

fn uuid_of(object: &Value) -> Option<String> {
    let id = object.get("id")?.as_str()?;
    Some(id.split_once("--")?.1.to_string())
}

/// An event uuid for objects without a report: derived from their ids, so the same
/// collection exports to the same event.
fn derived_uuid(objects: &[Value]) -> String {
    let mut ids: Vec<&str> = objects
        .iter()
        .filter_map(|o| o.get("id")?.as_str())
        .collect();
    ids.sort_unstable();
    Uuid::new_v5(&NAMESPACE, ids.join(",").as_bytes()).to_string()
}
