//! Suricata EVE JSON: one event per line, the application-layer record under its protocol's
//! key (`dns`, `http`, `tls`, `fileinfo`, `smtp`/`email`, `flow`/`netflow`). Alerts carry the
//! same records when Suricata logs metadata with them, so every record present is read, whatever
//! the `event_type`. Both DNS layouts are read: Suricata ≤ 6 (`rrname` on the record, `answers`
//! or `grouped`) and 7+ (`queries` and `answers` lists).

use crate::event::set;
use crate::{parse_time, Decoder, Event, EventBuilder};
use serde_json::{json, Map, Value};
use watchpost_stix::Timestamp;

/// Event types that describe the sensor, not the network.
const NOT_TRAFFIC: [&str; 2] = ["stats", "engine"];

/// The EVE decoder.
#[derive(Clone, Copy, Debug, Default)]
pub struct Eve;

fn text<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    o.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn number(o: &Map<String, Value>, key: &str) -> Option<u64> {
    o.get(key).and_then(Value::as_u64)
}

fn record<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a Map<String, Value>> {
    o.get(key).and_then(Value::as_object)
}

/// A sensor time as a STIX timestamp.
pub(crate) fn stix_time(text: &str) -> Option<Value> {
    let micros = parse_time(text).or_else(|| parse_time(&format!("{text}Z")))?;
    Some(json!(Timestamp::from_unix_micros(micros).to_string()))
}

impl Decoder for Eve {
    fn decode(&mut self, line: &str) -> Result<Option<Event>, String> {
        let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
        let o = value
            .as_object()
            .ok_or("expected a JSON object (an EVE event)")?;
        let kind = text(o, "event_type").ok_or("no event_type: not an EVE event")?;
        if NOT_TRAFFIC.contains(&kind) {
            return Ok(None);
        }
        let time = match o.get("timestamp") {
            Some(Value::String(t)) => Some(
                parse_time(t).ok_or_else(|| format!("timestamp {t:?} is not an RFC 3339 time"))?,
            ),
            _ => None,
        };
        let mut b = EventBuilder::new(kind, time);
        let traffic = (o.contains_key("src_ip") || o.contains_key("dest_ip")).then(|| {
            let protocols = [
                text(o, "proto").unwrap_or(""),
                text(o, "app_proto").unwrap_or(""),
            ];
            b.traffic(
                text(o, "src_ip"),
                text(o, "dest_ip"),
                number(o, "src_port"),
                number(o, "dest_port"),
                &protocols,
            )
        });
        if let Some(t) = &traffic {
            flow(&mut b, t, o);
        }
        if let Some(dns) = record(o, "dns") {
            self::dns(&mut b, dns);
        }
        if let Some(http) = record(o, "http") {
            self::http(&mut b, traffic.as_deref(), http, number(o, "dest_port"));
        }
        if let Some(tls) = record(o, "tls") {
            self::tls(&mut b, tls);
        }
        if let Some(file) = record(o, "fileinfo") {
            fileinfo(&mut b, file);
        }
        if record(o, "smtp").is_some() || record(o, "email").is_some() {
            email(&mut b, record(o, "smtp"), record(o, "email"));
        }
        Ok(Some(b.finish()))
    }
}

fn flow(b: &mut EventBuilder, traffic: &str, o: &Map<String, Value>) {
    let (flow, netflow) = (record(o, "flow"), record(o, "netflow"));
    let Some(t) = b.get_mut(traffic) else { return };
    if let Some(f) = flow {
        set(t, "src_packets", f.get("pkts_toserver").cloned());
        set(t, "dst_packets", f.get("pkts_toclient").cloned());
        set(t, "src_byte_count", f.get("bytes_toserver").cloned());
        set(t, "dst_byte_count", f.get("bytes_toclient").cloned());
    }
    if let Some(f) = netflow {
        set(t, "src_packets", f.get("pkts").cloned());
        set(t, "src_byte_count", f.get("bytes").cloned());
    }
    for f in [flow, netflow].into_iter().flatten() {
        set(t, "start", text(f, "start").and_then(stix_time));
        set(t, "end", text(f, "end").and_then(stix_time));
    }
}

fn dns(b: &mut EventBuilder, dns: &Map<String, Value>) {
    let mut names = Vec::new();
    names.extend(text(dns, "rrname").map(str::to_string));
    for list in ["queries", "answers", "authorities"] {
        for entry in dns
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            names.extend(
                entry
                    .get("rrname")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            );
        }
    }
    let Some(query) = names.first().cloned() else {
        return;
    };
    let query_id = b.domain(&query);
    let mut resolved = Vec::new();
    let answers = dns
        .get("answers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    let mut pairs: Vec<(String, String)> = answers
        .filter_map(|a| {
            Some((
                a.get("rrtype")?.as_str()?.to_string(),
                a.get("rdata")?.as_str()?.to_string(),
            ))
        })
        .collect();
    if let (Some("answer"), Some(rrtype), Some(rdata)) =
        (text(dns, "type"), text(dns, "rrtype"), text(dns, "rdata"))
    {
        pairs.push((rrtype.to_string(), rdata.to_string()));
    }
    for (rrtype, list) in dns
        .get("grouped")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        for rdata in list
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            pairs.push((rrtype.clone(), rdata.to_string()));
        }
    }
    for (rrtype, rdata) in pairs {
        let id = match rrtype.as_str() {
            "A" | "AAAA" => b.ip(&rdata),
            "CNAME" | "NS" | "PTR" | "MX" => b.domain(&rdata),
            _ => None,
        };
        resolved.extend(id);
    }
    for name in names.iter().skip(1) {
        b.domain(name);
    }
    if let (Some(q), false) = (query_id, resolved.is_empty()) {
        if let Some(d) = b.get_mut(&q) {
            d.insert("resolves_to_refs".into(), json!(resolved));
        }
    }
}

fn http(b: &mut EventBuilder, traffic: Option<&str>, http: &Map<String, Value>, port: Option<u64>) {
    let host = text(http, "hostname");
    if let Some(h) = host {
        if b.ip(h).is_none() {
            b.domain(h);
        }
    }
    let path = text(http, "url");
    if let Some(p) = path {
        let url = if p.starts_with("http://") || p.starts_with("https://") {
            p.to_string()
        } else {
            let scheme = if port == Some(443) { "https" } else { "http" };
            format!("{scheme}://{}{p}", host.unwrap_or(""))
        };
        b.url(&url);
    }
    let Some(t) = traffic.and_then(|t| b.get_mut(t)) else {
        return;
    };
    let mut ext = Map::new();
    set(
        &mut ext,
        "request_method",
        text(http, "http_method").map(|m| json!(m.to_ascii_lowercase())),
    );
    set(&mut ext, "request_value", path.map(|p| json!(p)));
    set(
        &mut ext,
        "request_version",
        text(http, "protocol").map(|v| json!(v.to_ascii_lowercase())),
    );
    let mut headers = Map::new();
    set(&mut headers, "Host", host.map(|h| json!(h)));
    set(
        &mut headers,
        "User-Agent",
        text(http, "http_user_agent").map(|v| json!(v)),
    );
    set(
        &mut headers,
        "Referer",
        text(http, "http_refer").map(|v| json!(v)),
    );
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

/// Hex digits of a fingerprint written with colons (`a1:b2:…`).
pub(crate) fn hex(fingerprint: &str) -> String {
    fingerprint
        .chars()
        .filter(|c| *c != ':')
        .collect::<String>()
        .to_ascii_lowercase()
}

/// The hash algorithm a hex digest's length implies.
pub(crate) fn hash_name(digest: &str) -> Option<&'static str> {
    match digest.len() {
        32 => Some("MD5"),
        40 => Some("SHA-1"),
        64 => Some("SHA-256"),
        _ => None,
    }
}

fn tls(b: &mut EventBuilder, tls: &Map<String, Value>) {
    if let Some(sni) = text(tls, "sni") {
        b.domain(sni);
    }
    let mut cert = Map::new();
    set(&mut cert, "subject", text(tls, "subject").map(|v| json!(v)));
    set(&mut cert, "issuer", text(tls, "issuerdn").map(|v| json!(v)));
    set(
        &mut cert,
        "serial_number",
        text(tls, "serial").map(|v| json!(v)),
    );
    set(
        &mut cert,
        "validity_not_before",
        text(tls, "notbefore").and_then(stix_time),
    );
    set(
        &mut cert,
        "validity_not_after",
        text(tls, "notafter").and_then(stix_time),
    );
    if let Some(fp) = text(tls, "fingerprint").map(hex) {
        if let Some(name) = hash_name(&fp) {
            cert.insert("hashes".into(), json!({ name: fp }));
        }
    }
    if !cert.is_empty() {
        cert.insert("type".into(), json!("x509-certificate"));
        b.add(Value::Object(cert));
    }
}

fn fileinfo(b: &mut EventBuilder, f: &Map<String, Value>) {
    let mut file = Map::new();
    file.insert("type".into(), json!("file"));
    set(&mut file, "name", text(f, "filename").map(|v| json!(v)));
    set(
        &mut file,
        "size",
        f.get("size").filter(|v| v.is_u64()).cloned(),
    );
    let mut hashes = Map::new();
    for (key, name) in [("md5", "MD5"), ("sha1", "SHA-1"), ("sha256", "SHA-256")] {
        set(
            &mut hashes,
            name,
            text(f, key).map(|v| json!(v.to_ascii_lowercase())),
        );
    }
    if !hashes.is_empty() {
        file.insert("hashes".into(), Value::Object(hashes));
    }
    if file.len() > 1 {
        b.add(Value::Object(file));
    }
}

fn email(
    b: &mut EventBuilder,
    smtp: Option<&Map<String, Value>>,
    mail: Option<&Map<String, Value>>,
) {
    let list = |o: Option<&Map<String, Value>>, key: &str| -> Vec<String> {
        match o.and_then(|o| o.get(key)) {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        }
    };
    if let Some(helo) = smtp.and_then(|s| text(s, "helo")) {
        b.domain(helo);
    }
    let mut message = Map::new();
    message.insert("type".into(), json!("email-message"));
    message.insert("is_multipart".into(), json!(false));
    let from = list(mail, "from")
        .into_iter()
        .chain(list(smtp, "mail_from"))
        .find_map(|a| b.email(&a));
    set(&mut message, "from_ref", from.map(|id| json!(id)));
    let to: Vec<String> = list(mail, "to")
        .into_iter()
        .chain(list(smtp, "rcpt_to"))
        .filter_map(|a| b.email(&a))
        .collect();
    if !to.is_empty() {
        message.insert("to_refs".into(), json!(to));
    }
    let cc: Vec<String> = list(mail, "cc")
        .into_iter()
        .filter_map(|a| b.email(&a))
        .collect();
    if !cc.is_empty() {
        message.insert("cc_refs".into(), json!(cc));
    }
    set(
        &mut message,
        "subject",
        mail.and_then(|m| text(m, "subject")).map(|v| json!(v)),
    );
    b.add(Value::Object(message));
}
