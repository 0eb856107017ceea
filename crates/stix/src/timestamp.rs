//! STIX timestamps: RFC 3339 in UTC, `YYYY-MM-DDTHH:MM:SS[.s+]Z`.
//!
//! The specification (§3.2) requires the `Z` zone designator and allows any number of
//! fractional digits; `created` and `modified` must carry at least milliseconds. We parse by
//! hand rather than through a general date library because the grammar is tiny, the validator
//! calls it for every timestamp of every object, and a general RFC 3339 parser accepts forms
//! (offsets, lower-case `t`, a space separator) that STIX forbids.

use std::fmt;

/// A parsed STIX timestamp: seconds since the Unix epoch plus nanoseconds.
///
/// Ordering and equality compare instants; digits past the ninth fractional digit are
/// dropped, which is finer than any STIX producer uses.
#[derive(Clone, Copy, Debug)]
pub struct Timestamp {
    secs: i64,
    nanos: u32,
    /// How many fractional digits the text had (kept so `to_string` round-trips the
    /// precision of what was read, up to nine digits).
    digits: u8,
}

/// Why a string is not a STIX timestamp.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampError {
    /// The text does not have the `YYYY-MM-DDTHH:MM:SS[.fraction]Z` shape.
    #[error("expected an RFC 3339 UTC timestamp like 2024-01-01T00:00:00.000Z")]
    Shape,
    /// A field is out of range (month 13, 31 April, hour 24…).
    #[error("{0} is out of range")]
    Range(&'static str),
}

impl Timestamp {
    /// Parses a STIX timestamp.
    ///
    /// ```
    /// use watchpost_stix::Timestamp;
    /// let t = Timestamp::parse("2016-05-12T08:17:27.000Z").unwrap();
    /// assert_eq!(t.to_string(), "2016-05-12T08:17:27.000Z");
    /// assert!(Timestamp::parse("2016-05-12T08:17:27+07:00").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        let b = text.as_bytes();
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' {
            return Err(TimestampError::Shape);
        }
        if b[13] != b':' || b[16] != b':' || b[b.len() - 1] != b'Z' {
            return Err(TimestampError::Shape);
        }
        let year = digits(&b[0..4])? as i64;
        let month = digits(&b[5..7])?;
        let day = digits(&b[8..10])?;
        let hour = digits(&b[11..13])?;
        let minute = digits(&b[14..16])?;
        let second = digits(&b[17..19])?;
        let (nanos, frac_digits) = fraction(&b[19..b.len() - 1])?;
        if !(1..=12).contains(&month) {
            return Err(TimestampError::Range("the month"));
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err(TimestampError::Range("the day of the month"));
        }
        if hour > 23 {
            return Err(TimestampError::Range("the hour"));
        }
        if minute > 59 {
            return Err(TimestampError::Range("the minute"));
        }
        // RFC 3339 allows a leap second (60), but no date library used by STIX tools can
        // represent it, and the OASIS validator rejects it; so do we.
        if second > 59 {
            return Err(TimestampError::Range("the second"));
        }
        let days = days_from_civil(year, month, day);
        let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
        Ok(Timestamp {
            secs,
            nanos,
            digits: frac_digits,
        })
    }

    /// Builds a timestamp from seconds and nanoseconds since the Unix epoch, printed with
    /// millisecond precision (the precision the specification asks of `created`/`modified`).
    pub fn from_unix(secs: i64, nanos: u32) -> Self {
        Timestamp {
            secs,
            nanos: nanos.min(999_999_999),
            digits: 3,
        }
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(&self) -> i64 {
        self.secs
    }

    /// Nanoseconds within the second.
    pub fn subsec_nanos(&self) -> u32 {
        self.nanos
    }

    /// Number of fractional-second digits in the text this was parsed from.
    pub fn fraction_digits(&self) -> u8 {
        self.digits
    }

    /// Microseconds since the Unix epoch, the precision TAXII servers keep (`date_added`,
    /// versions); finer digits are truncated.
    ///
    /// ```
    /// use watchpost_stix::Timestamp;
    /// let t = Timestamp::parse("2016-05-12T08:17:27.123456789Z").unwrap();
    /// assert_eq!(Timestamp::from_unix_micros(t.unix_micros()).to_string(), "2016-05-12T08:17:27.123456Z");
    /// ```
    pub fn unix_micros(&self) -> i64 {
        self.secs
            .saturating_mul(1_000_000)
            .saturating_add(i64::from(self.nanos / 1_000))
    }

    /// The instant `micros` microseconds after the Unix epoch, printed with six fractional
    /// digits (the form TAXII 2.1 uses for `date_added`).
    pub fn from_unix_micros(micros: i64) -> Self {
        Timestamp {
            secs: micros.div_euclid(1_000_000),
            // rem_euclid is in 0..1_000_000, so the product fits a u32.
            nanos: u32::try_from(micros.rem_euclid(1_000_000) * 1_000).unwrap_or(0),
            digits: 6,
        }
    }

    /// Like [`Timestamp::from_unix_micros`], printed with milliseconds when that is exact:
    /// the shortest form that keeps every microsecond, which TAXII servers and STIX producers
    /// write for `date_added`, versions and sighting times.
    ///
    /// ```
    /// use watchpost_stix::Timestamp;
    /// assert_eq!(Timestamp::from_unix_micros_compact(1_700_000_000_123_000).to_string(), "2023-11-14T22:13:20.123Z");
    /// assert_eq!(Timestamp::from_unix_micros_compact(1_700_000_000_123_456).to_string(), "2023-11-14T22:13:20.123456Z");
    /// ```
    pub fn from_unix_micros_compact(micros: i64) -> Self {
        let t = Timestamp::from_unix_micros(micros);
        Timestamp {
            digits: if micros.rem_euclid(1000) == 0 { 3 } else { 6 },
            ..t
        }
    }

    /// The current time, with microsecond precision.
    pub fn now() -> Self {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let micros = i64::try_from(since.as_micros()).unwrap_or(i64::MAX);
        Timestamp::from_unix_micros(micros)
    }
}

impl PartialEq for Timestamp {
    fn eq(&self, other: &Self) -> bool {
        (self.secs, self.nanos) == (other.secs, other.nanos)
    }
}

impl Eq for Timestamp {}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.secs, self.nanos).cmp(&(other.secs, other.nanos))
    }
}

impl std::hash::Hash for Timestamp {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.secs, self.nanos).hash(state);
    }
}

impl fmt::Display for Timestamp {
    /// Written into a buffer on the stack, digit by digit: sightings, TAXII headers and
    /// stored objects write millions of these.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.secs.div_euclid(86_400);
        let rem = self.secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let Ok(year) =
            u32::try_from(y)
                .map_err(drop)
                .and_then(|y| if y <= 9999 { Ok(y) } else { Err(()) })
        else {
            return write!(
                f,
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
                rem / 3600,
                rem % 3600 / 60,
                rem % 60
            );
        };
        let mut buf = [0u8; 32];
        let put = |buf: &mut [u8], at: usize, value: u32, width: usize| {
            let mut v = value;
            for i in (0..width).rev() {
                buf[at + i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(&mut buf, 0, year, 4);
        buf[4] = b'-';
        put(&mut buf, 5, m, 2);
        buf[7] = b'-';
        put(&mut buf, 8, d, 2);
        buf[10] = b'T';
        put(&mut buf, 11, (rem / 3600) as u32, 2);
        buf[13] = b':';
        put(&mut buf, 14, (rem % 3600 / 60) as u32, 2);
        buf[16] = b':';
        put(&mut buf, 17, (rem % 60) as u32, 2);
        let mut len = 19;
        if self.digits > 0 {
            let digits = usize::from(self.digits.min(9));
            buf[19] = b'.';
            let mut frac = [0u8; 9];
            put(&mut frac, 0, self.nanos, 9);
            buf[20..20 + digits].copy_from_slice(&frac[..digits]);
            len = 20 + digits;
        }
        buf[len] = b'Z';
        f.write_str(std::str::from_utf8(&buf[..=len]).map_err(|_| fmt::Error)?)
    }
}

fn digits(b: &[u8]) -> Result<u32, TimestampError> {
    b.iter().try_fold(0u32, |acc, &c| {
        if c.is_ascii_digit() {
            Ok(acc * 10 + u32::from(c - b'0'))
        } else {
            Err(TimestampError::Shape)
        }
    })
}

/// Parses `""` or `".123…"` into nanoseconds and the number of digits written.
fn fraction(b: &[u8]) -> Result<(u32, u8), TimestampError> {
    if b.is_empty() {
        return Ok((0, 0));
    }
    if b[0] != b'.' || b.len() == 1 {
        return Err(TimestampError::Shape);
    }
    let frac = &b[1..];
    let mut nanos = 0u32;
    for (i, &c) in frac.iter().enumerate() {
        if !c.is_ascii_digit() {
            return Err(TimestampError::Shape);
        }
        if i < 9 {
            nanos = nanos * 10 + u32::from(c - b'0');
        }
    }
    for _ in frac.len()..9 {
        nanos *= 10;
    }
    Ok((nanos, frac.len().min(255) as u8))
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain formatting the stack-buffer writer replaced, as the reference.
    fn formatted(t: &Timestamp) -> String {
        let (days, rem) = (t.secs.div_euclid(86_400), t.secs.rem_euclid(86_400));
        let (y, m, d) = civil_from_days(days);
        let mut out = format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        );
        if t.digits > 0 {
            out.push('.');
            out.push_str(&format!("{:09}", t.nanos)[..usize::from(t.digits.min(9))]);
        }
        out + "Z"
    }

    proptest::proptest! {
        #[test]
        fn display_writes_what_plain_formatting_writes(secs in -62_135_596_800i64..253_402_300_799, nanos in 0u32..1_000_000_000, digits in 0u8..=9) {
            let t = Timestamp { secs, nanos, digits };
            proptest::prop_assert_eq!(t.to_string(), formatted(&t));
            proptest::prop_assert_eq!(Timestamp::parse(&t.to_string()).map(|p| p.to_string()), Ok(t.to_string()));
        }
    }

    fn ok(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn round_trips_precision() {
        for s in [
            "2016-05-12T08:17:27Z",
            "2016-05-12T08:17:27.1Z",
            "2016-05-12T08:17:27.000Z",
            "2000-02-29T23:59:59.123456789Z",
            "1969-12-31T23:59:59.999Z",
        ] {
            assert_eq!(ok(s).to_string(), s);
        }
    }

    #[test]
    fn matches_unix_time() {
        assert_eq!(ok("1970-01-01T00:00:00Z").unix_seconds(), 0);
        assert_eq!(ok("2024-01-01T00:00:00Z").unix_seconds(), 1_704_067_200);
        assert_eq!(ok("1969-12-31T23:59:59Z").unix_seconds(), -1);
    }

    #[test]
    fn rejects_bad_forms() {
        for s in [
            "2016-05-12T08:17:27",
            "2016-05-12 08:17:27Z",
            "2016-05-12T08:17:27+00:00",
            "2016-13-12T08:17:27Z",
            "2015-02-29T08:17:27Z",
            "2016-04-31T08:17:27Z",
            "2016-05-12T24:00:00Z",
            "2016-05-12T08:60:00Z",
            "2016-05-12T08:17:60Z",
            "2016-05-12T08:17:27.Z",
            "2022-101-27T13:49:54.326Z",
            "",
        ] {
            assert!(Timestamp::parse(s).is_err(), "{s} should be rejected");
        }
    }

    #[test]
    fn orders_by_instant() {
        assert!(ok("2016-05-12T08:17:27.001Z") > ok("2016-05-12T08:17:27Z"));
        assert_eq!(ok("2016-05-12T08:17:27.100Z"), ok("2016-05-12T08:17:27.1Z"));
    }
}
