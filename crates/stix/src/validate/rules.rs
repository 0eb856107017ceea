//! Rules that span several properties of one object: time windows, "one of these must be
//! present", the fixed TLP objects, granular-marking selectors, SCO identifiers.

use super::format;
use super::Checker;
use crate::id::{id_contributing_properties, Identifier};
use crate::marking::{self, TLP1_CREATED, TLP1_IDS, TLP2_EXTENSION_ID, TLP2_IDS};
use crate::timestamp::Timestamp;
use crate::vocab;
use serde_json::{Map, Value};

type Obj = Map<String, Value>;

/// The timestamp in property `key`, when it is present and valid (an invalid one has already
/// been reported by the property check).
pub(crate) fn ts(map: &Obj, key: &str) -> Option<Timestamp> {
    Timestamp::parse(map.get(key)?.as_str()?).ok()
}

/// Reports at `later` unless it is after (`strict`) or not before `earlier`.
fn window(
    map: &Obj,
    c: &mut Checker<'_>,
    earlier: &'static str,
    later: &'static str,
    strict: bool,
) {
    let (Some(a), Some(b)) = (ts(map, earlier), ts(map, later)) else {
        return;
    };
    if strict && b <= a {
        c.error_at(later, format!("must be later than {earlier} ({a})"));
    } else if !strict && b < a {
        c.error_at(
            later,
            format!("must be later than or equal to {earlier} ({a})"),
        );
    }
}

fn has(map: &Obj, key: &str) -> bool {
    map.contains_key(key)
}

/// `last_seen` not before `first_seen` (campaign, infrastructure, intrusion-set, malware,
/// threat-actor, sighting).
pub(crate) fn seen_window(map: &Obj, c: &mut Checker<'_>) {
    window(map, c, "first_seen", "last_seen", false);
}

pub(crate) fn indicator(map: &Obj, c: &mut Checker<'_>) {
    window(map, c, "valid_from", "valid_until", true);
    let is_stix = map.get("pattern_type").and_then(Value::as_str) == Some("stix");
    let (Some(pattern), Some(checker)) = (
        map.get("pattern").and_then(Value::as_str),
        c.pattern_syntax(),
    ) else {
        return;
    };
    if is_stix {
        let version = map
            .get("pattern_version")
            .and_then(Value::as_str)
            .unwrap_or("2.1");
        if let Err(message) = checker.check(pattern, version) {
            c.error_at("pattern", message);
        }
    }
}

pub(crate) fn location(map: &Obj, c: &mut Checker<'_>) {
    let (lat, long) = (has(map, "latitude"), has(map, "longitude"));
    if lat != long {
        let missing = if lat { "longitude" } else { "latitude" };
        c.error_at(missing, "latitude and longitude must be given together");
    }
    if !(has(map, "region") || has(map, "country") || (lat && long)) {
        c.error("a location needs region, country, or latitude and longitude");
    }
    if has(map, "precision") && !(lat && long) {
        c.error_at(
            "precision",
            "precision is only allowed with latitude and longitude",
        );
    }
}

pub(crate) fn malware(map: &Obj, c: &mut Checker<'_>) {
    seen_window(map, c);
    if map.get("is_family") == Some(&Value::Bool(true)) && !has(map, "name") {
        c.error_at(
            "name",
            "required property is missing (a malware family must be named)",
        );
    }
}

pub(crate) fn malware_analysis(map: &Obj, c: &mut Checker<'_>) {
    if !has(map, "result") && !has(map, "analysis_sco_refs") {
        c.error("a malware-analysis needs result or analysis_sco_refs");
    }
}

pub(crate) fn observed_data(map: &Obj, c: &mut Checker<'_>) {
    window(map, c, "first_observed", "last_observed", false);
    match (has(map, "objects"), has(map, "object_refs")) {
        (true, true) => c.error("observed-data must have objects or object_refs, not both"),
        (false, false) => c.error_at("object_refs", "required property is missing"),
        _ => {}
    }
}

pub(crate) fn relationship(map: &Obj, c: &mut Checker<'_>) {
    window(map, c, "start_time", "stop_time", true);
    if let Some(t) = map.get("relationship_type").and_then(Value::as_str) {
        let ok = !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            c.error_at(
                "relationship_type",
                format!("`{t}` must use only a-z, 0-9 and hyphens"),
            );
        }
    }
}

pub(crate) fn external_reference(map: &Obj, c: &mut Checker<'_>) {
    let source = map.get("source_name").and_then(Value::as_str).unwrap_or("");
    let external_id = map.get("external_id").and_then(Value::as_str);
    let expected = match source {
        "cve" => Some(("CVE-YYYY-NNNN", is_cve as fn(&str) -> bool)),
        "capec" => Some(("CAPEC-N", is_capec as fn(&str) -> bool)),
        _ => None,
    };
    match (expected, external_id) {
        (Some((shape, _)), None) => c.error_at(
            "external_id",
            format!("required for source {source} (expected {shape})"),
        ),
        (Some((shape, ok)), Some(id)) if !ok(id) => {
            c.error_at("external_id", format!("expected {shape}, found `{id}`"))
        }
        (None, None) if !has(map, "description") && !has(map, "url") => c.error(
            "an external reference needs external_id, description or url besides source_name",
        ),
        _ => {}
    }
}

fn is_cve(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("CVE-") else {
        return false;
    };
    let Some((year, num)) = rest.split_once('-') else {
        return false;
    };
    year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && num.len() >= 4
        && num.bytes().all(|b| b.is_ascii_digit())
        && !(num.len() > 4 && num.starts_with('0'))
}

fn is_capec(id: &str) -> bool {
    id.strip_prefix("CAPEC-")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A granular marking names a marking definition or a language, not both (§7.2.3).
pub(crate) fn granular_marking(map: &Obj, c: &mut Checker<'_>) {
    match (has(map, "marking_ref"), has(map, "lang")) {
        (false, false) => c.error_at("marking_ref", "required property is missing (or give lang)"),
        (true, true) => c.error("a granular marking has marking_ref or lang, not both"),
        _ => {}
    }
}

/// Every selector of every granular marking must resolve inside the object (§7.2.3.1), and a
/// marking definition must not mark itself.
pub(crate) fn granular_selectors(map: &Obj, c: &mut Checker<'_>) {
    let Some(markings) = map.get("granular_markings").and_then(Value::as_array) else {
        return;
    };
    let root = Value::Object(map.clone());
    for (i, marking) in markings.iter().enumerate() {
        let Some(selectors) = marking.get("selectors").and_then(Value::as_array) else {
            continue;
        };
        for (j, selector) in selectors.iter().enumerate() {
            let Some(sel) = selector.as_str() else {
                continue;
            };
            if let Err(why) = marking::resolve_selector(&root, sel) {
                c.error(format!(
                    "granular_markings[{i}].selectors[{j}]: `{sel}` does not select anything: {why}"
                ));
            }
        }
    }
}

pub(crate) fn marking_definition(map: &Obj, c: &mut Checker<'_>) {
    let id = map.get("id").and_then(Value::as_str).unwrap_or("");
    let self_ref = |v: &Value| v.as_str() == Some(id);
    if map
        .get("object_marking_refs")
        .and_then(Value::as_array)
        .is_some_and(|refs| refs.iter().any(self_ref))
    {
        c.error_at(
            "object_marking_refs",
            "a marking definition must not mark itself",
        );
    }
    if map
        .get("granular_markings")
        .and_then(Value::as_array)
        .is_some_and(|g| g.iter().any(|m| m.get("marking_ref").is_some_and(self_ref)))
    {
        c.error_at(
            "granular_markings",
            "a marking definition must not mark itself",
        );
    }
    if !has(map, "extensions") {
        for key in ["definition_type", "definition"] {
            if !has(map, key) {
                c.error_at(
                    key,
                    "required property is missing (unless the marking is defined by an extension)",
                );
            }
        }
    }
    match map.get("definition_type").and_then(Value::as_str) {
        Some("statement") => statement(map, c),
        Some("tlp") => tlp1(map, id, c),
        _ => {}
    }
    if let Some((tlp, _)) = TLP2_IDS.iter().find(|(_, i)| *i == id) {
        let level = map
            .get("extensions")
            .and_then(|e| e.get(TLP2_EXTENSION_ID))
            .and_then(|e| e.get("tlp_2_0"))
            .and_then(Value::as_str);
        if level != Some(tlp.tlp2_name()) {
            c.error(format!(
                "{id} is the fixed TLP 2.0 {} marking; its {TLP2_EXTENSION_ID} extension must have tlp_2_0 `{}`",
                tlp.label(),
                tlp.tlp2_name()
            ));
        }
    }
}

fn statement(map: &Obj, c: &mut Checker<'_>) {
    if !map
        .get("definition")
        .and_then(|d| d.get("statement"))
        .is_some_and(Value::is_string)
    {
        c.error_at(
            "definition",
            "a statement marking needs a definition with a statement string",
        );
    }
}

/// The four TLP 1.0 markings are fixed objects; nothing else may claim `definition_type: tlp`.
fn tlp1(map: &Obj, id: &str, c: &mut Checker<'_>) {
    let Some((tlp, _)) = TLP1_IDS.iter().find(|(_, i)| *i == id) else {
        return c.error_at(
            "id",
            "a TLP 1.0 marking must use one of the four fixed TLP marking-definition ids",
        );
    };
    let level = match tlp {
        marking::Tlp::Clear => "white",
        other => other.tlp2_name(),
    };
    let name = format!("TLP:{}", level.to_uppercase());
    if map
        .get("definition")
        .and_then(|d| d.get("tlp"))
        .and_then(Value::as_str)
        != Some(level)
    {
        c.error_at(
            "definition",
            format!("the TLP marking {id} must have definition {{\"tlp\": \"{level}\"}}"),
        );
    }
    if map.get("name").and_then(Value::as_str) != Some(&name) {
        c.error_at(
            "name",
            format!("the TLP marking {id} must be named `{name}`"),
        );
    }
    if map.get("created").and_then(Value::as_str) != Some(TLP1_CREATED) {
        c.error_at(
            "created",
            format!("the TLP 1.0 markings were created at {TLP1_CREATED}"),
        );
    }
    const ALLOWED: [&str; 7] = [
        "type",
        "spec_version",
        "id",
        "created",
        "name",
        "definition",
        "definition_type",
    ];
    for key in map.keys().filter(|k| !ALLOWED.contains(&k.as_str())) {
        c.error(format!("the fixed TLP 1.0 marking must not have `{key}`"));
    }
}

pub(crate) fn language_content(map: &Obj, c: &mut Checker<'_>) {
    let Some(contents) = map.get("contents").and_then(Value::as_object) else {
        return;
    };
    for (lang, translated) in contents {
        if !format::is_lang(lang) {
            c.error(format!(
                "contents: `{lang}` is not an RFC 5646 language tag"
            ));
        }
        match translated.as_object() {
            Some(props) => {
                for key in props.keys().filter(|k| !format::is_property_name(k)) {
                    c.error(format!("contents.{lang}: `{key}` is not a property name"));
                }
            }
            None => c.error(format!(
                "contents.{lang}: expected a dictionary of translated properties"
            )),
        }
    }
}

pub(crate) fn extension_definition(map: &Obj, c: &mut Checker<'_>) {
    let toplevel = map
        .get("extension_types")
        .and_then(Value::as_array)
        .is_some_and(|t| t.iter().any(|v| v == "toplevel-property-extension"));
    if has(map, "extension_properties") && !toplevel {
        c.error_at(
            "extension_properties",
            "only allowed when extension_types has toplevel-property-extension",
        );
    }
}

/// The value of an `extensions` entry keyed by an extension-definition id (§7.3).
pub(crate) fn extension_definition_use(ext: &Value, c: &mut Checker<'_>) {
    let Some(map) = ext.as_object() else {
        return c.error("expected an object with extension_type");
    };
    match map.get("extension_type").and_then(Value::as_str) {
        Some(t) if vocab::EXTENSION_TYPE.contains(&t) => {}
        Some(t) => c.error_at(
            "extension_type",
            format!(
                "expected {}, found `{t}`",
                format::one_of(vocab::EXTENSION_TYPE)
            ),
        ),
        None => c.error_at("extension_type", "required property is missing"),
    }
}

/// A custom `x-…-ext` extension: a non-empty object with well-formed property names.
pub(crate) fn custom_extension(ext: &Value, c: &mut Checker<'_>) {
    match ext.as_object() {
        Some(map) if map.is_empty() => c.error("an extension must have at least one property"),
        Some(map) => {
            for key in map.keys().filter(|k| !format::is_property_name(k)) {
                c.error(format!("`{key}` is not a valid property name"));
            }
        }
        None => c.error("expected an extension object"),
    }
}

/// The algorithm names of §10.3 and the shape of each digest.
const HASH_SHAPES: [(&str, usize); 6] = [
    ("MD5", 32),
    ("SHA-1", 40),
    ("SHA-256", 64),
    ("SHA-512", 128),
    ("SHA3-256", 64),
    ("SHA3-512", 128),
];

pub(crate) fn hashes(value: &Value, c: &mut Checker<'_>) {
    let Some(map) = value.as_object() else {
        return c.error(format!(
            "expected a dictionary of hashes, found {}",
            format::describe(value)
        ));
    };
    if map.is_empty() {
        return c.error("must not be an empty dictionary; omit the property instead");
    }
    for (algo, digest) in map {
        let Some(d) = digest.as_str() else {
            c.error(format!(
                "{algo}: expected a string, found {}",
                format::describe(digest)
            ));
            continue;
        };
        if !(3..=250).contains(&algo.len()) || !format::is_dictionary_key(algo) {
            c.error(format!("`{algo}` is not a valid hash algorithm name"));
        } else if let Some(why) = digest_problem(algo, d) {
            c.error(format!("{algo}: {why}, found `{}`", format::excerpt(d)));
        }
    }
}

fn digest_problem(algo: &str, d: &str) -> Option<String> {
    if let Some((_, len)) = HASH_SHAPES.iter().find(|(a, _)| *a == algo) {
        let ok = d.len() == *len && d.bytes().all(|b| b.is_ascii_hexdigit());
        return (!ok).then(|| format!("expected {len} hex digits"));
    }
    match algo {
        "SSDEEP" => {
            let ok = (1..=128).contains(&d.len())
                && d.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/+:.".contains(&b));
            (!ok).then(|| "expected an ssdeep digest".to_string())
        }
        "TLSH" => {
            let ok = d.len() == 70 && d.bytes().all(|b| b.is_ascii_alphanumeric());
            (!ok).then(|| "expected a 70-character TLSH digest".to_string())
        }
        _ => None,
    }
}

/// SCO identifiers: a type whose ID contributing properties are all absent, and process,
/// must use UUIDv4 (§2.9); the deterministic UUIDv5 is recommended otherwise, not required.
pub(crate) fn sco_identifier(map: &Obj, c: &mut Checker<'_>) {
    let Some(id) = map.get("id").and_then(Value::as_str) else {
        return;
    };
    let Ok(parsed) = Identifier::parse(id) else {
        return;
    };
    let Some(props) = map
        .get("type")
        .and_then(Value::as_str)
        .and_then(id_contributing_properties)
    else {
        return;
    };
    let needs_v4 = props.iter().all(|p| !has(map, p));
    if needs_v4 && parsed.uuid.get_version_num() != 4 {
        let why = if props.is_empty() {
            "a process object must use a UUIDv4 identifier".to_string()
        } else {
            format!(
                "without any of {} the identifier must be a UUIDv4",
                props.join(", ")
            )
        };
        c.error_at("id", why);
    }
}

pub(crate) fn artifact(map: &Obj, c: &mut Checker<'_>) {
    match (has(map, "payload_bin"), has(map, "url")) {
        (true, true) => c.error("an artifact has payload_bin or url, not both"),
        (false, false) => c.error("an artifact needs payload_bin or url"),
        (false, true) if !has(map, "hashes") => {
            c.error_at("hashes", "required when the artifact is given by url")
        }
        _ => {}
    }
    if has(map, "decryption_key") && !has(map, "encryption_algorithm") {
        c.error_at(
            "encryption_algorithm",
            "required when decryption_key is given",
        );
    }
    if let Some(m) = map.get("mime_type").and_then(Value::as_str) {
        if !is_media_type(m) {
            c.error_at(
                "mime_type",
                format!("`{m}` is not an IANA media type like text/plain"),
            );
        }
    }
}

fn is_media_type(m: &str) -> bool {
    const TOP: [&str; 9] = [
        "application",
        "audio",
        "font",
        "image",
        "message",
        "model",
        "multipart",
        "text",
        "video",
    ];
    m.split_once('/').is_some_and(|(top, sub)| {
        TOP.contains(&top)
            && !sub.is_empty()
            && sub
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".+_-".contains(&b))
    })
}

/// `path_enc` / `name_enc`: an IANA character set name.
pub(crate) fn character_set(map: &Obj, c: &mut Checker<'_>) {
    for key in ["path_enc", "name_enc"] {
        if let Some(enc) = map.get(key).and_then(Value::as_str) {
            let ok = (2..=250).contains(&enc.len())
                && enc
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/.+_:-()".contains(&b));
            if !ok {
                let key: &'static str = if key == "path_enc" {
                    "path_enc"
                } else {
                    "name_enc"
                };
                c.error_at(key, format!("`{enc}` is not an IANA character set name"));
            }
        }
    }
}

pub(crate) fn mime_part(map: &Obj, c: &mut Checker<'_>) {
    match (has(map, "body"), has(map, "body_raw_ref")) {
        (true, true) => c.error("a MIME part has body or body_raw_ref, not both"),
        (false, false) => c.error("a MIME part needs body or body_raw_ref"),
        _ => {}
    }
}

pub(crate) fn email_message(map: &Obj, c: &mut Checker<'_>) {
    match map.get("is_multipart").and_then(Value::as_bool) {
        Some(true) if has(map, "body") => c.error_at(
            "body",
            "a multipart message carries its body in body_multipart",
        ),
        Some(false) if has(map, "body_multipart") => c.error_at(
            "body_multipart",
            "only a multipart message has body_multipart",
        ),
        _ => {}
    }
}

pub(crate) fn pebinary(map: &Obj, c: &mut Checker<'_>) {
    if map.len() < 2 {
        c.error("windows-pebinary-ext needs at least one property besides pe_type");
    }
}

pub(crate) fn file(map: &Obj, c: &mut Checker<'_>) {
    character_set(map, c);
    if !has(map, "hashes") && !has(map, "name") {
        c.error("a file needs hashes or name");
    }
}

pub(crate) fn ipv4_addr(map: &Obj, c: &mut Checker<'_>) {
    address(
        map,
        c,
        "an IPv4 address or CIDR block like 198.51.100.0/24",
        |a, p| {
            a.parse::<std::net::Ipv4Addr>().is_ok()
                && !a.split('.').any(|o| o.len() > 1 && o.starts_with('0'))
                && p.is_none_or(|p| p <= 32)
        },
    );
}

pub(crate) fn ipv6_addr(map: &Obj, c: &mut Checker<'_>) {
    address(
        map,
        c,
        "an IPv6 address or CIDR block like 2001:db8::/32",
        |a, p| a.parse::<std::net::Ipv6Addr>().is_ok() && p.is_none_or(|p| p <= 128),
    );
}

fn address(map: &Obj, c: &mut Checker<'_>, what: &str, ok: fn(&str, Option<u8>) -> bool) {
    let Some(value) = map.get("value").and_then(Value::as_str) else {
        return;
    };
    let (addr, prefix) = match value.split_once('/') {
        Some((a, p)) => match p.parse::<u8>() {
            Ok(n) if !p.starts_with('+') => (a, Some(n)),
            _ => (a, Some(u8::MAX)),
        },
        None => (value, None),
    };
    if !ok(addr, prefix) {
        c.error_at(
            "value",
            format!("expected {what}, found `{}`", format::excerpt(value)),
        );
    }
}

pub(crate) fn mac_addr(map: &Obj, c: &mut Checker<'_>) {
    let Some(value) = map.get("value").and_then(Value::as_str) else {
        return;
    };
    let b = value.as_bytes();
    let ok = b.len() == 17
        && b.iter().enumerate().all(|(i, &ch)| {
            if i % 3 == 2 {
                ch == b':'
            } else {
                ch.is_ascii_digit() || (b'a'..=b'f').contains(&ch)
            }
        });
    if !ok {
        c.error_at("value", format!("expected a lower-case colon-separated MAC address like 00:00:5e:00:53:01, found `{}`", format::excerpt(value)));
    }
}

pub(crate) fn network_traffic(map: &Obj, c: &mut Checker<'_>) {
    if !has(map, "src_ref") && !has(map, "dst_ref") {
        c.error("network-traffic needs src_ref or dst_ref");
    }
    if map.get("is_active") == Some(&Value::Bool(true)) && has(map, "end") {
        c.error_at("end", "an active connection has no end");
    }
    window(map, c, "start", "end", false);
}

pub(crate) fn process(map: &Obj, c: &mut Checker<'_>) {
    sco_has_content(map, c);
}

/// SCOs whose every property is optional must still carry one (§6.13, §6.16, §6.17, §6.18).
pub(crate) fn sco_has_content(map: &Obj, c: &mut Checker<'_>) {
    let spec = map
        .get("type")
        .and_then(Value::as_str)
        .and_then(crate::schema::type_spec);
    let Some(spec) = spec else { return };
    if !map
        .keys()
        .any(|k| k == "extensions" || spec.prop(k).is_some())
    {
        let names: Vec<&str> = spec.props.iter().map(|p| p.name).collect();
        c.error(format!(
            "a {} needs at least one of {}",
            spec.name,
            names.join(", ")
        ));
    }
}

pub(crate) fn software(map: &Obj, c: &mut Checker<'_>) {
    if let Some(cpe) = map.get("cpe").and_then(Value::as_str) {
        if !is_cpe23(cpe) {
            c.error_at(
                "cpe",
                format!(
                    "`{}` is not a CPE 2.3 name (cpe:2.3:part:vendor:product:…, 13 fields)",
                    format::excerpt(cpe)
                ),
            );
        }
    }
}

/// A CPE 2.3 formatted string: `cpe:2.3:` then 11 fields separated by unescaped colons.
fn is_cpe23(cpe: &str) -> bool {
    let Some(rest) = cpe.strip_prefix("cpe:2.3:") else {
        return false;
    };
    let mut fields = 1;
    let mut escaped = false;
    for ch in rest.chars() {
        match ch {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            ':' => fields += 1,
            _ => {}
        }
    }
    fields == 11
        && matches!(
            rest.as_bytes().first(),
            Some(b'a' | b'h' | b'o' | b'*' | b'-')
        )
}

pub(crate) fn windows_registry_key(map: &Obj, c: &mut Checker<'_>) {
    sco_has_content(map, c);
    if let Some(key) = map.get("key").and_then(Value::as_str) {
        const SHORT: [&str; 5] = ["HKLM", "HKCC", "HKCR", "HKCU", "HKU"];
        let hive = key.split('\\').next().unwrap_or("");
        if SHORT.iter().any(|s| s.eq_ignore_ascii_case(hive)) {
            c.error_at(
                "key",
                format!("`{hive}` must be written as the full hive name (e.g. HKEY_LOCAL_MACHINE)"),
            );
        }
    }
}

pub(crate) fn x509_certificate(map: &Obj, c: &mut Checker<'_>) {
    sco_has_content(map, c);
}
