//! What a decoder produces: one sensor event as STIX cyber-observable objects.

use serde_json::{json, Map, Value};

/// One sensor event, as cyber-observable objects.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// When it happened, in microseconds since the Unix epoch, if the line says.
    pub time: Option<i64>,
    /// The sensor's name for the kind of event (`dns`, `conn`, `http`…).
    pub kind: String,
    /// The objects, each with the local id that references to it use.
    pub objects: Vec<(String, Value)>,
}

/// Builds an [`Event`], giving each object the next local id and keeping one object per
/// address or domain name.
#[derive(Debug)]
pub struct EventBuilder {
    event: Event,
}

impl EventBuilder {
    /// An empty event.
    pub fn new(kind: &str, time: Option<i64>) -> Self {
        EventBuilder {
            event: Event {
                time,
                kind: kind.to_string(),
                objects: Vec::new(),
            },
        }
    }

    /// Adds an object and returns its local id.
    pub fn add(&mut self, object: Value) -> String {
        let id = self.event.objects.len().to_string();
        self.event.objects.push((id.clone(), object));
        id
    }

    /// The id of an existing object with this type and value, else of a new one.
    fn valued(&mut self, object_type: &str, value: &str) -> String {
        let found = self.event.objects.iter().find(|(_, o)| {
            o.get("type").and_then(Value::as_str) == Some(object_type)
                && o.get("value").and_then(Value::as_str) == Some(value)
        });
        match found {
            Some((id, _)) => id.clone(),
            None => self.add(json!({"type": object_type, "value": value})),
        }
    }

    /// An `ipv4-addr` or `ipv6-addr`, by the address's form; `None` for text that is neither.
    pub fn ip(&mut self, address: &str) -> Option<String> {
        let kind = match address.parse::<std::net::IpAddr>().ok()? {
            std::net::IpAddr::V4(_) => "ipv4-addr",
            std::net::IpAddr::V6(_) => "ipv6-addr",
        };
        Some(self.valued(kind, address))
    }

    /// A `domain-name` (lower-cased, without a trailing dot); `None` for an empty name.
    pub fn domain(&mut self, name: &str) -> Option<String> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        (!name.is_empty()).then(|| self.valued("domain-name", &name))
    }

    /// An `email-addr`, from a bare address or a `"Name" <address>` form.
    pub fn email(&mut self, address: &str) -> Option<String> {
        let address = match (address.rfind('<'), address.rfind('>')) {
            (Some(open), Some(close)) if open < close => &address[open + 1..close],
            _ => address,
        };
        let address = address.trim().to_ascii_lowercase();
        (address.contains('@')).then(|| self.valued("email-addr", &address))
    }

    /// A `url`.
    pub fn url(&mut self, value: &str) -> String {
        self.valued("url", value)
    }

    /// The `network-traffic` between two endpoints; its properties beyond the references and
    /// ports are filled by the caller through [`EventBuilder::get_mut`].
    pub fn traffic(
        &mut self,
        src: Option<&str>,
        dst: Option<&str>,
        src_port: Option<u64>,
        dst_port: Option<u64>,
        protocols: &[&str],
    ) -> String {
        let mut t = Map::new();
        t.insert("type".into(), json!("network-traffic"));
        if let Some(id) = src.and_then(|a| self.ip(a)) {
            t.insert("src_ref".into(), json!(id));
        }
        if let Some(id) = dst.and_then(|a| self.ip(a)) {
            t.insert("dst_ref".into(), json!(id));
        }
        if let Some(p) = src_port {
            t.insert("src_port".into(), json!(p));
        }
        if let Some(p) = dst_port {
            t.insert("dst_port".into(), json!(p));
        }
        let protocols: Vec<String> = protocols
            .iter()
            .filter(|p| !p.is_empty() && **p != "-" && **p != "failed")
            .map(|p| p.to_ascii_lowercase())
            .collect();
        t.insert("protocols".into(), json!(protocols));
        self.add(Value::Object(t))
    }

    /// The object with this local id, to add properties to.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut Map<String, Value>> {
        self.event
            .objects
            .iter_mut()
            .find(|(i, _)| i == id)
            .and_then(|(_, o)| o.as_object_mut())
    }

    /// The event.
    pub fn finish(self) -> Event {
        self.event
    }
}

/// Sets `key` on `object` when `value` is present.
pub(crate) fn set(object: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        object.insert(key.to_string(), v);
    }
}
