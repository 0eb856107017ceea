//! MISP import throughput: `cargo bench -p watchpost-exchange --bench misp`.
//! Events of 10,000 generated attributes (a mix of ip-dst, domain, url, sha256,
//! filename|md5 and ip-dst|port, one in four with to_ids false), as a feed would hold them;
//! `million` converts 100 such events, 1,000,000 attributes, one event at a time as a feed
//! poller would, so memory holds one event's objects at once.

use watchpost_exchange::misp::{to_stix, Options};

fn main() {
    divan::main();
}

/// One event of `n` attributes, deterministic.
pub fn event(n: usize, seed: usize) -> Vec<u8> {
    let mut attrs = Vec::with_capacity(n);
    for i in 0..n {
        let k = seed * n + i;
        let (t, v) = match k % 6 {
            0 => (
                "ip-dst",
                format!("10.{}.{}.{}", (k >> 16) & 255, (k >> 8) & 255, k & 255),
            ),
            1 => ("domain", format!("host{k}.example.com")),
            2 => ("url", format!("https://host{k}.example.net/path/{k}")),
            3 => ("sha256", format!("{k:064x}")),
            4 => ("filename|md5", format!("file{k}.exe|{k:032x}")),
            _ => (
                "ip-dst|port",
                format!("192.0.{}.{}|{}", (k >> 8) & 255, k & 255, 1024 + k % 60000),
            ),
        };
        attrs.push(format!(
            r#"{{"uuid":"{:08x}-0000-4000-8000-{:012x}","type":"{t}","category":"Network activity","value":"{v}","to_ids":{},"timestamp":"1700000000","comment":""}}"#,
            seed, k, k % 4 != 0
        ));
    }
    format!(
        r#"{{"Event":{{"uuid":"{seed:08x}-1111-4000-8000-000000000000","info":"bench","date":"2024-01-01","timestamp":"1700000000","Orgc":{{"name":"CIRCL","uuid":"55f6ea5e-2c60-40e5-964f-47a8950d210f"}},"Tag":[{{"name":"tlp:green"}}],"Attribute":[{}]}}}}"#,
        attrs.join(",")
    )
    .into_bytes()
}

const PER_EVENT: usize = 10_000;

#[divan::bench]
fn one_event(bencher: divan::Bencher) {
    let input = event(PER_EVENT, 0);
    bencher
        .counter(divan::counter::BytesCount::new(input.len()))
        .counter(divan::counter::ItemsCount::new(PER_EVENT))
        .bench(|| to_stix(divan::black_box(&input), &Options::default()).map(|c| c.objects.len()));
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn million(bencher: divan::Bencher) {
    let events: Vec<Vec<u8>> = (0..100).map(|seed| event(PER_EVENT, seed)).collect();
    let bytes: usize = events.iter().map(Vec::len).sum();
    bencher
        .counter(divan::counter::BytesCount::new(bytes))
        .counter(divan::counter::ItemsCount::new(100 * PER_EVENT))
        .bench(|| {
            let mut objects = 0;
            for input in &events {
                let c = to_stix(divan::black_box(input), &Options::default()).expect("valid");
                assert_eq!(c.attributes, PER_EVENT);
                objects += c.objects.len();
            }
            objects
        });
}
