//! Times shown in the user's time zone (default Asia/Ho_Chi_Minh).
//!
//! The zones of the hub's region have kept one offset and no daylight saving time for
//! decades, so a fixed table of offsets is exact for every time the hub stores and spares
//! the binary a time-zone database. The `wp_tz` cookie, set by the zone switcher in the
//! navigation, chooses one of them; a zone outside the table needs that database (jiff or
//! chrono-tz) and a line here.

use axum::extract::Query;
use axum::http::header::SET_COOKIE;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use watchpost_store::Micros;

/// The cookie that keeps the chosen zone.
pub const COOKIE: &str = "wp_tz";

/// A time zone of the table: its IANA name and its offset from UTC in minutes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Zone {
    /// The IANA name.
    pub name: &'static str,
    offset_minutes: i64,
}

/// The zones a user can choose; the first is the default.
pub const ZONES: &[Zone] = &[
    Zone {
        name: "Asia/Ho_Chi_Minh",
        offset_minutes: 7 * 60,
    },
    Zone {
        name: "Asia/Vientiane",
        offset_minutes: 7 * 60,
    },
    Zone {
        name: "Asia/Phnom_Penh",
        offset_minutes: 7 * 60,
    },
    Zone {
        name: "Asia/Bangkok",
        offset_minutes: 7 * 60,
    },
    Zone {
        name: "Asia/Yangon",
        offset_minutes: 6 * 60 + 30,
    },
    Zone {
        name: "Asia/Singapore",
        offset_minutes: 8 * 60,
    },
    Zone {
        name: "UTC",
        offset_minutes: 0,
    },
];

impl Default for Zone {
    fn default() -> Zone {
        ZONES[0]
    }
}

impl Zone {
    /// The zone a request's cookie names, or the default.
    pub fn of(headers: &HeaderMap) -> Zone {
        crate::session::cookie(headers, COOKIE)
            .and_then(|name| ZONES.iter().find(|z| z.name == name))
            .copied()
            .unwrap_or_default()
    }

    /// `2024-03-05 14:07 (UTC+07:00)`-style text for an instant, in this zone.
    pub fn format(self, at: Micros) -> String {
        let local = at.div_euclid(1_000_000) + self.offset_minutes * 60;
        let (days, secs) = (local.div_euclid(86_400), local.rem_euclid(86_400));
        let (y, m, d) = civil_from_days(days);
        format!(
            "{y:04}-{m:02}-{d:02} {:02}:{:02}",
            secs / 3600,
            secs % 3600 / 60
        )
    }

    /// `UTC+07:00`.
    pub fn offset_label(self) -> String {
        let sign = if self.offset_minutes < 0 { '-' } else { '+' };
        let m = self.offset_minutes.abs();
        format!("UTC{sign}{:02}:{:02}", m / 60, m % 60)
    }
}

#[derive(Deserialize)]
pub(crate) struct Switch {
    to: String,
    #[serde(default)]
    back: String,
}

/// `GET /zone?to=Asia/Bangkok&back=/`: remembers the zone for a year and goes back; like the
/// language switcher, a GET that changes only how pages read.
pub(crate) async fn switch(Query(switch): Query<Switch>) -> Response {
    let zone = ZONES
        .iter()
        .find(|z| z.name == switch.to)
        .copied()
        .unwrap_or_default();
    let cookie = format!(
        "{COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        zone.name
    );
    let back = crate::i18n::local_path(&switch.back).to_string();
    ([(SET_COOKIE, cookie)], Redirect::to(&back)).into_response()
}

/// The proleptic Gregorian date of a day count from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, exact for every `i64` day the hub can store).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(zone: &str, unix_secs: i64, expected: &str) {
        let zone = ZONES
            .iter()
            .find(|z| z.name == zone)
            .copied()
            .unwrap_or_default();
        assert_eq!(zone.format(unix_secs * 1_000_000), expected);
    }

    #[test]
    fn times_are_shown_in_the_zone() {
        check("UTC", 0, "1970-01-01 00:00");
        // 2024-02-29T20:30:00Z is already 1 March in Hanoi.
        check("Asia/Ho_Chi_Minh", 1_709_238_600, "2024-03-01 03:30");
        check("Asia/Yangon", 1_709_238_600, "2024-03-01 03:00");
        check("UTC", 1_709_238_600, "2024-02-29 20:30");
        check("UTC", -1, "1969-12-31 23:59");
    }

    #[test]
    fn the_default_is_hanoi_time() {
        assert_eq!(Zone::of(&HeaderMap::new()).name, "Asia/Ho_Chi_Minh");
        assert_eq!(Zone::default().offset_label(), "UTC+07:00");
    }
}
