//! Any bytes through the streaming STIX reader and the validator: errors, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use watchpost_stix::reader::Reader;
use watchpost_stix::Validator;

fuzz_target!(|data: &[u8]| {
    let validator = Validator::new();
    for entry in Reader::new(data).max_object_bytes(1 << 20) {
        let Ok(entry) = entry else { break };
        if let Ok(value) = entry.value {
            let _ = validator.validate(&value);
        }
    }
});
