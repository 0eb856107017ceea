//! The console's static files, compiled into the binary: a hub is one file to install and
//! its console loads nothing from elsewhere.
//!
//! htmx 2.0.11 (`static/htmx.min.js`) is vendored unchanged from the npm package `htmx.org`,
//! under its BSD Zero Clause licence (`static/htmx.LICENSE`).

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

const HTMX: &str = include_str!("../static/htmx.min.js");
const STYLESHEET: &str = include_str!("../static/console.css");

/// The stylesheet's address, versioned with the crate so a new release is fetched anew
/// despite the year-long cache.
pub const STYLESHEET_URL: &str = concat!("/static/console.css?v=", env!("CARGO_PKG_VERSION"));

/// A year, `immutable`: the files change only with the binary.
const LONG_CACHE: &str = "public, max-age=31536000, immutable";

pub(crate) fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/static/htmx.min.js",
            get(|| async { asset("text/javascript; charset=utf-8", HTMX) }),
        )
        .route(
            "/static/console.css",
            get(|| async { asset("text/css; charset=utf-8", STYLESHEET) }),
        )
}

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, content_type), (CACHE_CONTROL, LONG_CACHE)],
        body,
    )
}
