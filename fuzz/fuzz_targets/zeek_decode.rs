//! Any bytes through the Zeek decoder (TSV headers and records, JSON records): events or
//! quarantined lines, never a panic, and every line accounted for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use watchpost_telemetry::zeek::Zeek;
use watchpost_telemetry::Stream;

fuzz_target!(|data: &[u8]| {
    let mut stream = Stream::new(data, Zeek::for_log("conn"), "fuzz").quarantine(std::io::sink());
    for event in stream.by_ref() {
        if event.is_err() {
            break;
        }
    }
    let c = stream.counts();
    assert_eq!(c.lines, c.events + c.skipped + c.malformed);
});
