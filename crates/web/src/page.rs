//! The layout every console page shares: the navigation, the language switcher, the user and
//! the CSRF token the page's forms and htmx requests send back.
//!
//! A new page is a template that `{% extends "base.html" %}` and a struct with a `page: Page`
//! field; its link in the navigation is one line of [`NAV`].

use crate::error::WebError;
use crate::i18n::{Key, Lang};
use crate::session::Signed;
use crate::zone::Zone;
use askama::Template;
use axum::extract::Request;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use watchpost_store::Role;

/// A link of the navigation: its text, where it goes, and the least role that sees it.
pub struct NavEntry {
    /// The link's text.
    pub label: Key,
    /// Its path.
    pub href: &'static str,
    /// Who sees it.
    pub least_role: Role,
}

/// The navigation, in order. Pages not built yet have no entry: a link must lead somewhere.
pub const NAV: &[NavEntry] = &[
    NavEntry {
        label: Key::Warnings,
        href: "/",
        least_role: Role::Reader,
    },
    NavEntry {
        label: Key::Dashboard,
        href: "/dashboard",
        least_role: Role::Reader,
    },
    NavEntry {
        label: Key::Intelligence,
        href: "/intel",
        least_role: Role::Reader,
    },
    NavEntry {
        label: Key::Requests,
        href: "/requests",
        least_role: Role::Reader,
    },
    NavEntry {
        label: Key::Directory,
        href: "/directory",
        least_role: Role::Reader,
    },
    NavEntry {
        label: Key::Administration,
        href: "/admin",
        least_role: Role::Admin,
    },
];

/// A link as a page shows it.
pub struct NavLink {
    /// Its text in the page's language.
    pub label: &'static str,
    /// Its path.
    pub href: &'static str,
    /// Whether it is the page shown.
    pub current: bool,
}

/// What the layout needs to know about the request.
pub struct Page {
    /// The language.
    pub lang: Lang,
    /// The time zone dates are shown in.
    pub zone: Zone,
    /// The title.
    pub title: Key,
    /// The signed-in user, if any.
    pub user: Option<Signed>,
    /// The page's own path, for the navigation and the language switcher.
    pub path: &'static str,
}

impl Page {
    /// A page for a signed-in user.
    pub fn new(headers: &HeaderMap, user: &Signed, title: Key, path: &'static str) -> Page {
        Page {
            lang: Lang::of(headers),
            zone: Zone::of(headers),
            title,
            user: Some(user.clone()),
            path,
        }
    }

    /// A page with no user (sign-in, errors).
    pub fn bare(lang: Lang, title: Key) -> Page {
        Page {
            lang,
            zone: Zone::default(),
            title,
            user: None,
            path: "/",
        }
    }

    /// The text of `key` in the page's language.
    pub fn t(&self, key: Key) -> &'static str {
        self.lang.t(key)
    }

    /// The title in the page's language.
    pub fn title_text(&self) -> &'static str {
        self.lang.t(self.title)
    }

    /// The navigation this user sees.
    pub fn nav(&self) -> Vec<NavLink> {
        let Some(user) = &self.user else {
            return Vec::new();
        };
        NAV.iter()
            .filter(|e| user.caller.role >= e.least_role)
            .map(|e| NavLink {
                label: self.t(e.label),
                href: e.href,
                current: e.href == self.path,
            })
            .collect()
    }

    /// The session's CSRF token ("" before sign-in).
    pub fn csrf(&self) -> &str {
        self.user.as_ref().map_or("", |u| u.csrf.as_str())
    }

    /// The `hx-headers` value that has htmx send the token with every request.
    pub fn hx_headers(&self) -> String {
        serde_json::json!({ crate::csrf::HEADER: self.csrf() }).to_string()
    }

    /// The user's role, in words.
    pub fn role(&self) -> &'static str {
        match self.user.as_ref().map(|u| u.caller.role) {
            Some(Role::Admin) => self.t(Key::RoleAdmin),
            Some(Role::Analyst) => self.t(Key::RoleAnalyst),
            _ => self.t(Key::RoleReader),
        }
    }

    /// The code of the language the switcher offers: the other one.
    pub fn other_lang_code(&self) -> &'static str {
        match self.lang {
            Lang::En => "vi",
            Lang::Vi => "en",
        }
    }

    /// Its name, in itself.
    pub fn other_lang_name(&self) -> &'static str {
        match self.lang {
            Lang::En => "Tiếng Việt",
            Lang::Vi => "English",
        }
    }

    /// The zones a user can choose, and whether each is the one in use.
    pub fn zones(&self) -> Vec<(&'static str, bool)> {
        crate::zone::ZONES
            .iter()
            .map(|z| (z.name, z.name == self.zone.name))
            .collect()
    }

    /// Where the stylesheet is; the version in the query lets browsers cache it for a year.
    pub fn stylesheet(&self) -> &'static str {
        crate::assets::STYLESHEET_URL
    }
}

/// Renders a template as HTML. Askama escapes every value; the one exception is a chart's SVG
/// (`|safe`), which [`crate::chart`] builds with every text escaped.
pub fn render(template: &impl Template) -> Result<Response, WebError> {
    Ok(Html(template.render()?).into_response())
}

/// The policy of every page: scripts and styles from this origin only (htmx's indicator
/// styles are turned off in the page, so it inserts none), no framing, forms posted here only.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/// Middleware: the security headers of every console response, and no caching of pages that
/// show warnings.
pub(crate) async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}
