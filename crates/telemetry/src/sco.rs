//! The cyber-observable objects every decoder builds the same way, whatever the sensor's field
//! names: an HTTP request on a flow, a certificate, a file, an e-mail message. Decoders read
//! their own fields and hand the values over; the STIX shape is decided here once.

use crate::event::set;
use crate::{parse_time, EventBuilder};
use serde_json::{json, Map, Value};
use watchpost_stix::Timestamp;

/// A sensor time as a STIX timestamp (a time without a zone is taken as UTC).
pub(crate) fn stix_time(text: &str) -> Option<Value> {
    let micros = parse_time(text).or_else(|| parse_time(&format!("{text}Z")))?;
    Some(json!(Timestamp::from_unix_micros(micros).to_string()))
}

/// Hex digits of a fingerprint written with colons (`a1:b2:…`).
fn hex(fingerprint: &str) -> String {
    fingerprint
        .chars()
        .filter(|c| *c != ':')
        .collect::<String>()
        .to_ascii_lowercase()
}

/// The hash algorithm a hex digest's length implies.
fn hash_name(digest: &str) -> Option<&'static str> {
    match digest.len() {
        32 => Some("MD5"),
        40 => Some("SHA-1"),
        64 => Some("SHA-256"),
        _ => None,
    }
}

fn text_value(v: Option<&str>) -> Option<Value> {
    v.map(|v| json!(v))
}

/// An HTTP request, as the `http-request-ext` of its `network-traffic`.
#[derive(Default)]
pub(crate) struct HttpRequest<'a> {
    pub method: Option<&'a str>,
    pub value: Option<&'a str>,
    pub version: Option<&'a str>,
    pub host: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub referer: Option<&'a str>,
}

/// An X.509 certificate; validity times as the sensor wrote them.
#[derive(Default)]
pub(crate) struct Certificate<'a> {
    pub subject: Option<&'a str>,
    pub issuer: Option<&'a str>,
    pub serial: Option<&'a str>,
    pub not_before: Option<&'a str>,
    pub not_after: Option<&'a str>,
    pub fingerprint: Option<&'a str>,
}

/// A file seen on the wire.
#[derive(Default)]
pub(crate) struct File<'a> {
    pub name: Option<&'a str>,
    pub mime_type: Option<&'a str>,
    pub size: Option<u64>,
    pub md5: Option<&'a str>,
    pub sha1: Option<&'a str>,
    pub sha256: Option<&'a str>,
}

/// An e-mail message: the HELO name, candidate senders (the first that is an address wins),
/// recipients, copies and subject.
#[derive(Default)]
pub(crate) struct Email<'a> {
    pub helo: Option<&'a str>,
    pub from: Vec<&'a str>,
    pub to: Vec<&'a str>,
    pub cc: Vec<&'a str>,
    pub subject: Option<&'a str>,
}

impl EventBuilder {
    /// Adds an HTTP request to the `network-traffic` with local id `traffic`.
    pub(crate) fn http_request(&mut self, traffic: &str, r: HttpRequest<'_>) {
        let Some(t) = self.get_mut(traffic) else {
            return;
        };
        let lower = |v: Option<&str>| v.map(|v| json!(v.to_ascii_lowercase()));
        let mut ext = Map::new();
        set(&mut ext, "request_method", lower(r.method));
        set(&mut ext, "request_value", text_value(r.value));
        set(&mut ext, "request_version", lower(r.version));
        let mut headers = Map::new();
        set(&mut headers, "Host", text_value(r.host));
        set(&mut headers, "User-Agent", text_value(r.user_agent));
        set(&mut headers, "Referer", text_value(r.referer));
        if !headers.is_empty() {
            ext.insert("request_header".into(), Value::Object(headers));
        }
        if !ext.is_empty() {
            let exts = t.entry("extensions").or_insert_with(|| json!({}));
            if let Some(exts) = exts.as_object_mut() {
                exts.insert("http-request-ext".into(), Value::Object(ext));
            }
        }
    }

    /// Adds an `x509-certificate` when anything is known of it.
    pub(crate) fn certificate(&mut self, c: Certificate<'_>) {
        let mut cert = Map::new();
        set(&mut cert, "subject", text_value(c.subject));
        set(&mut cert, "issuer", text_value(c.issuer));
        set(&mut cert, "serial_number", text_value(c.serial));
        set(
            &mut cert,
            "validity_not_before",
            c.not_before.and_then(stix_time),
        );
        set(
            &mut cert,
            "validity_not_after",
            c.not_after.and_then(stix_time),
        );
        if let Some(fp) = c.fingerprint.map(hex) {
            if let Some(name) = hash_name(&fp) {
                cert.insert("hashes".into(), json!({ name: fp }));
            }
        }
        if !cert.is_empty() {
            cert.insert("type".into(), json!("x509-certificate"));
            self.add(Value::Object(cert));
        }
    }

    /// Adds a `file` when anything is known of it.
    pub(crate) fn file(&mut self, f: File<'_>) {
        let mut file = Map::new();
        set(&mut file, "name", text_value(f.name));
        set(&mut file, "mime_type", text_value(f.mime_type));
        set(&mut file, "size", f.size.map(|n| json!(n)));
        let mut hashes = Map::new();
        for (name, digest) in [("MD5", f.md5), ("SHA-1", f.sha1), ("SHA-256", f.sha256)] {
            set(
                &mut hashes,
                name,
                digest.map(|v| json!(v.to_ascii_lowercase())),
            );
        }
        if !hashes.is_empty() {
            file.insert("hashes".into(), Value::Object(hashes));
        }
        if !file.is_empty() {
            file.insert("type".into(), json!("file"));
            self.add(Value::Object(file));
        }
    }

    /// Adds an `email-message` with its `email-addr` objects (and the HELO `domain-name`).
    pub(crate) fn email_message(&mut self, e: Email<'_>) {
        if let Some(helo) = e.helo {
            self.domain(helo);
        }
        let mut message = Map::new();
        message.insert("type".into(), json!("email-message"));
        message.insert("is_multipart".into(), json!(false));
        let from = e.from.into_iter().find_map(|a| self.email(a));
        set(&mut message, "from_ref", from.map(|id| json!(id)));
        for (key, list) in [("to_refs", e.to), ("cc_refs", e.cc)] {
            let refs: Vec<String> = list.into_iter().filter_map(|a| self.email(a)).collect();
            if !refs.is_empty() {
                message.insert(key.into(), json!(refs));
            }
        }
        set(&mut message, "subject", text_value(e.subject));
        self.add(Value::Object(message));
    }
}
