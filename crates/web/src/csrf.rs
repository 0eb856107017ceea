//! Cross-site request forgery: every POST must carry its session's token, in the form field
//! `csrf` or the `X-CSRF-Token` header (htmx sends the header from the page's `hx-headers`).
//!
//! `guard` checks it for every route of the console before any handler runs, so a page added
//! later cannot forget to. The sign-in form has no session yet: it carries a token that the
//! sign-in page also set as a cookie (double submit), which a forging site can neither read
//! nor set.

use crate::error::WebError;
use crate::i18n::Lang;
use crate::session::{cookie, Signed};
use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use std::collections::HashMap;

/// The form field of the token.
pub const FIELD: &str = "csrf";
/// The header of the token.
pub const HEADER: &str = "x-csrf-token";
/// The cookie that holds the sign-in form's token.
pub const LOGIN_COOKIE: &str = "wp_login_csrf";
/// The console's forms are a few short fields; a larger body is not one of them.
const MAX_FORM: usize = 64 * 1024;

/// Middleware: refuses (403) a request that changes something without the right token.
pub(crate) async fn guard(request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let lang = Lang::of(request.headers());
    let expected = if request.uri().path() == "/login" {
        cookie(request.headers(), LOGIN_COOKIE).map(str::to_string)
    } else {
        request.extensions().get::<Signed>().map(|s| s.csrf.clone())
    };
    let header = request
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_FORM).await else {
        return WebError::Invalid("the form is larger than 64 KiB".into()).page(lang);
    };
    let sent = header.or_else(|| {
        serde_urlencoded::from_bytes::<HashMap<String, String>>(&bytes)
            .ok()
            .and_then(|mut form| form.remove(FIELD))
    });
    match (expected, sent) {
        (Some(expected), Some(sent)) if !expected.is_empty() && same(&expected, &sent) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        _ => WebError::Csrf.page(lang),
    }
}

/// Compares in time that depends on the length only, not on where the strings differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_compare_exactly() {
        assert!(super::same("abc", "abc"));
        assert!(!super::same("abc", "abd"));
        assert!(!super::same("abc", "abcd"));
    }
}
