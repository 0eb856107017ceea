//! Federation push: what this hub sends its peers (`watchpost peer add --push COLL`).
//!
//! A collection is read for a peer *as that peer* (role `peer`), so the store decides what
//! crosses: CLEAR and GREEN go to every peer, AMBER only to a peer whose organisation is in the
//! sharing group, AMBER+STRICT and RED never leave. Pages are read after the last `date_added`
//! the peer accepted, POSTed to the same collection on the peer, and the position moves only
//! once the peer has answered: a peer that was down catches up from there, and one that gets a
//! page twice (the hub died before recording) stores each version once. What the peer's own
//! organisation stored here (what it sent) is not sent back to it.

use crate::client::ClientError;
use crate::media::TAXII;
use std::sync::Arc;
use std::time::Duration;
use watchpost_store::{Caller, Micros, Peer, PushState, Query, Role, Store, VersionFilter};

/// Objects per pushed envelope.
const PAGE: usize = 500;
/// The first wait after a failure; it doubles with each one, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Micros = 1_000_000;
const MAX_BACKOFF: Micros = 300_000_000;

/// What one push of one collection did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushReport {
    /// Envelopes the peer accepted.
    pub envelopes: usize,
    /// Objects sent.
    pub sent: u64,
    /// Objects the peer refused (invalid to it); they are not sent again.
    pub refused: u64,
}

/// Pushes collections to peers.
pub struct Pusher {
    store: Arc<dyn Store>,
    http: reqwest::Client,
    /// This hub's signing key: every envelope is signed with it.
    secret: [u8; 32],
}

impl std::fmt::Debug for Pusher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pusher").finish_non_exhaustive()
    }
}

/// The wait after `failures` failures in a row.
pub fn backoff(failures: i64) -> Micros {
    let doublings = u32::try_from(failures.clamp(0, 20)).unwrap_or(20);
    FIRST_BACKOFF
        .saturating_mul(1 << doublings)
        .min(MAX_BACKOFF)
}

impl Pusher {
    /// A pusher over `store`, signing with the hub's `secret` ([`Store::signing_key`]).
    pub fn new(store: Arc<dyn Store>, secret: [u8; 32]) -> Pusher {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("watchpost/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Pusher {
            store,
            http,
            secret,
        }
    }

    /// Pushes one collection to one peer up to what is stored now, recording each page.
    pub async fn push(&self, peer: &Peer, state: &PushState) -> Result<PushReport, ClientError> {
        let caller = Caller {
            user: format!("peer {}", peer.name),
            org: peer.org.clone(),
            role: Role::Peer,
        };
        let url = format!("{}collections/{}/objects/", peer.url, state.collection);
        let mut report = PushReport::default();
        let mut after = state.last_added;
        loop {
            let query = Query {
                added_after: Some(after),
                limit: PAGE,
                versions: VersionFilter::all(),
                ..Query::default()
            };
            let page = self.store.read(&caller, &state.collection, &query).await?;
            let Some(position) = page.objects.last().map(|o| o.date_added).or(page.next) else {
                return Ok(report);
            };
            let bodies: Vec<&str> = page
                .objects
                .iter()
                .filter(|o| o.owner != peer.org)
                .map(|o| o.body.as_str())
                .collect();
            if !bodies.is_empty() {
                let refused = self.post(peer, &url, &bodies).await?;
                report.envelopes += 1;
                report.sent += bodies.len() as u64;
                report.refused += refused;
            }
            self.store
                .record_push(peer.id, &state.collection, Ok(position))
                .await?;
            after = position;
        }
    }

    /// POSTs an envelope; returns how many objects the peer refused.
    async fn post(&self, peer: &Peer, url: &str, bodies: &[&str]) -> Result<u64, ClientError> {
        // The bodies are stored compact JSON: the envelope is written around them as they are.
        let envelope = format!("{{\"objects\":[{}]}}", bodies.join(","));
        let http = |source| ClientError::Http {
            url: url.to_string(),
            source,
        };
        let response = self
            .http
            .post(url)
            .header("accept", TAXII)
            .header("content-type", TAXII)
            .header("authorization", format!("Bearer {}", peer.token))
            .header(
                crate::signing::HEADER,
                crate::signing::sign(&self.secret, envelope.as_bytes()),
            )
            .body(envelope)
            .send()
            .await
            .map_err(http)?;
        let status = response.status();
        let body = response.bytes().await.map_err(http)?;
        if !status.is_success() {
            return Err(ClientError::Status {
                url: url.to_string(),
                status: status.as_u16(),
                body: String::from_utf8_lossy(&body[..body.len().min(500)]).into_owned(),
            });
        }
        let answer: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| ClientError::Envelope {
                url: url.to_string(),
                message: e.to_string(),
            })?;
        Ok(answer["failure_count"].as_u64().unwrap_or(0))
    }

    /// Pushes every collection to every peer when due, forever; a failure is recorded with the
    /// time of the next attempt (1 s, doubling, at most 5 minutes) and the loop goes on.
    pub async fn run(self: Arc<Self>) {
        loop {
            match self.store.peers().await {
                Ok(peers) => {
                    let now = watchpost_stix::Timestamp::now().unix_micros();
                    for peer in &peers {
                        for state in peer.pushes.iter().filter(|s| s.next_attempt <= now) {
                            self.push_logged(peer, state, now).await;
                        }
                    }
                }
                Err(e) => tracing::warn!("cannot list peers: {e}"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    async fn push_logged(&self, peer: &Peer, state: &PushState, now: Micros) {
        match self.push(peer, state).await {
            Ok(r) if r.sent > 0 => tracing::info!(
                peer = peer.name,
                collection = state.collection,
                sent = r.sent,
                refused = r.refused,
                "pushed to peer"
            ),
            Ok(_) => {}
            Err(e) => {
                let next = now + backoff(state.failures);
                tracing::warn!(
                    peer = peer.name,
                    collection = state.collection,
                    "push failed: {e}"
                );
                let outcome = Err((e.to_string(), next));
                if let Err(e) = self
                    .store
                    .record_push(peer.id, &state.collection, outcome)
                    .await
                {
                    tracing::warn!("cannot record the failed push: {e}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_five_minutes() {
        assert_eq!(backoff(0), 1_000_000);
        assert_eq!(backoff(1), 2_000_000);
        assert_eq!(backoff(8), 256_000_000);
        assert_eq!(backoff(9), MAX_BACKOFF);
        assert_eq!(backoff(1_000), MAX_BACKOFF);
    }
}
