//! Any text through the pattern parser and both rule sets: an error, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use watchpost_pattern::{Pattern, Version};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for version in [Version::V20, Version::V21] {
        if let Err(e) = Pattern::validate_version(text, version) {
            let _ = e.render(text);
        }
        let _ = Pattern::parse_version(text, version);
    }
});
