//! Who is calling: HTTP Basic (user name and password) or a bearer API token.
//!
//! A password is checked with argon2, which is slow on purpose; a client that pages through a
//! collection sends the same credentials on every request, so a successful check is
//! remembered for a few minutes under a SHA-256 of the credentials (never the password
//! itself).

use super::error::TaxiiError;
use super::Server;
use axum::http::{header, HeaderMap, StatusCode};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use watchpost_store::Caller;

const REMEMBER: Duration = Duration::from_secs(300);
const MAX_REMEMBERED: usize = 10_000;

/// Recently verified Basic credentials.
#[derive(Debug, Default)]
pub struct LoginCache {
    entries: Mutex<HashMap<[u8; 32], (Caller, Instant)>>,
}

impl LoginCache {
    fn get(&self, key: &[u8; 32]) -> Option<Caller> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|(_, at)| at.elapsed() < REMEMBER)
            .map(|(c, _)| c.clone())
    }

    fn put(&self, key: [u8; 32], caller: Caller) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_REMEMBERED {
                entries.retain(|_, (_, at)| at.elapsed() < REMEMBER);
            }
            if entries.len() < MAX_REMEMBERED {
                entries.insert(key, (caller, Instant::now()));
            }
        }
    }
}

fn unauthorized(description: &str) -> TaxiiError {
    TaxiiError::new(StatusCode::UNAUTHORIZED, description)
}

/// The caller named by the Authorization header.
pub async fn caller(server: &Server, headers: &HeaderMap) -> Result<Caller, TaxiiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| unauthorized("send HTTP Basic credentials or a bearer API token"))?
        .to_str()
        .map_err(|_| unauthorized("the Authorization header is not readable text"))?;
    let (scheme, credentials) = value.trim().split_once(' ').unwrap_or((value, ""));
    let credentials = credentials.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return server
            .store
            .caller_for_token(credentials)
            .await?
            .ok_or_else(|| unauthorized("the bearer token is unknown or revoked"));
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(unauthorized(
            "the Authorization scheme must be Basic or Bearer",
        ));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(credentials)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| unauthorized("the Basic credentials are not base64 of user:password"))?;
    let (user, password) = decoded
        .split_once(':')
        .ok_or_else(|| unauthorized("the Basic credentials are not base64 of user:password"))?;
    let key: [u8; 32] = Sha256::digest(decoded.as_bytes()).into();
    if let Some(caller) = server.logins.get(&key) {
        return Ok(caller);
    }
    let caller = server
        .store
        .login(user, password)
        .await?
        .ok_or_else(|| unauthorized("the user name or password is wrong"))?;
    server.logins.put(key, caller.clone());
    Ok(caller)
}
