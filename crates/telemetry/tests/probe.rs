//! The EVE fast path against the full decoder: for every line, the same verdict (an event,
//! not an event, malformed), and the same values at every path the fast path claims, as the
//! pattern engine reads them from the full event. On the real samples and on generated lines.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::path::Path;
use watchpost_pattern::eval::{Observation, Sco};
use watchpost_pattern::{PatternSet, Version};
use watchpost_telemetry::eve::Eve;
use watchpost_telemetry::{Atom, Decoder, Probed};

/// A pattern path for a dotted path: every key quoted, so `SHA-256` and `User-Agent` parse.
fn pattern_path(dotted: &str) -> String {
    let (kind, rest) = dotted.split_once(':').unwrap();
    let steps: Vec<String> = rest
        .split('.')
        .map(|step| match step.split_once('[') {
            Some((key, index)) => format!("'{key}'[{index}"),
            None => format!("'{step}'"),
        })
        .collect();
    format!("{kind}:{}", steps.join("."))
}

/// A set with one comparison on every path the decoder probes, so each is a probe.
fn probing_set(paths: &[&str]) -> PatternSet {
    let numeric = [
        "network-traffic:src_port",
        "network-traffic:dst_port",
        "file:size",
    ];
    let patterns: Vec<String> = paths
        .iter()
        .map(|p| {
            let literal = if numeric.contains(p) { "1" } else { "'x'" };
            format!("[{} = {literal}]", pattern_path(p))
        })
        .collect();
    let (set, rejected) = PatternSet::compile(patterns.iter().map(|p| (p.as_str(), Version::V21)));
    assert!(
        rejected.is_empty(),
        "{:?}",
        rejected.first().map(|r| r.error.to_string())
    );
    assert_eq!(set.probes().len(), paths.len());
    set
}

type Values = BTreeSet<(String, String)>;

fn atom_text(a: Atom<'_>) -> String {
    match a {
        Atom::Str(s) => format!("s:{s}"),
        Atom::Int(i) => format!("i:{i}"),
    }
}

fn json_text(v: &Value) -> String {
    match v {
        Value::String(s) => format!("s:{s}"),
        Value::Number(n) if n.as_u64().is_some() => format!("i:{n}"),
        other => format!("other:{other}"),
    }
}

/// What the fast path says of a line.
fn fast(line: &str) -> (Probed, Values) {
    let paths = Eve.probe_paths();
    let wanted = vec![true; paths.len()];
    let mut values = Values::new();
    let verdict = Eve.probe(line, &wanted, &mut |i, a| {
        values.insert((paths[i].to_string(), atom_text(a)));
    });
    (verdict, values)
}

/// What the pattern engine reads from the full event, or the decoder's verdict.
fn slow(line: &str, set: &PatternSet) -> Result<Option<Values>, String> {
    let Some(event) = Eve.decode(line)? else {
        return Ok(None);
    };
    let obs = Observation {
        id: None,
        first: 0,
        last: 0,
        count: 1,
        objects: event
            .objects
            .iter()
            .map(|(id, o)| Sco::new(id, o))
            .collect(),
    };
    let values = set
        .probe_values(&obs)
        .into_iter()
        .map(|(p, v)| (set.probes()[p as usize].dotted(), json_text(v)))
        .collect();
    Ok(Some(values))
}

/// Checks one line; whether the fast path read it (rather than handing it back).
fn agree(line: &str, set: &PatternSet) -> bool {
    let (verdict, got) = fast(line);
    match (verdict, slow(line, set)) {
        (Probed::Decode, _) => false,
        (Probed::Event, Ok(Some(want))) => {
            assert_eq!(got, want, "values differ on {line}");
            true
        }
        (Probed::NotEvent, Ok(None)) => true,
        (verdict, other) => {
            panic!("the fast path says {verdict:?}, the decoder {other:?}, on {line}")
        }
    }
}

#[test]
fn dotted_paths_are_the_probes_names() {
    let set = probing_set(Eve.probe_paths());
    let names: BTreeSet<String> = set.probes().iter().map(|p| p.dotted()).collect();
    let claimed: BTreeSet<String> = Eve.probe_paths().iter().map(|p| p.to_string()).collect();
    assert_eq!(names, claimed);
}

#[test]
fn the_fast_path_reads_the_real_samples_as_the_decoder_does() {
    let set = probing_set(Eve.probe_paths());
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/telemetry/suricata");
    let (mut lines, mut fast_read) = (0, 0);
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            lines += 1;
            fast_read += usize::from(agree(line, &set));
        }
    }
    assert!(lines > 100, "{lines} sample lines");
    // The fast path is the path: nearly every real line is read by it.
    assert!(
        fast_read * 100 >= lines * 99,
        "{fast_read} of {lines} lines read fast"
    );
}

#[test]
fn awkward_lines() {
    let set = probing_set(Eve.probe_paths());
    let lines = [
        r#"{"event_type":"stats","stats":{}}"#,
        r#"["flow"]"#,
        r#"{"event_type":"dns","timestamp":"yesterday","dns":{"rrname":"a.vn"}}"#,
        r#"{"event_type":"dns","timestamp":12,"src_ip":null,"dns":{"rrname":"","queries":[{"rrname":"WWW.Example.VN."}],"answers":[{"rrtype":"A","rdata":"1.2.3.4"},{"rrtype":"CNAME","rdata":"Cdn.Example.NET"},{"rrtype":"SOA","soa":{"mname":"x"}}],"grouped":{"AAAA":["2001:db8::1",{"x":1}]}}}"#,
        r#"{"event_type":"dns","dns":{"type":"answer","rrname":".","rrtype":"A","rdata":"9.9.9.9"}}"#,
        r#"{"event_type":"http","dest_port":443,"http":{"hostname":"10.1.1.1","url":"/x?A=B","http_method":"GET","protocol":"HTTP/1.1","http_user_agent":"UA"}}"#,
        r#"{"event_type":"http","src_ip":"10.0.0.1","dest_ip":"not-an-ip","dest_port":"80","proto":"TCP","app_proto":"failed","http":{"hostname":"Evil.COM","url":"http://evil.com/a","http_refer":""}}"#,
        r#"{"event_type":"tls","src_ip":"::1","tls":{"sni":"X.vn","subject":"CN=x","issuerdn":"CN=y","serial":"00:01","fingerprint":"AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01"}}"#,
        r#"{"event_type":"fileinfo","fileinfo":{"filename":"a.exe","size":12,"md5":"ABC","sha256":""}}"#,
        r#"{"event_type":"smtp","smtp":{"helo":"MX.Example.org","mail_from":"<Bob@Example.org>","rcpt_to":["x","Ann <ann@a.vn>"]},"email":{"from":["nobody","\"B\" <b@c.d>"],"cc":"c@d.e","subject":"Hi"}}"#,
        r#"{"event_type":"alert","src_ip":"1.1.1.1","dest_ip":"2.2.2.2","src_port":-1,"dest_port":1.5,"dns":null,"http":{"hostname":"h\u0041.vn"}}"#,
        r#"{"event_type":"flow","src_ip":"1.1.1.1","src_ip":"2.2.2.2"}"#,
    ];
    for line in lines {
        agree(line, &set);
    }
    assert_eq!(fast(r#"{"event_type":"stats"}"#).0, Probed::NotEvent);
    // The accepted divergence (module comment of eve::probe): an out-of-range number in a
    // skipped field is not read by the fast path.
    let huge = r#"{"event_type":"flow","flow_id":4E400,"src_ip":"10.0.0.1"}"#;
    assert_eq!(fast(huge).0, Probed::Event);
    assert!(Eve
        .decode(huge)
        .unwrap_err()
        .contains("number out of range"));
    assert_eq!(fast(r#"["flow"]"#).0, Probed::Decode);
    let (verdict, values) = fast(lines[3]);
    assert_eq!(verdict, Probed::Event);
    assert!(values.contains(&("domain-name:value".into(), "s:www.example.vn".into())));
    assert!(values.contains(&(
        "domain-name:resolves_to_refs[*].value".into(),
        "s:1.2.3.4".into()
    )));
}

/// A JSON value of an awkward type, sometimes.
fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => prop_oneof![
            Just("1.2.3.4"), Just("2001:DB8::1"), Just("Example.VN."), Just("a@b.c"),
            Just("Bob <BOB@X.org>"), Just("GET"), Just("/gate.php"), Just("https://x.vn/a"),
            Just("CN=x"), Just("AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"), Just(""),
            Just("-"), Just("TCP"), Just("."), Just("A"), Just("CNAME"), Just("2025-01-01T00:00:00Z"),
        ].prop_map(|s| json!(s)),
        1 => any::<u16>().prop_map(|n| json!(n)),
        1 => Just(Value::Null),
        1 => Just(json!(-3)),
        1 => Just(json!(["a@b.c", 1])),
        1 => Just(json!({"k": "v"})),
    ]
}

fn record(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
    proptest::collection::vec((proptest::sample::select(keys), scalar()), 0..6).prop_map(|pairs| {
        Value::Object(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect::<Map<_, _>>(),
        )
    })
}

fn eve_line() -> impl Strategy<Value = String> {
    let top = record(&[
        "src_ip",
        "dest_ip",
        "src_port",
        "dest_port",
        "proto",
        "app_proto",
        "timestamp",
    ]);
    let dns_entry = record(&["rrname", "rrtype", "rdata"]);
    let dns = (
        record(&["rrname", "type", "rrtype", "rdata"]),
        proptest::collection::vec(dns_entry, 0..3),
        proptest::option::of(proptest::collection::vec(scalar(), 0..3)),
    )
        .prop_map(|(mut d, answers, grouped)| {
            d["answers"] = json!(answers);
            if let Some(g) = grouped {
                d["grouped"] = json!({"A": g});
            }
            d
        });
    let http = record(&[
        "hostname",
        "url",
        "http_method",
        "protocol",
        "http_user_agent",
        "http_refer",
    ]);
    let tls = record(&["sni", "subject", "issuerdn", "serial", "fingerprint"]);
    let file = record(&["filename", "size", "md5", "sha1", "sha256"]);
    let smtp = record(&["helo", "mail_from", "rcpt_to"]);
    let mail = record(&["from", "to", "cc", "subject"]);
    let kind = proptest::sample::select(vec![
        "flow", "dns", "http", "tls", "fileinfo", "smtp", "alert", "stats",
    ]);
    (
        kind,
        top,
        proptest::option::of(dns),
        proptest::option::of(http),
        proptest::option::of(tls),
        proptest::option::of(file),
        proptest::option::of((smtp, mail)),
    )
        .prop_map(|(kind, mut line, dns, http, tls, file, mail)| {
            line["event_type"] = json!(kind);
            for (key, v) in [
                ("dns", dns),
                ("http", http),
                ("tls", tls),
                ("fileinfo", file),
            ] {
                if let Some(v) = v {
                    line[key] = v;
                }
            }
            if let Some((smtp, mail)) = mail {
                line["smtp"] = smtp;
                line["email"] = mail;
            }
            line.to_string()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn generated_lines_read_the_same_both_ways(line in eve_line()) {
        let set = probing_set(Eve.probe_paths());
        agree(&line, &set);
    }
}
