//! Any bytes through IoC extraction: never a panic, every offset a character count that lands
//! on the IoC's first byte, and the streamed reader agreeing with the whole-text extractor.
#![no_main]

use libfuzzer_sys::fuzz_target;
use watchpost_exchange::extract::Extractor;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let whole = Extractor::get().extract(&text);
    for ioc in &whole {
        assert!(text.is_char_boundary(ioc.byte_offset));
        assert_eq!(text[..ioc.byte_offset].chars().count(), ioc.offset);
    }
    let mut streamed = Vec::new();
    let summary = Extractor::get()
        .extract_reader(data, |i| streamed.push(i))
        .expect("reading a slice cannot fail");
    assert_eq!(summary.chars as usize, text.chars().count());
    assert_eq!(whole, streamed);
});
