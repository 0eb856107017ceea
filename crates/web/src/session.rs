//! Console sessions: a random 256-bit id in an `HttpOnly; SameSite=Lax` cookie, kept in the
//! store by its SHA-256 only, so several hub processes sharing a database share sessions and a
//! copy of the table logs no one in.
//!
//! `load` looks the cookie up once per request and leaves a [`Signed`] user in the request's
//! extensions; handlers that need a user take [`Signed`] as an extractor, which sends anyone
//! without a session to the sign-in page.

use crate::error::WebError;
use crate::Console;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{COOKIE as COOKIE_HEADER, LOCATION};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use watchpost_store::{Caller, Micros, NewSession};

/// The session cookie.
pub const COOKIE: &str = "wp_session";

/// The value of cookie `name` in a request, if it sent one.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE_HEADER)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// 256 random bits from the operating system, base64url: session ids and CSRF tokens.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the store keeps of a session id.
pub fn digest(id: &str) -> String {
    Sha256::digest(id.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Now, in the store's microseconds.
pub fn now() -> Micros {
    watchpost_stix::Timestamp::now().unix_micros()
}

/// The signed-in user of a request.
#[derive(Clone, Debug)]
pub struct Signed {
    /// Who they are, as the directory has them now.
    pub caller: Caller,
    /// The token every POST of their session must carry.
    pub csrf: String,
}

/// Middleware: finds the request's session, if any, and leaves its [`Signed`] user in the
/// request's extensions.
pub(crate) async fn load(
    State(console): State<Arc<Console>>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Some(id) = cookie(request.headers(), COOKIE) {
        match console.store.session(&digest(id), now()).await {
            Ok(Some(session)) => {
                request.extensions_mut().insert(Signed {
                    caller: session.caller,
                    csrf: session.csrf,
                });
            }
            Ok(None) => {}
            Err(e) => return WebError::from(e).page(crate::i18n::Lang::of(request.headers())),
        }
    }
    next.run(request).await
}

impl<S: Send + Sync> FromRequestParts<S> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Signed, Response> {
        if let Some(signed) = parts.extensions.get::<Signed>() {
            return Ok(signed.clone());
        }
        // htmx follows `HX-Redirect` with a full page load; a plain 303 would have it swap the
        // sign-in page into the inbox's table.
        let htmx = parts.headers.contains_key("hx-request");
        let status = if htmx {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::SEE_OTHER
        };
        let header = if htmx {
            "hx-redirect"
        } else {
            LOCATION.as_str()
        };
        Err((status, [(header, HeaderValue::from_static("/login"))]).into_response())
    }
}

impl<S: Send + Sync> axum::extract::OptionalFromRequestParts<S> for Signed {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _: &S,
    ) -> Result<Option<Signed>, Self::Rejection> {
        Ok(parts.extensions.get::<Signed>().cloned())
    }
}

/// Begins a session for `username`: a new id (never one the browser brought, which would let
/// whoever planted it ride the session), the session it had ended, and the cookie to set.
pub(crate) async fn begin(
    console: &Console,
    username: &str,
    brought: Option<&str>,
) -> Result<String, WebError> {
    if let Some(old) = brought {
        console.store.end_session(&digest(old)).await?;
    }
    let id = new_secret();
    let created = now();
    let length = console.config.session_length;
    console
        .store
        .create_session(NewSession {
            id_digest: digest(&id),
            username: username.to_string(),
            csrf: new_secret(),
            created,
            expires: created.saturating_add(length.as_micros().try_into().unwrap_or(i64::MAX)),
        })
        .await?;
    Ok(set_cookie(console, COOKIE, &id, length.as_secs()))
}

/// Ends the request's session, if it has one; returns the header that clears the cookie.
pub(crate) async fn end(console: &Console, headers: &HeaderMap) -> Result<String, WebError> {
    if let Some(id) = cookie(headers, COOKIE) {
        console.store.end_session(&digest(id)).await?;
    }
    Ok(set_cookie(console, COOKIE, "", 0))
}

/// A `Set-Cookie` value for the console's private cookies: not readable by scripts, not sent
/// along with other sites' POSTs.
pub(crate) fn set_cookie(console: &Console, name: &str, value: &str, max_age: u64) -> String {
    let secure = if console.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    format!("{name}={value}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age}{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            COOKIE_HEADER,
            HeaderValue::from_static("a=1; wp_session=xyz"),
        );
        headers.append(COOKIE_HEADER, HeaderValue::from_static("wp_lang=vi"));
        assert_eq!(cookie(&headers, "wp_session"), Some("xyz"));
        assert_eq!(cookie(&headers, "wp_lang"), Some("vi"));
        assert_eq!(cookie(&headers, "session"), None);
    }

    #[test]
    fn secrets_are_256_bits_and_differ() {
        let (a, b) = (new_secret(), new_secret());
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).map(|v| v.len()).ok(), Some(32));
        assert_ne!(a, b);
        assert_eq!(digest(&a).len(), 64);
    }
}
