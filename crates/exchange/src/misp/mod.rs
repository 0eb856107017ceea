//! MISP, the Malware Information Sharing Platform: its event JSON to STIX 2.1 and back.
//!
//! [`to_stix`] reads a MISP event (`{"Event": {...}}`), a bare event, a REST answer
//! (`{"response": [{"Event": ...}, ...]}`) or a JSON array of events, and gives STIX 2.1
//! objects and the problems it met, each named by its JSON path. It follows the reference
//! converter `misp-stix` where it can, so the two agree on what to look for:
//!
//! - an attribute with `to_ids` set becomes an `indicator` whose pattern is the one
//!   `misp-stix` writes (`[network-traffic:dst_ref.type = 'ipv4-addr' AND …]`); without it, an
//!   `observed-data` over the attribute's SCOs ([`attribute`] is the table of both);
//! - a MISP object becomes one indicator (any of its attributes `to_ids`) or one
//!   observed-data, ANDing the comparisons of its attributes, one observation per SCO type;
//! - `tlp:*` tags become TLP 2.0 `object_marking_refs` (an attribute's own tag wins over the
//!   event's); `misp-galaxy:threat-actor`, `…:malware`/`mitre-malware`/`malpedia`/`ransomware`
//!   and `…:mitre-attack-pattern` tags become threat-actor, malware and attack-pattern objects
//!   that the event's indicators `indicates`;
//! - the event becomes a `report` (`info` as its name, `date` as `published`) whose
//!   `object_refs` hold everything converted, created by an `identity` for the event's `Orgc`.
//!
//! Identifiers are deterministic, so converting an event twice gives the same objects: an
//! indicator or observed-data reuses its attribute's (or object's) uuid, as `misp-stix` does,
//! the report its event's; SCOs get the specification's UUIDv5; galaxy objects and
//! relationships a UUIDv5 under [`NAMESPACE`].
//!
//! Bad input costs the record it is in, never the file: a malformed document is a
//! [`MispError`] with its line and column; an attribute of an unknown type, a value of the
//! wrong shape or a field of the wrong JSON type is a [`Problem`] and the rest is kept.
//!
//! [`from_stix`] goes back: indicators and observed-data to attributes, report to event.

pub mod attribute;
mod export;
mod import;
pub mod pattern;

pub use export::from_stix;
pub use import::to_stix;

use uuid::Uuid;

/// The namespace of the UUIDv5 identifiers this module derives (galaxy objects,
/// relationships, organisations without a uuid).
pub const NAMESPACE: Uuid = Uuid::from_u128(0x6b1b_27d3_3a2e_4d4e_9a8e_8f1a_5c0c_7e11);

/// How to convert.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Options {
    /// Whether each event also becomes a `report` that refers to its objects.
    pub report: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { report: true }
    }
}

/// What a conversion produced.
#[derive(Debug, Default)]
pub struct Conversion {
    /// STIX 2.1 objects, each once (SCOs shared by attributes are deduplicated).
    pub objects: Vec<serde_json::Value>,
    /// What was skipped and why, in input order.
    pub problems: Vec<Problem>,
    /// How many attributes (top-level and inside objects) were read.
    pub attributes: usize,
}

/// Something in the input that was not converted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The JSON path of the offending value, e.g. `Event.Attribute[3].type`.
    pub path: String,
    /// What was found and what was expected.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// A document that cannot be read as MISP at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MispError {
    /// The bytes are not JSON.
    #[error("line {line}, column {column}: {message}")]
    Json {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What serde_json found.
        message: String,
    },
    /// The JSON is not a MISP event, a list of events or a `response` list.
    #[error("expected a MISP event (`Event`, `response` or an event's fields), found {0}")]
    NotMisp(String),
}

/// Whether a JSON document looks like MISP rather than STIX: an object with `Event` or
/// `response` at its top. Reads only the first bytes' key names, cheaply.
pub fn looks_like_misp(value: &serde_json::Value) -> bool {
    value.get("Event").is_some() || value.get("response").is_some()
}
