//! What one MISP attribute type becomes in STIX: the comparisons of an indicator pattern and
//! the cyber-observable objects of an observed-data, from one table so the two agree.
//!
//! The patterns follow the reference converter (`misp-stix`, its
//! `documentation/mapping/misp_attributes_to_stix21.json`), so an indicator from Watchpost and
//! one from MISP's own export match the same traffic. The SCOs get deterministic identifiers
//! (UUIDv5 over their ID contributing properties) rather than the attribute's uuid, so the same
//! address seen in two events is one object in the store; `docs/conformance.md` lists this and
//! the other deliberate differences.

use serde_json::{json, Map, Value};
use watchpost_stix::id::deterministic_sco_id;

/// One `object-path = 'value'` comparison of a STIX pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comparison {
    /// The object path, e.g. `file:hashes.'SHA-256'`.
    pub path: String,
    /// The value compared against, unescaped.
    pub value: String,
}

impl Comparison {
    fn new(path: impl Into<String>, value: impl Into<String>) -> Self {
        Comparison {
            path: path.into(),
            value: value.into(),
        }
    }

    /// The object type the path starts with (`file` for `file:name`).
    pub fn object_type(&self) -> &str {
        self.path.split(':').next().unwrap_or("")
    }
}

/// What an attribute becomes.
#[derive(Debug, Default)]
pub struct Observable {
    /// The comparisons an indicator's pattern ANDs together.
    pub comparisons: Vec<Comparison>,
    /// The SCOs an observed-data refers to, with their identifiers; the first is the main one.
    pub scos: Vec<Map<String, Value>>,
    /// Whether to build `scos`: an indicator needs only the comparisons, and the SCOs'
    /// deterministic ids (canonical JSON + SHA-1) are most of the cost of an attribute.
    skip_scos: bool,
}

/// How an attribute type is carried into STIX.
#[derive(Debug)]
pub enum Mapped {
    /// A cyber observable: a STIX pattern and SCOs.
    Observable(Observable),
    /// A detection rule in another language (yara, snort, sigma, suricata): an indicator whose
    /// `pattern_type` names it, with the rule text as the pattern.
    Rule(&'static str),
    /// A CVE or other vulnerability name: a `vulnerability` SDO.
    Vulnerability,
}

/// Why an attribute was not converted.
#[derive(Debug, PartialEq, Eq)]
pub enum Unmapped {
    /// The type is not one this converter knows.
    UnknownType,
    /// The type is known but carries no observable (text, comment, other…).
    NotObservable,
    /// The value does not have the shape the type needs (`ip-dst|port` without a `|`).
    BadValue(String),
}

/// MISP hash types and the key Watchpost writes in `hashes`: the STIX hash-algorithm
/// vocabulary where it has one, the upper-cased MISP name otherwise. Unlike `misp-stix`,
/// `sha512/224` and `sha512/256` keep their own names instead of becoming SHA-224/SHA-256,
/// which are different functions.
pub const HASHES: &[(&str, &str)] = &[
    ("md5", "MD5"),
    ("sha1", "SHA-1"),
    ("sha224", "SHA-224"),
    ("sha256", "SHA-256"),
    ("sha384", "SHA-384"),
    ("sha512", "SHA-512"),
    ("sha512/224", "SHA-512/224"),
    ("sha512/256", "SHA-512/256"),
    ("sha3-224", "SHA3-224"),
    ("sha3-256", "SHA3-256"),
    ("sha3-384", "SHA3-384"),
    ("sha3-512", "SHA3-512"),
    ("ssdeep", "SSDEEP"),
    ("tlsh", "TLSH"),
    ("imphash", "IMPHASH"),
    ("pehash", "PEHASH"),
    ("authentihash", "AUTHENTIHASH"),
    ("vhash", "VHASH"),
    ("telfhash", "TELFHASH"),
];

/// Types known to carry no observable: skipped with a note rather than called unknown.
const NOT_OBSERVABLE: &[&str] = &[
    "text",
    "comment",
    "other",
    "datetime",
    "counter",
    "float",
    "boolean",
    "attachment",
    "malware-sample",
    "campaign-name",
    "threat-actor",
    "pattern-in-file",
    "pattern-in-traffic",
    "pattern-in-memory",
    "whois-registrant-email",
    "whois-registrar",
    "whois-creation-date",
    "cpe",
    "hex",
    "named pipe",
    "process-state",
    "target-org",
    "target-user",
    "cortex",
    "mime-type",
    "port-number",
    "whois-registrant-name",
    "whois-registrant-phone",
];

/// The key of a hash type, if `misp_type` is one.
pub fn hash_key(misp_type: &str) -> Option<&'static str> {
    HASHES
        .iter()
        .find(|(t, _)| *t == misp_type)
        .map(|(_, key)| *key)
}

/// The `hashes` key written as a pattern path step: quoted unless a bare identifier.
pub fn path_step(key: &str) -> String {
    if key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        key.to_string()
    } else {
        format!("'{key}'")
    }
}

/// Maps one attribute of `misp_type` with `value`.
pub fn map(misp_type: &str, value: &str) -> Result<Mapped, Unmapped> {
    map_with(misp_type, value, true)
}

/// [`map`], building the SCOs only if `with_scos` (an indicator needs only the pattern).
pub fn map_with(misp_type: &str, value: &str, with_scos: bool) -> Result<Mapped, Unmapped> {
    let mut o = Observable {
        skip_scos: !with_scos,
        ..Observable::default()
    };
    if let Some(key) = hash_key(misp_type) {
        o.hash(key, value);
        return Ok(Mapped::Observable(o));
    }
    if let Some(hash_type) = misp_type.strip_prefix("filename|") {
        let key = hash_key(hash_type).ok_or(Unmapped::UnknownType)?;
        let (name, hash) = split(value, misp_type)?;
        o.file(Some(name), Some((key, hash)));
        return Ok(Mapped::Observable(o));
    }
    match misp_type {
        "ip-src" | "ip-dst" => o.traffic(side(misp_type), value, None)?,
        "ip-src|port" | "ip-dst|port" => {
            let (ip, port) = split(value, misp_type)?;
            o.traffic(side(misp_type), ip, Some(port))?;
        }
        "domain" | "hostname" => o.single("domain-name", "value", value),
        "domain|ip" => {
            let (domain, ip) = split(value, misp_type)?;
            let address = address(ip)?;
            let ip_id = o.push(address);
            o.comparisons
                .push(Comparison::new("domain-name:value", domain));
            o.comparisons
                .push(Comparison::new("domain-name:resolves_to_refs[*].value", ip));
            o.front(json!({"type": "domain-name", "value": domain, "resolves_to_refs": [ip_id]}));
        }
        "hostname|port" => {
            let (host, port) = split(value, misp_type)?;
            let port = port_number(port)?;
            let host_id = o.push(json!({"type": "domain-name", "value": host}));
            o.comparisons
                .push(Comparison::new("domain-name:value", host));
            o.comparisons.push(Comparison::new(
                "network-traffic:dst_port",
                port.to_string(),
            ));
            o.front(json!({"type": "network-traffic", "dst_ref": host_id,
                "dst_port": port, "protocols": ["tcp"]}));
        }
        "url" | "uri" | "link" => o.single("url", "value", value),
        "filename" => o.file(Some(value), None),
        "email" | "email-addr" => o.single("email-addr", "value", value),
        "email-src" | "email-dst" => {
            let addr_id = o.push(json!({"type": "email-addr", "value": value}));
            let (path, message) = if misp_type == "email-src" {
                (
                    "email-message:from_ref.value",
                    json!({"type": "email-message", "is_multipart": false, "from_ref": addr_id}),
                )
            } else {
                (
                    "email-message:to_refs[*].value",
                    json!({"type": "email-message", "is_multipart": false, "to_refs": [addr_id]}),
                )
            };
            o.comparisons.push(Comparison::new(path, value));
            o.front(message);
        }
        "email-subject" => {
            o.comparisons
                .push(Comparison::new("email-message:subject", value));
            o.push(json!({"type": "email-message", "is_multipart": false, "subject": value}));
        }
        "mutex" => o.single("mutex", "name", value),
        "regkey" => {
            o.comparisons
                .push(Comparison::new("windows-registry-key:key", value));
            o.push(json!({"type": "windows-registry-key", "key": full_hive(value)}));
        }
        "regkey|value" => {
            let (key, data) = split(value, misp_type)?;
            o.comparisons
                .push(Comparison::new("windows-registry-key:key", key));
            o.comparisons
                .push(Comparison::new("windows-registry-key:values.data", data));
            o.push(
                json!({"type": "windows-registry-key", "key": full_hive(key),
                "values": [{"data": data}]}),
            );
        }
        "AS" => {
            let digits = value.trim().trim_start_matches("AS");
            let number: u64 = digits.parse().map_err(|_| {
                Unmapped::BadValue(format!("expected an AS number, found `{}`", clip(value)))
            })?;
            o.comparisons.push(Comparison::new(
                "autonomous-system:number",
                number.to_string(),
            ));
            o.push(json!({"type": "autonomous-system", "number": number}));
        }
        "mac-address" => o.single("mac-addr", "value", value),
        "x509-fingerprint-md5" | "x509-fingerprint-sha1" | "x509-fingerprint-sha256" => {
            let key = match misp_type {
                "x509-fingerprint-md5" => "MD5",
                "x509-fingerprint-sha1" => "SHA-1",
                _ => "SHA-256",
            };
            o.comparisons.push(Comparison::new(
                format!("x509-certificate:hashes.{}", path_step(key)),
                value,
            ));
            o.push(json!({"type": "x509-certificate", "hashes": {key: value}}));
        }
        "user-agent" => o.comparisons.push(Comparison::new(
            "network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'",
            value,
        )),
        "http-method" => o.comparisons.push(Comparison::new(
            "network-traffic:extensions.'http-request-ext'.request_method",
            value,
        )),
        "port" => o.comparisons.push(Comparison::new(
            "network-traffic:dst_port",
            port_number(value)?.to_string(),
        )),
        "size-in-bytes" => o.comparisons.push(Comparison::new("file:size", value)),
        "yara" => return Ok(Mapped::Rule("yara")),
        "snort" => return Ok(Mapped::Rule("snort")),
        "sigma" => return Ok(Mapped::Rule("sigma")),
        "suricata" => return Ok(Mapped::Rule("suricata")),
        "vulnerability" => return Ok(Mapped::Vulnerability),
        t if NOT_OBSERVABLE.contains(&t) => return Err(Unmapped::NotObservable),
        _ => return Err(Unmapped::UnknownType),
    }
    Ok(Mapped::Observable(o))
}

impl Observable {
    /// Puts the main SCO first, with its deterministic identifier.
    fn front(&mut self, sco: Value) {
        if !self.skip_scos {
            self.scos.insert(0, with_id(sco));
        }
    }

    /// Adds an SCO with its deterministic identifier; returns the identifier.
    fn push(&mut self, sco: Value) -> String {
        if self.skip_scos {
            return String::new();
        }
        let sco = with_id(sco);
        let id = sco
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        self.scos.push(sco);
        id
    }

    fn single(&mut self, sco_type: &str, property: &str, value: &str) {
        self.comparisons
            .push(Comparison::new(format!("{sco_type}:{property}"), value));
        self.push(json!({"type": sco_type, property: value}));
    }

    fn hash(&mut self, key: &str, value: &str) {
        self.file(None, Some((key, value)));
    }

    fn file(&mut self, name: Option<&str>, hash: Option<(&str, &str)>) {
        let mut file = json!({"type": "file"});
        if let Some(name) = name {
            self.comparisons.push(Comparison::new("file:name", name));
            file["name"] = json!(name);
        }
        if let Some((key, value)) = hash {
            self.comparisons.push(Comparison::new(
                format!("file:hashes.{}", path_step(key)),
                value,
            ));
            file["hashes"] = json!({key: value});
        }
        self.push(file);
    }

    fn traffic(&mut self, side: &str, ip: &str, port: Option<&str>) -> Result<(), Unmapped> {
        let address = address(ip)?;
        let ip_type = address["type"].as_str().unwrap_or_default().to_string();
        let ip_id = self.push(address);
        self.comparisons.push(Comparison::new(
            format!("network-traffic:{side}_ref.type"),
            ip_type,
        ));
        self.comparisons.push(Comparison::new(
            format!("network-traffic:{side}_ref.value"),
            ip,
        ));
        let mut traffic = json!({"type": "network-traffic", "protocols": ["tcp"]});
        traffic[format!("{side}_ref")] = json!(ip_id);
        if let Some(port) = port {
            let number = port_number(port)?;
            self.comparisons.push(Comparison::new(
                format!("network-traffic:{side}_port"),
                number.to_string(),
            ));
            traffic[format!("{side}_port")] = json!(number);
        }
        self.front(traffic);
        Ok(())
    }
}

/// STIX requires the full hive name in a registry key SCO (`HKEY_LOCAL_MACHINE`) where MISP
/// users write `HKLM`. The SCO gets the full name; the pattern keeps the value as written, as
/// `misp-stix` does, so a round trip gives back the attribute's own value.
fn full_hive(key: &str) -> String {
    const HIVES: &[(&str, &str)] = &[
        ("HKLM", "HKEY_LOCAL_MACHINE"),
        ("HKCU", "HKEY_CURRENT_USER"),
        ("HKCR", "HKEY_CLASSES_ROOT"),
        ("HKU", "HKEY_USERS"),
        ("HKCC", "HKEY_CURRENT_CONFIG"),
    ];
    let (hive, rest) = key.split_once('\\').unwrap_or((key, ""));
    match HIVES
        .iter()
        .find(|(short, _)| hive.eq_ignore_ascii_case(short))
    {
        Some((_, full)) if rest.is_empty() => full.to_string(),
        Some((_, full)) => format!("{full}\\{rest}"),
        None => key.to_string(),
    }
}

fn side(misp_type: &str) -> &'static str {
    if misp_type.starts_with("ip-src") {
        "src"
    } else {
        "dst"
    }
}

/// Splits a composite value (`filename|hash`, `ip|port`) at its last `|`, as MISP does for
/// types whose first part may itself hold a `|` (file names).
fn split<'v>(value: &'v str, misp_type: &str) -> Result<(&'v str, &'v str), Unmapped> {
    value.rsplit_once('|').ok_or_else(|| {
        Unmapped::BadValue(format!(
            "a `{misp_type}` value has two parts separated by `|`, found `{}`",
            clip(value)
        ))
    })
}

fn port_number(text: &str) -> Result<u16, Unmapped> {
    text.trim()
        .parse()
        .map_err(|_| Unmapped::BadValue(format!("expected a port number, found `{}`", clip(text))))
}

/// An ipv4-addr or ipv6-addr SCO, chosen by the value's shape (a colon means IPv6).
fn address(ip: &str) -> Result<Value, Unmapped> {
    if ip.is_empty() {
        return Err(Unmapped::BadValue(
            "expected an IP address, found nothing".into(),
        ));
    }
    let ip_type = if ip.contains(':') {
        "ipv6-addr"
    } else {
        "ipv4-addr"
    };
    Ok(json!({"type": ip_type, "value": ip}))
}

/// Gives an SCO its deterministic identifier. An SCO without any ID contributing property
/// (an email-message with only `to_refs`) must have a UUIDv4 identifier; it gets one whose
/// bits are those of a UUIDv5 of its content, so a second conversion still gives the same id.
fn with_id(mut sco: Value) -> Map<String, Value> {
    let id = sco
        .as_object()
        .and_then(deterministic_sco_id)
        .unwrap_or_else(|| v4_shaped_id(&sco));
    let mut out = Map::new();
    if let Some(map) = sco.as_object_mut() {
        out.insert("type".into(), map.remove("type").unwrap_or(Value::Null));
        out.insert("spec_version".into(), json!("2.1"));
        out.insert("id".into(), json!(id));
        out.extend(std::mem::take(map));
    }
    out
}

fn v4_shaped_id(sco: &Value) -> String {
    let sco_type = sco
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("x-unknown");
    let canonical = watchpost_stix::jcs::to_string(sco);
    let bytes = uuid::Uuid::new_v5(&super::NAMESPACE, canonical.as_bytes()).into_bytes();
    format!(
        "{sco_type}--{}",
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    )
}

/// At most 60 characters of a value, for messages.
pub fn clip(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}
