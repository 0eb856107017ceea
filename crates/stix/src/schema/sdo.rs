//! SDOs (§4), SROs (§5) and the meta objects (§7): marking-definition, language-content,
//! extension-definition.

use super::Kind::*;
use super::{prop, Category, TypeSpec, KILL_CHAIN_PHASE, NOT_RELATABLE};
use crate::validate::rules;
use crate::vocab;

const KILL_CHAIN: super::Kind = List(&Struct(&KILL_CHAIN_PHASE));

const fn sdo(
    name: &'static str,
    props: &'static [super::Prop],
    rule: Option<super::Rule>,
) -> TypeSpec {
    TypeSpec {
        name,
        category: Category::Sdo,
        props,
        extensions: &[],
        rule,
    }
}

/// attack-pattern (§4.1).
pub static ATTACK_PATTERN: TypeSpec = sdo(
    "attack-pattern",
    &[
        prop!("name": String, required),
        prop!("description": String),
        prop!("aliases": List(&String)),
        prop!("kill_chain_phases": KILL_CHAIN),
    ],
    None,
);

/// campaign (§4.2).
pub static CAMPAIGN: TypeSpec = sdo(
    "campaign",
    &[
        prop!("name": String, required),
        prop!("description": String),
        prop!("aliases": List(&String)),
        prop!("first_seen": Timestamp),
        prop!("last_seen": Timestamp),
        prop!("objective": String),
    ],
    Some(rules::seen_window),
);

/// course-of-action (§4.3).
pub static COURSE_OF_ACTION: TypeSpec = sdo(
    "course-of-action",
    &[
        prop!("name": String, required),
        prop!("description": String),
        prop!("action_type": String),
        prop!("os_execution_envs": List(&String)),
        prop!("action_bin": Binary),
        prop!("action_reference": Struct(&super::EXTERNAL_REFERENCE)),
    ],
    None,
);

/// grouping (§4.4).
pub static GROUPING: TypeSpec = sdo(
    "grouping",
    &[
        prop!("name": String),
        prop!("description": String),
        prop!("context": Vocab(vocab::GROUPING_CONTEXT), required),
        prop!("object_refs": List(&Ref(&[])), required),
    ],
    None,
);

/// identity (§4.5).
pub static IDENTITY: TypeSpec = sdo(
    "identity",
    &[
        prop!("name": String, required),
        prop!("description": String),
        prop!("roles": List(&String)),
        prop!("identity_class": Vocab(vocab::IDENTITY_CLASS)),
        prop!("sectors": List(&Vocab(vocab::INDUSTRY_SECTOR))),
        prop!("contact_information": String),
    ],
    None,
);

/// incident (§4.6), a stub in STIX 2.1 awaiting its extension.
pub static INCIDENT: TypeSpec = sdo(
    "incident",
    &[
        prop!("name": String, required),
        prop!("description": String),
        prop!("kill_chain_phases": KILL_CHAIN),
    ],
    None,
);

/// indicator (§4.7).
pub static INDICATOR: TypeSpec = sdo(
    "indicator",
    &[
        prop!("name": String),
        prop!("description": String),
        prop!("indicator_types": List(&Vocab(vocab::INDICATOR_TYPE))),
        prop!("pattern": String, required),
        prop!("pattern_type": Vocab(vocab::INDICATOR_PATTERN), required),
        prop!("pattern_version": String),
        prop!("valid_from": Timestamp, required),
        prop!("valid_until": Timestamp),
        prop!("kill_chain_phases": KILL_CHAIN),
    ],
    Some(rules::indicator),
);

/// infrastructure (§4.8).
pub static INFRASTRUCTURE: TypeSpec = sdo(
    "infrastructure",
    &[
        prop!("name": String, required),
        prop!("description": String),
        prop!("infrastructure_types": List(&Vocab(vocab::INFRASTRUCTURE_TYPE))),
        prop!("aliases": List(&String)),
        prop!("kill_chain_phases": KILL_CHAIN),
        prop!("first_seen": Timestamp),
        prop!("last_seen": Timestamp),
    ],
    Some(rules::seen_window),
);

/// intrusion-set (§4.9).
pub static INTRUSION_SET: TypeSpec = sdo(
    "intrusion-set",
    &[
        prop!("name": String, required),
        prop!("description": String),
        prop!("aliases": List(&String)),
        prop!("first_seen": Timestamp),
        prop!("last_seen": Timestamp),
        prop!("goals": List(&String)),
        prop!("resource_level": Vocab(vocab::ATTACK_RESOURCE_LEVEL)),
        prop!("primary_motivation": Vocab(vocab::ATTACK_MOTIVATION)),
        prop!("secondary_motivations": List(&Vocab(vocab::ATTACK_MOTIVATION))),
    ],
    Some(rules::seen_window),
);

/// location (§4.10).
pub static LOCATION: TypeSpec = sdo(
    "location",
    &[
        prop!("name": String),
        prop!("description": String),
        prop!("latitude": Number(-90.0, 90.0)),
        prop!("longitude": Number(-180.0, 180.0)),
        prop!("precision": Number(0.0, f64::MAX)),
        prop!("region": Vocab(vocab::REGION)),
        prop!("country": String),
        prop!("administrative_area": String),
        prop!("city": String),
        prop!("street_address": String),
        prop!("postal_code": String),
    ],
    Some(rules::location),
);

/// malware (§4.11).
pub static MALWARE: TypeSpec = sdo(
    "malware",
    &[
        prop!("name": String),
        prop!("description": String),
        prop!("malware_types": List(&Vocab(vocab::MALWARE_TYPE))),
        prop!("is_family": Boolean, required),
        prop!("aliases": List(&String)),
        prop!("kill_chain_phases": KILL_CHAIN),
        prop!("first_seen": Timestamp),
        prop!("last_seen": Timestamp),
        prop!("operating_system_refs": List(&Ref(&["software"]))),
        prop!("architecture_execution_envs": List(&Vocab(vocab::PROCESSOR_ARCHITECTURE))),
        prop!("implementation_languages": List(&Vocab(vocab::IMPLEMENTATION_LANGUAGES))),
        prop!("capabilities": List(&Vocab(vocab::MALWARE_CAPABILITIES))),
        prop!("sample_refs": List(&Ref(&["artifact", "file"]))),
    ],
    Some(rules::malware),
);

/// malware-analysis (§4.12).
pub static MALWARE_ANALYSIS: TypeSpec = sdo(
    "malware-analysis",
    &[
        prop!("product": String, required),
        prop!("version": String),
        prop!("host_vm_ref": Ref(&["software"])),
        prop!("operating_system_ref": Ref(&["software"])),
        prop!("installed_software_refs": List(&Ref(&["software"]))),
        prop!("configuration_version": String),
        prop!("modules": List(&String)),
        prop!("analysis_engine_version": String),
        prop!("analysis_definition_version": String),
        prop!("submitted": Timestamp),
        prop!("analysis_started": Timestamp),
        prop!("analysis_ended": Timestamp),
        prop!("result_name": String),
        prop!("result": Vocab(vocab::MALWARE_RESULT)),
        prop!("analysis_sco_refs": List(&Ref(&[]))),
        prop!("sample_ref": Ref(&["artifact", "file", "network-traffic"])),
    ],
    Some(rules::malware_analysis),
);

/// note (§4.13).
pub static NOTE: TypeSpec = sdo(
    "note",
    &[
        prop!("abstract": String),
        prop!("content": String, required),
        prop!("authors": List(&String)),
        prop!("object_refs": List(&Ref(&[])), required),
    ],
    None,
);

/// observed-data (§4.14).
pub static OBSERVED_DATA: TypeSpec = sdo(
    "observed-data",
    &[
        prop!("first_observed": Timestamp, required),
        prop!("last_observed": Timestamp, required),
        prop!("number_observed": Integer(1, 999_999_999), required),
        prop!("objects": ObservedObjects),
        prop!("object_refs": List(&RefCategory(&[Category::Sco, Category::Sro]))),
    ],
    Some(rules::observed_data),
);

/// opinion (§4.15).
pub static OPINION: TypeSpec = sdo(
    "opinion",
    &[
        prop!("explanation": String),
        prop!("authors": List(&String)),
        prop!("opinion": Enum(vocab::OPINION), required),
        prop!("object_refs": List(&Ref(&[])), required),
    ],
    None,
);

/// report (§4.16).
pub static REPORT: TypeSpec = sdo(
    "report",
    &[
        prop!("name": String, required),
        prop!("description": String),
        prop!("report_types": List(&Vocab(vocab::REPORT_TYPE))),
        prop!("published": Timestamp, required),
        prop!("object_refs": List(&Ref(&[])), required),
    ],
    None,
);

/// threat-actor (§4.17).
pub static THREAT_ACTOR: TypeSpec = sdo(
    "threat-actor",
    &[
        prop!("name": String, required),
        prop!("description": String),
        prop!("threat_actor_types": List(&Vocab(vocab::THREAT_ACTOR_TYPE))),
        prop!("aliases": List(&String)),
        prop!("first_seen": Timestamp),
        prop!("last_seen": Timestamp),
        prop!("roles": List(&Vocab(vocab::THREAT_ACTOR_ROLE))),
        prop!("goals": List(&String)),
        prop!("sophistication": Vocab(vocab::THREAT_ACTOR_SOPHISTICATION)),
        prop!("resource_level": Vocab(vocab::ATTACK_RESOURCE_LEVEL)),
        prop!("primary_motivation": Vocab(vocab::ATTACK_MOTIVATION)),
        prop!("secondary_motivations": List(&Vocab(vocab::ATTACK_MOTIVATION))),
        prop!("personal_motivations": List(&Vocab(vocab::ATTACK_MOTIVATION))),
    ],
    Some(rules::seen_window),
);

/// tool (§4.18).
pub static TOOL: TypeSpec = sdo(
    "tool",
    &[
        prop!("name": String, required),
        prop!("description": String),
        prop!("tool_types": List(&Vocab(vocab::TOOL_TYPE))),
        prop!("aliases": List(&String)),
        prop!("kill_chain_phases": KILL_CHAIN),
        prop!("tool_version": String),
    ],
    None,
);

/// vulnerability (§4.19).
pub static VULNERABILITY: TypeSpec = sdo(
    "vulnerability",
    &[
        prop!("name": String, required),
        prop!("description": String),
    ],
    None,
);

/// relationship (§5.1).
pub static RELATIONSHIP: TypeSpec = TypeSpec {
    name: "relationship",
    category: Category::Sro,
    props: &[
        prop!("relationship_type": String, required),
        prop!("description": String),
        prop!("source_ref": RefNot(NOT_RELATABLE), required),
        prop!("target_ref": RefNot(NOT_RELATABLE), required),
        prop!("start_time": Timestamp),
        prop!("stop_time": Timestamp),
    ],
    extensions: &[],
    rule: Some(rules::relationship),
};

/// sighting (§5.2).
pub static SIGHTING: TypeSpec = TypeSpec {
    name: "sighting",
    category: Category::Sro,
    props: &[
        prop!("description": String),
        prop!("first_seen": Timestamp),
        prop!("last_seen": Timestamp),
        prop!("count": Integer(0, 999_999_999)),
        prop!("sighting_of_ref": RefNot(NOT_RELATABLE), required),
        prop!("observed_data_refs": List(&Ref(&["observed-data"]))),
        prop!("where_sighted_refs": List(&Ref(&["identity", "location"]))),
        prop!("summary": Boolean),
    ],
    extensions: &[],
    rule: Some(rules::seen_window),
};

/// marking-definition (§7.2.1), including the TLP 1.0 objects and TLP 2.0 extension.
pub static MARKING_DEFINITION: TypeSpec = TypeSpec {
    name: "marking-definition",
    category: Category::Meta,
    props: &[
        prop!("name": String),
        prop!("definition_type": String),
        prop!("definition": Any),
    ],
    extensions: &[],
    rule: Some(rules::marking_definition),
};

/// language-content (§7.1).
pub static LANGUAGE_CONTENT: TypeSpec = TypeSpec {
    name: "language-content",
    category: Category::Meta,
    props: &[
        prop!("object_ref": RefNot(&["bundle", "language-content"]), required),
        prop!("object_modified": Timestamp),
        prop!("contents": Dictionary, required),
    ],
    extensions: &[],
    rule: Some(rules::language_content),
};

/// extension-definition (§7.3).
pub static EXTENSION_DEFINITION: TypeSpec = TypeSpec {
    name: "extension-definition",
    category: Category::Meta,
    props: &[
        prop!("name": String, required),
        prop!("description": String),
        prop!("schema": String, required),
        prop!("version": String, required),
        prop!("extension_types": List(&Enum(vocab::EXTENSION_TYPE)), required),
        prop!("extension_properties": List(&String)),
    ],
    extensions: &[],
    rule: Some(rules::extension_definition),
};
