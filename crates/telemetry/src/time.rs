//! Sensor timestamps: RFC 3339 with any zone (Suricata writes `+0200`, without a colon) or
//! epoch seconds with a fraction (Zeek).

use watchpost_stix::Timestamp;

/// Microseconds since the epoch of a sensor timestamp, or `None` when it is neither form.
///
/// ```
/// use watchpost_telemetry::parse_time;
/// assert_eq!(parse_time("2011-08-12T14:52:57.716360+0200"), parse_time("2011-08-12T12:52:57.716360Z"));
/// assert_eq!(parse_time("1540889767.459844"), Some(1_540_889_767_459_844));
/// assert_eq!(parse_time("2.385616957e+09"), Some(2_385_616_957_000_000));
/// assert_eq!(parse_time("XXXXXXXXXX.XXXXXX"), None);
/// ```
pub fn parse_time(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.bytes().next().is_some_and(|b| b.is_ascii_digit()) && !text.contains('-') {
        return epoch(text);
    }
    rfc3339(text)
}

fn epoch(text: &str) -> Option<i64> {
    if text.contains(['e', 'E']) {
        // Zeek's TSV writer switches to exponent form for far-future times (certificates
        // valid until 2045: `2.385616957e+09`); that form has at most microsecond precision.
        let f: f64 = text.parse().ok().filter(|f: &f64| f.is_finite())?;
        return Some((f * 1e6).round() as i64);
    }
    let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
    let secs: i64 = secs.parse().ok()?;
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let micros = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(6)
        .fold(0i64, |n, b| n * 10 + i64::from(b - b'0'));
    secs.checked_mul(1_000_000)?.checked_add(micros)
}

fn rfc3339(text: &str) -> Option<i64> {
    if text.len() < 20 || !text.is_char_boundary(19) {
        return None;
    }
    let (head, rest) = text.split_at(19);
    let zone_at = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
    let (frac, zone) = rest.split_at(zone_at);
    let offset_secs: i64 = match zone {
        "Z" | "z" | "" => 0,
        z => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let digits = z[1..].bytes().filter(|b| *b != b':');
            let mut n = [0i64; 4];
            let mut count = 0;
            for d in digits {
                if !d.is_ascii_digit() || count == 4 {
                    return None;
                }
                n[count] = i64::from(d - b'0');
                count += 1;
            }
            if count != 4 {
                return None;
            }
            sign * ((n[0] * 10 + n[1]) * 3600 + (n[2] * 10 + n[3]) * 60)
        }
    };
    // The UTC form Timestamp parses, put together on the stack: this runs once per line.
    let mut buf = [0u8; 64];
    let len = head.len() + frac.len() + 1;
    if len > buf.len() {
        return None;
    }
    buf[..19].copy_from_slice(head.as_bytes());
    buf[19..len - 1].copy_from_slice(frac.as_bytes());
    buf[len - 1] = b'Z';
    let utc = Timestamp::parse(std::str::from_utf8(&buf[..len]).ok()?).ok()?;
    Some(utc.unix_micros() - offset_secs * 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::parse_time;

    #[test]
    fn zones_and_fractions() {
        let utc = parse_time("2024-03-01T10:00:00.5Z").unwrap();
        assert_eq!(utc % 1_000_000, 500_000);
        for text in [
            "2024-03-01T12:00:00.5+0200",
            "2024-03-01T12:30:00.500000+02:30",
            "2024-03-01T05:00:00.5-05:00",
        ] {
            assert_eq!(parse_time(text), Some(utc), "{text}");
        }
        for bad in [
            "2024-03-01T12:00:00+02",
            "2024-03-01T12:00:00+0x00",
            "2024-03-01T12:00:00+02000",
            "2024-13-01T12:00:00Z",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
        assert_eq!(parse_time("1.5"), Some(1_500_000));
        assert_eq!(parse_time("1.1234567"), Some(1_123_456));
    }
}
