//! `watchpost-web`: the analyst console — server-rendered HTML with htmx, in English and
//! Vietnamese.
//!
//! It owns the console's pages and what keeps them safe: sign-in with lockout
//! ([`login`]), sessions kept in the store ([`session`]), CSRF tokens on every POST
//! ([`csrf`]), the text catalogue ([`i18n`]), time zones ([`zone`]) and the warnings inbox
//! ([`inbox`]), the risk-trend dashboard and weekly report ([`dashboard`]) with the SVG charts
//! drawn on the server ([`chart`]), and intelligence: search, object pages and indicators
//! written with their patterns checked as they are typed ([`intel`]), the directory of focal
//! points ([`directory`]), each 24/7 request's timeline with whether its audit chain verifies
//! ([`requests`]) and the administrators' view of the hub ([`admin`]). Pages share one layout
//! ([`page::Page`]); static files are compiled in ([`assets`]). Who may see which warning is decided by the store
//! ([`watchpost_store::Store::visible_warnings`]), never by a template.
//!
//! It may depend on `watchpost-store`, `watchpost-warn`, `watchpost-stix`,
//! `watchpost-pattern` and `watchpost-coop`; never on the `watchpost` binary crate, which mounts [`router`] beside
//! the TAXII routes.
//!
//! # Example
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! let store = Arc::new(watchpost_store::SqlStore::open("sqlite://hub.db").await?);
//! let app = watchpost_web::router(store, watchpost_web::Config::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! // The client's address counts failed sign-ins per address.
//! let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

pub mod admin;
pub mod assets;
pub mod chart;
pub mod csrf;
pub mod dashboard;
pub mod directory;
pub mod error;
pub mod i18n;
pub mod inbox;
pub mod intel;
pub mod login;
pub mod page;
pub mod requests;
pub mod session;
pub mod zone;

use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;
use std::time::Duration;
use watchpost_store::Store;

/// How the console behaves.
#[derive(Clone, Debug)]
pub struct Config {
    /// How long a session lasts after sign-in: a working day and a half (12 hours), so an
    /// analyst signs in once per shift and a stolen cookie does not outlive the next one.
    pub session_length: Duration,
    /// Mark cookies `Secure`: set it when the hub is reached over HTTPS (through a proxy that
    /// ends TLS); the demo's plain-HTTP loopback needs it off.
    pub secure_cookies: bool,
    /// When sign-in stops accepting passwords.
    pub lockout: Lockout,
}

/// Password guessing: after `max_failures` failed sign-ins within `window` for one user name,
/// or from one address, further attempts are refused until the oldest of them is older than
/// `window`. Refused attempts are not counted, so the lock lifts at most `window` after the
/// failures stop, however often a guesser keeps trying.
#[derive(Clone, Copy, Debug)]
pub struct Lockout {
    /// Failed sign-ins allowed within the window.
    pub max_failures: i64,
    /// The window.
    pub window: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            session_length: Duration::from_secs(12 * 3600),
            secure_cookies: false,
            lockout: Lockout {
                max_failures: 5,
                window: Duration::from_secs(15 * 60),
            },
        }
    }
}

/// What every handler shares.
pub struct Console {
    store: Arc<dyn Store>,
    config: Config,
}

/// The console's routes: `/` (the warnings inbox), `/dashboard`, `/report`, `/intel/…`,
/// `/requests/…`, `/directory/…`, `/admin/…`, `/login`, `/logout`, `/lang`, `/zone`,
/// `/console/…` (fragments and actions) and `/static/…`. It has no fallback, so it merges
/// with the TAXII router, whose fallback answers unknown paths.
pub fn router(store: Arc<dyn Store>, config: Config) -> Router {
    let console = Arc::new(Console { store, config });
    let pages = Router::new()
        .route("/", get(inbox::page))
        .route("/console/inbox", get(inbox::rows))
        .route(
            "/console/warnings/{id}/acknowledge",
            post(inbox::acknowledge),
        )
        .route("/console/warnings/{id}/assign", post(inbox::assign))
        .route("/console/warnings/{id}/close", post(inbox::close))
        .route("/dashboard", get(dashboard::page))
        .route("/dashboard/{file}", get(dashboard::csv))
        .route("/report", get(dashboard::report))
        .route("/requests", get(requests::list))
        .route("/requests/{id}", get(requests::detail))
        .route("/requests/{id}/events", post(requests::act))
        .route(
            "/requests/{id}/attachments/{sha256}",
            get(requests::attachment),
        )
        .route("/directory", get(directory::page))
        .route("/directory/export.json", get(directory::export))
        .route("/directory/import", post(directory::import))
        .route("/admin", get(admin::page))
        .route("/admin/audit", get(admin::audit))
        .route("/intel", get(intel::page))
        .route("/intel/results", get(intel::results))
        .route("/intel/find", get(intel::find))
        .route("/intel/objects/{collection}/{id}", get(intel::object))
        .route("/intel/indicators", post(intel::save))
        .route("/intel/indicators/new", get(intel::new_form))
        .route("/intel/indicators/check", post(intel::check))
        .route(
            "/intel/indicators/{collection}/{id}/edit",
            get(intel::edit_form),
        )
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/lang", get(i18n::switch))
        .route("/zone", get(zone::switch))
        // Layers run outermost last-added: headers, then the session, then the CSRF check,
        // which needs the session's token.
        .layer(from_fn(csrf::guard))
        .layer(from_fn_with_state(console.clone(), session::load))
        .layer(from_fn(page::headers))
        .with_state(console);
    pages.merge(assets::router())
}
