//! [`StixObject`]: one STIX object, kept as its JSON properties, with typed access to what the
//! hub itself reads (type, id, versions, markings, references).

use crate::marking::Tlp;
use crate::schema::{self, Category};
use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A STIX object. Every property, including custom properties and extensions, is kept as
/// read, so serializing gives back the same content (property order aside).
///
/// ```
/// use watchpost_stix::StixObject;
/// let text = r#"{"type": "malware", "spec_version": "2.1",
///   "id": "malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061",
///   "created": "2016-05-12T08:17:27.000Z", "modified": "2016-05-12T08:17:27.000Z",
///   "name": "Cryptolocker", "is_family": true, "x_acme_family_score": 9}"#;
/// let object: StixObject = serde_json::from_str(text).unwrap();
/// assert_eq!(object.object_type(), "malware");
/// assert_eq!(object.get("x_acme_family_score"), Some(&serde_json::json!(9)));
/// let again: StixObject = serde_json::from_str(&serde_json::to_string(&object).unwrap()).unwrap();
/// assert_eq!(again, object);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Map<String, Value>", into = "Map<String, Value>")]
pub struct StixObject {
    properties: Map<String, Value>,
}

/// Why a JSON value is not even the frame of a STIX object.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ObjectError {
    /// The value is not a JSON object.
    #[error("expected a JSON object")]
    NotAnObject,
    /// `type` or `id` is missing or not a string.
    #[error("a STIX object needs string properties type and id; {0} is missing or not a string")]
    Missing(&'static str),
}

impl TryFrom<Map<String, Value>> for StixObject {
    type Error = ObjectError;

    fn try_from(properties: Map<String, Value>) -> Result<Self, ObjectError> {
        for key in ["type", "id"] {
            if !properties.get(key).is_some_and(Value::is_string) {
                return Err(ObjectError::Missing(key));
            }
        }
        Ok(StixObject { properties })
    }
}

impl TryFrom<Value> for StixObject {
    type Error = ObjectError;

    fn try_from(value: Value) -> Result<Self, ObjectError> {
        match value {
            Value::Object(map) => map.try_into(),
            _ => Err(ObjectError::NotAnObject),
        }
    }
}

impl From<StixObject> for Map<String, Value> {
    fn from(object: StixObject) -> Self {
        object.properties
    }
}

impl From<StixObject> for Value {
    fn from(object: StixObject) -> Self {
        Value::Object(object.properties)
    }
}

impl StixObject {
    fn str(&self, key: &str) -> Option<&str> {
        self.properties.get(key).and_then(Value::as_str)
    }

    /// The `type` property.
    pub fn object_type(&self) -> &str {
        self.str("type").unwrap_or_default()
    }

    /// The `id` property.
    pub fn id(&self) -> &str {
        self.str("id").unwrap_or_default()
    }

    /// SDO, SRO, SCO or meta; a custom type with `created` counts as an SDO.
    pub fn category(&self) -> Category {
        match schema::type_spec(self.object_type()) {
            Some(spec) => spec.category,
            None if self.properties.contains_key("created") => Category::Sdo,
            None => Category::Sco,
        }
    }

    /// Any property.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.properties.get(key)
    }

    /// All properties.
    pub fn properties(&self) -> &Map<String, Value> {
        &self.properties
    }

    /// Mutable access to the properties (the caller re-validates what it changes).
    pub fn properties_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.properties
    }

    /// `created`, when present and valid.
    pub fn created(&self) -> Option<Timestamp> {
        self.str("created").and_then(|t| Timestamp::parse(t).ok())
    }

    /// `modified`, when present and valid.
    pub fn modified(&self) -> Option<Timestamp> {
        self.str("modified").and_then(|t| Timestamp::parse(t).ok())
    }

    /// What tells this version from others of the same id: `modified`, else `created`
    /// (marking definitions and SCOs have a single version).
    pub fn version(&self) -> Option<Timestamp> {
        self.modified().or_else(|| self.created())
    }

    /// Whether the object is marked revoked.
    pub fn revoked(&self) -> bool {
        self.properties.get("revoked") == Some(&Value::Bool(true))
    }

    /// `created_by_ref`.
    pub fn created_by_ref(&self) -> Option<&str> {
        self.str("created_by_ref")
    }

    /// The ids in `object_marking_refs`.
    pub fn object_marking_refs(&self) -> impl Iterator<Item = &str> {
        self.properties
            .get("object_marking_refs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
    }

    /// The most restrictive TLP level the object is marked with.
    pub fn tlp(&self) -> Option<Tlp> {
        self.object_marking_refs()
            .filter_map(Tlp::from_marking_id)
            .max()
    }

    /// Every identifier this object refers to through a `*_ref` or `*_refs` property, at any
    /// depth (embedded structures and extensions included).
    pub fn references(&self) -> Vec<&str> {
        let mut out = Vec::new();
        for (key, value) in &self.properties {
            collect_refs(key, value, &mut out);
        }
        out
    }

    /// The TLP marking of a marking-definition object itself, if it is a TLP one.
    pub fn as_tlp_marking(&self) -> Option<Tlp> {
        (self.object_type() == "marking-definition")
            .then(|| Tlp::from_marking_id(self.id()))
            .flatten()
    }
}

fn collect_refs<'a>(key: &str, value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::String(s) if key.ends_with("_ref") => out.push(s),
        Value::Array(items) if key.ends_with("_refs") => {
            out.extend(items.iter().filter_map(Value::as_str))
        }
        Value::Array(items) => {
            for item in items {
                collect_refs("", item, out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                collect_refs(k, v, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_are_found_at_any_depth() {
        let o: StixObject = serde_json::from_value(json!({
            "type": "sighting", "id": "sighting--1",
            "sighting_of_ref": "indicator--a",
            "where_sighted_refs": ["identity--b"],
            "granular_markings": [{"marking_ref": "marking-definition--c", "selectors": ["id"]}]
        }))
        .unwrap();
        let mut refs = o.references();
        refs.sort();
        assert_eq!(
            refs,
            ["identity--b", "indicator--a", "marking-definition--c"]
        );
    }

    #[test]
    fn the_frame_is_required() {
        assert!(serde_json::from_value::<StixObject>(json!({"type": "x"})).is_err());
        assert!(serde_json::from_value::<StixObject>(json!([1])).is_err());
    }
}
