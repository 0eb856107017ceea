//! Property tests: for generated objects — every STIX type, custom properties, unknown
//! extensions, any JSON content — serialize → parse is the identity, through `serde_json`, through
//! [`StixObject`] and through the streaming bundle reader.

// A panic in a test is a failing test, not a crashed hub.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use serde_json::{json, Map, Number, Value};
use watchpost_stix::reader::{Location, Reader};
use watchpost_stix::schema::TYPES;
use watchpost_stix::{StixObject, Validator};

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<u64>().prop_map(|u| json!(u)),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(|f| Value::Number(Number::from_f64(f).unwrap_or_else(|| 0.into()))),
        any::<String>().prop_map(Value::String),
        "[a-z\\\\\"\\n\\t\u{0}-\u{1f}ắ𝄞]{0,12}".prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,10}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

prop_compose! {
    fn stix_object()(
        type_index in 0..TYPES.len() + 1,
        uuid in any::<u128>(),
        props in prop::collection::btree_map("[a-z][a-z_]{2,12}", json_value(), 0..8),
        custom in prop::collection::btree_map("x_[a-z]{3,8}_[a-z]{1,8}", json_value(), 0..4),
        extension in prop::option::of(json_value()),
    ) -> Value {
        let object_type = TYPES.get(type_index).map_or("x-acme-widget", |t| t.name);
        let mut m = Map::new();
        m.insert("type".into(), json!(object_type));
        let u = uuid::Uuid::from_u128(uuid);
        m.insert("id".into(), json!(format!("{object_type}--{u}")));
        m.extend(props);
        m.extend(custom);
        if let Some(ext) = extension {
            m.insert("extensions".into(), json!({
                "extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e": {
                    "extension_type": "property-extension", "x_value": ext
                },
                "x-acme-thing-ext": {"payload": ext}
            }));
        }
        Value::Object(m)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn serialize_then_parse_is_the_identity(object in stix_object()) {
        let text = serde_json::to_string(&object).unwrap();
        let again: Value = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(&again, &object);

        let typed = StixObject::try_from(object.clone()).unwrap();
        let typed_again: StixObject = serde_json::from_str(&serde_json::to_string(&typed).unwrap()).unwrap();
        prop_assert_eq!(&typed_again, &typed);
        prop_assert_eq!(Value::from(typed_again), object.clone());

        // Validation sees the same object before and after the trip.
        let v = Validator::new();
        prop_assert_eq!(v.validate(&again), v.validate(&object));
    }

    #[test]
    fn the_bundle_reader_gives_back_every_object(objects in prop::collection::vec(stix_object(), 1..8), pretty in any::<bool>()) {
        let bundle = json!({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": objects});
        let text = if pretty { serde_json::to_string_pretty(&bundle) } else { serde_json::to_string(&bundle) }.unwrap();
        let mut read = Vec::new();
        for entry in Reader::new(text.as_bytes()) {
            let entry = entry.unwrap();
            if entry.location != Location::Bundle {
                read.push(entry.value.unwrap());
            }
        }
        prop_assert_eq!(read, objects);
    }

    #[test]
    fn json_lines_give_back_every_object(objects in prop::collection::vec(stix_object(), 2..8)) {
        let text: String = objects.iter().map(|o| serde_json::to_string(o).unwrap() + "\n").collect();
        let read: Vec<Value> = Reader::new(text.as_bytes()).map(|e| e.unwrap().value.unwrap()).collect();
        prop_assert_eq!(read, objects);
    }
}
