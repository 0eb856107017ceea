//! The fast path of the EVE decoder: the values an event shows at the paths indicators
//! name, read from typed, borrowed fields without building the event's objects.
//!
//! Every rule here mirrors one of the full decoder ([`super`]) and the shared builders
//! (`crate::sco`, `crate::event`): the same fields, the same normal forms (lower-cased names,
//! hex digests), the same conditions (a request belongs to a flow only when the event has an
//! address). `tests/probe.rs` holds the two to each other on the sample files and on
//! generated events: same verdict, and the same values at every path. A line whose fields do
//! not have the types read here is handed back to the full decoder ([`Probed::Decode`]),
//! which is never wrong, only slower.
//!
//! One divergence is accepted: a number too large for a double (`1e400`) in a field this
//! path skips is not read, so such a line counts as an event here while the full decoder
//! quarantines it; it is quarantined all the same when it is a candidate (decoded in full).
//! Catching it would mean reading every number of every line; Suricata writes none.

use super::NOT_TRAFFIC;
use crate::stream::{Atom, Probed};
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

/// The paths [`probe`] reads, in the order of its path indexes.
pub(super) const PATHS: &[&str] = &[
    "ipv4-addr:value",
    "ipv6-addr:value",
    "domain-name:value",
    "domain-name:resolves_to_refs[*].value",
    "url:value",
    "network-traffic:src_ref.value",
    "network-traffic:dst_ref.value",
    "network-traffic:src_port",
    "network-traffic:dst_port",
    "network-traffic:protocols[*]",
    "network-traffic:extensions.http-request-ext.request_method",
    "network-traffic:extensions.http-request-ext.request_value",
    "network-traffic:extensions.http-request-ext.request_version",
    "network-traffic:extensions.http-request-ext.request_header.Host",
    "network-traffic:extensions.http-request-ext.request_header.User-Agent",
    "network-traffic:extensions.http-request-ext.request_header.Referer",
    "file:name",
    "file:size",
    "file:hashes.MD5",
    "file:hashes.SHA-1",
    "file:hashes.SHA-256",
    "x509-certificate:subject",
    "x509-certificate:issuer",
    "x509-certificate:serial_number",
    "x509-certificate:hashes.MD5",
    "x509-certificate:hashes.SHA-1",
    "x509-certificate:hashes.SHA-256",
    "email-addr:value",
    "email-message:from_ref.value",
    "email-message:to_refs[*].value",
    "email-message:cc_refs[*].value",
    "email-message:subject",
];

const IPV4: usize = 0;
const IPV6: usize = 1;
const DOMAIN: usize = 2;
const RESOLVES_TO: usize = 3;
const URL: usize = 4;
const SRC_REF: usize = 5;
const DST_REF: usize = 6;
const SRC_PORT: usize = 7;
const DST_PORT: usize = 8;
const PROTOCOLS: usize = 9;
const HTTP_METHOD: usize = 10;
const HTTP_VALUE: usize = 11;
const HTTP_VERSION: usize = 12;
const HTTP_HOST: usize = 13;
const HTTP_USER_AGENT: usize = 14;
const HTTP_REFERER: usize = 15;
const FILE_NAME: usize = 16;
const FILE_SIZE: usize = 17;
const FILE_HASHES: usize = 18;
const CERT_SUBJECT: usize = 21;
const CERT_ISSUER: usize = 22;
const CERT_SERIAL: usize = 23;
const CERT_HASHES: usize = 24;
const EMAIL_ADDR: usize = 27;
const EMAIL_FROM: usize = 28;
const EMAIL_TO: usize = 29;
const EMAIL_CC: usize = 30;
const EMAIL_SUBJECT: usize = 31;

/// A field present in the line, and its text when it is a string (as `Value::as_str` sees
/// it; other types are skipped over, not rejected). Text is borrowed from the line: a string
/// with escapes fails the fast path, and its (rare) line goes to the full decoder. Small on
/// purpose: the line's struct is built and moved for every line.
#[derive(Default, Debug)]
struct Str<'a> {
    present: bool,
    text: Option<&'a str>,
}

impl<'a> Str<'a> {
    /// The text, when it is not empty (the full decoder's `text`).
    fn text(&self) -> Option<&'a str> {
        self.text.filter(|s| !s.is_empty())
    }

    /// The text, empty or not (`Value::as_str`).
    fn raw(&self) -> Option<&'a str> {
        self.text
    }
}

struct StrVisitor;

impl<'de> Visitor<'de> for StrVisitor {
    type Value = Option<&'de str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value, strings without escapes")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(v))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Str {
            present: true,
            text: d.deserialize_any(StrVisitor)?,
        })
    }
}

/// A number as `Value::as_u64` sees it: other types are absent.
#[derive(Default, Debug, Clone, Copy)]
struct Num(Option<u64>);

struct NumVisitor;

impl<'de> Visitor<'de> for NumVisitor {
    type Value = Option<u64>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(u64::try_from(v).ok())
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumVisitor).map(Num)
    }
}

/// A field that holds one string or a list of them (the full decoder's `list`).
#[derive(Default, Debug)]
struct List<'a>(Vec<&'a str>);

impl<'de: 'a, 'a> Deserialize<'de> for List<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = Vec<&'de str>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a list")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<Str<'de>>()? {
                    out.extend(s.text);
                }
                Ok(out)
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(vec![v])
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Vec::new())
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Vec::new())
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Vec::new())
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Vec::new())
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Vec::new())
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Vec::new())
            }
        }
        d.deserialize_any(ListVisitor).map(List)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct EveLine<'a> {
    #[serde(borrow)]
    event_type: Str<'a>,
    #[serde(borrow)]
    timestamp: Str<'a>,
    #[serde(borrow)]
    src_ip: Str<'a>,
    #[serde(borrow)]
    dest_ip: Str<'a>,
    src_port: Num,
    dest_port: Num,
    #[serde(borrow)]
    proto: Str<'a>,
    #[serde(borrow)]
    app_proto: Str<'a>,
    // Boxed: a line has one or two of these, and the struct is moved whole.
    #[serde(borrow)]
    dns: Option<Box<Dns<'a>>>,
    #[serde(borrow)]
    http: Option<Box<Http<'a>>>,
    #[serde(borrow)]
    tls: Option<Box<Tls<'a>>>,
    #[serde(borrow)]
    fileinfo: Option<Box<FileInfo<'a>>>,
    #[serde(borrow)]
    smtp: Option<Box<Smtp<'a>>>,
    #[serde(borrow)]
    email: Option<Box<Mail<'a>>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Dns<'a> {
    #[serde(borrow)]
    rrname: Str<'a>,
    #[serde(borrow, rename = "type")]
    kind: Str<'a>,
    #[serde(borrow)]
    rrtype: Str<'a>,
    #[serde(borrow)]
    rdata: Str<'a>,
    #[serde(borrow)]
    queries: Option<Vec<Record<'a>>>,
    #[serde(borrow)]
    answers: Option<Vec<Record<'a>>>,
    #[serde(borrow)]
    authorities: Option<Vec<Record<'a>>>,
    #[serde(borrow)]
    grouped: Option<BTreeMap<&'a str, Vec<Str<'a>>>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Record<'a> {
    #[serde(borrow)]
    rrname: Str<'a>,
    #[serde(borrow)]
    rrtype: Str<'a>,
    #[serde(borrow)]
    rdata: Str<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Http<'a> {
    #[serde(borrow)]
    hostname: Str<'a>,
    #[serde(borrow)]
    url: Str<'a>,
    #[serde(borrow)]
    http_method: Str<'a>,
    #[serde(borrow)]
    protocol: Str<'a>,
    #[serde(borrow)]
    http_user_agent: Str<'a>,
    #[serde(borrow)]
    http_refer: Str<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Tls<'a> {
    #[serde(borrow)]
    sni: Str<'a>,
    #[serde(borrow)]
    subject: Str<'a>,
    #[serde(borrow)]
    issuerdn: Str<'a>,
    #[serde(borrow)]
    serial: Str<'a>,
    #[serde(borrow)]
    fingerprint: Str<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct FileInfo<'a> {
    #[serde(borrow)]
    filename: Str<'a>,
    size: Num,
    #[serde(borrow)]
    md5: Str<'a>,
    #[serde(borrow)]
    sha1: Str<'a>,
    #[serde(borrow)]
    sha256: Str<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Smtp<'a> {
    #[serde(borrow)]
    helo: Str<'a>,
    #[serde(borrow)]
    mail_from: List<'a>,
    #[serde(borrow)]
    rcpt_to: List<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Mail<'a> {
    #[serde(borrow)]
    from: List<'a>,
    #[serde(borrow)]
    to: List<'a>,
    #[serde(borrow)]
    cc: List<'a>,
    #[serde(borrow)]
    subject: Str<'a>,
}

/// Hands values to the caller's `found`, for wanted paths only, so that work a path needs
/// (a URL put together, a name lower-cased) is done only when some indicator reads it.
struct Out<'w, 'f> {
    wanted: &'w [bool],
    found: &'f mut dyn FnMut(usize, Atom<'_>),
}

impl Out<'_, '_> {
    fn wants(&self, path: usize) -> bool {
        self.wanted.get(path) == Some(&true)
    }

    fn text(&mut self, path: usize, value: &str) {
        if self.wants(path) {
            (self.found)(path, Atom::Str(value));
        }
    }

    fn int(&mut self, path: usize, value: u64) {
        if self.wants(path) {
            (self.found)(path, Atom::Int(value));
        }
    }

    /// An address as `EventBuilder::ip` keeps it; whether it is one.
    fn ip(&mut self, address: &str, also: Option<usize>) -> bool {
        let path = if watchpost_stix::address::dotted_quad(address).is_some() {
            IPV4
        } else {
            match address.parse::<std::net::IpAddr>() {
                Ok(std::net::IpAddr::V4(_)) => IPV4,
                Ok(std::net::IpAddr::V6(_)) => IPV6,
                Err(_) => return false,
            }
        };
        self.text(path, address);
        if let Some(p) = also {
            self.text(p, address);
        }
        true
    }

    /// A name as `EventBuilder::domain` keeps it.
    fn domain(&mut self, name: &str, also: Option<usize>) {
        if !self.wants(DOMAIN) && !also.is_some_and(|p| self.wants(p)) {
            return;
        }
        let name = lower(name.trim_end_matches('.'));
        if !name.is_empty() {
            self.text(DOMAIN, &name);
            if let Some(p) = also {
                self.text(p, &name);
            }
        }
    }

    /// An address as `EventBuilder::email` keeps it; whether it is one.
    fn email(&mut self, address: &str, also: usize) -> bool {
        let address = match (address.rfind('<'), address.rfind('>')) {
            (Some(open), Some(close)) if open < close => &address[open + 1..close],
            _ => address,
        };
        if !address.contains('@') {
            return false;
        }
        let address = lower(address.trim());
        self.text(EMAIL_ADDR, &address);
        self.text(also, &address);
        true
    }
}

fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// The EVE fast path (see the module comment).
pub(super) fn probe(line: &str, wanted: &[bool], found: &mut dyn FnMut(usize, Atom<'_>)) -> Probed {
    // A struct also deserializes from a JSON array; the full decoder wants an object.
    if !line.trim_start().starts_with('{') {
        return Probed::Decode;
    }
    let Ok(e) = serde_json::from_str::<EveLine>(line) else {
        return Probed::Decode;
    };
    let Some(kind) = e.event_type.text() else {
        return Probed::Decode;
    };
    if NOT_TRAFFIC.contains(&kind) {
        return Probed::NotEvent;
    }
    if let Some(t) = e.timestamp.raw() {
        if crate::parse_time(t).is_none() {
            return Probed::Decode;
        }
    }
    let mut out = Out { wanted, found };
    let traffic = e.src_ip.present || e.dest_ip.present;
    if traffic {
        self::traffic(&mut out, &e);
    }
    if let Some(dns) = &e.dns {
        self::dns(&mut out, dns);
    }
    if let Some(http) = &e.http {
        self::http(&mut out, http, traffic, e.dest_port.0);
    }
    if let Some(tls) = &e.tls {
        self::tls(&mut out, tls);
    }
    if let Some(f) = &e.fileinfo {
        fileinfo(&mut out, f);
    }
    if e.smtp.is_some() || e.email.is_some() {
        email(&mut out, e.smtp.as_deref(), e.email.as_deref());
    }
    Probed::Event
}

fn traffic(out: &mut Out, e: &EveLine) {
    if let Some(a) = e.src_ip.text() {
        out.ip(a, Some(SRC_REF));
    }
    if let Some(a) = e.dest_ip.text() {
        out.ip(a, Some(DST_REF));
    }
    if let Some(p) = e.src_port.0 {
        out.int(SRC_PORT, p);
    }
    if let Some(p) = e.dest_port.0 {
        out.int(DST_PORT, p);
    }
    if out.wants(PROTOCOLS) {
        for p in [e.proto.text(), e.app_proto.text()].into_iter().flatten() {
            if p != "-" && p != "failed" {
                out.text(PROTOCOLS, &lower(p));
            }
        }
    }
}

fn dns(out: &mut Out, dns: &Dns) {
    let lists = [&dns.queries, &dns.answers, &dns.authorities];
    let listed = lists.iter().flat_map(|l| l.iter().flatten());
    let names: Vec<&str> = dns
        .rrname
        .text()
        .into_iter()
        .chain(listed.filter_map(|r| r.rrname.raw()))
        .collect();
    if names.is_empty() {
        return;
    }
    for name in &names {
        out.domain(name, None);
    }
    let mut pairs: Vec<(&str, &str)> = dns
        .answers
        .iter()
        .flatten()
        .filter_map(|a| Some((a.rrtype.raw()?, a.rdata.raw()?)))
        .collect();
    if let (Some("answer"), Some(rrtype), Some(rdata)) =
        (dns.kind.text(), dns.rrtype.text(), dns.rdata.text())
    {
        pairs.push((rrtype, rdata));
    }
    for (rrtype, list) in dns.grouped.iter().flatten() {
        pairs.extend(list.iter().filter_map(|r| Some((*rrtype, r.raw()?))));
    }
    // The query's `resolves_to_refs` exist only when the query name is a domain name.
    let query_named = !names[0].trim_end_matches('.').is_empty();
    let resolves = query_named.then_some(RESOLVES_TO);
    for (rrtype, rdata) in pairs {
        match rrtype {
            "A" | "AAAA" => {
                out.ip(rdata, resolves);
            }
            "CNAME" | "NS" | "PTR" | "MX" => out.domain(rdata, resolves),
            _ => {}
        }
    }
}

fn http(out: &mut Out, http: &Http, traffic: bool, port: Option<u64>) {
    let host = http.hostname.text();
    if let Some(h) = host {
        if !out.ip(h, None) {
            out.domain(h, None);
        }
    }
    let path = http.url.text();
    if let (Some(p), true) = (path, out.wants(URL)) {
        if p.starts_with("http://") || p.starts_with("https://") {
            out.text(URL, p);
        } else {
            let scheme = if port == Some(443) { "https" } else { "http" };
            out.text(URL, &format!("{scheme}://{}{p}", host.unwrap_or("")));
        }
    }
    if !traffic {
        return;
    }
    if let Some(m) = http.http_method.text() {
        out.text(HTTP_METHOD, &lower(m));
    }
    if let Some(p) = path {
        out.text(HTTP_VALUE, p);
    }
    if let Some(v) = http.protocol.text() {
        out.text(HTTP_VERSION, &lower(v));
    }
    for (path, value) in [
        (HTTP_HOST, host),
        (HTTP_USER_AGENT, http.http_user_agent.text()),
        (HTTP_REFERER, http.http_refer.text()),
    ] {
        if let Some(v) = value {
            out.text(path, v);
        }
    }
}

fn tls(out: &mut Out, tls: &Tls) {
    if let Some(sni) = tls.sni.text() {
        out.domain(sni, None);
    }
    for (path, value) in [
        (CERT_SUBJECT, tls.subject.text()),
        (CERT_ISSUER, tls.issuerdn.text()),
        (CERT_SERIAL, tls.serial.text()),
    ] {
        if let Some(v) = value {
            out.text(path, v);
        }
    }
    if let Some(fp) = tls.fingerprint.text() {
        let hex: String = fp.chars().filter(|c| *c != ':').collect();
        if let Some(i) = hash_index(&hex) {
            out.text(CERT_HASHES + i, &hex.to_ascii_lowercase());
        }
    }
}

/// MD5, SHA-1 or SHA-256 (0, 1, 2) by a hex digest's length, as `sco::hash_name` decides.
fn hash_index(digest: &str) -> Option<usize> {
    match digest.len() {
        32 => Some(0),
        40 => Some(1),
        64 => Some(2),
        _ => None,
    }
}

fn fileinfo(out: &mut Out, f: &FileInfo) {
    if let Some(n) = f.filename.text() {
        out.text(FILE_NAME, n);
    }
    if let Some(s) = f.size.0 {
        out.int(FILE_SIZE, s);
    }
    for (i, digest) in [f.md5.text(), f.sha1.text(), f.sha256.text()]
        .into_iter()
        .enumerate()
    {
        if let Some(d) = digest {
            out.text(FILE_HASHES + i, &lower(d));
        }
    }
}

fn email(out: &mut Out, smtp: Option<&Smtp>, mail: Option<&Mail>) {
    if let Some(helo) = smtp.and_then(|s| s.helo.text()) {
        out.domain(helo, None);
    }
    let from = mail
        .into_iter()
        .flat_map(|m| m.from.0.iter())
        .chain(smtp.into_iter().flat_map(|s| s.mail_from.0.iter()));
    for address in from {
        if out.email(address, EMAIL_FROM) {
            break;
        }
    }
    let to = mail
        .into_iter()
        .flat_map(|m| m.to.0.iter())
        .chain(smtp.into_iter().flat_map(|s| s.rcpt_to.0.iter()));
    for address in to {
        out.email(address, EMAIL_TO);
    }
    for address in mail.into_iter().flat_map(|m| m.cc.0.iter()) {
        out.email(address, EMAIL_CC);
    }
    if let Some(s) = mail.and_then(|m| m.subject.text()) {
        out.text(EMAIL_SUBJECT, s);
    }
}
