//! IP address text on the hot paths of matching: the canonical dotted quad, read without the
//! general parsers (the standard library's and `inet_aton`'s), which cost several times more
//! per address and run for every address of every telemetry line.

/// The IPv4 address of a canonical dotted quad (`203.0.113.9`: four decimal parts of one to
/// three digits, no leading zeros, each at most 255); `None` for anything else, which callers
/// hand to a general parser.
///
/// ```
/// use watchpost_stix::address::dotted_quad;
/// assert_eq!(dotted_quad("203.0.113.9"), Some(0xCB00_7109));
/// assert_eq!(dotted_quad("0.0.0.0"), Some(0));
/// assert_eq!(dotted_quad("010.0.0.1"), None); // octal to inet_aton: the general parser decides
/// assert_eq!(dotted_quad("1.2.3"), None);
/// assert_eq!(dotted_quad("1.2.3.256"), None);
/// ```
pub fn dotted_quad(text: &str) -> Option<u32> {
    let (mut address, mut part, mut digits, mut dots) = (0u32, 0u32, 0u8, 0u8);
    for &b in text.as_bytes() {
        match b {
            b'0'..=b'9' => {
                if digits == 1 && part == 0 {
                    return None;
                }
                part = part * 10 + u32::from(b - b'0');
                digits += 1;
                if digits > 3 || part > 255 {
                    return None;
                }
            }
            b'.' if digits > 0 && dots < 3 => {
                address = address << 8 | part;
                (part, digits, dots) = (0, 0, dots + 1);
            }
            _ => return None,
        }
    }
    (dots == 3 && digits > 0).then_some(address << 8 | part)
}

#[cfg(test)]
mod tests {
    use super::dotted_quad;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn agrees_with_the_standard_parser_where_it_answers(text in "[0-9.]{0,16}") {
            if let Some(a) = dotted_quad(&text) {
                prop_assert_eq!(text.parse::<std::net::Ipv4Addr>().map(u32::from), Ok(a));
            }
        }

        #[test]
        fn answers_for_every_canonical_address(a in any::<u32>()) {
            let text = std::net::Ipv4Addr::from(a).to_string();
            prop_assert_eq!(dotted_quad(&text), Some(a));
        }
    }
}
