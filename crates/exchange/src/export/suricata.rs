//! Suricata (7): datasets and hash lists the rules file loads, and the rules.
//!
//! - addresses: a dataset of type `ip` (`watchpost-ip.lst`), matched on `ip.src` and `ip.dst`;
//!   networks, which datasets cannot hold, go into the address groups of rules;
//! - domains: a `string` dataset (`watchpost-domain.lst`, base64 lines as Suricata reads
//!   them) matched on `dns.query`, `tls.sni` and `http.host`;
//! - file digests: hex lists for `filemd5`, `filesha1` and `filesha256`, over HTTP and SMTP;
//! - URLs: one rule each, on `http.host` and `http.uri` with exact lengths (`bsize`).
//!
//! E-mail addresses are left to Zeek: Suricata 7 has no stable buffer for SMTP envelopes.

use super::{fits_a_line, Atoms, Kind};
use base64::Engine;
use std::fmt::Write;

/// The files of a Suricata export, by name.
pub fn files(atoms: &Atoms, first_sid: u32) -> Vec<(String, String)> {
    let mut rules = Rules {
        text: String::from("# Watchpost indicators for Suricata 7. Load with the dataset and list files beside it.\n"),
        sid: first_sid,
    };
    let mut out = Vec::new();
    let ips = lines(atoms, Kind::Ip, |v| v.to_string());
    if !ips.is_empty() {
        out.push(("watchpost-ip.lst".into(), ips));
        for (dir, buffer) in [("to", "ip.dst"), ("from", "ip.src")] {
            rules.add(&format!(
                "alert ip any any -> any any (msg:\"Watchpost: traffic {dir} an indicator address\"; {buffer}; dataset:isset,watchpost-ip,type ip,load watchpost-ip.lst;"
            ));
        }
    }
    networks(atoms, &mut rules);
    let domains = lines(atoms, Kind::Domain, |v| {
        base64::engine::general_purpose::STANDARD.encode(v)
    });
    if !domains.is_empty() {
        out.push(("watchpost-domain.lst".into(), domains));
        for (proto, buffer, what) in [
            ("dns", "dns.query", "DNS query for"),
            ("tls", "tls.sni", "TLS server name of"),
            ("http", "http.host", "HTTP host of"),
        ] {
            rules.add(&format!(
                "alert {proto} any any -> any any (msg:\"Watchpost: {what} an indicator domain\"; {buffer}; dataset:isset,watchpost-domain,type string,load watchpost-domain.lst;"
            ));
        }
    }
    for (kind, name, keyword) in [
        (Kind::Md5, "md5", "filemd5"),
        (Kind::Sha1, "sha1", "filesha1"),
        (Kind::Sha256, "sha256", "filesha256"),
    ] {
        let list = lines(atoms, kind, |v| v.to_string());
        if list.is_empty() {
            continue;
        }
        let file = format!("watchpost-{name}.txt");
        for proto in ["http", "smtp"] {
            rules.add(&format!(
                "alert {proto} any any -> any any (msg:\"Watchpost: file with an indicator {} digest\"; {keyword}:{file};",
                name.to_uppercase()
            ));
        }
        out.push((file, list));
    }
    for atom in atoms.of_kind(Kind::Url) {
        if let Some((host, path)) = split_url(&atom.value) {
            rules.add(&format!(
                "alert http any any -> any any (msg:\"Watchpost: indicator URL ({})\"; http.host; content:\"{}\"; bsize:{}; http.uri; content:\"{}\"; bsize:{};",
                message_text(&atom.indicator),
                content(&host),
                host.len(),
                content(path),
                path.len()
            ));
        }
    }
    out.insert(0, ("watchpost.rules".into(), rules.text));
    out
}

/// Rules being written, numbered from the first sid.
struct Rules {
    text: String,
    sid: u32,
}

impl Rules {
    /// Ends `head` (a rule up to its last option) with the rule's id and metadata.
    fn add(&mut self, head: &str) {
        let _ = writeln!(
            self.text,
            "{head} classtype:trojan-activity; sid:{}; rev:1; metadata:created_by watchpost;)",
            self.sid
        );
        self.sid += 1;
    }
}

/// Networks in address groups, a few hundred per rule, both directions.
fn networks(atoms: &Atoms, rules: &mut Rules) {
    let nets: Vec<&str> = atoms
        .of_kind(Kind::Network)
        .map(|a| a.value.as_str())
        .filter(|v| is_network(v))
        .collect();
    for chunk in nets.chunks(500) {
        let group = chunk.join(",");
        rules.add(&format!(
            "alert ip any any -> [{group}] any (msg:\"Watchpost: traffic to an indicator network\";"
        ));
        rules.add(&format!(
            "alert ip [{group}] any -> any any (msg:\"Watchpost: traffic from an indicator network\";"
        ));
    }
}

/// Whether `s` is a CIDR network in the plain form an address group takes.
fn is_network(s: &str) -> bool {
    let Some((addr, len)) = s.split_once('/') else {
        return false;
    };
    match (addr.parse::<std::net::IpAddr>(), len.parse::<u8>()) {
        (Ok(std::net::IpAddr::V4(_)), Ok(l)) => l <= 32,
        (Ok(std::net::IpAddr::V6(_)), Ok(l)) => l <= 128,
        _ => false,
    }
}

/// One value per line, in the sensor's form; values that do not fit a line are left out.
fn lines(atoms: &Atoms, kind: Kind, form: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    for a in atoms.of_kind(kind).filter(|a| fits_a_line(&a.value)) {
        if kind == Kind::Ip && a.value.parse::<std::net::IpAddr>().is_err() {
            continue;
        }
        out.push_str(&form(&a.value));
        out.push('\n');
    }
    out
}

/// The host (lower-case, without port or credentials) and the path with query of a URL, as
/// Suricata's normalised `http.host` and `http.uri` show them.
pub fn split_url(url: &str) -> Option<(String, &str)> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("HTTP://"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let host = authority.rsplit('@').next()?;
    let host = host.split(':').next()?.to_ascii_lowercase();
    (!host.is_empty() && fits_a_line(path)).then_some((host, path))
}

/// Text for a `content` option: the characters Suricata reserves written as hex bytes.
pub fn content(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b';' | b'"' | b'\\' | b'|' | b':' => {
                let _ = write!(out, "|{b:02X}|");
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "|{b:02X}|");
            }
        }
    }
    out
}

/// Text for a `msg`: no quotes, semicolons or backslashes.
fn message_text(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '"' | ';' | '\\') && !c.is_control())
        .collect()
}
