//! `ISSUBSET` / `ISSUPERSET`: is an address or network inside a CIDR network?
//!
//! IPv4 follows the OASIS matcher exactly, including its use of the C library's `inet_aton`
//! (which also reads `10.1`, `0x0a.0.0.1` and `012.0.0.1`), its refusal of prefix `/0`, and an
//! error for a value that is not an address. IPv6, which the reference cannot compare at all,
//! is compared the same way over 128 bits (a deliberate difference, docs/conformance.md).

/// An address or network: the address bits and the prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Net {
    /// IPv4.
    V4(u32, u8),
    /// IPv6.
    V6(u128, u8),
}

/// Whether `inner` (an address, or a network with `/n`) lies within the network `outer`.
/// Errors name the value that is not an address or network.
pub fn contains(outer: &str, inner: &str) -> Result<bool, String> {
    let inner_net = parse(inner, false)?;
    let outer_net = parse(outer, true)?;
    Ok(match (outer_net, inner_net) {
        (Net::V4(o, op), Net::V4(i, ip)) => op <= ip && mask4(o, op) == mask4(i, op),
        (Net::V6(o, op), Net::V6(i, ip)) => op <= ip && mask6(o, op) == mask6(i, op),
        _ => false,
    })
}

fn mask4(a: u32, prefix: u8) -> u32 {
    a & u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask6(a: u128, prefix: u8) -> u128 {
    a & u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

/// Parses `addr` or `addr/prefix`; a network (`need_prefix`) must have the prefix.
pub fn parse(text: &str, need_prefix: bool) -> Result<Net, String> {
    if !need_prefix {
        if let Some(a) = watchpost_stix::address::dotted_quad(text) {
            return Ok(Net::V4(a, 32));
        }
    }
    let invalid = || {
        format!(
            "`{text}` is not a valid {}",
            if need_prefix {
                "CIDR network"
            } else {
                "IP address or CIDR network"
            }
        )
    };
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None if need_prefix => return Err(invalid()),
        None => (text, None),
    };
    let prefix = match prefix {
        None => None,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u32>().map_err(|_| invalid())?)
        }
        Some(_) => return Err(invalid()),
    };
    if addr.contains(':') {
        let a: std::net::Ipv6Addr = addr.parse().map_err(|_| invalid())?;
        let p = prefix.unwrap_or(128);
        if !(1..=128).contains(&p) {
            return Err(invalid());
        }
        return Ok(Net::V6(u128::from(a), p as u8));
    }
    let a = inet_aton(addr).ok_or_else(invalid)?;
    let p = prefix.unwrap_or(32);
    if !(1..=32).contains(&p) {
        return Err(invalid());
    }
    Ok(Net::V4(a, p as u8))
}

/// The C library's `inet_aton`: one to four parts, each decimal, octal (leading 0) or hex
/// (0x); the last part fills the remaining bytes.
pub fn inet_aton(text: &str) -> Option<u32> {
    // The common dotted quad first, without the general parser.
    if let Some(a) = watchpost_stix::address::dotted_quad(text) {
        return Some(a);
    }
    let mut values = [0u32; 4];
    let mut n = 0;
    for part in text.split('.') {
        if n == 4 {
            return None;
        }
        values[n] = c_number(part)?;
        n += 1;
    }
    let (last, init) = values[..n].split_last()?;
    let mut out: u64 = 0;
    for (i, v) in init.iter().enumerate() {
        if *v > 255 {
            return None;
        }
        out |= u64::from(*v) << (24 - 8 * i);
    }
    let room = 32 - 8 * init.len() as u32;
    if u64::from(*last) >= 1u64 << room {
        return None;
    }
    u32::try_from(out | u64::from(*last)).ok()
}

fn c_number(part: &str) -> Option<u32> {
    let (digits, radix) =
        if let Some(h) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
            (h, 16)
        } else if part.len() > 1 && part.starts_with('0') {
            (&part[1..], 8)
        } else {
            (part, 10)
        };
    if radix == 16 && digits.is_empty() {
        // "0x" alone is 0 to glibc.
        return Some(0);
    }
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u32::from_str_radix(digits, radix).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_like_the_reference() {
        assert_eq!(contains("10.0.0.0/8", "10.1.2.3"), Ok(true));
        assert_eq!(contains("10.0.0.0/8", "11.1.2.3"), Ok(false));
        assert_eq!(contains("10.0.0.0/8", "10.1.0.0/16"), Ok(true));
        assert_eq!(contains("10.1.0.0/16", "10.0.0.0/8"), Ok(false));
        assert!(contains("10.0.0.0/0", "10.1.2.3").is_err());
        assert!(contains("10.0.0.0", "10.1.2.3").is_err());
        assert!(contains("10.0.0.0/8", "not an ip").is_err());
        assert_eq!(inet_aton("10.1"), Some(0x0a00_0001));
        assert_eq!(inet_aton("0x0a.0.0.012"), Some(0x0a00_000a));
        assert_eq!(inet_aton("256.0.0.1"), None);
    }

    #[test]
    fn ipv6_networks() {
        assert_eq!(contains("2001:db8::/32", "2001:db8:1::1"), Ok(true));
        assert_eq!(contains("2001:db8::/32", "2001:db9::1"), Ok(false));
        assert_eq!(contains("2001:db8::/32", "10.0.0.1"), Ok(false));
    }
}
