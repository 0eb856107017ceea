//! Acknowledgement: a signed link in every message, and the API.
//!
//! A link carries the focal point's name and `sig` = base64url(HMAC-SHA256(secret,
//! "warning-id:focal-point-name")), so it acknowledges that warning on behalf of that focal
//! point and nothing else, and cannot be forged without the hub's secret. Opening the link
//! (GET) only shows the warning and a button: mail systems and link scanners open links
//! before people do, and must not acknowledge anything. The button POSTs to the same URL.
//! Users of the affected organisation (or admins) acknowledge through
//! `POST /api/warnings/{id}/ack` with their API token.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use std::sync::Arc;
use watchpost_store::{Role, Store, StoreError, Warning, WarningStatus};

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], warning: &str, focal_point: &str) -> HmacSha256 {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = HmacSha256::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    mac.update(warning.as_bytes());
    mac.update(b":");
    mac.update(focal_point.as_bytes());
    mac
}

/// The signature of an acknowledgement link.
pub fn token(secret: &[u8], warning: &str, focal_point: &str) -> String {
    URL_SAFE_NO_PAD.encode(mac(secret, warning, focal_point).finalize().into_bytes())
}

/// Whether `sig` is the signature of (warning, focal point), compared in constant time.
pub fn verify(secret: &[u8], warning: &str, focal_point: &str, sig: &str) -> bool {
    URL_SAFE_NO_PAD.decode(sig).is_ok_and(|bytes| {
        mac(secret, warning, focal_point)
            .verify_slice(&bytes)
            .is_ok()
    })
}

/// The acknowledgement link of a warning for one focal point.
pub fn ack_url(base: &str, secret: &[u8], warning: &str, focal_point: &str) -> String {
    format!(
        "{}/warnings/{}/ack?by={}&sig={}",
        base.trim_end_matches('/'),
        percent_encode(warning),
        percent_encode(focal_point),
        token(secret, warning, focal_point)
    )
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[derive(Clone)]
struct AckState {
    store: Arc<dyn Store>,
    secret: Arc<[u8]>,
}

/// The acknowledgement routes: `GET`/`POST /warnings/{id}/ack?by=…&sig=…` and
/// `POST /api/warnings/{id}/ack` (bearer token).
pub fn router(store: Arc<dyn Store>, secret: &[u8]) -> Router {
    let state = AckState {
        store,
        secret: Arc::from(secret),
    };
    Router::new()
        .route("/warnings/{id}/ack", get(confirm_page).post(ack_by_link))
        .route("/api/warnings/{id}/ack", post(ack_by_api))
        .with_state(state)
}

#[derive(Deserialize)]
struct LinkParams {
    by: String,
    sig: String,
}

/// A failure, as the person or program that made the request needs to see it.
struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.0, self.1).into_response()
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => {
                Refusal(StatusCode::NOT_FOUND, format!("{what} was not found"))
            }
            other => {
                tracing::error!(message = "Acknowledgement failed in the store.", error = %other);
                Refusal(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the hub could not record this; try again later".into(),
                )
            }
        }
    }
}

fn check_link(state: &AckState, id: &str, params: &LinkParams) -> Result<(), Refusal> {
    if verify(&state.secret, id, &params.by, &params.sig) {
        Ok(())
    } else {
        Err(Refusal(
            StatusCode::FORBIDDEN,
            "this acknowledgement link is not valid: its signature does not match the warning \
             and the name it carries; use the link exactly as the warning message gave it"
                .into(),
        ))
    }
}

async fn find(state: &AckState, id: &str) -> Result<Warning, Refusal> {
    match state.store.warning(id).await? {
        Some((w, _)) => Ok(w),
        None => Err(Refusal(
            StatusCode::NOT_FOUND,
            format!("warning {id} was not found"),
        )),
    }
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1>{body}</body></html>",
        title = html_escape(title)
    ))
}

async fn confirm_page(
    State(state): State<AckState>,
    Path(id): Path<String>,
    Query(params): Query<LinkParams>,
) -> Result<Html<String>, Refusal> {
    check_link(&state, &id, &params)?;
    let w = find(&state, &id).await?;
    let detail = crate::warning::Detail::of(&w);
    let facts = format!(
        "<p>{severity} warning for {org}: {name}</p><p>Seen {count} time(s), last at {last}.</p>",
        severity = html_escape(&w.severity),
        org = html_escape(&w.org),
        name = html_escape(&detail.indicator_name),
        count = w.count,
        last = watchpost_store::timestamp_text(w.last_seen),
    );
    if w.status == WarningStatus::Acknowledged {
        let by = w.ack_by.as_deref().unwrap_or("");
        return Ok(page(
            "Warning already acknowledged",
            &format!("{facts}<p>Acknowledged by {}.</p>", html_escape(by)),
        ));
    }
    let action = format!(
        "/warnings/{}/ack?by={}&sig={}",
        percent_encode(&id),
        percent_encode(&params.by),
        percent_encode(&params.sig)
    );
    Ok(page(
        "Acknowledge this warning?",
        &format!(
            "{facts}<form method=\"post\" action=\"{}\"><button type=\"submit\">\
             Acknowledge as {}</button></form>",
            html_escape(&action),
            html_escape(&params.by)
        ),
    ))
}

async fn ack_by_link(
    State(state): State<AckState>,
    Path(id): Path<String>,
    Query(params): Query<LinkParams>,
) -> Result<Html<String>, Refusal> {
    check_link(&state, &id, &params)?;
    let w = state
        .store
        .acknowledge_warning(&id, &params.by, now())
        .await?;
    let by = w.ack_by.as_deref().unwrap_or("");
    Ok(page(
        "Warning acknowledged",
        &format!(
            "<p>Warning {} is acknowledged by {}. No further levels will be warned.</p>",
            html_escape(&w.id),
            html_escape(by)
        ),
    ))
}

async fn ack_by_api(
    State(state): State<AckState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Warning>, Refusal> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            Refusal(
                StatusCode::UNAUTHORIZED,
                "send an API token as Authorization: Bearer <token>".into(),
            )
        })?;
    let caller = state.store.caller_for_token(token).await?.ok_or_else(|| {
        Refusal(
            StatusCode::UNAUTHORIZED,
            "the API token is not known to this hub".into(),
        )
    })?;
    let w = find(&state, &id).await?;
    if caller.role != Role::Admin {
        let orgs = state.store.orgs().await?;
        let own = orgs.iter().any(|o| o.id == caller.org && o.name == w.org);
        if !own {
            return Err(Refusal(
                StatusCode::FORBIDDEN,
                format!(
                    "only users of {} or admins may acknowledge this warning",
                    w.org
                ),
            ));
        }
    }
    Ok(Json(
        state
            .store
            .acknowledge_warning(&id, &caller.user, now())
            .await?,
    ))
}

fn now() -> i64 {
    watchpost_stix::Timestamp::now().unix_micros()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_bind_warning_and_focal_point() {
        let s = b"secret";
        let t = token(s, "w1", "SOC");
        assert!(verify(s, "w1", "SOC", &t));
        assert!(!verify(s, "w2", "SOC", &t));
        assert!(!verify(s, "w1", "CISO", &t));
        assert!(!verify(b"other", "w1", "SOC", &t));
        assert!(!verify(s, "w1", "SOC", "not base64!"));
    }

    #[test]
    fn links_encode_names() {
        let url = ack_url("https://hub.example/", b"k", "w1", "Trực ban A&B");
        assert!(url
            .starts_with("https://hub.example/warnings/w1/ack?by=Tr%E1%BB%B1c%20ban%20A%26B&sig="));
    }
}
