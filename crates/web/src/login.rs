//! Sign-in, with a lockout against password guessing, and sign-out.

use crate::csrf::LOGIN_COOKIE;
use crate::error::{respond, WebError};
use crate::i18n::{Key, Lang};
use crate::page::{render, Page};
use crate::session::{self, cookie, new_secret, now};
use crate::Console;
use askama::Template;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use watchpost_store::LoginAttempt;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    page: Page,
    token: String,
    message: Option<&'static str>,
    username: String,
}

/// The address a request came from, as the listener saw it ("unknown" when the server was
/// started without connection info). Behind a proxy every request has the proxy's address,
/// and the per-address lockout then counts for everyone: the proxy must be the one to limit.
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<ClientAddr, Infallible> {
        let addr = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| "unknown".to_string(), |c| c.0.ip().to_string());
        Ok(ClientAddr(addr))
    }
}

/// `GET /login`: the form, with a fresh token for it (also set as a cookie: see
/// [`crate::csrf`]). It is shown even to a browser with a session: that session may have been
/// planted, and signing in is how its user gets one of their own.
pub(crate) async fn form(State(console): State<Arc<Console>>, lang: Lang) -> Response {
    let token = new_secret();
    let page = form_page(lang, token.clone(), None, String::new());
    let cookie = session::set_cookie(&console, LOGIN_COOKIE, &token, 3600);
    respond(
        lang,
        page.map(|p| ([(SET_COOKIE, cookie)], p).into_response()),
    )
}

fn form_page(
    lang: Lang,
    token: String,
    message: Option<&'static str>,
    username: String,
) -> Result<Response, WebError> {
    let mut page = Page::bare(lang, Key::SignIn);
    page.path = "/login";
    render(&LoginPage {
        page,
        token,
        message,
        username,
    })
}

/// The sign-in form's fields.
#[derive(Deserialize)]
pub(crate) struct Credentials {
    username: String,
    password: String,
}

/// `POST /login`.
pub(crate) async fn submit(
    State(console): State<Arc<Console>>,
    ClientAddr(ip): ClientAddr,
    lang: Lang,
    headers: HeaderMap,
    Form(credentials): Form<Credentials>,
) -> Response {
    respond(
        lang,
        sign_in(&console, &ip, lang, &headers, credentials).await,
    )
}

async fn sign_in(
    console: &Console,
    ip: &str,
    lang: Lang,
    headers: &HeaderMap,
    credentials: Credentials,
) -> Result<Response, WebError> {
    let Credentials { username, password } = credentials;
    let at = now();
    let lockout = console.config.lockout;
    let window = i64::try_from(lockout.window.as_micros()).unwrap_or(i64::MAX);
    let failures = console
        .store
        .login_failures(&username, ip, at.saturating_sub(window))
        .await?;
    // The token stays the one the form was sent with: the guard has checked it equals the cookie.
    let token = cookie(headers, LOGIN_COOKIE)
        .unwrap_or_default()
        .to_string();
    if failures.by_user >= lockout.max_failures || failures.by_ip >= lockout.max_failures {
        tracing::warn!(message = "Refused a sign-in: too many failures.", user = %username, %ip);
        let page = form_page(lang, token, Some(lang.t(Key::LockedOut)), username)?;
        return Ok((StatusCode::TOO_MANY_REQUESTS, page).into_response());
    }
    // A peer hub's account exchanges over TAXII only; to the console it is no account at all.
    let caller = console
        .store
        .login(&username, &password)
        .await?
        .filter(|c| c.role != watchpost_store::Role::Peer);
    let attempt = LoginAttempt {
        username: username.clone(),
        ip: ip.to_string(),
        at,
        succeeded: caller.is_some(),
    };
    console.store.record_login_attempt(attempt).await?;
    let Some(caller) = caller else {
        let page = form_page(lang, token, Some(lang.t(Key::WrongCredentials)), username)?;
        return Ok((StatusCode::UNAUTHORIZED, page).into_response());
    };
    let brought = cookie(headers, session::COOKIE);
    let set = session::begin(console, &caller.user, brought).await?;
    let spent = session::set_cookie(console, LOGIN_COOKIE, "", 0);
    let mut response = (StatusCode::SEE_OTHER, [(LOCATION, "/")]).into_response();
    for value in [set, spent] {
        if let Ok(value) = value.parse() {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
    Ok(response)
}

/// `POST /logout`: ends the session in the store, not just in the browser.
pub(crate) async fn logout(
    State(console): State<Arc<Console>>,
    lang: Lang,
    headers: HeaderMap,
) -> Response {
    let result = session::end(&console, &headers).await.map(|clear| {
        (
            StatusCode::SEE_OTHER,
            [(SET_COOKIE, clear), (LOCATION, "/login".to_string())],
        )
            .into_response()
    });
    respond(lang, result)
}
