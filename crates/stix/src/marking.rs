//! Data markings: the Traffic Light Protocol (TLP 2.0 and 1.0) marking definitions with their
//! fixed identifiers, and granular-marking selectors.
//!
//! TLP decides who may see an object; `watchpost-store` enforces it. The identifiers here are
//! fixed by the specifications, so a marking written by any STIX tool is recognised by id alone.

use serde_json::Value;

/// A TLP level. TLP 1.0 WHITE maps to CLEAR, its TLP 2.0 successor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tlp {
    /// TLP:CLEAR (TLP 1.0: WHITE) — no restriction.
    Clear,
    /// TLP:GREEN — the community.
    Green,
    /// TLP:AMBER — the recipient's organisation and its clients.
    Amber,
    /// TLP:AMBER+STRICT — the recipient's organisation only.
    AmberStrict,
    /// TLP:RED — the named recipients only.
    Red,
}

/// The id of the STIX 2.1 extension definition that carries TLP 2.0 markings.
pub const TLP2_EXTENSION_ID: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// The TLP 2.0 marking-definition identifiers, fixed by the TLP 2.0 extension.
pub const TLP2_IDS: [(Tlp, &str); 5] = [
    (
        Tlp::Clear,
        "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    ),
    (
        Tlp::Green,
        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    ),
    (
        Tlp::Amber,
        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    ),
    (
        Tlp::AmberStrict,
        "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    ),
    (
        Tlp::Red,
        "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
    ),
];

/// The TLP 1.0 marking-definition identifiers (STIX 2.1 §7.2.1.4).
pub const TLP1_IDS: [(Tlp, &str); 4] = [
    (
        Tlp::Clear,
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    ),
    (
        Tlp::Green,
        "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    ),
    (
        Tlp::Amber,
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    ),
    (
        Tlp::Red,
        "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
    ),
];

/// The `created` timestamp of the TLP 1.0 marking definitions.
pub const TLP1_CREATED: &str = "2017-01-20T00:00:00.000Z";

/// The `created` timestamp of the TLP 2.0 marking definitions.
pub const TLP2_CREATED: &str = "2022-10-01T00:00:00.000Z";

impl Tlp {
    /// The level a marking-definition id stands for, TLP 2.0 or 1.0.
    ///
    /// ```
    /// use watchpost_stix::marking::Tlp;
    /// let amber = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82";
    /// assert_eq!(Tlp::from_marking_id(amber), Some(Tlp::Amber));
    /// ```
    pub fn from_marking_id(id: &str) -> Option<Tlp> {
        TLP2_IDS
            .iter()
            .chain(TLP1_IDS.iter())
            .find(|(_, i)| *i == id)
            .map(|(t, _)| *t)
    }

    /// The TLP 2.0 marking-definition id of this level.
    pub fn marking_id(self) -> &'static str {
        TLP2_IDS
            .iter()
            .find(|(t, _)| *t == self)
            .map_or(TLP2_IDS[0].1, |(_, id)| id)
    }

    /// The value of the TLP 2.0 extension's `tlp_2_0` property (`amber+strict`).
    pub fn tlp2_name(self) -> &'static str {
        match self {
            Tlp::Clear => "clear",
            Tlp::Green => "green",
            Tlp::Amber => "amber",
            Tlp::AmberStrict => "amber+strict",
            Tlp::Red => "red",
        }
    }

    /// Reads a level by its TLP 2.0 name (`green`, `amber+strict`), with or without the
    /// `TLP:` prefix, in any case; TLP 1.0's `white` reads as CLEAR.
    ///
    /// ```
    /// use watchpost_stix::marking::Tlp;
    /// assert_eq!(Tlp::from_name("TLP:AMBER+STRICT"), Some(Tlp::AmberStrict));
    /// assert_eq!(Tlp::from_name("white"), Some(Tlp::Clear));
    /// assert_eq!(Tlp::from_name("purple"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Tlp> {
        let lower = name.trim().to_ascii_lowercase();
        let bare = lower.strip_prefix("tlp:").unwrap_or(&lower);
        match bare {
            "clear" | "white" => Some(Tlp::Clear),
            "green" => Some(Tlp::Green),
            "amber" => Some(Tlp::Amber),
            "amber+strict" => Some(Tlp::AmberStrict),
            "red" => Some(Tlp::Red),
            _ => None,
        }
    }

    /// The label shown to people: `TLP:AMBER+STRICT`.
    pub fn label(self) -> &'static str {
        match self {
            Tlp::Clear => "TLP:CLEAR",
            Tlp::Green => "TLP:GREEN",
            Tlp::Amber => "TLP:AMBER",
            Tlp::AmberStrict => "TLP:AMBER+STRICT",
            Tlp::Red => "TLP:RED",
        }
    }

    /// The complete TLP 2.0 marking-definition object of this level, as the extension
    /// publishes it.
    pub fn marking_definition(self) -> Value {
        serde_json::json!({
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": self.marking_id(),
            "created": TLP2_CREATED,
            "name": self.label(),
            "extensions": {
                TLP2_EXTENSION_ID: {
                    "extension_type": "property-extension",
                    "tlp_2_0": self.tlp2_name(),
                }
            }
        })
    }
}

/// The most restrictive TLP level among `object_marking_refs`, if any is a TLP marking.
pub fn tlp_of(object: &Value) -> Option<Tlp> {
    object
        .get("object_marking_refs")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .filter_map(Tlp::from_marking_id)
        .max()
}

/// Resolves a granular-marking selector (`external_references.[0].url`) inside `object`;
/// returns why it does not resolve.
///
/// ```
/// use serde_json::json;
/// use watchpost_stix::marking::resolve_selector;
/// let o = json!({"description": "d", "external_references": [{"url": "u"}]});
/// assert!(resolve_selector(&o, "external_references.[0].url").is_ok());
/// assert!(resolve_selector(&o, "external_references.[1]").is_err());
/// ```
pub fn resolve_selector<'v>(object: &'v Value, selector: &str) -> Result<&'v Value, String> {
    let mut current = object;
    for segment in selector.split('.') {
        let next = match segment.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            Some(index) => {
                let i: usize = index
                    .parse()
                    .map_err(|_| format!("`{segment}` is not a list index like [0]"))?;
                let list = current
                    .as_array()
                    .ok_or_else(|| format!("`{segment}` indexes something that is not a list"))?;
                list.get(i).ok_or_else(|| {
                    format!("index {i} is past the end of a list of {}", list.len())
                })?
            }
            None => current
                .as_object()
                .and_then(|m| m.get(segment))
                .ok_or_else(|| format!("`{segment}` is not a property of the object"))?,
        };
        current = next;
    }
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlp2_definitions_are_valid_objects() {
        for (tlp, id) in TLP2_IDS {
            let def = tlp.marking_definition();
            assert_eq!(def["id"], id);
            let issues = crate::Validator::new().validate(&def);
            assert!(issues.is_empty(), "{tlp:?}: {issues:?}");
        }
    }

    #[test]
    fn most_restrictive_marking_wins() {
        let o = serde_json::json!({"object_marking_refs": [TLP2_IDS[1].1, TLP1_IDS[3].1]});
        assert_eq!(tlp_of(&o), Some(Tlp::Red));
    }
}
