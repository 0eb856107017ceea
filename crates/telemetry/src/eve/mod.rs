//! Suricata EVE JSON: one event per line, the application-layer record under its protocol's
//! key (`dns`, `http`, `tls`, `fileinfo`, `smtp`/`email`, `flow`/`netflow`). Alerts carry the
//! same records when Suricata logs metadata with them, so every record present is read, whatever
//! the `event_type`. Both DNS layouts are read: Suricata ≤ 6 (`rrname` on the record, `answers`
//! or `grouped`) and 7+ (`queries` and `answers` lists).

mod probe;

use crate::event::set;
use crate::sco::{stix_time, Certificate, Email, File, HttpRequest};
use crate::{parse_time, Atom, Decoder, Event, EventBuilder, Probed};
use serde_json::{json, Map, Value};

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

    fn probe_paths(&self) -> &'static [&'static str] {
        probe::PATHS
    }

    fn probe(
        &mut self,
        line: &str,
        wanted: &[bool],
        found: &mut dyn FnMut(usize, Atom<'_>),
    ) -> Probed {
        probe::probe(line, wanted, found)
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
    if let Some(t) = traffic {
        b.http_request(
            t,
            HttpRequest {
                method: text(http, "http_method"),
                value: path,
                version: text(http, "protocol"),
                host,
                user_agent: text(http, "http_user_agent"),
                referer: text(http, "http_refer"),
            },
        );
    }
}

fn tls(b: &mut EventBuilder, tls: &Map<String, Value>) {
    if let Some(sni) = text(tls, "sni") {
        b.domain(sni);
    }
    b.certificate(Certificate {
        subject: text(tls, "subject"),
        issuer: text(tls, "issuerdn"),
        serial: text(tls, "serial"),
        not_before: text(tls, "notbefore"),
        not_after: text(tls, "notafter"),
        fingerprint: text(tls, "fingerprint"),
    });
}

fn fileinfo(b: &mut EventBuilder, f: &Map<String, Value>) {
    b.file(File {
        name: text(f, "filename"),
        size: number(f, "size"),
        md5: text(f, "md5"),
        sha1: text(f, "sha1"),
        sha256: text(f, "sha256"),
        ..File::default()
    });
}

/// A field that holds one address or a list of them.
fn list<'a>(o: Option<&'a Map<String, Value>>, key: &str) -> Vec<&'a str> {
    match o.and_then(|o| o.get(key)) {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(s)) => vec![s.as_str()],
        _ => Vec::new(),
    }
}

fn email(
    b: &mut EventBuilder,
    smtp: Option<&Map<String, Value>>,
    mail: Option<&Map<String, Value>>,
) {
    let mut from = list(mail, "from");
    from.extend(list(smtp, "mail_from"));
    let mut to = list(mail, "to");
    to.extend(list(smtp, "rcpt_to"));
    b.email_message(Email {
        helo: smtp.and_then(|s| text(s, "helo")),
        from,
        to,
        cc: list(mail, "cc"),
        subject: mail.and_then(|m| text(m, "subject")),
    });
}
