//! MISP event JSON to STIX 2.1 objects; the module comment of [`super`] says what becomes what.

use super::attribute::{self, clip, Comparison, Mapped, Observable, Unmapped};
use super::pattern::write_pattern;
use super::{Conversion, MispError, Options, Problem, NAMESPACE};
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use uuid::Uuid;
use watchpost_stix::marking::Tlp;
use watchpost_stix::{Timestamp, Validator};

/// Converts MISP event JSON to STIX 2.1 objects.
///
/// Errors only when the bytes are not JSON or not MISP at all; everything else that cannot be
/// converted is a [`Problem`] in the answer, and the rest of the document is kept.
pub fn to_stix(input: &[u8], options: &Options) -> Result<Conversion, MispError> {
    let document: Value = serde_json::from_slice(input).map_err(|e| MispError::Json {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let mut out = Output::default();
    for (path, event) in events(&document)? {
        match event.as_object() {
            Some(event) => convert_event(&path, event, options, &mut out),
            None => out.problem(
                &path,
                format!("expected an event object, found {}", kind(event)),
            ),
        }
    }
    Ok(out.conversion)
}

/// An element of a list: `{"Event": {...}}` or a bare event.
fn unwrap(path: String, v: &Value) -> (String, &Value) {
    match v.get("Event") {
        Some(event) => (format!("{path}.Event"), event),
        None => (path, v),
    }
}

/// The events of a document with their JSON paths.
fn events(document: &Value) -> Result<Vec<(String, &Value)>, MispError> {
    if let Some(list) = document.get("response") {
        let list = list
            .as_array()
            .ok_or_else(|| MispError::NotMisp(format!("`response` holding {}", kind(list))))?;
        return Ok(list
            .iter()
            .enumerate()
            .map(|(i, v)| unwrap(format!("response[{i}]"), v))
            .collect());
    }
    if let Some(event) = document.get("Event") {
        return Ok(vec![("Event".into(), event)]);
    }
    if let Some(list) = document.as_array() {
        return Ok(list
            .iter()
            .enumerate()
            .map(|(i, v)| unwrap(format!("[{i}]"), v))
            .collect());
    }
    let bare = ["Attribute", "Object", "info", "uuid"];
    if document.is_object() && bare.iter().any(|k| document.get(k).is_some()) {
        return Ok(vec![(String::new(), document)]);
    }
    Err(MispError::NotMisp(kind(document)))
}

#[derive(Default)]
struct Output {
    conversion: Conversion,
    seen: HashSet<String>,
    /// Checks each SCO before it is kept: MISP accepts values STIX does not (a `url` without
    /// a scheme), and one such value must cost its own observable only.
    validator: Validator,
}

impl Output {
    fn problem(&mut self, path: &str, message: impl Into<String>) {
        self.conversion.problems.push(Problem {
            path: path.trim_start_matches('.').to_string(),
            message: message.into(),
        });
    }

    /// Adds an object unless one with its id is already there; returns its id.
    fn push(&mut self, object: Map<String, Value>) -> String {
        let id = text(&object, "id").unwrap_or_default().to_string();
        if self.seen.insert(id.clone()) {
            self.conversion.objects.push(Value::Object(object));
        }
        id
    }
}

/// What every object of one event shares.
struct EventContext {
    identity: String,
    time: String,
    marking: Option<Tlp>,
    /// Galaxy objects of the event's own tags, which its indicators indicate.
    galaxies: Vec<String>,
    /// Everything the report refers to.
    refs: Vec<String>,
}

fn convert_event(path: &str, event: &Map<String, Value>, options: &Options, out: &mut Output) {
    let Some(event_uuid) = uuid_at(path, event, out) else {
        return;
    };
    let time = timestamp_of(event)
        .or_else(|| date_of(event))
        .unwrap_or_else(|| millis(Timestamp::from_unix(0, 0)));
    let identity = identity(event, &time, out);
    let tags = tags(path, event, out);
    let mut ctx = EventContext {
        identity,
        time,
        marking: tlp_of(&tags),
        galaxies: Vec::new(),
        refs: Vec::new(),
    };
    ctx.galaxies = galaxies(&tags, &ctx, out);
    ctx.refs.extend(ctx.galaxies.iter().cloned());
    for (i, attr) in array_at(path, event, "Attribute", out).iter().enumerate() {
        let at = format!("{path}.Attribute[{i}]");
        out.conversion.attributes += 1;
        match attr.as_object() {
            Some(attr) => convert_attribute(&at, attr, &ctx, out)
                .into_iter()
                .for_each(|id| ctx.refs.push(id)),
            None => out.problem(
                &at,
                format!("expected an attribute object, found {}", kind(attr)),
            ),
        }
    }
    for (i, object) in array_at(path, event, "Object", out).iter().enumerate() {
        let at = format!("{path}.Object[{i}]");
        match object.as_object() {
            Some(object) => {
                if let Some(id) = convert_object(&at, object, &ctx, out) {
                    ctx.refs.push(id);
                }
            }
            None => out.problem(
                &at,
                format!("expected a MISP object, found {}", kind(object)),
            ),
        }
    }
    if options.report {
        report(event, &event_uuid, &tags, ctx, out);
    }
}

/// An attribute: an indicator or observed-data, or a vulnerability; returns the ids the
/// report should refer to.
fn convert_attribute(
    path: &str,
    attr: &Map<String, Value>,
    ctx: &EventContext,
    out: &mut Output,
) -> Vec<String> {
    if attr.get("deleted").is_some_and(truthy) {
        return Vec::new();
    }
    let (Some(uuid), Some(misp_type), Some(value)) = (
        uuid_at(path, attr, out),
        string_at(path, attr, "type", out),
        value_at(path, attr, out),
    ) else {
        return Vec::new();
    };
    let tags = tags(path, attr, out);
    let common = Common {
        uuid,
        time: timestamp_of(attr).unwrap_or_else(|| ctx.time.clone()),
        marking: tlp_of(&tags).or(ctx.marking),
        labels: labels(&misp_type, attr),
        description: text(attr, "comment")
            .filter(|c| !c.is_empty())
            .map(str::to_string),
    };
    let to_ids = attr.get("to_ids").is_some_and(truthy);
    let mapped = match attribute::map_with(&misp_type, &value, !to_ids) {
        Ok(mapped) => mapped,
        Err(why) => {
            report_unmapped(path, &misp_type, why, out);
            return Vec::new();
        }
    };
    let own_galaxies = galaxies(&tags, ctx, out);
    let id = match mapped {
        Mapped::Observable(o) if to_ids => indicator(&common, ctx, &o.comparisons, None, out),
        Mapped::Observable(o) if o.scos.is_empty() => {
            out.problem(
                &format!("{path}.to_ids"),
                format!("a `{misp_type}` attribute with to_ids false has no observable to record; skipped"),
            );
            return Vec::new();
        }
        Mapped::Observable(o) => match observed_data(path, &common, ctx, o, out) {
            Some(id) => id,
            None => return Vec::new(),
        },
        Mapped::Rule(kind) => {
            let rule = [Comparison {
                path: String::new(),
                value: value.clone(),
            }];
            indicator(&common, ctx, &rule, Some(kind), out)
        }
        Mapped::Vulnerability => vulnerability(&common, ctx, &value, out),
    };
    if id.starts_with("indicator--") {
        for target in ctx.galaxies.iter().chain(&own_galaxies) {
            relationship(&id, "indicates", target, &common.time, out);
        }
    }
    let mut ids = vec![id];
    ids.extend(own_galaxies);
    ids
}

/// A MISP object: its attributes ANDed into one indicator, or one observed-data.
fn convert_object(
    path: &str,
    object: &Map<String, Value>,
    ctx: &EventContext,
    out: &mut Output,
) -> Option<String> {
    if object.get("deleted").is_some_and(truthy) {
        return None;
    }
    let uuid = uuid_at(path, object, out)?;
    let name = text(object, "name").unwrap_or("object").to_string();
    let mut merged = Observable::default();
    let mut to_ids = false;
    for (i, attr) in array_at(path, object, "Attribute", out).iter().enumerate() {
        let at = format!("{path}.Attribute[{i}]");
        out.conversion.attributes += 1;
        let Some(attr) = attr.as_object() else {
            out.problem(
                &at,
                format!("expected an attribute object, found {}", kind(attr)),
            );
            continue;
        };
        if attr.get("deleted").is_some_and(truthy) {
            continue;
        }
        let (Some(misp_type), Some(value)) =
            (string_at(&at, attr, "type", out), value_at(&at, attr, out))
        else {
            continue;
        };
        match attribute::map(&misp_type, &value) {
            Ok(Mapped::Observable(o)) => {
                to_ids |= attr.get("to_ids").is_some_and(truthy);
                merged.comparisons.extend(o.comparisons);
                merged.scos.extend(o.scos);
            }
            // Within an object, descriptive attributes (text, datetime, rules) qualify the
            // observable rather than being one; they are left out quietly.
            Ok(_) | Err(Unmapped::NotObservable) => {}
            Err(why) => report_unmapped(&at, &misp_type, why, out),
        }
    }
    if merged.comparisons.is_empty() {
        return None;
    }
    let tags = tags(path, object, out);
    let common = Common {
        uuid,
        time: timestamp_of(object).unwrap_or_else(|| ctx.time.clone()),
        marking: tlp_of(&tags).or(ctx.marking),
        labels: vec![
            format!("misp:name=\"{name}\""),
            format!(
                "misp:meta-category=\"{}\"",
                text(object, "meta-category").unwrap_or("misc")
            ),
        ],
        description: text(object, "comment")
            .filter(|c| !c.is_empty())
            .map(str::to_string),
    };
    let id = if to_ids {
        let id = indicator(&common, ctx, &merged.comparisons, None, out);
        for target in &ctx.galaxies {
            relationship(&id, "indicates", target, &common.time, out);
        }
        id
    } else {
        observed_data(path, &common, ctx, merged, out)?
    };
    Some(id)
}

/// What an indicator, observed-data or vulnerability takes from its attribute.
struct Common {
    uuid: String,
    time: String,
    marking: Option<Tlp>,
    labels: Vec<String>,
    description: Option<String>,
}

impl Common {
    fn sdo(&self, sdo_type: &str, ctx: &EventContext) -> Map<String, Value> {
        let mut o = Map::new();
        o.insert("type".into(), json!(sdo_type));
        o.insert("spec_version".into(), json!("2.1"));
        o.insert("id".into(), json!(format!("{sdo_type}--{}", self.uuid)));
        o.insert("created_by_ref".into(), json!(ctx.identity));
        o.insert("created".into(), json!(self.time));
        o.insert("modified".into(), json!(self.time));
        if let Some(d) = &self.description {
            o.insert("description".into(), json!(d));
        }
        if !self.labels.is_empty() {
            o.insert("labels".into(), json!(self.labels));
        }
        if let Some(tlp) = self.marking {
            o.insert("object_marking_refs".into(), json!([tlp.marking_id()]));
        }
        o
    }
}

fn indicator(
    common: &Common,
    ctx: &EventContext,
    comparisons: &[Comparison],
    rule: Option<&str>,
    out: &mut Output,
) -> String {
    let mut o = common.sdo("indicator", ctx);
    match rule {
        Some(kind) => {
            let text = comparisons.first().map(|c| c.value.as_str()).unwrap_or("");
            o.insert("pattern".into(), json!(text));
            o.insert("pattern_type".into(), json!(kind));
        }
        None => {
            o.insert("pattern".into(), json!(write_pattern(comparisons)));
            o.insert("pattern_type".into(), json!("stix"));
            o.insert("pattern_version".into(), json!("2.1"));
        }
    }
    o.insert("valid_from".into(), json!(common.time));
    out.push(o)
}

fn observed_data(
    path: &str,
    common: &Common,
    ctx: &EventContext,
    observable: Observable,
    out: &mut Output,
) -> Option<String> {
    let scos: Vec<Map<String, Value>> = observable
        .scos
        .into_iter()
        .map(Value::Object)
        .filter(|sco| valid_sco(path, sco, out))
        .filter_map(|sco| match sco {
            Value::Object(map) => Some(map),
            _ => None,
        })
        .collect();
    if scos.is_empty() {
        return None;
    }
    let mut refs = Vec::new();
    for sco in scos {
        let id = out.push(sco);
        if !refs.contains(&id) {
            refs.push(id);
        }
    }
    let mut o = common.sdo("observed-data", ctx);
    o.insert("first_observed".into(), json!(common.time));
    o.insert("last_observed".into(), json!(common.time));
    o.insert("number_observed".into(), json!(1));
    o.insert("object_refs".into(), json!(refs));
    Some(out.push(o))
}

/// Whether an SCO is valid STIX; if not, a problem at the attribute's value says why.
fn valid_sco(path: &str, sco: &Value, out: &mut Output) -> bool {
    let issues = out.validator.validate(sco);
    let Some(first) = issues.first() else {
        return true;
    };
    let sco_type = sco.get("type").and_then(Value::as_str).unwrap_or("");
    let message = format!(
        "not a valid {sco_type} observable: {}; observable skipped",
        first.message
    );
    out.problem(&format!("{path}.value"), message);
    false
}

fn vulnerability(common: &Common, ctx: &EventContext, name: &str, out: &mut Output) -> String {
    let mut o = common.sdo("vulnerability", ctx);
    o.insert("name".into(), json!(name));
    if name.to_ascii_uppercase().starts_with("CVE-") {
        o.insert(
            "external_references".into(),
            json!([{"source_name": "cve", "external_id": name}]),
        );
    }
    out.push(o)
}

fn relationship(source: &str, kind: &str, target: &str, time: &str, out: &mut Output) {
    let uuid = Uuid::new_v5(&NAMESPACE, format!("{source}|{kind}|{target}").as_bytes());
    let mut o = Map::new();
    o.insert("type".into(), json!("relationship"));
    o.insert("spec_version".into(), json!("2.1"));
    o.insert("id".into(), json!(format!("relationship--{uuid}")));
    o.insert("created".into(), json!(time));
    o.insert("modified".into(), json!(time));
    o.insert("relationship_type".into(), json!(kind));
    o.insert("source_ref".into(), json!(source));
    o.insert("target_ref".into(), json!(target));
    out.push(o);
}

/// The organisation that created the event (`Orgc`, else `Org`) as an identity.
fn identity(event: &Map<String, Value>, time: &str, out: &mut Output) -> String {
    let org = event
        .get("Orgc")
        .or_else(|| event.get("Org"))
        .and_then(Value::as_object);
    let name = org.and_then(|o| text(o, "name")).unwrap_or("MISP");
    let uuid = org
        .and_then(|o| text(o, "uuid"))
        .and_then(|u| Uuid::parse_str(u).ok())
        .unwrap_or_else(|| Uuid::new_v5(&NAMESPACE, format!("org:{name}").as_bytes()));
    let mut o = Map::new();
    o.insert("type".into(), json!("identity"));
    o.insert("spec_version".into(), json!("2.1"));
    o.insert("id".into(), json!(format!("identity--{uuid}")));
    o.insert("created".into(), json!(time));
    o.insert("modified".into(), json!(time));
    o.insert("name".into(), json!(name));
    o.insert("identity_class".into(), json!("organization"));
    out.push(o)
}

/// Galaxy tags to threat-actor, malware and attack-pattern objects; returns their ids.
fn galaxies(tags: &[String], ctx: &EventContext, out: &mut Output) -> Vec<String> {
    let mut ids = Vec::new();
    for tag in tags {
        let Some((galaxy, name)) = galaxy_tag(tag) else {
            continue;
        };
        let sdo_type = match galaxy {
            "threat-actor" => "threat-actor",
            "malware" | "mitre-malware" | "malpedia" | "ransomware" | "android" | "banker"
            | "botnet" | "rat" | "stealer" | "backdoor" => "malware",
            "mitre-attack-pattern" | "mitre-enterprise-attack-attack-pattern" => "attack-pattern",
            _ => continue,
        };
        let uuid = Uuid::new_v5(&NAMESPACE, format!("{sdo_type}:{name}").as_bytes());
        let mut o = Map::new();
        o.insert("type".into(), json!(sdo_type));
        o.insert("spec_version".into(), json!("2.1"));
        o.insert("id".into(), json!(format!("{sdo_type}--{uuid}")));
        o.insert("created_by_ref".into(), json!(ctx.identity));
        o.insert("created".into(), json!(ctx.time));
        o.insert("modified".into(), json!(ctx.time));
        o.insert("name".into(), json!(name));
        o.insert("labels".into(), json!([tag]));
        if sdo_type == "malware" {
            o.insert("is_family".into(), json!(true));
        }
        if let Some(technique) = attack_id(name) {
            o.insert(
                "external_references".into(),
                json!([{"source_name": "mitre-attack", "external_id": technique}]),
            );
        }
        ids.push(out.push(o));
    }
    ids
}

/// `misp-galaxy:threat-actor="Sofacy"` → (`threat-actor`, `Sofacy`).
fn galaxy_tag(tag: &str) -> Option<(&str, &str)> {
    let rest = tag.strip_prefix("misp-galaxy:")?;
    let (galaxy, name) = rest.split_once('=')?;
    Some((galaxy, name.trim_matches('"')))
}

/// The ATT&CK technique at the end of a galaxy name: `Spearphishing Link - T1192`.
fn attack_id(name: &str) -> Option<&str> {
    let (_, id) = name.rsplit_once(" - ")?;
    let digits = id.strip_prefix('T')?;
    (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit() || c == '.')).then_some(id)
}

fn report(
    event: &Map<String, Value>,
    event_uuid: &str,
    tags: &[String],
    ctx: EventContext,
    out: &mut Output,
) {
    let mut refs = ctx.refs;
    if refs.is_empty() {
        refs.push(ctx.identity.clone());
    }
    let name = text(event, "info")
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| format!("MISP event {event_uuid}"));
    let published = event
        .get("publish_timestamp")
        .and_then(epoch)
        .filter(|s| !s.starts_with("1970"))
        .or_else(|| date_of(event))
        .unwrap_or_else(|| ctx.time.clone());
    let mut o = Map::new();
    o.insert("type".into(), json!("report"));
    o.insert("spec_version".into(), json!("2.1"));
    o.insert("id".into(), json!(format!("report--{event_uuid}")));
    o.insert("created_by_ref".into(), json!(ctx.identity));
    o.insert("created".into(), json!(ctx.time));
    o.insert("modified".into(), json!(ctx.time));
    o.insert("name".into(), json!(name));
    o.insert("report_types".into(), json!(["threat-report"]));
    o.insert("published".into(), json!(published));
    o.insert("object_refs".into(), json!(refs));
    let labels: Vec<&String> = tags
        .iter()
        .filter(|t| Tlp::from_name(t).is_none() && galaxy_tag(t).is_none())
        .collect();
    if !labels.is_empty() {
        o.insert("labels".into(), json!(labels));
    }
    if let Some(tlp) = ctx.marking {
        o.insert("object_marking_refs".into(), json!([tlp.marking_id()]));
    }
    out.push(o);
}

fn report_unmapped(path: &str, misp_type: &str, why: Unmapped, out: &mut Output) {
    match why {
        Unmapped::UnknownType => out.problem(
            &format!("{path}.type"),
            format!("unknown attribute type `{}`; skipped", clip(misp_type)),
        ),
        Unmapped::NotObservable => out.problem(
            &format!("{path}.type"),
            format!("a `{misp_type}` attribute has no STIX indicator or observable form; skipped"),
        ),
        Unmapped::BadValue(message) => out.problem(&format!("{path}.value"), message),
    }
}

fn labels(misp_type: &str, attr: &Map<String, Value>) -> Vec<String> {
    let mut labels = vec![format!("misp:type=\"{misp_type}\"")];
    if let Some(category) = text(attr, "category") {
        labels.push(format!("misp:category=\"{category}\""));
    }
    labels
}

/// The first `tlp:*` tag, read as TLP 2.0 (`white` is `clear`).
fn tlp_of(tags: &[String]) -> Option<Tlp> {
    tags.iter()
        .filter(|t| t.to_ascii_lowercase().starts_with("tlp:"))
        .find_map(|t| Tlp::from_name(t))
}

/// The names of the `Tag` list of an event, attribute or object.
fn tags(path: &str, owner: &Map<String, Value>, out: &mut Output) -> Vec<String> {
    let mut names = Vec::new();
    for (i, tag) in array_at(path, owner, "Tag", out).iter().enumerate() {
        match tag.get("name").and_then(Value::as_str) {
            Some(name) => names.push(name.to_string()),
            None => out.problem(
                &format!("{path}.Tag[{i}].name"),
                "expected a tag name (a string); tag skipped",
            ),
        }
    }
    names
}

fn array_at<'v>(
    path: &str,
    owner: &'v Map<String, Value>,
    key: &str,
    out: &mut Output,
) -> &'v [Value] {
    match owner.get(key) {
        None | Some(Value::Null) => &[],
        Some(Value::Array(items)) => items,
        Some(other) => {
            out.problem(
                &format!("{path}.{key}"),
                format!("expected an array, found {}; skipped", kind(other)),
            );
            &[]
        }
    }
}

fn string_at(
    path: &str,
    owner: &Map<String, Value>,
    key: &str,
    out: &mut Output,
) -> Option<String> {
    match owner.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        other => {
            let found = other.map_or_else(|| "nothing".to_string(), kind);
            out.problem(
                &format!("{path}.{key}"),
                format!("expected a string, found {found}; skipped"),
            );
            None
        }
    }
}

/// An attribute's value: a string, or a number MISP sometimes writes bare (`AS`, `port`).
fn value_at(path: &str, owner: &Map<String, Value>, out: &mut Output) -> Option<String> {
    match owner.get("value") {
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        other => {
            let found = other.map_or_else(|| "nothing".to_string(), kind);
            out.problem(
                &format!("{path}.value"),
                format!("expected a non-empty string, found {found}; skipped"),
            );
            None
        }
    }
}

fn uuid_at(path: &str, owner: &Map<String, Value>, out: &mut Output) -> Option<String> {
    let text = string_at(path, owner, "uuid", out)?;
    match Uuid::parse_str(&text) {
        Ok(uuid) => Some(uuid.hyphenated().to_string()),
        Err(_) => {
            out.problem(
                &format!("{path}.uuid"),
                format!("expected a UUID, found `{}`; skipped", clip(&text)),
            );
            None
        }
    }
}

/// MISP writes epoch seconds as a string (`"1603642920"`), older exports as a number.
fn epoch(value: &Value) -> Option<String> {
    let secs = match value {
        Value::String(s) => s.trim().parse::<i64>().ok()?,
        Value::Number(n) => n.as_i64()?,
        _ => return None,
    };
    // Beyond year 9999 a STIX timestamp cannot be written.
    (0..253_402_300_800)
        .contains(&secs)
        .then(|| millis(Timestamp::from_unix(secs, 0)))
}

fn timestamp_of(owner: &Map<String, Value>) -> Option<String> {
    owner.get("timestamp").and_then(epoch)
}

/// An event's `date` (`2017-12-05`) as the start of that day.
fn date_of(owner: &Map<String, Value>) -> Option<String> {
    let date = text(owner, "date")?;
    Timestamp::parse(&format!("{date}T00:00:00Z"))
        .ok()
        .map(millis)
}

/// A whole-second time written with milliseconds, as `created` and `modified` must be.
fn millis(t: Timestamp) -> String {
    let text = t.to_string();
    match text.strip_suffix('Z') {
        Some(head) if !head.contains('.') => format!("{head}.000Z"),
        _ => text,
    }
}

/// MISP booleans: `true`, `1` or `"1"`.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_i64() == Some(1),
        Value::String(s) => s == "1" || s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

fn text<'m>(map: &'m Map<String, Value>, key: &str) -> Option<&'m str> {
    map.get(key).and_then(Value::as_str)
}

fn kind(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string `{}`", clip(s)),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}
