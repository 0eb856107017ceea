//! Any bytes through the mapped JSON-lines decoder (a proxy-log mapping): events or
//! quarantined lines, never a panic, and every line accounted for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
use watchpost_telemetry::mapped::{Mapped, Mapping};
use watchpost_telemetry::Stream;

fuzz_target!(|data: &[u8]| {
    let fields: BTreeMap<String, String> = [
        ("client", "network-traffic:src_ref"),
        ("server", "network-traffic:dst_ref"),
        ("host", "domain-name:value"),
        ("url", "url:value"),
        ("sha256", "file:hashes.'SHA-256'"),
        ("port", "network-traffic:dst_port"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    let mapping = Mapping {
        time: Some("ts".into()),
        kind: "proxy".into(),
        fields,
    };
    let Ok(decoder) = Mapped::new(mapping) else {
        return;
    };
    let mut stream = Stream::new(data, decoder, "fuzz").quarantine(std::io::sink());
    for event in stream.by_ref() {
        if event.is_err() {
            break;
        }
    }
    let c = stream.counts();
    assert_eq!(c.lines, c.events + c.skipped + c.malformed);
});
