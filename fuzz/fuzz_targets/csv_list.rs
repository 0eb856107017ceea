//! Any bytes through the CSV and plain-list readers: never a panic, and every non-blank line
//! either a record or a problem.
#![no_main]

use libfuzzer_sys::fuzz_target;
use watchpost_exchange::list::{read_csv, read_lines, ColumnMap};

fuzz_target!(|data: &[u8]| {
    let map: ColumnMap = "value=1,type=auto,first_seen=0".parse().expect("a valid map");
    let csv = read_csv(data, &map);
    for r in &csv.records {
        assert!(r.indicator.contains_key("pattern"));
    }
    let list = read_lines(data);
    let lines = data
        .split(|&b| b == b'\n')
        .filter(|l| !String::from_utf8_lossy(l).trim().is_empty())
        .count();
    assert!(list.records.len() <= lines);
});
