//! The decoders on real Suricata and Zeek output (tests/data/telemetry, see its SOURCES.md),
//! on broken input, and on generated events.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use proptest::prelude::*;
use serde_json::{json, Value};
use std::io::{BufReader, Cursor, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use watchpost_telemetry::eve::Eve;
use watchpost_telemetry::zeek::Zeek;
use watchpost_telemetry::{Counts, Decoder, Event, Stream};

fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/telemetry")
        .join(path)
}

/// A quarantine that can be read back.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Sink {
    fn records(&self) -> Vec<Value> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn run<D: Decoder>(input: &[u8], decoder: D) -> (Vec<(u64, Event)>, Counts, Vec<Value>) {
    let sink = Sink::default();
    let mut stream = Stream::new(BufReader::new(Cursor::new(input.to_vec())), decoder, "test")
        .quarantine(sink.clone());
    let events: Vec<_> = stream.by_ref().map(Result::unwrap).collect();
    (events, stream.counts(), sink.records())
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(data(path)).unwrap()
}

/// The values of the objects of `event` with this type.
fn values(event: &Event, object_type: &str) -> Vec<String> {
    event
        .objects
        .iter()
        .filter(|(_, o)| o["type"] == object_type)
        .filter_map(|(_, o)| o.get("value").and_then(Value::as_str).map(str::to_string))
        .collect()
}

fn object<'a>(event: &'a Event, object_type: &str) -> &'a Value {
    &event
        .objects
        .iter()
        .find(|(_, o)| o["type"] == object_type)
        .unwrap_or_else(|| panic!("no {object_type} in {event:?}"))
        .1
}

#[test]
fn suricata_ctu13_every_event_type() {
    let (events, counts, quarantined) = run(&read("suricata/vast-ctu13-eve.json"), Eve);
    assert_eq!(
        counts,
        Counts {
            lines: 7,
            events: 6,
            skipped: 1,
            malformed: 0
        },
        "stats is skipped"
    );
    assert!(quarantined.is_empty());
    let by_kind = |k: &str| &events.iter().find(|(_, e)| e.kind == k).unwrap().1;
    let alert = by_kind("alert");
    assert_eq!(values(alert, "ipv4-addr"), ["147.32.84.165", "78.40.125.4"]);
    let traffic = object(alert, "network-traffic");
    assert_eq!(
        (traffic["src_port"].as_u64(), traffic["dst_port"].as_u64()),
        (Some(1181), Some(6667))
    );
    assert_eq!(traffic["protocols"], json!(["tcp"]));
    assert_eq!(traffic["src_byte_count"], 2302);
    // +0200 is taken into account: 14:52:57.716360+02:00 is 12:52:57.716360Z.
    assert_eq!(alert.time, Some(1_313_153_577_716_360));
    assert_eq!(values(by_kind("dns"), "domain-name"), ["irc.freenode.net"]);
    let fileinfo = by_kind("fileinfo");
    assert_eq!(values(fileinfo, "domain-name"), ["www.nmap.org"]);
    assert_eq!(values(fileinfo, "url"), ["http://www.nmap.org/"]);
    let file = object(fileinfo, "file");
    assert_eq!(file["hashes"]["MD5"].as_str().map(str::len), Some(32));
    assert_eq!(file["hashes"]["SHA-256"].as_str().map(str::len), Some(64));
    let http = by_kind("http");
    assert!(
        values(http, "url")[0].starts_with("http://cr-tools.clients.google.com/service/check2?")
    );
    let ext = &object(http, "network-traffic")["extensions"]["http-request-ext"];
    assert_eq!(ext["request_method"], "get");
    assert_eq!(ext["request_header"]["Host"], "cr-tools.clients.google.com");
    assert!(object(by_kind("netflow"), "network-traffic")["start"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
}

#[test]
fn suricata_flows_and_alerts_of_a_capture() {
    let (events, counts, _) = run(&read("suricata/vast-pcap-2018-eve.json"), Eve);
    assert_eq!((counts.events, counts.malformed), (200, 0));
    assert_eq!(events.iter().filter(|(_, e)| e.kind == "flow").count(), 21);
    assert!(events
        .iter()
        .all(|(_, e)| values(e, "ipv4-addr").contains(&"192.168.168.100".to_string())));
}

#[test]
fn zeek_tsv_of_the_same_capture() {
    let (events, counts, _) = run(
        &read("zeek/vast-pcap-2018/conn.log"),
        Zeek::for_file("conn.log"),
    );
    assert_eq!(counts.malformed, 0);
    assert_eq!(counts.skipped, 9, "eight header lines and #close");
    let (line, first) = &events[0];
    assert_eq!(*line, 9);
    assert_eq!(first.time, Some(1_540_889_767_459_844));
    assert_eq!(
        values(first, "ipv4-addr"),
        ["192.168.168.100", "83.135.95.78"]
    );
    let t = object(first, "network-traffic");
    assert_eq!(
        (t["src_port"].as_u64(), t["dst_port"].as_u64()),
        (Some(61183), Some(22))
    );
    assert_eq!(t["protocols"], json!(["tcp", "ssh"]));
    assert_eq!(
        (t["src_byte_count"].as_u64(), t["dst_packets"].as_u64()),
        (Some(1557), Some(12))
    );
    let (http, counts, _) = run(
        &read("zeek/vast-pcap-2018/http.log"),
        Zeek::for_file("http.log"),
    );
    assert!(counts.events > 0 && counts.malformed == 0);
    assert!(http.iter().all(|(_, e)| !values(e, "url").is_empty()));
    let (files, counts, _) = run(
        &read("zeek/vast-pcap-2018/files.log"),
        Zeek::for_file("files.log"),
    );
    assert!(counts.events > 0 && counts.malformed == 0);
    let first = &files[0].1;
    assert_eq!(
        object(first, "file")["mime_type"],
        "application/ocsp-request"
    );
    assert_eq!(object(first, "file")["size"], 83);
    assert_eq!(
        values(first, "ipv4-addr"),
        ["192.168.168.100", "72.247.178.18"]
    );
}

/// The WRCCDC logs exist in both formats: TSV and JSON must give the same events.
#[test]
fn zeek_json_and_tsv_agree() {
    for log in ["dns", "ssl", "x509", "smtp"] {
        let (json_events, jc, _) = run(
            &read(&format!("zeek/wrccdc-2018/json/{log}.json")),
            Zeek::default(),
        );
        let (tsv_events, tc, _) = run(
            &read(&format!("zeek/wrccdc-2018/tsv/{log}.log")),
            Zeek::default(),
        );
        assert_eq!(
            (jc.events, jc.malformed, tc.events, tc.malformed),
            (60, 0, 60, 0),
            "{log}"
        );
        for ((_, j), (_, t)) in json_events.iter().zip(&tsv_events) {
            assert_eq!(j, t, "{log}");
        }
        assert!(json_events
            .iter()
            .all(|(_, e)| e.kind == log && e.time.is_some()));
    }
    let (dns, ..) = run(&read("zeek/wrccdc-2018/json/dns.json"), Zeek::default());
    let first = &dns[0].1;
    assert_eq!(
        values(first, "domain-name"),
        ["ise.wrccdc.org", "ise.wrccdc.cpp.edu"]
    );
    assert_eq!(
        values(first, "ipv4-addr"),
        ["10.47.1.100", "10.0.0.100", "134.71.3.16"]
    );
    let query = object(first, "domain-name");
    assert_eq!(query["resolves_to_refs"].as_array().unwrap().len(), 2);
}

#[test]
fn zeek_old_bro_logs_and_btest_edge_cases() {
    for log in ["conn", "dns", "http", "smtp", "ssl", "ftp"] {
        let (events, counts, _) = run(
            &read(&format!("zeek/vast-2009-bro/{log}.log")),
            Zeek::default(),
        );
        assert!(
            counts.events > 0 && counts.malformed == 0,
            "{log}: {counts:?}"
        );
        assert!(events.iter().all(|(_, e)| e.kind == log));
    }
    let (smtp, ..) = run(&read("zeek/vast-2009-bro/smtp.log"), Zeek::default());
    assert!(smtp
        .iter()
        .any(|(_, e)| !values(e, "email-addr").is_empty()));
    // Canonified timestamps (XXXXXXXXXX.XXXXXX): the records decode, without a time.
    let (dns, counts, _) = run(&read("zeek/btest/dns.log"), Zeek::default());
    assert!(counts.events > 0 && counts.malformed == 0);
    assert!(dns.iter().all(|(_, e)| e.time.is_none()));
    // In JSON the same placeholder is not JSON at all: every such line is quarantined with its
    // number, the banner is skipped, and the stream goes on to the end.
    let (events, counts, quarantined) = run(
        &read("zeek/btest/http.log.json"),
        Zeek::for_file("http.log.json"),
    );
    assert_eq!(
        counts.lines,
        counts.events + counts.skipped + counts.malformed
    );
    assert_eq!(counts.malformed as usize, quarantined.len());
    assert!(counts.malformed > 0 && events.is_empty());
    assert_eq!(quarantined[0]["line"], 2);
    assert!(quarantined[0]["reason"]
        .as_str()
        .unwrap()
        .starts_with("not JSON"));
}

#[test]
fn malformed_lines_are_counted_and_quarantined_and_the_stream_goes_on() {
    let good = String::from_utf8(read("suricata/vast-ctu13-eve.json")).unwrap();
    let mut input = Vec::new();
    for (i, line) in good.lines().enumerate() {
        input.extend_from_slice(line.as_bytes());
        input.push(b'\n');
        match i {
            0 => input.extend_from_slice(b"{\"event_type\": \"dns\", \"src_ip\": \n"),
            1 => input.extend_from_slice(b"[1, 2, 3]\n"),
            2 => input.extend_from_slice(b"\xff\xfe not text\n"),
            3 => input
                .extend_from_slice(b"{\"timestamp\": \"yesterday\", \"event_type\": \"dns\"}\n"),
            4 => input.extend_from_slice(b"{\"src_ip\": \"10.0.0.1\"}\n"),
            _ => {}
        }
    }
    input.extend_from_slice(b"{\"event_type\":\"dns\",\"dns\":{\"rrname\":\"tail.example\"}}"); // no final newline
    let (events, counts, quarantined) = run(&input, Eve);
    assert_eq!(
        counts,
        Counts {
            lines: 13,
            events: 7,
            skipped: 1,
            malformed: 5
        }
    );
    let lines: Vec<u64> = quarantined
        .iter()
        .map(|q| q["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [2, 4, 6, 8, 10]);
    let reasons: Vec<&str> = quarantined
        .iter()
        .map(|q| q["reason"].as_str().unwrap())
        .collect();
    assert!(reasons[0].starts_with("not JSON"), "{reasons:?}");
    assert!(reasons[1].contains("JSON object"));
    assert!(reasons[2].contains("UTF-8"));
    assert!(reasons[3].contains("yesterday"));
    assert!(reasons[4].contains("event_type"));
    assert_eq!(quarantined[0]["source"], "test");
    assert_eq!(
        values(&events.last().unwrap().1, "domain-name"),
        ["tail.example"]
    );
}

#[test]
fn a_runaway_line_is_cut_and_quarantined() {
    let mut input = vec![b'x'; watchpost_telemetry::stream::MAX_LINE + 10];
    input.extend_from_slice(b"\n{\"event_type\":\"dns\",\"dns\":{\"rrname\":\"after.example\"}}\n");
    let (events, counts, quarantined) = run(&input, Eve);
    assert_eq!((counts.malformed, counts.events), (1, 1));
    assert!(quarantined[0]["reason"]
        .as_str()
        .unwrap()
        .contains("longer than"));
    assert!(quarantined[0]["text"].as_str().unwrap().len() <= 4096);
    assert_eq!(events[0].0, 2);
}

#[test]
fn suricata_7_dns_layout_and_tls_and_smtp() {
    let lines = [
        json!({"timestamp": "2024-05-01T10:00:00.000000+0000", "event_type": "dns", "src_ip": "10.1.1.1", "dest_ip": "10.1.1.53",
               "src_port": 5353, "dest_port": 53, "proto": "UDP",
               "dns": {"version": 3, "type": "response", "queries": [{"rrname": "Bad.Example.", "rrtype": "A"}],
                       "answers": [{"rrname": "bad.example", "rrtype": "CNAME", "rdata": "cdn.example"},
                                   {"rrname": "cdn.example", "rrtype": "A", "rdata": "203.0.113.9"},
                                   {"rrname": "cdn.example", "rrtype": "AAAA", "rdata": "2001:db8::9"}]}}),
        json!({"timestamp": "2024-05-01T10:00:01.000000+0700", "event_type": "tls", "src_ip": "10.1.1.1", "dest_ip": "203.0.113.9",
               "proto": "TCP", "tls": {"sni": "cdn.example", "subject": "CN=cdn.example", "issuerdn": "CN=Test CA",
               "serial": "01:02", "fingerprint": "AA:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd",
               "notbefore": "2024-01-01T00:00:00", "notafter": "2025-01-01T00:00:00"}}),
        json!({"timestamp": "2024-05-01T10:00:02Z", "event_type": "smtp", "src_ip": "10.1.1.1", "dest_ip": "10.1.1.25", "proto": "TCP",
               "smtp": {"helo": "mail.example", "mail_from": "<Boss@Example.org>", "rcpt_to": ["<a@example.org>", "<b@example.org>"]},
               "email": {"from": "\"The Boss\" <boss@example.org>", "to": ["a@example.org"], "subject": "invoice"}}),
    ];
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let (events, counts, _) = run(input.as_bytes(), Eve);
    assert_eq!(counts.events, 3);
    let dns = &events[0].1;
    assert_eq!(values(dns, "domain-name"), ["bad.example", "cdn.example"]);
    assert_eq!(values(dns, "ipv6-addr"), ["2001:db8::9"]);
    assert_eq!(
        object(dns, "domain-name")["resolves_to_refs"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let tls = &events[1].1;
    assert_eq!(
        tls.time,
        events[0].1.time.map(|t| t + 1_000_000 - 7 * 3_600_000_000)
    );
    let cert = object(tls, "x509-certificate");
    assert_eq!(
        cert["hashes"]["SHA-1"],
        "aabbccddeeff00112233445566778899aabbccdd"
    );
    assert_eq!(cert["validity_not_before"], "2024-01-01T00:00:00.000000Z");
    let smtp = &events[2].1;
    assert_eq!(
        values(smtp, "email-addr"),
        ["boss@example.org", "a@example.org", "b@example.org"]
    );
    assert_eq!(object(smtp, "email-message")["subject"], "invoice");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the bytes, no decoder panics and every line is accounted for.
    #[test]
    fn arbitrary_input_never_panics(lines in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..20)) {
        let mut input = Vec::new();
        for l in &lines {
            input.extend(l.iter().filter(|b| **b != b'\n'));
            input.push(b'\n');
        }
        let (_, c, q) = run(&input, Eve);
        prop_assert_eq!(c.lines, c.events + c.skipped + c.malformed);
        prop_assert_eq!(c.malformed as usize, q.len());
        let (_, c, _) = run(&input, Zeek::for_log("conn"));
        prop_assert_eq!(c.lines, c.events + c.skipped + c.malformed);
    }

    /// Generated DNS and HTTP events give back their addresses, names and URLs.
    #[test]
    fn generated_events_keep_their_values(a in 1u8..=254, b in 0u8..=255, host in "[a-z]{1,12}\\.(com|vn|net)", path in "/[a-z0-9/]{0,20}") {
        let src = format!("10.{a}.{b}.1");
        let dns = json!({"event_type": "dns", "src_ip": src, "dest_ip": "10.0.0.53", "dns": {"type": "query", "rrname": host}});
        let http = json!({"event_type": "http", "src_ip": src, "dest_ip": "198.51.100.7", "dest_port": 80,
                          "http": {"hostname": host, "url": path, "http_method": "POST"}});
        let (events, c, _) = run(format!("{dns}\n{http}\n").as_bytes(), Eve);
        prop_assert_eq!(c.events, 2);
        prop_assert_eq!(values(&events[0].1, "domain-name"), vec![host.clone()]);
        prop_assert_eq!(values(&events[1].1, "ipv4-addr"), vec![src, "198.51.100.7".to_string()]);
        prop_assert_eq!(values(&events[1].1, "url"), vec![format!("http://{host}{path}")]);
    }
}

#[test]
fn plain_json_lines_through_a_field_mapping() {
    use watchpost_telemetry::mapped::{Mapped, Mapping};
    let mapping: Mapping = serde_json::from_value(json!({
        "time": "ts", "kind": "proxy",
        "fields": {"client": "network-traffic:src_ref", "server.ip": "network-traffic:dst_ref",
                   "server.port": "network-traffic:dst_port", "host": "domain-name:value",
                   "url": "url:value", "sha256": "file:hashes.'SHA-256'", "file": "file:name",
                   "id.orig_h": "ipv4-addr:value"}
    }))
    .unwrap();
    let lines = [
        json!({"ts": "2025-03-01T10:00:00+07:00", "client": "10.0.0.5", "server": {"ip": "2001:db8::7", "port": 443},
               "host": "Update.Example.VN", "url": "https://update.example.vn/a.exe", "sha256": "ab", "file": "a.exe"}),
        json!({"ts": 1740798000.5, "id.orig_h": "2001:db8::1"}),
        json!({"ts": "soon"}),
        json!({"client": "not-an-ip"}),
    ];
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let (events, counts, q) = run(input.as_bytes(), Mapped::new(mapping).unwrap());
    assert_eq!((counts.events, counts.malformed), (2, 2));
    assert!(q[0]["reason"].as_str().unwrap().contains("ts"));
    assert!(q[1]["reason"].as_str().unwrap().contains("client"));
    let e = &events[0].1;
    assert_eq!(e.kind, "proxy");
    assert_eq!(e.time, Some(1_740_798_000_000_000));
    assert_eq!(values(e, "ipv4-addr"), ["10.0.0.5"]);
    assert_eq!(values(e, "ipv6-addr"), ["2001:db8::7"]);
    assert_eq!(
        values(e, "domain-name"),
        ["update.example.vn"],
        "lower-cased like EVE and Zeek names"
    );
    let t = object(e, "network-traffic");
    assert_eq!(
        (
            t["src_ref"].as_str(),
            t["dst_ref"].as_str(),
            t["dst_port"].as_u64()
        ),
        (Some("0"), Some("1"), Some(443))
    );
    assert_eq!(object(e, "file")["hashes"]["SHA-256"], "ab");
    assert_eq!(object(e, "file")["name"], "a.exe");
    assert_eq!(
        values(&events[1].1, "ipv6-addr"),
        ["2001:db8::1"],
        "an IPv6 value in an ipv4-addr field"
    );
    let bad: Mapping = serde_json::from_value(json!({"fields": {"x": "nocolon"}})).unwrap();
    assert!(Mapped::new(bad).unwrap_err().contains("fields.x"));
}
