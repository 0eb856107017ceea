//! STIX identifiers (`type--UUID`) and deterministic identifiers of cyber-observable objects.
//!
//! Two sensors that see the same IP address must name it with the same id, or the hub would
//! store one observable per sighting. STIX 2.1 (§2.9) makes SCO ids UUIDv5 values computed in
//! the namespace [`SCO_NAMESPACE`] over the JCS-canonical JSON of the type's *ID contributing
//! properties*; a type without any (process), or an object that has none of them, gets a
//! random UUIDv4.

use serde_json::{Map, Value};
use std::fmt;
use uuid::Uuid;

/// The namespace of deterministic SCO identifiers (STIX 2.1 §2.9).
pub const SCO_NAMESPACE: Uuid = Uuid::from_u128(0x00abedb4_aa42_466c_9c01_fed23315a9b7);

/// A parsed `type--UUID` identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Identifier<'a> {
    /// The object type before `--`.
    pub object_type: &'a str,
    /// The UUID after `--`.
    pub uuid: Uuid,
}

/// Why a string is not a STIX identifier.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// No `--` separates the type from the UUID.
    #[error("expected an identifier of the form type--UUID")]
    Shape,
    /// The part before `--` is not a valid type name.
    #[error(
        "`{0}` is not a valid object type name (a-z, 0-9 and single hyphens, 3 to 250 characters)"
    )]
    Type(String),
    /// The part after `--` is not an RFC 4122 UUID.
    #[error("`{0}` is not an RFC 4122 UUID (version 1 to 5, variant 8, 9, a or b)")]
    Uuid(String),
}

impl<'a> Identifier<'a> {
    /// Parses and checks an identifier.
    ///
    /// ```
    /// use watchpost_stix::Identifier;
    /// let id = Identifier::parse("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f").unwrap();
    /// assert_eq!(id.object_type, "indicator");
    /// assert!(Identifier::parse("indicator-8e2e2d2b").is_err());
    /// ```
    pub fn parse(text: &'a str) -> Result<Self, IdError> {
        let (object_type, uuid) = text.split_once("--").ok_or(IdError::Shape)?;
        if !is_type_name(object_type) {
            return Err(IdError::Type(object_type.to_string()));
        }
        let parsed = parse_rfc4122(uuid).ok_or_else(|| IdError::Uuid(uuid.to_string()))?;
        Ok(Identifier {
            object_type,
            uuid: parsed,
        })
    }
}

impl fmt::Display for Identifier<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}--{}", self.object_type, self.uuid)
    }
}

/// A UUID in the 8-4-4-4-12 hexadecimal form, version 1–5, RFC 4122 variant.
fn parse_rfc4122(text: &str) -> Option<Uuid> {
    let b = text.as_bytes();
    if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
        return None;
    }
    let uuid = Uuid::try_parse(text).ok()?;
    let version_ok = (b'1'..=b'5').contains(&b[14]);
    let variant_ok = matches!(b[19], b'8' | b'9' | b'a' | b'b' | b'A' | b'B');
    (version_ok && variant_ok).then_some(uuid)
}

/// True when `name` is a valid STIX type name: a-z, 0-9 and hyphens, starting with a letter,
/// not ending with a hyphen, 3 to 250 characters.
pub fn is_type_name(name: &str) -> bool {
    let b = name.as_bytes();
    (3..=250).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b[b.len() - 1] != b'-'
        && !b.windows(2).any(|w| w == b"--")
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// The ID contributing properties of each SCO type defined by STIX 2.1 (§6), in the order the
/// specification lists them. `None` for a type that is not an SCO of the specification.
pub fn id_contributing_properties(sco_type: &str) -> Option<&'static [&'static str]> {
    Some(match sco_type {
        "artifact" => &["hashes", "payload_bin"],
        "autonomous-system" => &["number"],
        "directory" => &["path"],
        "domain-name" | "email-addr" | "ipv4-addr" | "ipv6-addr" | "mac-addr" | "url" => &["value"],
        "email-message" => &["from_ref", "subject", "body"],
        "file" => &["hashes", "name", "extensions", "parent_directory_ref"],
        "mutex" => &["name"],
        "network-traffic" => &[
            "start",
            "end",
            "src_ref",
            "dst_ref",
            "src_port",
            "dst_port",
            "protocols",
            "extensions",
        ],
        "process" => &[],
        "software" => &["name", "cpe", "swid", "vendor", "version"],
        "user-account" => &["account_type", "user_id", "account_login"],
        "windows-registry-key" => &["key", "values"],
        "x509-certificate" => &["hashes", "serial_number"],
        _ => return None,
    })
}

/// The hash algorithms in the order STIX 2.1 §2.9 prefers when a `hashes` dictionary
/// contributes to an id: only one hash is used, so that adding a second hash to a file
/// does not change its identity.
const HASH_PREFERENCE: [&str; 4] = ["MD5", "SHA-1", "SHA-256", "SHA-512"];

/// The deterministic identifier of an SCO, or `None` when its type is not a specification SCO
/// or it carries none of its ID contributing properties (it then needs a UUIDv4).
///
/// ```
/// use serde_json::json;
/// let ip = json!({"type": "ipv4-addr", "value": "198.51.100.3"});
/// assert_eq!(
///     watchpost_stix::id::deterministic_sco_id(ip.as_object().unwrap()).as_deref(),
///     Some("ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4"),
/// );
/// ```
pub fn deterministic_sco_id(object: &Map<String, Value>) -> Option<String> {
    let sco_type = object.get("type")?.as_str()?;
    let props = id_contributing_properties(sco_type)?;
    let mut contributing = Map::new();
    for &prop in props {
        let Some(value) = object.get(prop) else {
            continue;
        };
        if prop == "hashes" {
            if let Some(one) = value.as_object().and_then(preferred_hash) {
                contributing.insert(prop.to_string(), one);
            }
        } else {
            contributing.insert(prop.to_string(), value.clone());
        }
    }
    if contributing.is_empty() {
        return None;
    }
    let canonical = crate::jcs::to_string(&Value::Object(contributing));
    let uuid = Uuid::new_v5(&SCO_NAMESPACE, canonical.as_bytes());
    Some(format!("{sco_type}--{uuid}"))
}

fn preferred_hash(hashes: &Map<String, Value>) -> Option<Value> {
    let key = HASH_PREFERENCE
        .iter()
        .find(|k| hashes.contains_key(**k))
        .map(|k| k.to_string())
        .or_else(|| hashes.keys().next().cloned())?;
    let mut one = Map::new();
    one.insert(key.clone(), hashes.get(&key)?.clone());
    Some(Value::Object(one))
}

/// A fresh random identifier for an object of `object_type`.
pub fn random_id(object_type: &str) -> String {
    format!("{object_type}--{}", Uuid::new_v4())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn det(v: Value) -> Option<String> {
        deterministic_sco_id(v.as_object().unwrap())
    }

    #[test]
    fn parses_identifiers() {
        assert!(Identifier::parse("x-mitre-tactic--69da72d2-f550-41c5-ab9e-e8255707f28a").is_ok());
        for bad in [
            "indicator--8e2e2d2b-17d4-6cbf-938f-98ee46b3cd3f",
            "indicator--8e2e2d2b-17d4-4cbf-c38f-98ee46b3cd3f",
            "Indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "in--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "indicator--8e2e2d2b17d44cbf938f98ee46b3cd3f",
            "indicator",
        ] {
            assert!(Identifier::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn processes_and_empty_objects_have_no_deterministic_id() {
        assert_eq!(det(json!({"type": "process", "pid": 4})), None);
        assert_eq!(
            det(json!({"type": "email-message", "is_multipart": false})),
            None
        );
        assert_eq!(det(json!({"type": "x-custom", "value": "a"})), None);
    }

    #[test]
    fn only_one_hash_contributes() {
        let md5 = det(json!({"type": "file", "hashes": {"MD5": "a".repeat(32)}}));
        let both = det(
            json!({"type": "file", "hashes": {"SHA-256": "b".repeat(64), "MD5": "a".repeat(32)}}),
        );
        assert_eq!(md5, both);
    }
}
