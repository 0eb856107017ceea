//! Zeek logs: TSV with the `#separator`, `#set_separator`, `#empty_field`, `#unset_field`,
//! `#path` and `#fields` header Zeek writes (Bro 2 to Zeek 7), or JSON lines (`_path` names the
//! log). The log (`conn`, `dns`, `http`, `ssl`, `files`, `x509`, `smtp`) comes from `#path` or
//! `_path`, else from the file name the caller gives; other logs still give their connection's
//! addresses and ports.

use crate::event::set;
use crate::sco::{Certificate, Email, File, HttpRequest};
use crate::{parse_time, Decoder, Event, EventBuilder};
use serde_json::{json, Map, Value};

/// The Zeek decoder; it keeps the TSV header of the stream it reads.
#[derive(Clone, Debug, Default)]
pub struct Zeek {
    path: Option<String>,
    header: Option<Header>,
}

#[derive(Clone, Debug)]
struct Header {
    separator: String,
    set_separator: String,
    empty: String,
    unset: String,
    fields: Vec<String>,
    /// Whether each field is a container (`set[…]`, `vector[…]`), the only values split at
    /// the set separator: a certificate subject has commas of its own.
    containers: Vec<bool>,
}

impl Default for Header {
    fn default() -> Self {
        Header {
            separator: "\t".into(),
            set_separator: ",".into(),
            empty: "(empty)".into(),
            unset: "-".into(),
            fields: Vec::new(),
            containers: Vec::new(),
        }
    }
}

impl Zeek {
    /// A decoder for a log of this kind (`conn`, `dns`…) when its lines do not say.
    pub fn for_log(path: &str) -> Self {
        Zeek {
            path: Some(path.to_string()),
            header: None,
        }
    }

    /// A decoder for the file `name`, taking the log kind from it (`conn.log`, `dns.json`,
    /// `http.log.json`).
    pub fn for_file(name: &str) -> Self {
        let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
        let kind = base.split('.').next().unwrap_or(base);
        Self::for_log(kind)
    }

    fn directive(&mut self, line: &str) -> Result<(), String> {
        let body = &line[1..];
        if let Some(sep) = body.strip_prefix("separator ") {
            let header = self.header.get_or_insert_with(Header::default);
            header.separator = unescape(sep.trim());
            return Ok(());
        }
        let header = self.header.get_or_insert_with(Header::default);
        let (key, value) = body
            .split_once(header.separator.as_str())
            .unwrap_or((body, ""));
        match key {
            "set_separator" => header.set_separator = unescape(value),
            "empty_field" => header.empty = value.to_string(),
            "unset_field" => header.unset = value.to_string(),
            "path" => self.path = Some(value.to_string()),
            "fields" => {
                header.fields = value
                    .split(header.separator.as_str())
                    .map(str::to_string)
                    .collect()
            }
            "types" => {
                header.containers = value
                    .split(header.separator.as_str())
                    .map(|t| {
                        t.starts_with("set[") || t.starts_with("vector[") || t.starts_with("table[")
                    })
                    .collect()
            }
            _ => {}
        }
        Ok(())
    }

    fn tsv(&mut self, line: &str) -> Result<Map<String, Value>, String> {
        let header = self
            .header
            .as_ref()
            .filter(|h| !h.fields.is_empty())
            .ok_or("a TSV record before the #fields header that names its columns")?;
        let values: Vec<&str> = line.split(header.separator.as_str()).collect();
        if values.len() != header.fields.len() {
            return Err(format!(
                "{} columns, but the #fields header names {}",
                values.len(),
                header.fields.len()
            ));
        }
        let mut record = Map::new();
        for (i, (field, raw)) in header.fields.iter().zip(values).enumerate() {
            let container = header.containers.get(i).copied().unwrap_or(false);
            let value = if raw == header.unset {
                continue;
            } else if raw == header.empty {
                json!([])
            } else if container {
                json!(raw
                    .split(header.set_separator.as_str())
                    .map(unescape)
                    .collect::<Vec<_>>())
            } else {
                json!(unescape(raw))
            };
            record.insert(field.clone(), value);
        }
        Ok(record)
    }
}

/// Zeek's TSV writer escapes non-printable bytes as `\xHH` and a backslash as `\\`.
fn unescape(text: &str) -> String {
    if !text.contains('\\') {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 2..i + 4)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (
            bytes[i],
            bytes.get(i + 1),
            hex.and_then(|h| u8::from_str_radix(h, 16).ok()),
        ) {
            (b'\\', Some(b'x'), Some(b)) => {
                out.push(b);
                i += 4;
            }
            (b'\\', Some(b'\\'), _) => {
                out.push(b'\\');
                i += 2;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Decoder for Zeek {
    fn decode(&mut self, line: &str) -> Result<Option<Event>, String> {
        if line.starts_with('#') {
            self.directive(line)?;
            return Ok(None);
        }
        let record = if line.trim_start().starts_with('{') {
            let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
            match value {
                Value::Object(map) => map,
                _ => return Err("expected a JSON object (a Zeek record)".into()),
            }
        } else {
            self.tsv(line)?
        };
        let kind = record
            .get("_path")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| self.path.clone())
            .unwrap_or_default();
        Ok(Some(event(&kind, &record)))
    }
}

fn text<'a>(r: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    r.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn number(r: &Map<String, Value>, key: &str) -> Option<u64> {
    match r.get(key)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn list<'a>(r: &'a Map<String, Value>, key: &str) -> Vec<&'a str> {
    match r.get(key) {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(s)) if !s.is_empty() => vec![s.as_str()],
        _ => Vec::new(),
    }
}

fn time(r: &Map<String, Value>) -> Option<i64> {
    match r.get("ts")? {
        Value::String(s) => parse_time(s),
        Value::Number(n) => n.as_f64().map(|f| (f * 1e6).round() as i64),
        _ => None,
    }
}

fn event(kind: &str, r: &Map<String, Value>) -> Event {
    let mut b = EventBuilder::new(kind, time(r));
    let traffic = (r.contains_key("id.orig_h") || r.contains_key("id.resp_h")).then(|| {
        let service = list(r, "service");
        let mut protocols = vec![text(r, "proto").unwrap_or("")];
        protocols.extend(service.iter().flat_map(|s| s.split(',')));
        b.traffic(
            text(r, "id.orig_h"),
            text(r, "id.resp_h"),
            number(r, "id.orig_p"),
            number(r, "id.resp_p"),
            &protocols,
        )
    });
    match kind {
        "conn" => conn(&mut b, traffic.as_deref(), r),
        "dns" => dns(&mut b, r),
        "http" => http(&mut b, traffic.as_deref(), r),
        "ssl" => ssl(&mut b, r),
        "files" => files(&mut b, r),
        "x509" => x509(&mut b, r),
        "smtp" => smtp(&mut b, r),
        _ => {}
    }
    b.finish()
}

fn conn(b: &mut EventBuilder, traffic: Option<&str>, r: &Map<String, Value>) {
    let Some(t) = traffic.and_then(|t| b.get_mut(t)) else {
        return;
    };
    for (field, key) in [
        ("orig_bytes", "src_byte_count"),
        ("resp_bytes", "dst_byte_count"),
        ("orig_pkts", "src_packets"),
        ("resp_pkts", "dst_packets"),
    ] {
        set(t, key, number(r, field).map(|n| json!(n)));
    }
}

fn dns(b: &mut EventBuilder, r: &Map<String, Value>) {
    let Some(query) = text(r, "query").and_then(|q| b.domain(q)) else {
        return;
    };
    let resolved: Vec<String> = list(r, "answers")
        .into_iter()
        .filter_map(|a| {
            b.ip(a).or_else(|| {
                (a.contains('.') && !a.contains(' '))
                    .then(|| b.domain(a))
                    .flatten()
            })
        })
        .filter(|id| *id != query)
        .collect();
    if !resolved.is_empty() {
        if let Some(d) = b.get_mut(&query) {
            d.insert("resolves_to_refs".into(), json!(resolved));
        }
    }
}

fn http(b: &mut EventBuilder, traffic: Option<&str>, r: &Map<String, Value>) {
    let host = text(r, "host");
    if let Some(h) = host {
        if b.ip(h).is_none() {
            b.domain(h);
        }
    }
    let uri = text(r, "uri");
    if let (Some(h), Some(u)) = (host, uri) {
        b.url(&format!("http://{h}{u}"));
    }
    if let Some(t) = traffic {
        b.http_request(
            t,
            HttpRequest {
                method: text(r, "method"),
                value: uri,
                host,
                user_agent: text(r, "user_agent"),
                referer: text(r, "referrer"),
                ..HttpRequest::default()
            },
        );
    }
}

fn validity(r: &Map<String, Value>) -> (Option<&str>, Option<&str>) {
    (
        text(r, "certificate.not_valid_before"),
        text(r, "certificate.not_valid_after"),
    )
}

fn ssl(b: &mut EventBuilder, r: &Map<String, Value>) {
    if let Some(sni) = text(r, "server_name") {
        b.domain(sni);
    }
    let (not_before, not_after) = validity(r);
    b.certificate(Certificate {
        subject: text(r, "subject"),
        issuer: text(r, "issuer"),
        serial: None,
        not_before,
        not_after,
        fingerprint: list(r, "cert_chain_fps").first().copied(),
    });
}

fn x509(b: &mut EventBuilder, r: &Map<String, Value>) {
    let (not_before, not_after) = validity(r);
    b.certificate(Certificate {
        subject: text(r, "certificate.subject"),
        issuer: text(r, "certificate.issuer"),
        serial: text(r, "certificate.serial"),
        not_before,
        not_after,
        fingerprint: text(r, "fingerprint"),
    });
    for name in list(r, "san.dns") {
        b.domain(name);
    }
    for ip in list(r, "san.ip") {
        b.ip(ip);
    }
}

fn files(b: &mut EventBuilder, r: &Map<String, Value>) {
    for host in list(r, "tx_hosts").into_iter().chain(list(r, "rx_hosts")) {
        b.ip(host);
    }
    b.file(File {
        name: text(r, "filename"),
        mime_type: text(r, "mime_type"),
        size: number(r, "total_bytes").or_else(|| number(r, "seen_bytes")),
        md5: text(r, "md5"),
        sha1: text(r, "sha1"),
        sha256: text(r, "sha256"),
    });
}

fn smtp(b: &mut EventBuilder, r: &Map<String, Value>) {
    let mut to = list(r, "to");
    to.extend(list(r, "rcptto"));
    b.email_message(Email {
        helo: text(r, "helo"),
        from: text(r, "from")
            .into_iter()
            .chain(text(r, "mailfrom"))
            .collect(),
        to,
        subject: text(r, "subject"),
        ..Email::default()
    });
}
