//! The issue's "must show": 1 GB of EVE with 1 % garbage lines is processed with every good
//! line matched and every bad line quarantined.
//!
//! The file is generated here (deterministically), with hits planted on known indicators in
//! good lines and in garbage lines alike: a garbage line that carries an indicator's value must
//! be quarantined, not matched, and a garbage line that carries none must be quarantined too,
//! though the fast path never has to decode it to find that it cannot match.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::process::Command;
use std::time::Instant;

const BIN: &str = env!("CARGO_BIN_EXE_watchpost");

/// About 1 GB: the generated lines average 250 bytes.
const TARGET_BYTES: u64 = 1 << 30;
/// Indicators on addresses (1..=IPS) and on domains (IPS+1..=2*IPS).
const IPS: u32 = 1000;
/// One good line in this many carries an indicator's value.
const HIT_EVERY: u64 = 997;

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

fn indicator_id(n: u32) -> String {
    format!("indicator--{n:08x}-5555-4555-8555-555555555555")
}

fn bad_ip(n: u32) -> String {
    format!("198.18.{}.{}", n / 256, n % 256)
}

fn bad_domain(n: u32) -> String {
    format!("bad{n}.example.net")
}

fn write_indicators(path: &std::path::Path) {
    let mut w = BufWriter::new(File::create(path).unwrap());
    for n in 1..=2 * IPS {
        let pattern = if n <= IPS {
            format!("[ipv4-addr:value = '{}']", bad_ip(n))
        } else {
            format!("[domain-name:value = '{}']", bad_domain(n))
        };
        let i = json!({"type": "indicator", "spec_version": "2.1", "id": indicator_id(n),
            "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
            "pattern": pattern, "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z"});
        writeln!(w, "{i}").unwrap();
    }
    w.flush().unwrap();
}

fn timestamp(i: u64) -> String {
    let (s, us) = (i / 1000, (i % 1000) * 1000);
    format!(
        "2025-03-01T{:02}:{:02}:{:02}.{us:06}+0000",
        (s / 3600) % 24,
        (s / 60) % 60,
        s % 60
    )
}

/// A good EVE line; `hit` plants indicator `hit` (an address or a domain) in it.
fn good(i: u64, rng: &mut Rng, hit: Option<u32>) -> String {
    let ts = timestamp(i);
    let src = format!(
        "10.{}.{}.{}",
        rng.below(256),
        rng.below(256),
        rng.below(256)
    );
    match hit {
        Some(n) if n <= IPS => format!(
            r#"{{"timestamp":"{ts}","flow_id":{i},"event_type":"flow","src_ip":"{src}","src_port":40000,"dest_ip":"{}","dest_port":443,"proto":"TCP","flow":{{"pkts_toserver":10,"pkts_toclient":12,"bytes_toserver":1200,"bytes_toclient":5400,"start":"{ts}"}}}}"#,
            bad_ip(n)
        ),
        Some(n) => format!(
            r#"{{"timestamp":"{ts}","flow_id":{i},"event_type":"dns","src_ip":"{src}","src_port":53000,"dest_ip":"10.0.0.53","dest_port":53,"proto":"UDP","dns":{{"type":"query","id":1,"rrname":"{}","rrtype":"A","tx_id":0}}}}"#,
            bad_domain(n)
        ),
        None => match rng.below(4) {
            0 => format!(
                r#"{{"timestamp":"{ts}","flow_id":{i},"event_type":"dns","src_ip":"{src}","src_port":53000,"dest_ip":"10.0.0.53","dest_port":53,"proto":"UDP","dns":{{"type":"query","id":1,"rrname":"host{}.example.org","rrtype":"A","tx_id":0}}}}"#,
                rng.below(1_000_000)
            ),
            1 => format!(
                r#"{{"timestamp":"{ts}","flow_id":{i},"event_type":"http","src_ip":"{src}","src_port":41000,"dest_ip":"10.1.2.3","dest_port":80,"proto":"TCP","http":{{"hostname":"www{}.example.org","url":"/gate.php","http_user_agent":"Mozilla/5.0","http_method":"GET","protocol":"HTTP/1.1","status":200,"length":512}}}}"#,
                rng.below(1_000_000)
            ),
            2 => format!(
                r#"{{"timestamp":"{ts}","flow_id":{i},"event_type":"tls","src_ip":"{src}","src_port":42000,"dest_ip":"10.4.5.6","dest_port":443,"proto":"TCP","tls":{{"sni":"cdn{}.example.org","version":"TLS 1.3"}}}}"#,
                rng.below(1_000_000)
            ),
            _ => format!(
                r#"{{"timestamp":"{ts}","flow_id":{i},"event_type":"flow","src_ip":"{src}","src_port":40000,"dest_ip":"10.{}.{}.9","dest_port":443,"proto":"TCP","flow":{{"pkts_toserver":10,"pkts_toclient":12,"bytes_toserver":1200,"bytes_toclient":5400,"start":"{ts}"}}}}"#,
                rng.below(256),
                rng.below(256)
            ),
        },
    }
}

/// A garbage line of kind `kind`, carrying indicator `n`'s value or none.
fn garbage(i: u64, kind: u64, rng: &mut Rng, n: Option<u32>) -> Vec<u8> {
    let dest = n.map_or_else(|| "10.7.7.7".to_string(), bad_ip);
    let ts = timestamp(i);
    let flow = good(i, rng, n.or(Some(0))).replace("198.18.0.0", &dest);
    match kind {
        // Truncated JSON: cut mid-object, as a crashed writer leaves it.
        0 => flow.as_bytes()[..flow.len() / 2 + 20].to_vec(),
        1 => format!("GET http://{dest}/ HTTP/1.1 user-agent curl").into_bytes(),
        // A byte that is never UTF-8, inside a string of an otherwise good line.
        2 => {
            let mut bytes = flow.into_bytes();
            let at = bytes.windows(3).position(|w| w == b"TCP").unwrap();
            bytes[at + 1] = 0xff;
            bytes
        }
        3 => format!(r#"[{{"timestamp":"{ts}","event_type":"flow","dest_ip":"{dest}"}}]"#)
            .into_bytes(),
        4 => format!(
            r#"{{"timestamp":"{ts}","src_ip":"10.0.0.1","dest_ip":"{dest}","proto":"TCP"}}"#
        )
        .into_bytes(),
        5 => flow.replacen(&ts, "yesterday at noon", 1).into_bytes(),
        _ => format!(
            r#"{{"timestamp":"{ts}","event_type":7,"src_ip":"10.0.0.1","dest_ip":"{dest}"}}"#
        )
        .into_bytes(),
    }
}

/// What was planted: good lines with a hit (indicator, line), garbage lines.
struct Planted {
    lines: u64,
    hits: BTreeSet<(String, u64)>,
    garbage: BTreeSet<u64>,
}

fn write_eve(path: &std::path::Path) -> Planted {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path).unwrap());
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut planted = Planted {
        lines: 0,
        hits: BTreeSet::new(),
        garbage: BTreeSet::new(),
    };
    let mut bytes = 0u64;
    let mut i = 0u64;
    while bytes < TARGET_BYTES {
        i += 1;
        let line = if i % 100 == 37 {
            planted.garbage.insert(i);
            let kind = (i / 100) % 7;
            // Half of the garbage carries an indicator's value.
            let n = (rng.below(2) == 0).then(|| 1 + rng.below(u64::from(IPS)) as u32);
            if i == 537 {
                // One line longer than a stream accepts (16 MiB).
                let mut long = good(i, &mut rng, Some(1)).into_bytes();
                long.resize(17 << 20, b' ');
                long
            } else {
                garbage(i, kind, &mut rng, n)
            }
        } else if rng.below(HIT_EVERY) == 0 {
            let n = 1 + rng.below(u64::from(2 * IPS)) as u32;
            planted.hits.insert((indicator_id(n), i));
            good(i, &mut rng, Some(n)).into_bytes()
        } else {
            good(i, &mut rng, None).into_bytes()
        };
        w.write_all(&line).unwrap();
        w.write_all(b"\n").unwrap();
        bytes += line.len() as u64 + 1;
    }
    w.flush().unwrap();
    planted.lines = i;
    planted
}

#[test]
fn a_gigabyte_with_one_percent_garbage_every_good_line_matched_every_bad_one_quarantined() {
    let dir = tempfile::tempdir().unwrap();
    let indicators = dir.path().join("indicators.jsonl");
    let eve = dir.path().join("eve.json");
    let out = dir.path().join("sightings.jsonl");
    let quarantine = dir.path().join("quarantine.jsonl");
    write_indicators(&indicators);
    let start = Instant::now();
    let planted = write_eve(&eve);
    eprintln!(
        "generated {} lines ({} hits, {} garbage) in {:.1} s",
        planted.lines,
        planted.hits.len(),
        planted.garbage.len(),
        start.elapsed().as_secs_f64()
    );
    let start = Instant::now();
    let run = Command::new(BIN)
        .arg("watch")
        .arg("--indicators")
        .arg(&indicators)
        .arg("--eve")
        .arg(&eve)
        .arg("--sightings-out")
        .arg(&out)
        .arg("--quarantine")
        .arg(&quarantine)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    eprintln!(
        "watched in {:.1} s: {stderr}",
        start.elapsed().as_secs_f64()
    );
    assert!(run.status.success(), "{stderr}");
    // Every good planted line matched once, at its line; nothing else matched.
    let mut matches = BTreeSet::new();
    for line in BufReader::new(File::open(&out).unwrap()).lines() {
        let s: Value = serde_json::from_str(&line.unwrap()).unwrap();
        let key = (
            s["indicator"].as_str().unwrap().to_string(),
            s["line"].as_u64().unwrap(),
        );
        assert!(matches.insert(key.clone()), "matched twice: {key:?}");
    }
    assert_eq!(matches.len(), planted.hits.len());
    assert!(
        matches == planted.hits,
        "the matches are not the planted lines"
    );
    // Every garbage line quarantined once, at its line and with a reason; no good line.
    let mut quarantined = BTreeSet::new();
    for line in BufReader::new(File::open(&quarantine).unwrap()).lines() {
        let q: Value = serde_json::from_str(&line.unwrap()).unwrap();
        let number = q["line"].as_u64().unwrap();
        assert!(!q["reason"].as_str().unwrap().is_empty(), "no reason: {q}");
        assert!(quarantined.insert(number), "quarantined twice: {q}");
        assert!(planted.garbage.contains(&number), "a good line: {q}");
    }
    assert_eq!(quarantined, planted.garbage);
    // The counts add up: every line is an event or a quarantined line.
    let lines = planted.lines;
    let bad = planted.garbage.len() as u64;
    let summary = format!(
        "{lines} lines, {} events, 0 skipped, {bad} malformed",
        lines - bad
    );
    assert!(stderr.contains(&summary), "{summary:?} expected: {stderr}");
    assert!(
        stderr.contains(&format!("{} matches", planted.hits.len())),
        "{stderr}"
    );
}
