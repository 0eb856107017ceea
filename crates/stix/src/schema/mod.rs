//! The STIX 2.1 object model as data: every object type of the specification, its properties,
//! their kinds, which are required, which object types a reference may point at, and the
//! extensions each type defines.
//!
//! Why a table and not one Rust struct per type? STIX content is open: producers add custom
//! properties (`x_mitre_version`), extensions and whole custom object types, and a hub must pass
//! all of it on unchanged. Keeping the JSON tree as the source of truth makes the round trip
//! lossless by construction, lets the pattern engine walk object paths generically, and lets
//! one validator walk every type with the same code, so each rule of the specification is
//! written once. Typed access to the properties the hub itself uses lives in
//! [`crate::object::StixObject`].

mod sco;
mod sdo;

use serde_json::{Map, Value};

/// What kind of STIX object a type is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    /// A STIX Domain Object (indicator, malware…).
    Sdo,
    /// A STIX Relationship Object (relationship, sighting).
    Sro,
    /// A STIX Cyber-observable Object (ipv4-addr, file…).
    Sco,
    /// A meta object: marking-definition, language-content, extension-definition.
    Meta,
}

/// The kind of value a property holds.
#[derive(Debug)]
pub enum Kind {
    /// Any JSON string.
    String,
    /// `true` or `false`.
    Boolean,
    /// An integer within the inclusive range.
    Integer(i64, i64),
    /// A number within the inclusive range.
    Number(f64, f64),
    /// A timestamp (§3.2).
    Timestamp,
    /// A timestamp with at least millisecond precision (`created`, `modified`).
    TimestampMillis,
    /// A timestamp without fractional seconds (PE `time_date_stamp`).
    TimestampSeconds,
    /// An identifier of an object of one of these types (any type when empty).
    Ref(&'static [&'static str]),
    /// An identifier of an object of any type except these.
    RefNot(&'static [&'static str]),
    /// An identifier of an object of these categories; custom types are accepted, since a
    /// custom type may belong to any category.
    RefCategory(&'static [Category]),
    /// A non-empty list.
    List(&'static Kind),
    /// A list that may be empty (the specification's few exceptions).
    ListOrEmpty(&'static Kind),
    /// A string from an open vocabulary: any string is valid; the list is a suggestion.
    Vocab(&'static [&'static str]),
    /// A string from a closed enumeration.
    Enum(&'static [&'static str]),
    /// A `hashes` dictionary (§2.7).
    Hashes,
    /// Base64-encoded binary (§2.2).
    Binary,
    /// Hexadecimal bytes (§2.8).
    Hex,
    /// A URL (RFC 3986).
    Url,
    /// An RFC 5646 language tag.
    Lang,
    /// A non-empty dictionary with keys of at most 250 ASCII letters, digits, `_` or `-`.
    Dictionary,
    /// A dictionary whose values all have one kind.
    DictionaryOf(&'static Kind),
    /// An embedded structure with properties of its own.
    Struct(&'static Struct),
    /// The `extensions` dictionary of an object.
    Extensions,
    /// The deprecated `objects` dictionary of observed-data: local key to SCO.
    ObservedObjects,
    /// A selector of granular markings (`description`, `external_references.[0].url`).
    Selector,
    /// Anything; used where a property's content is defined by another rule.
    Any,
}

/// One property of an object or embedded structure.
#[derive(Debug)]
pub struct Prop {
    /// Its name.
    pub name: &'static str,
    /// What its value holds.
    pub kind: Kind,
    /// Whether the specification requires it.
    pub required: bool,
}

/// A rule that needs more than one property (e.g. `valid_until` after `valid_from`).
pub type Rule = fn(&Map<std::string::String, Value>, &mut crate::validate::Checker<'_>);

/// An embedded structure: an external reference, a kill-chain phase, an SCO extension…
#[derive(Debug)]
pub struct Struct {
    /// The specification's name for it (`external-reference`, `ntfs-ext`).
    pub name: &'static str,
    /// Its properties.
    pub props: &'static [Prop],
    /// Checks across its properties.
    pub rule: Option<Rule>,
    /// Whether at least one of its properties must be present (the specification's
    /// "at least one of the properties … MUST be present" on most extensions).
    pub at_least_one: bool,
}

/// One object type of the specification.
#[derive(Debug)]
pub struct TypeSpec {
    /// The `type` value.
    pub name: &'static str,
    /// SDO, SRO, SCO or meta.
    pub category: Category,
    /// Properties specific to the type (the common ones come from the category).
    pub props: &'static [Prop],
    /// Predefined extensions, by key (`ntfs-ext`).
    pub extensions: &'static [&'static Struct],
    /// Checks across properties.
    pub rule: Option<Rule>,
}

/// String equality that rejects on length and first byte before calling `memcmp`: property
/// and type lookups compare one name against a few dozen candidates, nearly all of which
/// differ in one of the two, and the library call dominated validation time without this.
#[inline]
pub fn name_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.as_bytes().first() == b.as_bytes().first() && a == b
}

/// The property called `name` among `props`.
pub(crate) fn find_prop(props: &'static [Prop], name: &str) -> Option<&'static Prop> {
    props.iter().find(|p| name_eq(p.name, name))
}

impl TypeSpec {
    /// The type-specific property called `name`.
    pub fn prop(&self, name: &str) -> Option<&'static Prop> {
        find_prop(self.props, name)
    }

    /// The predefined extension with key `name`.
    pub fn extension(&self, name: &str) -> Option<&'static Struct> {
        self.extensions
            .iter()
            .copied()
            .find(|s| name_eq(s.name, name))
    }
}

/// Declares a property: `prop!(name: Kind)` or `prop!(name: Kind, required)`.
macro_rules! prop {
    ($name:literal : $kind:expr) => {
        $crate::schema::Prop {
            name: $name,
            kind: $kind,
            required: false,
        }
    };
    ($name:literal : $kind:expr, required) => {
        $crate::schema::Prop {
            name: $name,
            kind: $kind,
            required: true,
        }
    };
}
pub(crate) use prop;

use Kind::*;

/// The SDO types, for references that must not point at one.
pub const SDO_TYPES: &[&str] = &[
    "attack-pattern",
    "campaign",
    "course-of-action",
    "grouping",
    "identity",
    "incident",
    "indicator",
    "infrastructure",
    "intrusion-set",
    "location",
    "malware",
    "malware-analysis",
    "note",
    "observed-data",
    "opinion",
    "report",
    "threat-actor",
    "tool",
    "vulnerability",
];

/// The SCO types of the specification.
pub const SCO_TYPES: &[&str] = &[
    "artifact",
    "autonomous-system",
    "directory",
    "domain-name",
    "email-addr",
    "email-message",
    "file",
    "ipv4-addr",
    "ipv6-addr",
    "mac-addr",
    "mutex",
    "network-traffic",
    "process",
    "software",
    "url",
    "user-account",
    "windows-registry-key",
    "x509-certificate",
];

/// Types that a relationship or a sighting may never point at.
pub const NOT_RELATABLE: &[&str] = &[
    "relationship",
    "sighting",
    "bundle",
    "marking-definition",
    "language-content",
];

/// Property names the specification reserves; no object may use them (§3.1).
pub const RESERVED_PROPERTIES: &[&str] = &["severity", "action", "username", "phone_numbers"];

/// The external reference structure (§2.5).
pub static EXTERNAL_REFERENCE: Struct = Struct {
    name: "external-reference",
    props: &[
        prop!("source_name": String, required),
        prop!("description": String),
        prop!("url": Url),
        prop!("hashes": Hashes),
        prop!("external_id": String),
    ],
    rule: Some(crate::validate::rules::external_reference),
    at_least_one: false,
};

/// The kill-chain phase structure (§2.6).
pub static KILL_CHAIN_PHASE: Struct = Struct {
    name: "kill-chain-phase",
    props: &[
        prop!("kill_chain_name": String, required),
        prop!("phase_name": String, required),
    ],
    rule: None,
    at_least_one: false,
};

/// The granular marking structure (§7.2.3).
pub static GRANULAR_MARKING: Struct = Struct {
    name: "granular-marking",
    props: &[
        prop!("lang": Lang),
        prop!("marking_ref": Ref(&["marking-definition"])),
        prop!("selectors": List(&Selector), required),
    ],
    rule: Some(crate::validate::rules::granular_marking),
    at_least_one: false,
};

/// Properties common to SDOs and SROs (§3.2), and to language-content and extension-definition.
pub static COMMON_SDO: &[Prop] = &[
    prop!("type": String, required),
    prop!("spec_version": Enum(&["2.1"]), required),
    prop!("id": String, required),
    prop!("created_by_ref": Ref(&["identity"])),
    prop!("created": TimestampMillis, required),
    prop!("modified": TimestampMillis, required),
    prop!("revoked": Boolean),
    prop!("labels": List(&String)),
    prop!("confidence": Integer(0, 100)),
    prop!("lang": Lang),
    prop!("external_references": List(&Struct(&EXTERNAL_REFERENCE))),
    prop!("object_marking_refs": List(&Ref(&["marking-definition"]))),
    prop!("granular_markings": List(&Struct(&GRANULAR_MARKING))),
    prop!("extensions": Extensions),
];

/// Properties common to SCOs (§3.2, §6).
pub static COMMON_SCO: &[Prop] = &[
    prop!("type": String, required),
    prop!("spec_version": Enum(&["2.1"])),
    prop!("id": String, required),
    prop!("object_marking_refs": List(&Ref(&["marking-definition"]))),
    prop!("granular_markings": List(&Struct(&GRANULAR_MARKING))),
    prop!("defanged": Boolean),
    prop!("extensions": Extensions),
];

/// Properties of marking-definition (§7.2.1), which has neither `modified` nor `revoked`.
pub static COMMON_MARKING: &[Prop] = &[
    prop!("type": String, required),
    prop!("spec_version": Enum(&["2.1"]), required),
    prop!("id": String, required),
    prop!("created_by_ref": Ref(&["identity"])),
    prop!("created": Timestamp, required),
    prop!("external_references": List(&Struct(&EXTERNAL_REFERENCE))),
    prop!("object_marking_refs": List(&Ref(&["marking-definition"]))),
    prop!("granular_markings": List(&Struct(&GRANULAR_MARKING))),
    prop!("extensions": Extensions),
];

/// Every object type of STIX 2.1: 19 SDOs, 2 SROs, 18 SCOs and 3 meta objects.
pub static TYPES: &[&TypeSpec] = &[
    &sdo::ATTACK_PATTERN,
    &sdo::CAMPAIGN,
    &sdo::COURSE_OF_ACTION,
    &sdo::GROUPING,
    &sdo::IDENTITY,
    &sdo::INCIDENT,
    &sdo::INDICATOR,
    &sdo::INFRASTRUCTURE,
    &sdo::INTRUSION_SET,
    &sdo::LOCATION,
    &sdo::MALWARE,
    &sdo::MALWARE_ANALYSIS,
    &sdo::NOTE,
    &sdo::OBSERVED_DATA,
    &sdo::OPINION,
    &sdo::REPORT,
    &sdo::THREAT_ACTOR,
    &sdo::TOOL,
    &sdo::VULNERABILITY,
    &sdo::RELATIONSHIP,
    &sdo::SIGHTING,
    &sco::ARTIFACT,
    &sco::AUTONOMOUS_SYSTEM,
    &sco::DIRECTORY,
    &sco::DOMAIN_NAME,
    &sco::EMAIL_ADDR,
    &sco::EMAIL_MESSAGE,
    &sco::FILE,
    &sco::IPV4_ADDR,
    &sco::IPV6_ADDR,
    &sco::MAC_ADDR,
    &sco::MUTEX,
    &sco::NETWORK_TRAFFIC,
    &sco::PROCESS,
    &sco::SOFTWARE,
    &sco::URL,
    &sco::USER_ACCOUNT,
    &sco::WINDOWS_REGISTRY_KEY,
    &sco::X509_CERTIFICATE,
    &sdo::MARKING_DEFINITION,
    &sdo::LANGUAGE_CONTENT,
    &sdo::EXTENSION_DEFINITION,
];

/// The specification's description of `object_type`, or `None` for a custom type.
///
/// ```
/// use watchpost_stix::schema::{type_spec, Category};
/// assert_eq!(type_spec("indicator").unwrap().category, Category::Sdo);
/// assert!(type_spec("x-mitre-tactic").is_none());
/// ```
pub fn type_spec(object_type: &str) -> Option<&'static TypeSpec> {
    TYPES.iter().copied().find(|t| name_eq(t.name, object_type))
}

/// The common properties of objects of `category`, or of marking-definition.
pub fn common_props(spec_name: &str, category: Category) -> &'static [Prop] {
    match (spec_name, category) {
        ("marking-definition", _) => COMMON_MARKING,
        (_, Category::Sco) => COMMON_SCO,
        _ => COMMON_SDO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_is_complete() {
        let count = |c| TYPES.iter().filter(|t| t.category == c).count();
        assert_eq!(count(Category::Sdo), 19);
        assert_eq!(count(Category::Sro), 2);
        assert_eq!(count(Category::Sco), 18);
        assert_eq!(count(Category::Meta), 3);
        for t in TYPES {
            assert!(crate::id::is_type_name(t.name), "{}", t.name);
            if t.category == Category::Sco {
                assert!(SCO_TYPES.contains(&t.name), "{}", t.name);
                assert!(crate::id::id_contributing_properties(t.name).is_some());
            }
            if t.category == Category::Sdo {
                assert!(SDO_TYPES.contains(&t.name), "{}", t.name);
            }
        }
    }

    #[test]
    fn observed_data_refs_take_observables_only() {
        let v = crate::Validator::new();
        let mut od = serde_json::json!({
            "type": "observed-data", "spec_version": "2.1",
            "id": "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf",
            "created": "2016-04-06T19:58:16.000Z", "modified": "2016-04-06T19:58:16.000Z",
            "first_observed": "2015-12-21T19:00:00Z", "last_observed": "2015-12-21T19:00:00Z",
            "number_observed": 50,
        });
        for t in TYPES
            .iter()
            .map(|t| t.name)
            .chain(["x-acme-sensor", "bundle"])
        {
            od["object_refs"] =
                serde_json::json!([format!("{t}--b67d30ff-02ac-498a-92f9-32f845f448cf")]);
            let observable = type_spec(t).map_or(t != "bundle", |s| {
                matches!(s.category, Category::Sco | Category::Sro)
            });
            assert_eq!(v.validate(&od).is_empty(), observable, "{t}");
        }
    }

    #[test]
    fn type_props_do_not_shadow_common_props() {
        for t in TYPES {
            for p in t.props {
                let common = common_props(t.name, t.category);
                assert!(
                    !common.iter().any(|c| c.name == p.name),
                    "{}.{} repeats a common property",
                    t.name,
                    p.name
                );
            }
        }
    }
}
