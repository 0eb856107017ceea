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
    let micros: i64 = format!("{:0<6}", &frac[..frac.len().min(6)]).parse().ok()?;
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
            let digits: String = z[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let hours: i64 = digits[..2].parse().ok()?;
            let minutes: i64 = digits[2..].parse().ok()?;
            sign * (hours * 3600 + minutes * 60)
        }
    };
    let utc = Timestamp::parse(&format!("{head}{frac}Z")).ok()?;
    Some(utc.unix_micros() - offset_secs * 1_000_000)
}
