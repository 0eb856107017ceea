//! MISP → STIX → MISP on the real MISP events in `tests/data/misp/` (PyMISP fixtures and ESET
//! exports, see `tests/data/SOURCES.md`), on generated bad input, and against the reference
//! converter `misp-stix` (run from the Python environment `scripts/test` prepares).
#![allow(clippy::unwrap_used)] // A panic in a test is a failing test, not a crashed hub.

#[path = "../../../tests/reference/support.rs"]
mod support;

use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::process::Command;
use support::{python, repo};
use watchpost_exchange::misp::{from_stix, pattern, to_stix, Conversion, MispError, Options};
use watchpost_pattern::SyntaxChecker;
use watchpost_stix::Validator;

const EVENTS: &[&str] = &[
    "57c4445b-c548-4654-af0b-4be3950d210f.json",
    "existing_event.json",
    "mainly_objects_1.json",
    "misp_event.json",
    "oceanlotus-macOS.misp.event.json",
    "oceanlotus-wateringhole-2018.misp.event.json",
    "sighting_1.json",
    "to_delete1.json",
];

fn read(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("tests/data/misp").join(name)).unwrap()
}

/// Converts and checks every object against the STIX 2.1 validator (patterns included).
fn convert(input: &[u8]) -> Conversion {
    let conversion = to_stix(input, &Options::default()).unwrap();
    let validator = Validator::new().with_pattern_syntax(SyntaxChecker);
    for object in &conversion.objects {
        let issues = validator.validate(object);
        assert!(issues.is_empty(), "{object:#}\n{issues:?}");
    }
    conversion
}

fn of_type<'c>(c: &'c Conversion, t: &str) -> Vec<&'c Value> {
    c.objects.iter().filter(|o| o["type"] == t).collect()
}

#[test]
fn every_example_event_converts_to_valid_stix() {
    for name in EVENTS {
        let c = convert(&read(name));
        assert_eq!(of_type(&c, "report").len(), 1, "{name}");
        assert_eq!(of_type(&c, "identity").len(), 1, "{name}");
        assert!(
            !of_type(&c, "indicator").is_empty() || !of_type(&c, "observed-data").is_empty(),
            "{name}"
        );
        // Every problem names a place in the file.
        for p in &c.problems {
            assert!(
                p.path.contains("Attribute[") || p.path.contains("Object["),
                "{name}: {p}"
            );
        }
    }
}

#[test]
fn conversion_is_deterministic() {
    let input = read("existing_event.json");
    let a = to_stix(&input, &Options::default()).unwrap().objects;
    let b = to_stix(&input, &Options::default()).unwrap().objects;
    assert_eq!(a, b);
}

#[test]
fn response_lists_give_one_report_per_event() {
    let one = read("oceanlotus-macOS.misp.event.json");
    let one: Value = serde_json::from_slice(&one).unwrap();
    let event = one["response"][0].clone();
    let two = json!({"response": [event.clone(), {"Event": {"uuid": "5c9c5b87-0000-4000-8000-000000000001", "info": "second",
        "Attribute": [{"uuid": "5c9c5b87-0000-4000-8000-000000000002", "type": "domain", "value": "evil.example", "to_ids": true}]}}]});
    let c = convert(two.to_string().as_bytes());
    assert_eq!(of_type(&c, "report").len(), 2);
    // A bare event (no wrapper) converts the same as the wrapped one.
    let bare = convert(event["Event"].to_string().as_bytes());
    let wrapped = convert(event.to_string().as_bytes());
    assert_eq!(bare.objects, wrapped.objects);
}

#[test]
fn to_ids_decides_indicator_or_observed_data() {
    let c = convert(&read("to_delete1.json"));
    let event: Value = serde_json::from_slice(&read("to_delete1.json")).unwrap();
    let mut checked = 0;
    for (i, attr) in event["Event"]["Attribute"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let at = format!("Event.Attribute[{i}].");
        if c.problems.iter().any(|p| p.path.starts_with(&at)) {
            continue;
        }
        let uuid = attr["uuid"].as_str().unwrap();
        let has = |t: &str| c.objects.iter().any(|o| o["id"] == format!("{t}--{uuid}"));
        if ["text", "comment", "other"].contains(&attr["type"].as_str().unwrap()) {
            continue;
        }
        checked += 1;
        if attr["to_ids"] == true {
            assert!(has("indicator") && !has("observed-data"), "{attr}");
        } else {
            assert!(has("observed-data") && !has("indicator"), "{attr}");
        }
    }
    assert!(checked > 50);
}

#[test]
fn tags_become_markings_and_galaxies_become_objects_with_relationships() {
    let c = convert(&read("existing_event.json"));
    let report = of_type(&c, "report")[0];
    assert_eq!(
        report["name"],
        "OSINT - Sednit update: How Fancy Bear Spent the Year"
    );
    assert_eq!(
        report["object_marking_refs"][0],
        watchpost_stix::marking::Tlp::Clear.marking_id()
    );
    let actors = of_type(&c, "threat-actor");
    assert_eq!(actors.len(), 1);
    assert_eq!(actors[0]["name"], "Sofacy");
    let indicates = c
        .objects
        .iter()
        .filter(|o| o["relationship_type"] == "indicates" && o["target_ref"] == actors[0]["id"])
        .count();
    assert_eq!(indicates, of_type(&c, "indicator").len());
}

#[test]
fn attack_patterns_carry_their_technique() {
    let c = convert(&read("oceanlotus-macOS.misp.event.json"));
    let patterns = of_type(&c, "attack-pattern");
    assert!(!patterns.is_empty());
    assert!(patterns
        .iter()
        .all(|p| p["external_references"][0]["source_name"] == "mitre-attack"));
}

// ---- bad input: a located error, or a problem and the rest kept ----

#[test]
fn malformed_json_names_line_and_column() {
    let err = to_stix(
        b"{\"Event\": {\"uuid\": \"x\",\n \"info\": }",
        &Options::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            MispError::Json {
                line: 2,
                column: 10,
                ..
            }
        ),
        "{err}"
    );
    assert!(to_stix(b"[1, 2", &Options::default()).is_err());
    let err = to_stix(br#"{"type": "bundle"}"#, &Options::default()).unwrap_err();
    assert!(
        err.to_string().starts_with("expected a MISP event"),
        "{err}"
    );
}

fn event(attributes: Value) -> Vec<u8> {
    json!({"Event": {"uuid": "11111111-1111-4111-8111-111111111111", "info": "t",
        "Attribute": attributes}})
    .to_string()
    .into_bytes()
}

fn attr(n: u32, t: Value, v: Value) -> Value {
    json!({"uuid": format!("22222222-2222-4222-8222-{n:012}"), "type": t, "value": v, "to_ids": true})
}

/// Converts, and returns the problems as `path: message` and the indicator patterns.
fn check(attributes: Value) -> (Vec<String>, Vec<String>) {
    let c = convert(&event(attributes));
    let problems = c.problems.iter().map(|p| p.to_string()).collect();
    let patterns = of_type(&c, "indicator")
        .iter()
        .map(|i| i["pattern"].as_str().unwrap().to_string())
        .collect();
    (problems, patterns)
}

#[test]
fn unknown_type_is_reported_and_the_others_kept() {
    let (problems, patterns) = check(json!([
        attr(1, json!("ip-dst"), json!("198.51.100.1")),
        attr(2, json!("frobnicator"), json!("x")),
        attr(3, json!("domain"), json!("evil.example")),
    ]));
    assert_eq!(
        problems,
        ["Event.Attribute[1].type: unknown attribute type `frobnicator`; skipped"]
    );
    assert_eq!(patterns.len(), 2);
}

#[test]
fn wrong_json_types_are_located() {
    let (problems, patterns) = check(json!([
        attr(1, json!(7), json!("x")),
        attr(2, json!("domain"), json!({"a": 1})),
        "not an attribute",
        {"type": "url", "value": "https://a.example/"},
        attr(5, json!("ip-dst|port"), json!("198.51.100.1")),
        attr(6, json!("ip-dst|port"), json!("198.51.100.1|http")),
        attr(7, json!("url"), json!("https://ok.example/")),
    ]));
    assert_eq!(
        problems,
        [
            "Event.Attribute[0].type: expected a string, found the number 7; skipped",
            "Event.Attribute[1].value: expected a non-empty string, found an object; skipped",
            "Event.Attribute[2]: expected an attribute object, found the string `not an attribute`",
            "Event.Attribute[3].uuid: expected a string, found nothing; skipped",
            "Event.Attribute[4].value: a `ip-dst|port` value has two parts separated by `|`, found `198.51.100.1`",
            "Event.Attribute[5].value: expected a port number, found `http`",
        ]
    );
    assert_eq!(patterns, ["[url:value = 'https://ok.example/']"]);
    let bad =
        json!({"Event": {"uuid": "11111111-1111-4111-8111-111111111111", "Attribute": {"a": 1}}});
    let c = convert(bad.to_string().as_bytes());
    assert_eq!(
        c.problems[0].to_string(),
        "Event.Attribute: expected an array, found an object; skipped"
    );
}

#[test]
fn values_with_quotes_and_backslashes_are_escaped() {
    let (_, patterns) = check(json!([attr(1, json!("regkey"), json!("HKLM\\Soft'ware"))]));
    assert_eq!(
        patterns,
        ["[windows-registry-key:key = 'HKLM\\\\Soft\\'ware']"]
    );
}

// ---- round trip: MISP → STIX → MISP keeps every indicator value and type ----

/// (type, value) of the top-level attributes with to_ids set that convert to a pattern.
fn ids_attributes(event: &Value) -> BTreeSet<(String, String)> {
    let event = event.get("Event").unwrap_or(event);
    event["Attribute"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["to_ids"] == true && a["deleted"] != true)
        .filter(|a| {
            watchpost_exchange::misp::attribute::map(
                a["type"].as_str().unwrap(),
                a["value"].as_str().unwrap(),
            )
            .is_ok_and(|m| {
                !matches!(
                    m,
                    watchpost_exchange::misp::attribute::Mapped::Vulnerability
                )
            })
        })
        .map(|a| {
            (
                a["type"].as_str().unwrap().to_string(),
                a["value"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The values of to_ids attributes inside MISP objects that have an observable form.
fn object_ids_values(event: &Value) -> Vec<String> {
    let event = event.get("Event").unwrap_or(event);
    let mut values = Vec::new();
    for object in event["Object"].as_array().into_iter().flatten() {
        for a in object["Attribute"].as_array().into_iter().flatten() {
            let (t, v) = (a["type"].as_str().unwrap(), a["value"].as_str().unwrap());
            let observable = matches!(
                watchpost_exchange::misp::attribute::map(t, v),
                Ok(watchpost_exchange::misp::attribute::Mapped::Observable(_))
            );
            if a["to_ids"] == true && observable {
                values.extend(v.split('|').map(str::to_string));
            }
        }
    }
    values
}

fn stix_patterns(objects: &[Value]) -> BTreeSet<String> {
    objects
        .iter()
        .filter(|o| o["type"] == "indicator")
        .filter(|o| {
            o["labels"][0]
                .as_str()
                .unwrap_or("")
                .starts_with("misp:type")
        })
        .map(|o| o["pattern"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn round_trip_keeps_every_indicator_value_and_type() {
    let (mut total, mut in_objects) = (0, 0);
    for name in EVENTS {
        let input: Value = serde_json::from_slice(&read(name)).unwrap();
        let events: Vec<Value> = match input.get("response") {
            Some(list) => list.as_array().unwrap().clone(),
            None => vec![input],
        };
        for original in events {
            let stix = convert(original.to_string().as_bytes()).objects;
            let back = from_stix(&stix);
            let want = ids_attributes(&original);
            let got = ids_attributes(&back);
            let lost: Vec<_> = want.difference(&got).collect();
            assert!(lost.is_empty(), "{name}: lost {lost:?}");
            total += want.len();
            // Attributes of MISP objects come back as attributes, their values kept.
            let back_values: BTreeSet<String> = back["Event"]["Attribute"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|a| {
                    a["value"]
                        .as_str()
                        .unwrap()
                        .split('|')
                        .map(str::to_string)
                        .collect::<Vec<_>>()
                })
                .collect();
            for v in object_ids_values(&original) {
                assert!(back_values.contains(&v), "{name}: lost object value {v}");
                in_objects += 1;
            }
            // What MISP needs of an attribute to take it: uuid, type, value, category.
            for a in back["Event"]["Attribute"].as_array().unwrap() {
                for key in ["uuid", "type", "value", "category"] {
                    assert!(a[key].is_string(), "{name}: {a}");
                }
            }
            // And the export converts again to the same indicator patterns.
            let again = convert(back.to_string().as_bytes());
            // (MISP objects come back as their attributes, so `again` may hold more.)
            let (before, after) = (stix_patterns(&stix), stix_patterns(&again.objects));
            assert!(
                before.is_subset(&after),
                "{name}: {:?}",
                before.difference(&after).collect::<Vec<_>>()
            );
        }
    }
    println!("round trip: {total} indicator attributes, all kept with their types; {in_objects} values of indicator objects, all kept");
    assert_eq!((total, in_objects), (71, 97));
}

// ---- differential: against misp-stix ----

/// The values an output looks for: each stix pattern's compared values, and the identifying
/// values of the SCOs it records as observed (misp-stix also writes an observed-data beside
/// each indicator, `based-on` it; those SCOs restate the indicator and are left out).
fn values(objects: &[Value]) -> (BTreeSet<String>, BTreeSet<String>) {
    let restating: BTreeSet<&str> = objects
        .iter()
        .filter(|o| o["relationship_type"] == "based-on")
        .filter_map(|o| o["target_ref"].as_str())
        .collect();
    let recorded: BTreeSet<&str> = objects
        .iter()
        .filter(|o| o["type"] == "observed-data" && !restating.contains(o["id"].as_str().unwrap()))
        .flat_map(|o| {
            o["object_refs"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
        })
        .collect();
    let mut indicator_values = BTreeSet::new();
    let mut sco_values = BTreeSet::new();
    for o in objects {
        let t = o["type"].as_str().unwrap_or("");
        if t == "indicator" && o["pattern_type"] == "stix" {
            for c in pattern::comparisons(o["pattern"].as_str().unwrap_or("")).0 {
                if !c.path.ends_with("_ref.type") {
                    indicator_values.insert(c.value);
                }
            }
        }
        if !o["id"].as_str().is_some_and(|id| recorded.contains(id)) {
            continue;
        }
        for key in ["value", "name", "key", "subject"] {
            if let Some(v) = o[key].as_str() {
                sco_values.insert(format!("{t} {v}"));
            }
        }
        if let Some(hashes) = o["hashes"].as_object() {
            for v in hashes.values() {
                sco_values.insert(format!("{t} {}", v.as_str().unwrap_or("")));
            }
        }
    }
    (indicator_values, sco_values)
}

/// Every string inside misp-stix's `x-misp-object`s: MISP objects it has no mapping for.
fn custom_object_strings(objects: &[Value]) -> BTreeSet<String> {
    fn walk(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::String(s) => {
                out.insert(s.clone());
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            Value::Object(m) => m.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    for o in objects.iter().filter(|o| o["type"] == "x-misp-object") {
        walk(o, &mut out);
    }
    out
}

/// The section of docs/conformance.md ("MISP → STIX") that explains a value only one side
/// has, or `None` when nothing does.
fn deliberate(value: &str, ours: bool, reference: &[Value]) -> Option<&'static str> {
    let value_only = value.split_once(' ').map_or(value, |(_, v)| v);
    if ours && custom_object_strings(reference).contains(value_only) {
        return Some("objects misp-stix keeps as x-misp-object are converted");
    }
    if value.contains('%') {
        return Some("misp-stix escapes % in equality comparisons");
    }
    if value.starts_with("windows-registry-key HK") {
        return Some("registry keys carry the full hive name");
    }
    if !ours && value.starts_with("url ") && !value_only.contains(':') {
        return Some("SCOs the STIX validator refuses are skipped");
    }
    None
}

#[test]
fn agrees_with_misp_stix() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ref.jsonl");
    let files: Vec<_> = EVENTS
        .iter()
        .map(|n| repo().join("tests/data/misp").join(n))
        .collect();
    let status = Command::new(python())
        .arg(repo().join("tests/reference/misp_stix.py"))
        .arg("--out")
        .arg(&out)
        .args(&files)
        .status()
        .expect("run misp_stix.py");
    assert!(status.success());
    let (mut shared, mut explained, mut unexplained) = ([0; 2], [0; 2], Vec::new());
    let mut failed = Vec::new();
    for line in std::fs::read_to_string(&out).unwrap().lines() {
        let reference: Value = serde_json::from_str(line).unwrap();
        let name = reference["file"].as_str().unwrap();
        if !reference["errors"].as_array().unwrap().is_empty() {
            failed.push(name.to_string());
            continue;
        }
        let theirs_objects = reference["objects"].as_array().unwrap();
        let theirs = values(theirs_objects);
        let ours = values(&convert(&read(name)).objects);
        for (k, o, t) in [(0, &ours.0, &theirs.0), (1, &ours.1, &theirs.1)] {
            shared[k] += o.intersection(t).count();
            let diffs = o
                .difference(t)
                .map(|v| (v, true))
                .chain(t.difference(o).map(|v| (v, false)));
            for (v, is_ours) in diffs {
                match deliberate(v, is_ours, theirs_objects) {
                    Some(_) => explained[k] += 1,
                    None => unexplained.push(format!(
                        "{name}: {} only: {v}",
                        if is_ours { "ours" } else { "misp-stix" }
                    )),
                }
            }
        }
    }
    println!(
        "misp-stix agreement: indicator values {} shared, {} differ (all documented); \
         SCO values {} shared, {} differ (all documented); misp-stix failed on {failed:?}",
        shared[0], explained[0], shared[1], explained[1]
    );
    assert!(unexplained.is_empty(), "{unexplained:#?}");
    assert!(shared[0] >= 149 && shared[1] >= 47, "{shared:?}");
}
