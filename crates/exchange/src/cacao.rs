//! Exchange of practice: OASIS CACAO 2.0 playbooks carried as STIX 2.1 `course-of-action`
//! objects, so a playbook is shared, marked and federated like any other intelligence.
//!
//! The playbook travels whole, byte for byte, in a property extension of the course of action
//! ([`EXTENSION_ID`]: `playbook_base64`, with its format, id and SHA-256), and the course of
//! action takes the playbook's name and description, so STIX tools that know nothing of CACAO
//! still show what it is. A playbook is checked for what CACAO 2.0 requires of every playbook
//! (type, `spec_version`, id, name, created/modified, `workflow_start` naming a step of
//! `workflow`, each step's type and the steps it names) before it is wrapped; each problem
//! names its JSON path.

use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The extension definition of the playbook property extension.
pub const EXTENSION_ID: &str = "extension-definition--3b6c1d2e-8f7a-5c4b-9d1e-2f0a6b7c8d9e";

/// The extension definition itself, for bundles that carry it.
pub fn extension_definition() -> Value {
    json!({"type": "extension-definition", "spec_version": "2.1", "id": EXTENSION_ID,
        "created_by_ref": "identity--8c6e3f0b-7d4a-5e2b-9c1f-0a3b5d7e9f11",
        "created": "2026-11-23T00:00:00.000Z", "modified": "2026-11-23T00:00:00.000Z",
        "name": "Watchpost CACAO playbook",
        "description": "A CACAO 2.0 playbook attached to a course-of-action, byte for byte (base64), with its SHA-256.",
        "schema": "https://docs.oasis-open.org/cacao/security-playbooks/v2.0/security-playbooks-v2.0.html",
        "version": "1.0", "extension_types": ["property-extension"]})
}

/// What is wrong with a playbook, at a JSON path.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct PlaybookError {
    /// Where (`$.workflow['action--…'].on_completion`).
    pub path: String,
    /// What was expected.
    pub message: String,
}

fn problem(path: impl Into<String>, message: impl Into<String>) -> PlaybookError {
    PlaybookError {
        path: path.into(),
        message: message.into(),
    }
}

const STEP_TYPES: &[&str] = &[
    "start",
    "end",
    "action",
    "playbook-action",
    "parallel",
    "if-condition",
    "while-condition",
    "switch-condition",
];
/// Step properties that name other steps.
const STEP_LINKS: &[&str] = &[
    "on_completion",
    "on_success",
    "on_failure",
    "on_true",
    "on_false",
];

/// Checks a CACAO 2.0 playbook; every problem found, in document order.
pub fn check(playbook: &Value) -> Vec<PlaybookError> {
    let mut out = Vec::new();
    let Some(obj) = playbook.as_object() else {
        return vec![problem("$", "expected a CACAO playbook object")];
    };
    let text = |k: &str| obj.get(k).and_then(Value::as_str);
    if text("type") != Some("playbook") {
        out.push(problem("$.type", "expected \"playbook\""));
    }
    if text("spec_version") != Some("cacao-2.0") {
        out.push(problem("$.spec_version", "expected \"cacao-2.0\""));
    }
    match text("id").and_then(|id| id.strip_prefix("playbook--")) {
        Some(uuid) if uuid::Uuid::parse_str(uuid).is_ok() => {}
        _ => out.push(problem("$.id", "expected playbook--<UUID>")),
    }
    for key in ["name", "created", "modified", "created_by"] {
        if text(key).is_none_or(str::is_empty) {
            out.push(problem(format!("$.{key}"), "required"));
        }
    }
    let Some(workflow) = obj.get("workflow").and_then(Value::as_object) else {
        out.push(problem("$.workflow", "expected an object of steps by id"));
        return out;
    };
    match text("workflow_start") {
        Some(start) if workflow.contains_key(start) => {}
        _ => out.push(problem(
            "$.workflow_start",
            "expected the id of a step of $.workflow",
        )),
    }
    for (id, step) in workflow {
        let at = format!("$.workflow['{id}']");
        match step.get("type").and_then(Value::as_str) {
            Some(t) if STEP_TYPES.contains(&t) => {}
            _ => out.push(problem(
                format!("{at}.type"),
                "expected a CACAO 2.0 step type",
            )),
        }
        for link in STEP_LINKS {
            if let Some(target) = step.get(*link).and_then(Value::as_str) {
                if !workflow.contains_key(target) {
                    out.push(problem(format!("{at}.{link}"), format!("no step {target}")));
                }
            }
        }
    }
    out
}

/// The course of action carrying `bytes` (a CACAO 2.0 playbook), or what is wrong with it.
pub fn to_course_of_action(bytes: &[u8]) -> Result<Value, Vec<PlaybookError>> {
    let playbook: Value = serde_json::from_slice(bytes).map_err(|e| {
        vec![problem(
            format!("line {}, column {}", e.line(), e.column()),
            e.to_string(),
        )]
    })?;
    let problems = check(&playbook);
    if !problems.is_empty() {
        return Err(problems);
    }
    let text = |k: &str| playbook.get(k).and_then(Value::as_str).unwrap_or("");
    let id = text("id");
    // The same playbook version gives the same object: importing it twice is a no-op.
    let coa_id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, id.as_bytes());
    let mut coa = json!({"type": "course-of-action", "spec_version": "2.1",
    "id": format!("course-of-action--{coa_id}"),
    "created": stix_time(text("created")), "modified": stix_time(text("modified")),
    "name": text("name"),
    "extensions": {EXTENSION_ID: {
        "extension_type": "property-extension",
        "playbook_format": "cacao-2.0",
        "playbook_id": id,
        "playbook_sha256": hex_sha256(bytes),
        "playbook_base64": base64::engine::general_purpose::STANDARD.encode(bytes),
    }}});
    if !text("description").is_empty() {
        coa["description"] = json!(text("description"));
    }
    Ok(coa)
}

/// The playbook bytes a course of action carries, checked against their SHA-256.
pub fn playbook_of(course_of_action: &Value) -> Result<Vec<u8>, PlaybookError> {
    let ext = course_of_action
        .get("extensions")
        .and_then(|e| e.get(EXTENSION_ID))
        .ok_or_else(|| {
            problem(
                format!("$.extensions['{EXTENSION_ID}']"),
                "no playbook attached",
            )
        })?;
    let at = |k: &str| format!("$.extensions['{EXTENSION_ID}'].{k}");
    let encoded = ext
        .get("playbook_base64")
        .and_then(Value::as_str)
        .ok_or_else(|| problem(at("playbook_base64"), "required"))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|e| problem(at("playbook_base64"), format!("not base64: {e}")))?;
    let expected = ext
        .get("playbook_sha256")
        .and_then(Value::as_str)
        .unwrap_or("");
    if hex_sha256(&bytes) != expected {
        return Err(problem(
            at("playbook_sha256"),
            "does not match the playbook",
        ));
    }
    Ok(bytes)
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A CACAO timestamp as STIX wants it (millisecond precision is what both commonly use;
/// a timestamp STIX cannot read is left for the validator to report).
fn stix_time(t: &str) -> String {
    match watchpost_stix::Timestamp::parse(t) {
        Ok(ts) => ts.to_string(),
        Err(_) => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const SAMPLE: &str = r#"{
  "type": "playbook", "spec_version": "cacao-2.0",
  "id": "playbook--6b2b1f3e-3c1f-4a36-8a3e-9f5d2c1b0a77",
  "name": "Chặn máy chủ C2 / Block a C2 server", "description": "Block, then confirm.",
  "created_by": "identity--5a3c0e1d-2b4f-4c6e-8a9b-1c2d3e4f5a6b",
  "created": "2026-11-20T08:00:00.000Z", "modified": "2026-11-21T08:00:00.000Z",
  "workflow_start": "start--1d0c6f1e-3f4b-4b8a-9c6e-0a1b2c3d4e5f",
  "workflow": {
    "start--1d0c6f1e-3f4b-4b8a-9c6e-0a1b2c3d4e5f": {"type": "start", "on_completion": "action--2e1d7a2f-4a5c-4c9b-8d7f-1b2c3d4e5f60"},
    "action--2e1d7a2f-4a5c-4c9b-8d7f-1b2c3d4e5f60": {"type": "action", "name": "Block at the border",
      "commands": [{"type": "manual", "command": "Add the address to the border ACL"}],
      "on_completion": "end--3f2e8b3a-5b6d-4dac-9e8a-2c3d4e5f6071"},
    "end--3f2e8b3a-5b6d-4dac-9e8a-2c3d4e5f6071": {"type": "end"}
  }
}"#;

    #[test]
    fn a_playbook_round_trips_byte_for_byte() {
        let coa = to_course_of_action(SAMPLE.as_bytes()).unwrap();
        assert_eq!(coa["type"], "course-of-action");
        assert_eq!(coa["name"], "Chặn máy chủ C2 / Block a C2 server");
        assert_eq!(playbook_of(&coa).unwrap(), SAMPLE.as_bytes());
        assert_eq!(
            to_course_of_action(SAMPLE.as_bytes()).unwrap()["id"],
            coa["id"]
        );
        let issues = watchpost_stix::Validator::new().validate(&coa);
        assert!(issues.is_empty(), "{issues:?}");
        let mut tampered = coa.clone();
        tampered["extensions"][EXTENSION_ID]["playbook_base64"] = json!("e30=");
        assert!(playbook_of(&tampered)
            .unwrap_err()
            .path
            .ends_with("playbook_sha256"));
    }

    #[test]
    fn problems_name_their_json_path() {
        let mut bad: Value = serde_json::from_str(SAMPLE).unwrap();
        bad["workflow_start"] = json!("start--00000000-0000-4000-8000-000000000000");
        bad["workflow"]["action--2e1d7a2f-4a5c-4c9b-8d7f-1b2c3d4e5f60"]["on_completion"] =
            json!("end--missing");
        bad["spec_version"] = json!("cacao-1.0");
        let paths: Vec<String> = check(&bad).into_iter().map(|p| p.path).collect();
        assert_eq!(
            paths,
            [
                "$.spec_version",
                "$.workflow_start",
                "$.workflow['action--2e1d7a2f-4a5c-4c9b-8d7f-1b2c3d4e5f60'].on_completion"
            ]
        );
        let broken = to_course_of_action(b"{\"type\": ").unwrap_err();
        assert!(broken[0].path.starts_with("line 1"), "{broken:?}");
    }
}
