//! Webhook delivery: the warning as a JSON body, POSTed with
//!
//! - `X-Watchpost-Signature: sha256=<hex>`: HMAC-SHA256 of the exact body bytes under the
//!   hub's secret, so the receiver can check who sent it (compute it over the raw body before
//!   parsing, compare in constant time);
//! - `X-Watchpost-Delivery: <delivery id>`: the same on every retry of one delivery, so a
//!   receiver that saw it already (its answer was lost) can drop the duplicate;
//! - `X-Watchpost-Event: warning`.
//!
//! 2xx is success; 408, 429, 5xx and network errors are retried; any other status is a
//! refusal that retrying will not change.

use super::{Facts, Outcome};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::fmt::Write;
use std::time::Duration;

/// The signature header's value for `body`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    mac.update(body);
    let mut out = String::from("sha256=");
    for b in mac.finalize().into_bytes() {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The JSON body of a webhook delivery.
pub fn body(facts: &Facts<'_>) -> Value {
    let w = facts.warning;
    json!({
        "event": "warning",
        "warning_id": w.id,
        "delivery_id": facts.delivery.id,
        "severity": w.severity,
        "org": w.org,
        "level": facts.delivery.level,
        "indicator": {
            "id": w.indicator_id,
            "name": facts.detail.indicator_name,
            "pattern": facts.detail.pattern,
        },
        "first_seen": facts.first_seen(),
        "last_seen": facts.last_seen(),
        "count": w.count,
        "observation": facts.detail.observation,
        "ack_url": facts.ack_url,
    })
}

/// Sends webhook deliveries.
#[derive(Clone, Debug)]
pub struct Webhook {
    client: reqwest::Client,
    secret: Vec<u8>,
}

impl Webhook {
    /// A sender that signs with `secret` and gives receivers `timeout` to answer. Redirects are
    /// not followed: a signed POST must reach the URL the directory names.
    pub fn new(secret: &[u8], timeout: Duration) -> Result<Self, crate::WarnError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("watchpost/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| crate::WarnError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Webhook {
            client,
            secret: secret.to_vec(),
        })
    }

    /// POSTs one delivery.
    pub async fn send(&self, facts: &Facts<'_>) -> Outcome {
        let body = body(facts).to_string();
        let response = self
            .client
            .post(&facts.delivery.target)
            .header("content-type", "application/json")
            .header(
                "x-watchpost-signature",
                signature(&self.secret, body.as_bytes()),
            )
            .header("x-watchpost-delivery", &facts.delivery.id)
            .header("x-watchpost-event", "warning")
            .body(body)
            .send()
            .await;
        match response {
            Ok(r) => classify(r.status().as_u16()),
            Err(e) if e.is_builder() => Outcome::Refused(format!(
                "{:?} is not a usable URL: {e}",
                facts.delivery.target
            )),
            Err(e) => Outcome::Retry(format!("no answer from the webhook: {e}")),
        }
    }
}

fn classify(status: u16) -> Outcome {
    match status {
        200..=299 => Outcome::Sent,
        408 | 429 => Outcome::Retry(format!("the webhook answered HTTP {status}")),
        300..=499 => Outcome::Refused(format!(
            "the webhook answered HTTP {status}; it will not be tried again"
        )),
        _ => Outcome::Retry(format!("the webhook answered HTTP {status}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(classify(204), Outcome::Sent);
        assert!(matches!(classify(429), Outcome::Retry(_)));
        assert!(matches!(classify(408), Outcome::Retry(_)));
        assert!(matches!(classify(503), Outcome::Retry(_)));
        assert!(matches!(classify(400), Outcome::Refused(_)));
        assert!(matches!(classify(301), Outcome::Refused(_)));
    }

    #[test]
    fn signature_is_hex_hmac() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
