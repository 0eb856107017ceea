//! A request as a STIX 2.1 object, so that hubs and other STIX tools can carry it.
//!
//! The object type `x-watchpost-request` is a new SDO defined by [`EXTENSION_ID`], whose
//! `extension-definition` ships with the crate ([`extension_definition`]). A request is
//! TLP:RED, and its `x_watchpost_recipients` names the identities of the two organisations:
//! the store shows a RED object to its recipients only, so a request stored as STIX reaches
//! the two focal points and nobody else. The properties are the request's own field names,
//! so reading it back is plain deserialisation.

use crate::request::Request;
use crate::state::State;
use serde_json::{json, Map, Value};
use watchpost_stix::marking::Tlp;

/// The object type of a request.
pub const OBJECT_TYPE: &str = "x-watchpost-request";

/// The id of the extension definition that defines [`OBJECT_TYPE`]; fixed forever.
pub const EXTENSION_ID: &str = "extension-definition--a6a4cdbb-cb8c-42e7-9f30-7c7fb7abb98e";

/// The custom property that names the recipients of a RED object.
pub const RECIPIENTS: &str = "x_watchpost_recipients";

const DEFINITION: &str = include_str!("extension-definition.json");

/// The `extension-definition` object.
pub fn extension_definition() -> Value {
    serde_json::from_str(DEFINITION).unwrap_or(Value::Null)
}

/// Why an object is not a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StixError {
    /// Another type of object.
    #[error("the object is a {0}, not an {OBJECT_TYPE}")]
    Type(String),
    /// The object does not declare the extension.
    #[error("the object does not declare the extension {EXTENSION_ID} as new-sdo")]
    Extension,
    /// A property is missing or malformed.
    #[error("the object is not a valid request: {0}")]
    Property(String),
}

/// The request's STIX form, marked TLP:RED for the two organisations' identities.
///
/// `created` and `modified` are STIX timestamps; `recipients` are identity ids.
pub fn to_stix(
    request: &Request,
    state: State,
    created: &str,
    modified: &str,
    recipients: &[String],
) -> Value {
    let mut object = match serde_json::to_value(request) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    object.insert("type".into(), json!(OBJECT_TYPE));
    object.insert("spec_version".into(), json!("2.1"));
    object.insert("created".into(), json!(created));
    object.insert("modified".into(), json!(modified));
    object.insert("state".into(), json!(state.as_str()));
    object.insert("object_marking_refs".into(), json!([Tlp::Red.marking_id()]));
    object.insert(RECIPIENTS.into(), json!(recipients));
    object.insert(
        "extensions".into(),
        json!({ EXTENSION_ID: {"extension_type": "new-sdo"} }),
    );
    Value::Object(object)
}

/// The request and its state in a STIX object.
pub fn from_stix(object: &Value) -> Result<(Request, State), StixError> {
    let kind = object.get("type").and_then(Value::as_str).unwrap_or("");
    if kind != OBJECT_TYPE {
        return Err(StixError::Type(kind.to_string()));
    }
    let declared = object
        .pointer(&format!("/extensions/{EXTENSION_ID}/extension_type"))
        .and_then(Value::as_str);
    if declared != Some("new-sdo") {
        return Err(StixError::Extension);
    }
    let state = object
        .get("state")
        .and_then(Value::as_str)
        .and_then(State::from_name)
        .ok_or_else(|| StixError::Property("state is missing or not a request state".into()))?;
    let request: Request =
        serde_json::from_value(object.clone()).map_err(|e| StixError::Property(e.to_string()))?;
    request
        .check()
        .map_err(|e| StixError::Property(e.to_string()))?;
    Ok((request, state))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use watchpost_stix::validate::Validator;

    const VN: &str = "identity--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061";
    const LA: &str = "identity--2f5a8f7e-1c1b-4c77-9d0e-6f1d3b0a9c42";

    #[test]
    fn a_request_goes_to_stix_and_back() {
        let mut request = crate::chain::tests::sample();
        request
            .attachments
            .push(crate::request::Attachment::of("order.pdf", b"%PDF"));
        let object = to_stix(
            &request,
            State::Acknowledged,
            "2026-11-23T03:00:00.000Z",
            "2026-11-23T03:10:00.000Z",
            &[VN.to_string(), LA.to_string()],
        );
        assert_eq!(object["id"], json!(request.id));
        assert_eq!(
            object["identifiers"][0]["at"],
            json!("2026-11-23T10:00:00+07:00")
        );
        assert_eq!(watchpost_stix::marking::tlp_of(&object), Some(Tlp::Red));
        let issues = Validator::new().validate(&object);
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(from_stix(&object).unwrap(), (request, State::Acknowledged));
    }

    #[test]
    fn the_extension_definition_validates() {
        let def = extension_definition();
        assert_eq!(def["id"], json!(EXTENSION_ID));
        let issues = Validator::new().validate(&def);
        assert!(issues.is_empty(), "{issues:?}");
    }

    #[test]
    fn other_objects_are_not_requests() {
        let mut object = to_stix(
            &crate::chain::tests::sample(),
            State::Sent,
            "2026-11-23T03:00:00.000Z",
            "2026-11-23T03:00:00.000Z",
            &[VN.to_string(), LA.to_string()],
        );
        object["extensions"] = json!({});
        assert!(matches!(from_stix(&object), Err(StixError::Extension)));
        object["type"] = json!("indicator");
        assert!(matches!(from_stix(&object), Err(StixError::Type(_))));
    }
}
