//! The console's languages: English (the default) and Vietnamese.
//!
//! The language is chosen by the `wp_lang` cookie the switcher in the navigation sets, and
//! without it by the browser's `Accept-Language`.

mod catalogue;

pub use catalogue::{text, Key};

use axum::extract::{FromRequestParts, Query};
use axum::http::header::{ACCEPT_LANGUAGE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::convert::Infallible;

/// The cookie that keeps the chosen language.
pub const COOKIE: &str = "wp_lang";

/// A language of the console.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Vietnamese.
    Vi,
}

impl Lang {
    /// The BCP 47 code, for `<html lang>` and the cookie.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Vi => "vi",
        }
    }

    /// Reads a code; only the primary subtag counts (`vi-VN` is Vietnamese).
    pub fn parse(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "vi" => Some(Lang::Vi),
            _ => None,
        }
    }

    /// The language a request asks for: its cookie, else the first of its `Accept-Language`
    /// entries the console speaks (by weight), else English.
    pub fn of(headers: &HeaderMap) -> Lang {
        if let Some(lang) = crate::session::cookie(headers, COOKIE).and_then(Lang::parse) {
            return lang;
        }
        headers
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(from_accept_language)
            .unwrap_or_default()
    }

    /// The text of `key` in this language.
    pub fn t(self, key: Key) -> &'static str {
        text(self, key)
    }
}

fn from_accept_language(header: &str) -> Option<Lang> {
    let mut offers: Vec<(u16, Lang)> = header
        .split(',')
        .filter_map(|entry| {
            let mut parts = entry.split(';');
            let lang = Lang::parse(parts.next()?)?;
            let weight = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            // Weights have at most three decimals; as thousandths they sort without floats.
            Some(((weight.clamp(0.0, 1.0) * 1000.0) as u16, lang))
        })
        .filter(|(weight, _)| *weight > 0)
        .collect();
    offers.sort_by_key(|offer| std::cmp::Reverse(offer.0));
    offers.first().map(|(_, lang)| *lang)
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Lang, Infallible> {
        Ok(Lang::of(&parts.headers))
    }
}

#[derive(Deserialize)]
pub(crate) struct Switch {
    to: String,
    #[serde(default)]
    back: String,
}

/// `GET /lang?to=vi&back=/`: remembers the language for a year and goes back. A GET, not a
/// form: it changes nothing but how pages read, so it needs no CSRF token and works on the
/// sign-in page too.
pub(crate) async fn switch(Query(switch): Query<Switch>) -> Response {
    let lang = Lang::parse(&switch.to).unwrap_or_default();
    let cookie = format!(
        "{COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        lang.code()
    );
    (
        [(SET_COOKIE, cookie)],
        Redirect::to(local_path(&switch.back)),
    )
        .into_response()
}

/// `back` if it is a path of this site, else `/`: the switcher must not redirect elsewhere.
pub(crate) fn local_path(back: &str) -> &str {
    let local = back.starts_with('/') && !back.starts_with("//") && !back.contains('\\');
    if local {
        back
    } else {
        "/"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_heaviest_spoken_language() {
        assert_eq!(
            from_accept_language("vi-VN,vi;q=0.9,en;q=0.8"),
            Some(Lang::Vi)
        );
        assert_eq!(
            from_accept_language("fr, en;q=0.5, vi;q=0.7"),
            Some(Lang::Vi)
        );
        assert_eq!(from_accept_language("fr, de"), None);
        assert_eq!(from_accept_language("vi;q=0, en;q=0.1"), Some(Lang::En));
    }

    #[test]
    fn the_switcher_only_goes_back_to_this_site() {
        assert_eq!(local_path("/?x=1"), "/?x=1");
        assert_eq!(local_path("//evil.example/"), "/");
        assert_eq!(local_path("https://evil.example/"), "/");
        assert_eq!(local_path("/\\evil.example"), "/");
    }
}
