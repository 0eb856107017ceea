//! The EVE fast path against the full decoder on any line: when the probe says "an event",
//! the decoder must agree and show exactly the probed values at every probe path; when it
//! says "not an event", so must the decoder. (`Decode` hands the line over: always allowed.)
//!
//! One divergence is known and accepted (see `watchpost_telemetry::eve::probe`): a number too
//! large for a double (`1e400`) in a field the fast path skips is not read, so only the
//! decoder refuses the line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::BTreeSet;
use watchpost_pattern::eval::{Observation, Sco};
use watchpost_pattern::{PatternSet, Version};
use watchpost_telemetry::eve::Eve;
use watchpost_telemetry::{Atom, Decoder, Probed};

/// One equality per probe path, every key quoted, so each path is a probe of the set.
fn probing_set() -> PatternSet {
    let numeric = ["network-traffic:src_port", "network-traffic:dst_port", "file:size"];
    let patterns: Vec<String> = Eve
        .probe_paths()
        .iter()
        .map(|dotted| {
            let (kind, rest) = dotted.split_once(':').unwrap_or_default();
            let steps: Vec<String> = rest
                .split('.')
                .map(|s| match s.split_once('[') {
                    Some((k, i)) => format!("'{k}'[{i}"),
                    None => format!("'{s}'"),
                })
                .collect();
            let literal = if numeric.contains(dotted) { "1" } else { "'x'" };
            format!("[{kind}:{} = {literal}]", steps.join("."))
        })
        .collect();
    PatternSet::compile(patterns.iter().map(|p| (p.as_str(), Version::V21))).0
}

fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => format!("s:{s}"),
        serde_json::Value::Number(n) if n.as_u64().is_some() => format!("i:{n}"),
        other => format!("other:{other}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    let line = line.trim_end_matches(['\n', '\r']);
    if line.contains('\n') {
        return;
    }
    let paths = Eve.probe_paths();
    let wanted = vec![true; paths.len()];
    let mut probed = BTreeSet::new();
    let verdict = Eve.probe(line, &wanted, &mut |i, a| {
        let value = match a {
            Atom::Str(s) => format!("s:{s}"),
            Atom::Int(n) => format!("i:{n}"),
        };
        probed.insert((paths[i].to_string(), value));
    });
    match (verdict, Eve.decode(line)) {
        (Probed::Decode, _) => {}
        (Probed::Event | Probed::NotEvent, Err(e)) if e.contains("number out of range") => {}
        (Probed::NotEvent, Ok(None)) => {}
        (Probed::Event, Ok(Some(event))) => {
            let set = probing_set();
            let obs = Observation {
                id: None,
                first: 0,
                last: 0,
                count: 1,
                objects: event.objects.iter().map(|(id, o)| Sco::new(id, o)).collect(),
            };
            let full: BTreeSet<(String, String)> = set
                .probe_values(&obs)
                .into_iter()
                .map(|(p, v)| (set.probes()[p as usize].dotted(), text(v)))
                .collect();
            assert_eq!(probed, full, "{line}");
        }
        (verdict, decoded) => panic!("probe {verdict:?}, decoder {decoded:?}: {line}"),
    }
});
