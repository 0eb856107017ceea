//! A pattern (first line) evaluated against observations (the rest, JSON): a verdict or an
//! input error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use watchpost_pattern::{Pattern, Version};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Some((pattern, rest)) = text.split_once('\n') else { return };
    let Ok(observations) = serde_json::from_str::<Vec<serde_json::Value>>(rest) else { return };
    for version in [Version::V20, Version::V21] {
        if let Ok(p) = Pattern::parse_version(pattern, version) {
            let _ = p.evaluate(&observations);
        }
    }
});
