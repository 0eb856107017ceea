//! The observations a pattern is matched against, in the two shapes STIX tools send them:
//! STIX 2.0 observed-data SDOs with their cyber-observable objects embedded (`objects`, keyed by
//! local ids), or STIX 2.1 bundles of observed-data that name their SCOs in `object_refs`.

use super::EvalError;
use crate::ast::Version;
use crate::literal::timestamp_micros;
use serde_json::{Map, Value};

/// Whether a 2.1 pattern on `object_type` can never match: the reference matcher skips the
/// SDO, SRO and meta types of STIX 2.1 and `bundle`, since patterns describe cyber-observable
/// objects (custom types may match).
pub(crate) fn never_observable(object_type: &str) -> bool {
    match watchpost_stix::schema::type_spec(object_type) {
        Some(spec) => spec.category != watchpost_stix::schema::Category::Sco,
        None => object_type == "bundle",
    }
}

/// A cyber-observable object of an observation: the id references use, its type (read once,
/// here, so the matcher's hot path does not look it up per probe) and the object.
#[derive(Clone, Copy, Debug)]
pub struct Sco<'a> {
    /// The id references name it by (a local key in STIX 2.0 `objects`).
    pub id: &'a str,
    /// Its `type` (empty when it has none).
    pub kind: &'a str,
    /// The object.
    pub object: &'a Value,
}

impl<'a> Sco<'a> {
    /// An object known by `id`.
    pub fn new(id: &'a str, object: &'a Value) -> Self {
        let kind = object.get("type").and_then(Value::as_str).unwrap_or("");
        Sco { id, kind, object }
    }
}

/// One observation: an observed-data and the objects it holds.
#[derive(Debug)]
pub struct Observation<'a> {
    /// The observed-data's id, when it has one.
    pub id: Option<&'a str>,
    /// `first_observed`, microseconds since the epoch.
    pub first: i64,
    /// `last_observed`, microseconds since the epoch.
    pub last: i64,
    /// `number_observed`.
    pub count: u64,
    /// The cyber-observable objects, by the id references use.
    pub objects: Vec<Sco<'a>>,
}

impl<'a> Observation<'a> {
    /// The object a reference names, in this observation only.
    pub fn resolve<'s>(&'s self, reference: &'s str) -> impl Iterator<Item = &'a Value> + 's {
        self.objects
            .iter()
            .filter(move |s| s.id == reference)
            .map(|s| s.object)
    }
}

/// Reads the observations of one match request.
pub fn observations(inputs: &[Value], version: Version) -> Result<Vec<Observation<'_>>, EvalError> {
    match version {
        Version::V20 => inputs.iter().map(observation_v20).collect(),
        Version::V21 => observations_v21(inputs),
    }
}

fn header(sdo: &Map<String, Value>, what: &str) -> Result<(i64, i64, u64), EvalError> {
    let (Some(count), Some(first), Some(last)) = (
        sdo.get("number_observed"),
        sdo.get("first_observed"),
        sdo.get("last_observed"),
    ) else {
        return Err(EvalError::input(format!(
            "{what} must have number_observed, first_observed and last_observed"
        )));
    };
    let count = match count.as_u64() {
        Some(n) if n >= 1 => n,
        _ => {
            return Err(EvalError::input(format!(
                "number_observed must be a positive integer, found {count}"
            )))
        }
    };
    let time = |v: &Value, name: &str| {
        v.as_str()
            .ok_or_else(|| EvalError::input(format!("{name} must be a timestamp string")))
            .and_then(|s| timestamp_micros(s).map_err(|e| EvalError::input(format!("{name}: {e}"))))
    };
    Ok((
        time(first, "first_observed")?,
        time(last, "last_observed")?,
        count,
    ))
}

fn observation_v20(sdo: &Value) -> Result<Observation<'_>, EvalError> {
    let map = sdo
        .as_object()
        .ok_or_else(|| EvalError::input("each observation must be an observed-data object"))?;
    let (first, last, count) = header(map, "a STIX 2.0 observed-data")?;
    let objects = match map.get("objects") {
        Some(Value::Object(objs)) => objs.iter().map(|(k, v)| Sco::new(k, v)).collect(),
        Some(_) => {
            return Err(EvalError::input(
                "observed-data objects must be a dictionary",
            ))
        }
        None => Vec::new(),
    };
    Ok(Observation {
        id: map.get("id").and_then(Value::as_str),
        first,
        last,
        count,
        objects,
    })
}

/// STIX 2.1: the bundles' objects are pooled (as the reference merges its inputs), and each
/// observed-data becomes one observation holding itself and the SCOs it references.
fn observations_v21(bundles: &[Value]) -> Result<Vec<Observation<'_>>, EvalError> {
    let mut pool: Vec<&Value> = Vec::new();
    let mut any_objects = false;
    for bundle in bundles {
        if let Some(objects) = bundle.get("objects") {
            any_objects = true;
            let list = objects
                .as_array()
                .ok_or_else(|| EvalError::input("a bundle's objects must be a list"))?;
            pool.extend(list);
        }
    }
    if !any_objects && !bundles.is_empty() {
        return Err(EvalError::input("a STIX 2.1 bundle must have objects"));
    }
    let mut by_id: std::collections::HashMap<&str, &Value> = std::collections::HashMap::new();
    let mut observed = Vec::new();
    for object in &pool {
        let kind = object
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| EvalError::input("every object in a bundle needs a type"))?;
        if kind == "observed-data" {
            observed.push(*object);
        } else {
            let id = object.get("id").and_then(Value::as_str).ok_or_else(|| {
                EvalError::input(format!("a {kind} object in the bundle has no id"))
            })?;
            by_id.insert(id, object);
        }
    }
    observed
        .into_iter()
        .map(|od| {
            let map = od
                .as_object()
                .ok_or_else(|| EvalError::input("observed-data must be an object"))?;
            let refs = map
                .get("object_refs")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    EvalError::input("a STIX 2.1 observed-data must have object_refs")
                })?;
            let (first, last, count) = header(map, "a STIX 2.1 observed-data")?;
            let own_id = map
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| EvalError::input("an observed-data object has no id"))?;
            let mut objects = vec![Sco::new(own_id, od)];
            for r in refs.iter().filter_map(Value::as_str) {
                if let Some(sco) = by_id.get(r) {
                    objects.push(Sco::new(r, sco));
                }
            }
            Ok(Observation {
                id: Some(own_id),
                first,
                last,
                count,
                objects,
            })
        })
        .collect()
}
