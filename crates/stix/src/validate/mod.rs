//! Validation of STIX 2.1 objects against the "MUST" rules of the specification.
//!
//! The validator walks the JSON tree once, guided by [`crate::schema`], and collects every
//! problem it finds as an [`Issue`] that names the JSON path and says what was expected:
//! `valid_until: must be later than valid_from (2024-01-01T00:00:00Z)`. It never stops at the
//! first problem, so a producer can fix a whole object in one round.
//!
//! Pattern syntax belongs to `watchpost-pattern`, which depends on this crate; it plugs in
//! through [`PatternSyntax`] so that this crate stays at the bottom of the dependency graph.

pub(crate) mod format;
pub(crate) mod rules;

use crate::id::{is_type_name, Identifier};
use crate::schema::{self, Category, Kind, Prop, Struct, TypeSpec};
use crate::timestamp::Timestamp;
use serde_json::{Map, Value};
use std::fmt;

/// One problem found in an object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    /// Where: a JSON path relative to the validated value, such as `external_references[0].url`
    /// (empty for the value itself).
    pub path: String,
    /// What is wrong and what was expected, as a lower-case sentence.
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Checks the syntax of indicator patterns; implemented by `watchpost-pattern`.
pub trait PatternSyntax: Send + Sync {
    /// Checks a STIX pattern of `pattern_version` (`"2.1"` unless the indicator says
    /// otherwise); returns a message naming the column of the problem.
    fn check(&self, pattern: &str, pattern_version: &str) -> Result<(), String>;
}

/// Validates STIX objects.
///
/// ```
/// use serde_json::json;
/// use watchpost_stix::Validator;
///
/// let indicator = json!({
///     "type": "indicator", "spec_version": "2.1",
///     "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
///     "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
///     "pattern": "[ipv4-addr:value = '203.0.113.7']", "pattern_type": "stix",
///     "valid_from": "2024-01-01T00:00:00Z", "valid_until": "2023-01-01T00:00:00Z"
/// });
/// let issues = Validator::new().validate(&indicator);
/// assert_eq!(issues[0].to_string(),
///     "valid_until: must be later than valid_from (2024-01-01T00:00:00Z)");
/// ```
#[derive(Default)]
pub struct Validator {
    pattern_syntax: Option<Box<dyn PatternSyntax>>,
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Validator")
            .field("pattern_syntax", &self.pattern_syntax.is_some())
            .finish()
    }
}

impl Validator {
    /// A validator of the specification's rules, without pattern syntax checks.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also checks the syntax of `stix` indicator patterns with `checker`.
    pub fn with_pattern_syntax(mut self, checker: impl PatternSyntax + 'static) -> Self {
        self.pattern_syntax = Some(Box::new(checker));
        self
    }

    /// Validates one object, or a bundle and every object in it.
    pub fn validate(&self, value: &Value) -> Vec<Issue> {
        let mut issues = Vec::new();
        self.validate_into(value, &mut issues);
        issues
    }

    /// Like [`Validator::validate`], appending to `issues` (so a caller validating many
    /// objects can reuse one vector).
    pub fn validate_into(&self, value: &Value, issues: &mut Vec<Issue>) {
        let mut checker = Checker {
            validator: self,
            path: Vec::new(),
            issues,
            local: None,
        };
        match value {
            Value::Object(map) if map.get("type").and_then(Value::as_str) == Some("bundle") => {
                checker.check_bundle(map)
            }
            Value::Object(map) => checker.check_object(map),
            other => checker.expected("a STIX object (a JSON object with type and id)", other),
        }
    }
}

/// One step of a JSON path.
#[derive(Clone, Copy, Debug)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// The state of one validation walk; rules in [`rules`] report through it.
pub struct Checker<'a> {
    validator: &'a Validator,
    path: Vec<Seg<'a>>,
    issues: &'a mut Vec<Issue>,
    /// Inside observed-data `objects`, references are keys of this dictionary.
    local: Option<&'a Map<String, Value>>,
}

impl<'a> Checker<'a> {
    /// Reports `message` at the current path.
    pub fn error(&mut self, message: impl Into<String>) {
        let path = format::path(&self.path);
        self.issues.push(Issue {
            path,
            message: message.into(),
        });
    }

    /// Reports `message` at property `key` of the current object.
    pub fn error_at(&mut self, key: &'a str, message: impl Into<String>) {
        self.path.push(Seg::Key(key));
        self.error(message);
        self.path.pop();
    }

    fn expected(&mut self, what: &str, found: &Value) {
        self.error(format!(
            "expected {what}, found {}",
            format::describe(found)
        ));
    }

    fn at_key(&mut self, key: &'a str, f: impl FnOnce(&mut Self)) {
        self.path.push(Seg::Key(key));
        f(self);
        self.path.pop();
    }

    fn at_index(&mut self, index: usize, f: impl FnOnce(&mut Self)) {
        self.path.push(Seg::Index(index));
        f(self);
        self.path.pop();
    }

    pub(crate) fn pattern_syntax(&self) -> Option<&dyn PatternSyntax> {
        self.validator.pattern_syntax.as_deref()
    }

    fn check_bundle(&mut self, map: &'a Map<String, Value>) {
        match map.get("id").and_then(Value::as_str) {
            Some(id) => self.at_key("id", |c| c.check_id(id, "bundle")),
            None => self.error_at("id", "required property is missing"),
        }
        match map.get("objects") {
            None => {}
            Some(Value::Array(objects)) => {
                for (i, object) in objects.iter().enumerate() {
                    self.at_key("objects", |c| {
                        c.at_index(i, |c| match object {
                            Value::Object(o) => c.check_object(o),
                            other => c.expected("a STIX object", other),
                        })
                    });
                }
            }
            Some(other) => self.at_key("objects", |c| c.expected("a list of objects", other)),
        }
    }

    /// Checks one STIX object (not a bundle).
    fn check_object(&mut self, map: &'a Map<String, Value>) {
        let object_type = match map.get("type") {
            Some(Value::String(t)) => t.as_str(),
            Some(other) => return self.at_key("type", |c| c.expected("a string", other)),
            None => return self.error_at("type", "required property is missing"),
        };
        if !is_type_name(object_type) || object_type == "action" {
            let msg = format!("`{object_type}` is not a valid object type name (a-z, 0-9 and single hyphens, starting with a letter, 3 to 250 characters; `action` is reserved)");
            return self.error_at("type", msg);
        }
        let spec = schema::type_spec(object_type);
        let category = spec.map_or_else(|| custom_category(map), |s| s.category);
        let common = match spec {
            Some(s) => schema::common_props(s.name, s.category),
            None if category == Category::Sco => schema::COMMON_SCO,
            None => schema::COMMON_SDO,
        };
        match map.get("id") {
            Some(Value::String(id)) => self.at_key("id", |c| c.check_id(id, object_type)),
            Some(other) => self.at_key("id", |c| c.expected("an identifier", other)),
            None => {}
        }
        // `type` and `id` are required everywhere and were looked at above.
        let mut required_seen = usize::from(map.contains_key("id")) + 1;
        for (key, value) in map {
            if key == "type" || key == "id" {
                continue;
            }
            let prop = spec
                .and_then(|s| s.prop(key))
                .or_else(|| schema::find_prop(common, key));
            required_seen += usize::from(prop.is_some_and(|p| p.required));
            self.at_key(key, |c| match prop {
                Some(p) => c.check_kind(value, &p.kind, spec),
                None => c.check_custom_property(key, value),
            });
        }
        let type_props = spec.map_or(&[][..], |s| s.props);
        self.check_required(map, required_seen, common.iter().chain(type_props));
        self.check_versions(map, category);
        if let Some(rule) = spec.and_then(|s| s.rule) {
            rule(map, self);
        }
        if category == Category::Sco && self.local.is_none() {
            rules::sco_identifier(map, self);
        }
        rules::granular_selectors(map, self);
    }

    /// Reports the required properties missing from `map`, given how many required ones the
    /// caller already met while walking it (so a complete object costs no map lookups).
    fn check_required<'p>(
        &mut self,
        map: &Map<String, Value>,
        seen: usize,
        props: impl Iterator<Item = &'p Prop> + Clone,
    ) {
        if props.clone().filter(|p| p.required).count() == seen {
            return;
        }
        for p in props {
            if p.required && !map.contains_key(p.name) {
                self.error_at(p.name, "required property is missing");
            }
        }
    }

    /// `modified` may not precede `created` (§3.2).
    fn check_versions(&mut self, map: &Map<String, Value>, category: Category) {
        if category == Category::Sco {
            return;
        }
        if let (Some(created), Some(modified)) =
            (rules::ts(map, "created"), rules::ts(map, "modified"))
        {
            if modified < created {
                self.error_at(
                    "modified",
                    format!("must be later than or equal to created ({created})"),
                );
            }
        }
    }

    fn check_id(&mut self, id: &str, object_type: &str) {
        match Identifier::parse(id) {
            Err(e) => self.error(format!("`{id}` is not a valid identifier: {e}")),
            Ok(parsed) if parsed.object_type != object_type => self.error(format!(
                "the identifier must start with `{object_type}--`, found `{id}`"
            )),
            Ok(_) => {}
        }
    }

    fn check_custom_property(&mut self, name: &str, value: &Value) {
        if schema::RESERVED_PROPERTIES.contains(&name) {
            return self.error(format!(
                "`{name}` is a reserved property name that STIX 2.1 objects must not use"
            ));
        }
        if !format::is_property_name(name) {
            return self.error(format!(
                "`{name}` is not a valid property name (3 to 250 characters of a-z, 0-9 and _)"
            ));
        }
        match value {
            Value::Null => self.error("must not be null; omit the property instead"),
            Value::Array(a) if a.is_empty() => {
                self.error("must not be an empty list; omit the property instead")
            }
            Value::String(s) if name.ends_with("_bin") && !format::is_base64(s) => {
                self.error("a property ending in _bin must hold base64-encoded binary")
            }
            Value::String(s) if name.ends_with("_hex") && !format::is_hex(s) => {
                self.error("a property ending in _hex must hold an even number of hex digits")
            }
            _ => {}
        }
    }

    fn check_kind(&mut self, value: &'a Value, kind: &Kind, spec: Option<&'static TypeSpec>) {
        match kind {
            Kind::String | Kind::Vocab(_) | Kind::Selector => self.check_string(value),
            Kind::Boolean if !value.is_boolean() => self.expected("true or false", value),
            Kind::Boolean => {}
            Kind::Integer(min, max) => self.check_integer(value, *min, *max),
            Kind::Number(min, max) => self.check_number(value, *min, *max),
            Kind::Timestamp | Kind::TimestampMillis | Kind::TimestampSeconds => {
                self.check_timestamp(value, kind)
            }
            Kind::Ref(allowed) => self.check_ref(value, allowed, true),
            Kind::RefNot(forbidden) => self.check_ref(value, forbidden, false),
            Kind::RefCategory(categories) => self.check_ref_category(value, categories),
            Kind::List(item) | Kind::ListOrEmpty(item) => {
                self.check_list(value, item, matches!(kind, Kind::List(_)), spec)
            }
            Kind::Enum(values) => self.check_enum(value, values),
            Kind::Hashes => rules::hashes(value, self),
            Kind::Binary => self.check_format(value, format::is_base64, "base64-encoded binary"),
            Kind::Hex => self.check_format(value, format::is_hex, "an even number of hex digits"),
            Kind::Url => self.check_format(value, format::is_url, "a URL (RFC 3986) with a scheme"),
            Kind::Lang => self.check_format(value, format::is_lang, "an RFC 5646 language tag"),
            Kind::Dictionary => self.check_dictionary(value, None),
            Kind::DictionaryOf(item) => self.check_dictionary(value, Some(item)),
            Kind::Struct(s) => self.check_struct(value, s, spec),
            Kind::Extensions => self.check_extensions(value, spec),
            Kind::ObservedObjects => self.check_observed_objects(value),
            Kind::Any => {}
        }
    }

    fn check_string(&mut self, value: &Value) {
        if !value.is_string() {
            self.expected("a string", value);
        }
    }

    fn check_integer(&mut self, value: &Value, min: i64, max: i64) {
        match format::as_integer(value) {
            Some(i) if i < i128::from(min) || i > i128::from(max) => {
                self.error(format::range_message("an integer", min, max, value))
            }
            Some(_) => {}
            None => self.expected("an integer", value),
        }
    }

    fn check_number(&mut self, value: &Value, min: f64, max: f64) {
        match value.as_f64() {
            Some(n) if n < min || n > max => {
                self.error(format!("expected a number from {min} to {max}, found {n}"))
            }
            Some(_) => {}
            None => self.expected("a number", value),
        }
    }

    fn check_timestamp(&mut self, value: &Value, kind: &Kind) {
        let Some(text) = value.as_str() else {
            return self.expected("a timestamp string", value);
        };
        match Timestamp::parse(text) {
            Err(e) => self.error(format!("`{text}` is not a valid timestamp: {e}")),
            Ok(t) if matches!(kind, Kind::TimestampMillis) && t.fraction_digits() < 3 => self
                .error(format!(
                    "`{text}` must be precise to the millisecond (at least 3 fractional digits)"
                )),
            Ok(t) if matches!(kind, Kind::TimestampSeconds) && t.fraction_digits() > 0 => {
                self.error(format!("`{text}` must have no fractional seconds"))
            }
            Ok(_) => {}
        }
    }

    fn check_ref(&mut self, value: &Value, types: &[&str], allow: bool) {
        let Some(reference) = value.as_str() else {
            return self.expected("an identifier", value);
        };
        let target_type = match self.local {
            Some(objects) => match objects.get(reference) {
                None => {
                    return self.error(format!(
                        "`{reference}` does not name an object of this observed-data's objects"
                    ))
                }
                Some(target) => target.get("type").and_then(Value::as_str).unwrap_or(""),
            },
            None => match Identifier::parse(reference) {
                Ok(id) => id.object_type,
                Err(e) => {
                    return self.error(format!("`{reference}` is not a valid identifier: {e}"))
                }
            },
        };
        if allow && !types.is_empty() && !types.contains(&target_type) {
            self.error(format!(
                "must refer to {}, not to {}",
                format::one_of(types),
                format::with_article(target_type)
            ));
        } else if !allow && types.contains(&target_type) {
            self.error(format!(
                "must not refer to {}",
                format::with_article(target_type)
            ));
        }
    }

    fn check_ref_category(&mut self, value: &Value, categories: &[Category]) {
        let Some(target) = value.as_str().and_then(|r| Identifier::parse(r).ok()) else {
            return self.check_ref(value, &[], true);
        };
        let allowed = match schema::type_spec(target.object_type) {
            Some(spec) => categories.contains(&spec.category),
            None => target.object_type != "bundle",
        };
        if !allowed {
            self.error(format!(
                "must not refer to {}",
                format::with_article(target.object_type)
            ));
        }
    }

    fn check_list(
        &mut self,
        value: &'a Value,
        item: &Kind,
        non_empty: bool,
        spec: Option<&'static TypeSpec>,
    ) {
        let Some(items) = value.as_array() else {
            return self.expected("a list", value);
        };
        if non_empty && items.is_empty() {
            return self.error("must not be an empty list; omit the property instead");
        }
        for (i, v) in items.iter().enumerate() {
            self.at_index(i, |c| c.check_kind(v, item, spec));
        }
    }

    fn check_enum(&mut self, value: &Value, values: &[&str]) {
        match value.as_str() {
            Some(s) if values.contains(&s) => {}
            Some(s) => self.error(format!("expected {}, found `{s}`", format::one_of(values))),
            None => self.expected("a string", value),
        }
    }

    fn check_format(&mut self, value: &Value, ok: fn(&str) -> bool, what: &str) {
        match value.as_str() {
            Some(s) if ok(s) => {}
            Some(s) => self.error(format!("expected {what}, found `{}`", format::excerpt(s))),
            None => self.expected(what, value),
        }
    }

    fn check_dictionary(&mut self, value: &'a Value, item: Option<&Kind>) {
        let Some(map) = value.as_object() else {
            return self.expected("a dictionary", value);
        };
        if map.is_empty() {
            return self.error("must not be an empty dictionary; omit the property instead");
        }
        for (key, v) in map {
            self.at_key(key, |c| {
                if !format::is_dictionary_key(key) {
                    c.error("dictionary keys must be at most 250 ASCII letters, digits, _ or -");
                }
                match item {
                    Some(kind) => c.check_kind(v, kind, None),
                    None if v.is_null() => c.error("must not be null"),
                    None => {}
                }
            });
        }
    }

    fn check_struct(
        &mut self,
        value: &'a Value,
        s: &'static Struct,
        spec: Option<&'static TypeSpec>,
    ) {
        let Some(map) = value.as_object() else {
            return self.expected(&format!("a {} object", s.name), value);
        };
        let mut required_seen = 0;
        for (key, v) in map {
            if let Some(p) = schema::find_prop(s.props, key) {
                required_seen += usize::from(p.required);
                self.at_key(key, |c| c.check_kind(v, &p.kind, spec));
            }
        }
        self.check_required(map, required_seen, s.props.iter());
        if s.at_least_one && !map.keys().any(|k| schema::find_prop(s.props, k).is_some()) {
            let names: Vec<&str> = s.props.iter().map(|p| p.name).collect();
            self.error(format!(
                "{} needs at least one of {}",
                s.name,
                names.join(", ")
            ));
        }
        if let Some(rule) = s.rule {
            rule(map, self);
        }
    }

    fn check_extensions(&mut self, value: &'a Value, spec: Option<&'static TypeSpec>) {
        let Some(map) = value.as_object() else {
            return self.expected("a dictionary of extensions", value);
        };
        if map.is_empty() {
            return self.error("must not be an empty dictionary; omit the property instead");
        }
        for (key, ext) in map {
            self.at_key(key, |c| {
                if key.starts_with("extension-definition--") {
                    c.check_id(key, "extension-definition");
                    rules::extension_definition_use(ext, c);
                } else if let Some(s) = spec.and_then(|s| s.extension(key)) {
                    c.check_struct(ext, s, spec);
                } else if format::is_extension_name(key) {
                    rules::custom_extension(ext, c);
                } else {
                    c.error("an extension key must be an extension-definition identifier or a name ending in -ext");
                }
            });
        }
    }

    fn check_observed_objects(&mut self, value: &'a Value) {
        let Some(objects) = value.as_object() else {
            return self.expected("a dictionary of cyber-observable objects", value);
        };
        if objects.is_empty() {
            return self.error("must not be an empty dictionary; omit the property instead");
        }
        let outer = self.local.replace(objects);
        for (key, object) in objects {
            self.at_key(key, |c| match object {
                Value::Object(o) => c.check_object(o),
                other => c.expected("a cyber-observable object", other),
            });
        }
        self.local = outer;
    }
}

/// A custom object type is validated as an SDO when it has `created` or `modified`, as an SCO
/// otherwise, as the OASIS validator does.
fn custom_category(map: &Map<String, Value>) -> Category {
    if map.contains_key("created") || map.contains_key("modified") {
        Category::Sdo
    } else {
        Category::Sco
    }
}
