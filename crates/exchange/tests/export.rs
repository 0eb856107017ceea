//! Exports for sensors. Suricata is not in the package registries here, so `suricata -T`
//! cannot run: the rules file is checked by a syntax check of its own (the rule grammar of
//! Suricata 7: action, protocol, addresses, ports, direction, options ending in `;`, the
//! options every rule needs) and every dataset and list it loads is checked against what it
//! must hold.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use base64::Engine;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use watchpost_exchange::export::{lists, suricata, zeek, Atoms};

fn indicator(n: u32, pattern: &str) -> Value {
    json!({"type": "indicator", "spec_version": "2.1", "id": format!("indicator--{n:08x}-1111-4111-8111-111111111111"),
        "name": format!("Indicator {n}"), "pattern": pattern, "pattern_type": "stix",
        "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z", "valid_from": "2025-01-01T00:00:00Z"})
}

fn sample() -> Vec<Value> {
    vec![
        indicator(1, "[ipv4-addr:value = '198.51.100.7'] OR [ipv6-addr:value = '2001:db8::7']"),
        indicator(2, "[ipv4-addr:value ISSUBSET '203.0.113.0/24']"),
        indicator(3, "[domain-name:value IN ('C2.Evil.example', 'update.evil.example.')]"),
        indicator(4, "[file:hashes.MD5 = '0123456789ABCDEF0123456789abcdef']"),
        indicator(5, "[file:hashes.'SHA-1' = '0123456789abcdef0123456789abcdef01234567']"),
        indicator(6, "[file:hashes.'SHA-256' = '6f5902ac237024bdd0c176cb93063dc4c2a3a6f0b2e1d9d1ee51cab4b6f6b2b1']"),
        indicator(7, "[url:value = 'http://Evil.example:8080/gate.php?id=1;x=\"2\"']"),
        indicator(8, "[url:value = 'https://secure.evil.example/login']"),
        indicator(9, "[email-addr:value = 'Phisher@Evil.example']"),
        indicator(10, "[ipv4-addr:value = '10.0.0.1' AND ipv4-addr:value = '10.0.0.2']"),
        indicator(11, "[network-traffic:dst_ref.value = '192.0.2.9']"),
    ]
}

/// A Suricata rule, split: header fields and options (keyword, value).
struct Rule {
    header: Vec<String>,
    options: Vec<(String, Option<String>)>,
}

/// Splits options at `;` outside quotes, honouring `\` escapes.
fn options(body: &str) -> Vec<(String, Option<String>)> {
    let (mut out, mut current, mut quoted, mut escaped) = (Vec::new(), String::new(), false, false);
    for c in body.chars() {
        match c {
            _ if escaped => {
                current.push(c);
                escaped = false;
            }
            '\\' => {
                current.push(c);
                escaped = true;
            }
            '"' => {
                current.push(c);
                quoted = !quoted;
            }
            ';' if !quoted => {
                let opt = current.trim().to_string();
                current.clear();
                match opt.split_once(':') {
                    Some((k, v)) => out.push((k.trim().to_string(), Some(v.trim().to_string()))),
                    None => out.push((opt, None)),
                }
            }
            _ => current.push(c),
        }
    }
    assert!(
        current.trim().is_empty(),
        "an option without its `;`: {current:?}"
    );
    assert!(!quoted, "an unterminated quote");
    out
}

fn parse_rule(line: &str) -> Rule {
    let open = line.find('(').unwrap();
    assert!(line.ends_with(')'), "{line}");
    let header: Vec<String> = line[..open]
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert_eq!(
        header.len(),
        7,
        "action proto src sport dir dst dport: {line}"
    );
    assert!(["alert", "drop", "pass", "reject"].contains(&header[0].as_str()));
    assert!(
        ["ip", "dns", "tls", "http", "smtp"].contains(&header[1].as_str()),
        "{line}"
    );
    assert!(["->", "<>"].contains(&header[4].as_str()));
    for addr in [&header[2], &header[5]] {
        if addr != "any" {
            let inner = addr
                .strip_prefix('[')
                .and_then(|a| a.strip_suffix(']'))
                .unwrap();
            for net in inner.split(',') {
                let (a, l) = net.split_once('/').unwrap();
                a.parse::<std::net::IpAddr>().unwrap();
                l.parse::<u8>().unwrap();
            }
        }
    }
    let options = options(&line[open + 1..line.len() - 1]);
    let known = [
        "msg",
        "sid",
        "rev",
        "classtype",
        "metadata",
        "dataset",
        "ip.src",
        "ip.dst",
        "dns.query",
        "tls.sni",
        "http.host",
        "http.uri",
        "content",
        "bsize",
        "filemd5",
        "filesha1",
        "filesha256",
    ];
    for (k, _) in &options {
        assert!(known.contains(&k.as_str()), "unknown keyword {k} in {line}");
    }
    for needed in ["msg", "sid", "rev"] {
        assert!(
            options.iter().any(|(k, _)| k == needed),
            "{needed} missing: {line}"
        );
    }
    Rule { header, options }
}

/// The bytes a `content` value stands for (`|3B|` hex runs included).
fn unescape(content: &str) -> String {
    let inner = content
        .strip_prefix('"')
        .unwrap()
        .strip_suffix('"')
        .unwrap();
    let mut out = Vec::new();
    let mut parts = inner.split('|');
    let mut hex = false;
    for part in parts.by_ref() {
        if hex {
            for byte in part.split_whitespace() {
                out.push(u8::from_str_radix(byte, 16).unwrap());
            }
        } else {
            out.extend_from_slice(part.as_bytes());
        }
        hex = !hex;
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn suricata_rules_parse_and_load_exactly_the_exported_values() {
    let atoms = Atoms::of(&sample(), "2026-01-01T00:00:00Z");
    assert_eq!(atoms.skipped.len(), 1, "{:?}", atoms.skipped);
    assert_eq!(
        atoms.skipped[0].0,
        "indicator--0000000a-1111-4111-8111-111111111111"
    );
    let files: BTreeMap<String, String> = suricata::files(&atoms, 9_700_000).into_iter().collect();
    let rules: Vec<Rule> = files["watchpost.rules"]
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(parse_rule)
        .collect();
    let sids: BTreeSet<String> = rules
        .iter()
        .map(|r| {
            r.options
                .iter()
                .find(|(k, _)| k == "sid")
                .unwrap()
                .1
                .clone()
                .unwrap()
        })
        .collect();
    assert_eq!(sids.len(), rules.len(), "every sid unique");
    // Every file a rule loads is in the export and holds values of its type.
    let mut loaded = BTreeSet::new();
    for rule in &rules {
        for (k, v) in &rule.options {
            let v = v.as_deref().unwrap_or("");
            if k == "dataset" {
                let parts: Vec<&str> = v.split(',').collect();
                assert_eq!(parts[0], "isset");
                let kind = parts[2].strip_prefix("type ").unwrap();
                let file = parts[3].strip_prefix("load ").unwrap();
                loaded.insert((file.to_string(), kind.to_string()));
            }
            if k.starts_with("file") && k.len() > 4 {
                loaded.insert((v.to_string(), k.to_string()));
            }
        }
    }
    let mut ips = BTreeSet::new();
    let mut domains = BTreeSet::new();
    for (file, kind) in &loaded {
        let text = files
            .get(file)
            .unwrap_or_else(|| panic!("{file} is loaded but not exported"));
        for line in text.lines() {
            match kind.as_str() {
                "ip" => {
                    line.parse::<std::net::IpAddr>().unwrap();
                    ips.insert(line.to_string());
                }
                "string" => {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(line)
                        .unwrap();
                    domains.insert(String::from_utf8(bytes).unwrap());
                }
                "filemd5" => {
                    assert!(line.len() == 32 && line.bytes().all(|b| b.is_ascii_hexdigit()))
                }
                "filesha1" => {
                    assert!(line.len() == 40 && line.bytes().all(|b| b.is_ascii_hexdigit()))
                }
                "filesha256" => {
                    assert!(line.len() == 64 && line.bytes().all(|b| b.is_ascii_hexdigit()))
                }
                other => panic!("unexpected list type {other}"),
            }
        }
    }
    let want_ips: BTreeSet<String> = ["198.51.100.7", "2001:db8::7", "192.0.2.9"]
        .map(String::from)
        .into();
    assert_eq!(ips, want_ips);
    let want_domains: BTreeSet<String> = ["c2.evil.example", "update.evil.example"]
        .map(String::from)
        .into();
    assert_eq!(domains, want_domains);
    assert_eq!(
        files["watchpost-md5.txt"],
        "0123456789abcdef0123456789abcdef\n"
    );
    // The network is in address groups, both ways; the http:// URL has its own rule.
    assert_eq!(
        rules
            .iter()
            .filter(|r| r.header.contains(&"[203.0.113.0/24]".to_string()))
            .count(),
        2
    );
    let url_rule = rules
        .iter()
        .find(|r| r.options.iter().any(|(k, _)| k == "http.uri"))
        .unwrap();
    let contents: Vec<String> = url_rule
        .options
        .iter()
        .filter(|(k, _)| k == "content")
        .map(|(_, v)| unescape(v.as_deref().unwrap()))
        .collect();
    assert_eq!(contents, ["evil.example", "/gate.php?id=1;x=\"2\""]);
    let bsizes: Vec<&str> = url_rule
        .options
        .iter()
        .filter(|(k, _)| k == "bsize")
        .map(|(_, v)| v.as_deref().unwrap())
        .collect();
    assert_eq!(bsizes, ["12", "20"]); // evil.example; /gate.php (9) ?id=1 (5) ;x= (3) "2" (3)
}

#[test]
fn the_zeek_intel_file_has_its_header_and_one_typed_indicator_per_line() {
    let atoms = Atoms::of(&sample(), "2026-01-01T00:00:00Z");
    let (name, text) = zeek::file(&atoms);
    assert_eq!(name, "watchpost.intel");
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap(), zeek::HEADER.trim_end());
    let rows: BTreeMap<String, String> = lines
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 5, "{l}");
            assert_eq!(f[2], "watchpost");
            assert!(f[3].contains("indicator--"), "{l}");
            (f[0].to_string(), f[1].to_string())
        })
        .collect();
    for (value, kind) in [
        ("198.51.100.7", "Intel::ADDR"),
        ("2001:db8::7", "Intel::ADDR"),
        ("203.0.113.0/24", "Intel::SUBNET"),
        ("c2.evil.example", "Intel::DOMAIN"),
        ("0123456789abcdef0123456789abcdef", "Intel::FILE_HASH"),
        ("Evil.example:8080/gate.php?id=1;x=\"2\"", "Intel::URL"),
        ("secure.evil.example/login", "Intel::URL"),
        ("phisher@evil.example", "Intel::EMAIL"),
    ] {
        assert_eq!(rows.get(value).map(String::as_str), Some(kind), "{value}");
    }
    assert_eq!(rows.len(), 12);
}

#[test]
fn lists_per_kind_and_a_bundle_whose_id_depends_only_on_its_objects() {
    let objects = sample();
    let atoms = Atoms::of(&objects, "2026-01-01T00:00:00Z");
    let files: BTreeMap<String, String> = lists::files(&atoms).into_iter().collect();
    assert_eq!(
        files["domain.txt"],
        "c2.evil.example\nupdate.evil.example\n"
    );
    assert_eq!(files["email.txt"], "phisher@evil.example\n");
    assert_eq!(files["url.txt"].lines().count(), 2);
    let (_, one) = lists::bundle(&objects);
    let mut reversed = objects.clone();
    reversed.reverse();
    let (_, two) = lists::bundle(&reversed);
    let id = |t: &str| serde_json::from_str::<Value>(t).unwrap()["id"].clone();
    assert_eq!(id(&one), id(&two));
    assert_ne!(id(&one), id(&lists::bundle(&objects[1..]).1));
}
