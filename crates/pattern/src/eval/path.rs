//! Selecting values by object path: for each observation and each root object of the path's
//! type, the values the path reaches. `_ref` and `_refs` properties are followed to the objects
//! they name in the same observation; `_hex` and `_bin` properties become binary values.

use super::observations::{never_observable, Observation};
use super::EvalError;
use crate::ast::{ObjectPath, Step, Version};
use serde_json::Value;
use std::borrow::Cow;

/// A value reached by a path.
#[derive(Clone, Debug)]
pub enum Val<'a> {
    /// A JSON value of the observation.
    Json(&'a Value),
    /// A `_hex` / `_bin` property, decoded.
    Bytes(Cow<'a, [u8]>),
    /// The objects a `_refs` list names (behaves as a list).
    Objects(Vec<&'a Value>),
}

/// For one observation: each root object's id and the values the path reached from it.
pub type Selection<'a> = Vec<(&'a str, Vec<Val<'a>>)>;

/// The roots of `object_type` in one observation (none for SDO types in 2.1).
pub fn roots<'a>(obs: &Observation<'a>, object_type: &str, version: Version) -> Selection<'a> {
    if version == Version::V21 && never_observable(object_type) {
        return Vec::new();
    }
    let mut out: Selection<'a> = Vec::new();
    for sco in &obs.objects {
        if sco.kind == object_type {
            // A later object with the same id replaces an earlier one.
            out.retain(|(existing, _)| *existing != sco.id);
            out.push((sco.id, vec![Val::Json(sco.object)]));
        }
    }
    out
}

/// Walks `path` from the roots; roots whose walk reaches nothing are dropped.
pub fn select<'a>(
    obs: &Observation<'a>,
    path: &ObjectPath,
    version: Version,
) -> Result<Selection<'a>, EvalError> {
    let mut selection = roots(obs, &path.object_type, version);
    for step in &path.steps {
        let mut next = Vec::with_capacity(selection.len());
        for (root, values) in selection {
            let stepped = step_values(obs, values, step)?;
            if !stepped.is_empty() {
                next.push((root, stepped));
            }
        }
        selection = next;
        if selection.is_empty() {
            break;
        }
    }
    Ok(selection)
}

fn step_values<'a>(
    obs: &Observation<'a>,
    values: Vec<Val<'a>>,
    step: &Step,
) -> Result<Vec<Val<'a>>, EvalError> {
    let mut out = Vec::new();
    match step {
        Step::Key(key) => {
            for v in values {
                if let Val::Json(Value::Object(map)) = v {
                    if let Some(child) = map.get(key) {
                        out.push(suffixed(key, child)?);
                    }
                }
            }
            deref(obs, key, out)
        }
        Step::Index(i) => {
            for v in values {
                let Ok(i) = usize::try_from(*i) else { continue };
                match v {
                    Val::Json(Value::Array(items)) => out.extend(items.get(i).map(Val::Json)),
                    Val::Objects(items) => out.extend(items.get(i).map(|o| Val::Json(o))),
                    _ => {}
                }
            }
            Ok(out)
        }
        Step::AnyIndex => {
            for v in values {
                match v {
                    Val::Json(Value::Array(items)) => out.extend(items.iter().map(Val::Json)),
                    Val::Objects(items) => out.extend(items.into_iter().map(Val::Json)),
                    _ => {}
                }
            }
            Ok(out)
        }
    }
}

/// `…_hex` and `…_bin` properties hold binary data.
fn suffixed<'a>(key: &str, value: &'a Value) -> Result<Val<'a>, EvalError> {
    let bad = |kind: &str| EvalError::input(format!("the value of {key} is not valid {kind}"));
    if key.ends_with("_hex") {
        let s = value.as_str().ok_or_else(|| bad("hex"))?;
        let bytes = crate::literal::hex(s, 0).map_err(|_| bad("hex"))?;
        return Ok(Val::Bytes(Cow::Owned(bytes)));
    }
    if key.ends_with("_bin") {
        let s = value.as_str().ok_or_else(|| bad("base64"))?;
        // Python's decoder skips characters outside the alphabet, then insists on padding.
        let kept: String = s
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
            .collect();
        let body = kept.trim_end_matches('=');
        if body.len() % 4 == 1 || body.contains('=') {
            return Err(bad("base64"));
        }
        return Ok(Val::Bytes(Cow::Owned(crate::literal::base64(body))));
    }
    Ok(Val::Json(value))
}

/// Follows `_ref` / `_refs` properties; references that resolve to nothing are dropped.
fn deref<'a>(
    obs: &Observation<'a>,
    key: &str,
    values: Vec<Val<'a>>,
) -> Result<Vec<Val<'a>>, EvalError> {
    let not_string = |v: &Val<'_>| {
        EvalError::input(format!(
            "a value of reference property {key} is not a string: {v:?}"
        ))
    };
    if key.ends_with("_ref") {
        let mut out = Vec::new();
        for v in values {
            let Val::Json(Value::String(r)) = &v else {
                return Err(not_string(&v));
            };
            out.extend(obs.resolve(r).map(Val::Json));
        }
        return Ok(out);
    }
    if key.ends_with("_refs") {
        let mut out = Vec::new();
        for v in values {
            let Val::Json(Value::Array(refs)) = v else {
                return Err(EvalError::input(format!(
                    "the value of reference list {key} is not a list"
                )));
            };
            let mut objects = Vec::new();
            for r in refs {
                let r = r.as_str().ok_or_else(|| not_string(&Val::Json(r)))?;
                objects.extend(obs.resolve(r));
            }
            if !objects.is_empty() {
                out.push(Val::Objects(objects));
            }
        }
        return Ok(out);
    }
    Ok(values)
}

/// Calls `f` with each JSON value `steps` reach from one object of an observation, without
/// allocating: the matcher's hot path. Follows references like [`select`]; binary (`_hex`,
/// `_bin`) properties are skipped, since the indexes hold only text and numbers.
pub(crate) fn visit_probe<'a>(
    obs: &Observation<'a>,
    value: &'a Value,
    steps: &[Step],
    f: &mut impl FnMut(&'a Value),
) {
    let Some((step, rest)) = steps.split_first() else {
        return f(value);
    };
    match step {
        Step::Key(key) => {
            let Some(child) = value.as_object().and_then(|m| m.get(key)) else {
                return;
            };
            if key.ends_with("_hex") || key.ends_with("_bin") {
                return;
            }
            if key.ends_with("_ref") {
                if let Some(r) = child.as_str() {
                    for target in obs.resolve(r) {
                        visit_probe(obs, target, rest, f);
                    }
                }
                return;
            }
            if key.ends_with("_refs") {
                return visit_refs(obs, child, rest, f);
            }
            visit_probe(obs, child, rest, f);
        }
        Step::Index(i) => {
            let item = usize::try_from(*i)
                .ok()
                .and_then(|i| value.as_array()?.get(i));
            if let Some(item) = item {
                visit_probe(obs, item, rest, f);
            }
        }
        Step::AnyIndex => {
            for item in value.as_array().into_iter().flatten() {
                visit_probe(obs, item, rest, f);
            }
        }
    }
}

/// After a `_refs` property the value is the list of objects it names; only an index step
/// can follow.
fn visit_refs<'a>(
    obs: &Observation<'a>,
    refs: &'a Value,
    rest: &[Step],
    f: &mut impl FnMut(&'a Value),
) {
    let Some(refs) = refs.as_array() else { return };
    let resolved = refs
        .iter()
        .filter_map(Value::as_str)
        .flat_map(|r| obs.resolve(r));
    match rest.split_first() {
        Some((Step::AnyIndex, after)) => {
            for target in resolved {
                visit_probe(obs, target, after, f);
            }
        }
        Some((Step::Index(i), after)) => {
            let mut resolved = resolved;
            if let Some(target) = usize::try_from(*i).ok().and_then(|i| resolved.nth(i)) {
                visit_probe(obs, target, after, f);
            }
        }
        _ => {}
    }
}
