//! A POSTed envelope, read into objects to store and failures to report (§5.4): each object
//! is validated on its own, so one bad object never costs the good ones of the same envelope.

use super::error::TaxiiError;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use watchpost_stix::marking::tlp_of;
use watchpost_stix::{Issue, Timestamp, Validator};
use watchpost_store::{NewObject, StatusDetail};

/// What an envelope brought.
#[derive(Debug, Default)]
pub struct Batch {
    /// Valid objects, ready to store.
    pub objects: Vec<NewObject>,
    /// Objects refused, with the reason.
    pub failures: Vec<StatusDetail>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    objects: Option<Vec<&'a RawValue>>,
}

/// The custom property that names the recipients of a RED object (organisation identities).
pub const RECIPIENTS: &str = "x_watchpost_recipients";

/// Reads and validates an envelope.
pub fn read(body: &[u8], validator: &Validator, max_objects: usize) -> Result<Batch, TaxiiError> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(|e| {
        TaxiiError::bad_request(format!(
            "the request body is not a TAXII envelope: {e}; expected {{\"objects\": [...]}}"
        ))
    })?;
    let objects = envelope.objects.ok_or_else(|| {
        TaxiiError::bad_request(
            "the envelope has no \"objects\" list; expected {\"objects\": [...]}",
        )
    })?;
    if objects.len() > max_objects {
        return Err(TaxiiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the envelope carries {} objects; this server takes at most {max_objects} per \
                 request: split it into several envelopes",
                objects.len()
            ),
        ));
    }
    Ok(prepare_all(&objects, validator))
}

/// Validates the objects of an envelope one by one; a refusal without an id is named by its
/// place (`objects[3]`).
pub fn prepare_all(objects: &[&RawValue], validator: &Validator) -> Batch {
    let mut batch = Batch::default();
    let mut issues = Vec::new();
    for (i, raw) in objects.iter().enumerate() {
        let prepared = serde_json::from_str::<Value>(raw.get())
            .map_err(|e| detail("", "", e.to_string()))
            .and_then(|value| prepare(&value, validator, &mut issues));
        match prepared {
            Ok(o) => batch.objects.push(o),
            Err(mut f) => {
                if f.id.is_empty() {
                    f.id = format!("objects[{i}]");
                }
                batch.failures.push(f)
            }
        }
    }
    batch
}

/// Validates one object and reads what the store needs of it; a refusal names the object
/// (its id, empty when it has none) and every problem found, with its JSON path.
pub fn prepare(
    value: &Value,
    validator: &Validator,
    issues: &mut Vec<Issue>,
) -> Result<NewObject, StatusDetail> {
    let text = |key: &str| value.get(key).and_then(Value::as_str);
    let id = text("id").unwrap_or("");
    let version_text = text("modified").or_else(|| text("created")).unwrap_or("");
    issues.clear();
    validator.validate_into(value, issues);
    let recipients = recipients(value);
    if let Err(message) = &recipients {
        issues.push(Issue {
            path: RECIPIENTS.into(),
            message: message.clone(),
        });
    }
    if !issues.is_empty() {
        let message = issues
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        return Err(detail(id, version_text, message));
    }
    let (false, Some(object_type)) = (id.is_empty(), text("type")) else {
        return Err(detail(
            id,
            version_text,
            "an object needs a type and an id".into(),
        ));
    };
    Ok(NewObject {
        id: id.to_string(),
        object_type: object_type.to_string(),
        version: Timestamp::parse(version_text).ok().map(|t| t.unix_micros()),
        spec_version: text("spec_version").unwrap_or("2.1").to_string(),
        tlp: tlp_of(value),
        recipients: recipients.unwrap_or_default(),
        body: value.to_string(),
    })
}

fn detail(id: &str, version: &str, message: String) -> StatusDetail {
    StatusDetail {
        id: id.to_string(),
        version: version.to_string(),
        message: Some(message),
    }
}

fn recipients(value: &Value) -> Result<Vec<String>, String> {
    let Some(list) = value.get(RECIPIENTS) else {
        return Ok(Vec::new());
    };
    let expected = || "expected a list of organisation identity ids (identity--…)".to_string();
    let list = list.as_array().ok_or_else(expected)?;
    list.iter()
        .map(|r| match r.as_str() {
            Some(s) if s.starts_with("identity--") && !s.contains(',') => Ok(s.to_string()),
            _ => Err(expected()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_objects_survive_bad_neighbours() {
        let body = br#"{"objects": [
            {"type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
             "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-02T00:00:00.000Z",
             "pattern": "[ipv4-addr:value = '203.0.113.7']", "pattern_type": "stix",
             "valid_from": "2024-01-01T00:00:00Z",
             "object_marking_refs": ["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"],
             "x_watchpost_recipients": ["identity--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061"]},
            {"type": "indicator", "id": "indicator--1"},
            42,
            {"type": "ipv4-addr", "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": "198.51.100.3",
             "x_watchpost_recipients": "everyone"}
        ]}"#;
        let batch = read(body, &Validator::new(), 10).unwrap();
        assert_eq!(batch.objects.len(), 1);
        let o = &batch.objects[0];
        assert_eq!(o.tlp, Some(watchpost_stix::marking::Tlp::Red));
        assert_eq!(
            o.recipients,
            ["identity--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061"]
        );
        assert_eq!(
            o.version,
            Timestamp::parse("2024-01-02T00:00:00.000Z")
                .ok()
                .map(|t| t.unix_micros())
        );
        let ids: Vec<_> = batch.failures.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "indicator--1",
                "objects[2]",
                "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd"
            ]
        );
        assert!(batch.failures[2]
            .message
            .as_deref()
            .unwrap_or("")
            .contains("x_watchpost_recipients"));
    }

    #[test]
    fn envelope_errors() {
        let v = Validator::new();
        assert_eq!(read(b"{", &v, 10).unwrap_err().status(), 400);
        assert_eq!(read(b"[]", &v, 10).unwrap_err().status(), 400);
        assert_eq!(
            read(b"{\"more\": false}", &v, 10).unwrap_err().status(),
            400
        );
        assert_eq!(
            read(b"{\"objects\": [1, 2, 3]}", &v, 2)
                .unwrap_err()
                .status(),
            413
        );
    }
}
