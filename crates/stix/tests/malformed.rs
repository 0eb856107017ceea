//! Hostile and broken input: never a panic, never quadratic time, always a clear error, and
//! the good objects around a bad one are kept.

// A panic in a test is a failing test, not a crashed hub.
#![allow(clippy::unwrap_used)]

use serde_json::Value;
use std::io::Read;
use watchpost_stix::reader::{Entry, ReadError, Reader};
use watchpost_stix::Validator;

const IP: &str = r#"{"type":"ipv4-addr","id":"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4","value":"198.51.100.3"}"#;

fn read_all(input: impl Read) -> (Vec<Entry>, Option<ReadError>) {
    let mut entries = Vec::new();
    for item in Reader::new(input) {
        match item {
            Ok(e) => entries.push(e),
            Err(e) => return (entries, Some(e)),
        }
    }
    (entries, None)
}

#[test]
fn truncated_file_keeps_what_came_before() {
    let text = format!("{{\"type\":\"bundle\",\"objects\":[{IP},{IP},{{\"type\":\"ipv4-");
    let (entries, err) = read_all(text.as_bytes());
    assert_eq!(entries.len(), 2);
    let err = err.expect("truncation is an error").to_string();
    assert!(
        err.contains("element 2 of the objects list") && err.contains("truncated"),
        "{err}"
    );
}

#[test]
fn invalid_utf8_is_reported_for_its_object_only() {
    let mut bytes = format!("{{\"objects\":[{IP},").into_bytes();
    bytes.extend_from_slice(b"{\"type\":\"ipv4-addr\",\"value\":\"\xff\xfe\"},");
    bytes.extend_from_slice(format!("{IP}]}}").as_bytes());
    let (entries, err) = read_all(&bytes[..]);
    assert!(err.is_none());
    assert!(entries[0].value.is_ok());
    let bad = entries[1].value.as_ref().unwrap_err();
    assert!(bad.message.contains("invalid unicode"), "{bad}");
    assert!(entries[2].value.is_ok());
}

#[test]
fn a_100_mb_string_is_refused_without_holding_it() {
    // Streams the input so the test itself never holds the string either.
    let head = b"{\"objects\":[{\"type\":\"note\",\"content\":\"".to_vec();
    let body = std::io::repeat(b'a').take(100 << 20);
    let tail = format!("\"}},{IP}]}}").into_bytes();
    let input = head.chain(body).chain(&tail[..]);
    let (entries, err) = read_all(input);
    assert!(err.is_none());
    let big = entries[0].value.as_ref().unwrap_err();
    assert!(big.message.contains("more than the limit"), "{big}");
    assert!(entries[1].value.is_ok());
}

#[test]
fn a_100_mb_string_under_a_raised_limit_is_read() {
    let text = format!(
        "{{\"type\":\"note\",\"content\":\"{}\"}}",
        "a".repeat(100 << 20)
    );
    let entries: Vec<_> = Reader::new(text.as_bytes())
        .max_object_bytes(200 << 20)
        .collect::<Result<_, _>>()
        .unwrap();
    let content = entries[0].value.as_ref().unwrap()["content"]
        .as_str()
        .unwrap();
    assert_eq!(content.len(), 100 << 20);
    // Messages about it quote an excerpt, not the string.
    let issues = Validator::new().validate(entries[0].value.as_ref().unwrap());
    assert!(issues.iter().all(|i| i.message.len() < 500));
}

#[test]
fn nesting_ten_thousand_levels_deep_is_an_error_not_a_crash() {
    let deep = format!(
        "{{\"objects\":[{}{},{IP}]}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let (entries, err) = read_all(deep.as_bytes());
    assert!(err.is_none());
    let e = entries[0].value.as_ref().unwrap_err();
    assert!(e.message.contains("recursion limit"), "{e}");
    assert!(entries[1].value.is_ok());

    let single = format!("{}{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    let (entries, _) = read_all(single.as_bytes());
    assert!(entries[0].value.is_err());
}

#[test]
fn a_million_tiny_objects_stream_in_linear_time() {
    const N: usize = 1_000_000;
    // A generator, so the bundle is never in memory as a whole.
    struct Tiny {
        i: usize,
        buf: Vec<u8>,
        pos: usize,
    }
    impl Read for Tiny {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self.pos == self.buf.len() {
                self.buf.clear();
                self.pos = 0;
                match self.i {
                    0 => self
                        .buf
                        .extend_from_slice(b"{\"type\":\"bundle\",\"objects\":["),
                    i if i <= N => {
                        let sep = if i > 1 { "," } else { "" };
                        self.buf.extend_from_slice(
                            format!("{sep}{{\"type\":\"x-t\",\"n\":{i}}}").as_bytes(),
                        );
                    }
                    i if i == N + 1 => self.buf.extend_from_slice(b"]}"),
                    _ => return Ok(0),
                }
                self.i += 1;
            }
            let n = out.len().min(self.buf.len() - self.pos);
            out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }
    let start = std::time::Instant::now();
    let mut count = 0usize;
    let mut last = 0u64;
    for entry in Reader::new(Tiny {
        i: 0,
        buf: Vec::new(),
        pos: 0,
    }) {
        let entry = entry.unwrap();
        if let Ok(Value::Object(m)) = entry.value {
            if let Some(n) = m.get("n").and_then(Value::as_u64) {
                assert_eq!(n, last + 1);
                last = n;
                count += 1;
            }
        }
    }
    assert_eq!(count, N);
    // Not a benchmark: a generous bound that only a quadratic reader would break.
    assert!(
        start.elapsed().as_secs() < 120,
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn structural_damage_ends_the_stream_with_a_position() {
    let text = format!("{{\"objects\":[{IP},\n{{\"a\":[1,2}}]}}");
    let (entries, err) = read_all(text.as_bytes());
    assert_eq!(entries.len(), 1);
    let err = err.unwrap().to_string();
    assert!(err.starts_with("line 2, column 10:"), "{err}");
}

#[test]
fn scalars_and_odd_values_are_invalid_objects_not_crashes() {
    let validator = Validator::new();
    for text in [
        "[1, \"s\", null, true, [], {}]",
        "{\"objects\": 5}",
        "{\"type\": 5}",
    ] {
        for entry in Reader::new(text.as_bytes()) {
            let entry = entry.unwrap();
            let issues = validator.validate(entry.value.as_ref().unwrap());
            assert!(!issues.is_empty(), "{text}: {:?}", entry.value);
        }
    }
}
