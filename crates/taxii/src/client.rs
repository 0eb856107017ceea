//! The TAXII 2.1 client: polls remote collections into local ones (`watchpost feed add`).
//!
//! Each poll asks for what the remote added after the last `X-TAXII-Date-Added-Last` it
//! returned, follows `next` to the end, validates every object like a POST to this hub, stores
//! the good ones as the feed's organisation, and records the new position after every page: a
//! poll interrupted half-way resumes where it stopped and never skips an object.

use crate::media::TAXII;
use crate::server::ingest;
use axum::body::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::sync::Arc;
use std::time::Duration;
use watchpost_stix::Validator;
use watchpost_store::{Caller, Feed, FeedKind, Role, StatusDetail, Store, StoreError};

/// Why a poll failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The remote could not be reached or the transfer broke.
    #[error("cannot reach {url}: {source}")]
    Http {
        /// The URL requested.
        url: String,
        /// What went wrong.
        source: reqwest::Error,
    },
    /// The remote answered with an error status.
    #[error("{url} answered {status}: {body}")]
    Status {
        /// The URL requested.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of its body (a TAXII error resource, usually).
        body: String,
    },
    /// The remote's answer is not a TAXII envelope.
    #[error("{url} did not send a TAXII envelope: {message}")]
    Envelope {
        /// The URL requested.
        url: String,
        /// What was wrong with it.
        message: String,
    },
    /// A page from a peer hub that holds a key is unsigned or not signed by that key.
    #[error("a page from {url} was refused: {source}")]
    Signature {
        /// The URL requested.
        url: String,
        /// What is wrong with the signature.
        source: crate::signing::SignatureError,
    },
    /// The local store refused the objects.
    #[error("cannot store what the feed brought: {0}")]
    Store(#[from] StoreError),
}

/// What one poll brought.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PollReport {
    /// Pages requested.
    pub pages: usize,
    /// Objects received.
    pub received: u64,
    /// Objects stored (new versions and versions already known).
    pub stored: u64,
    /// Objects refused by validation, with the reason.
    pub refused: Vec<StatusDetail>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default)]
    more: bool,
    next: Option<String>,
    #[serde(borrow, default)]
    objects: Vec<&'a RawValue>,
}

/// Polls feeds into a store.
pub struct Poller {
    store: Arc<dyn Store>,
    validator: Validator,
    http: reqwest::Client,
    page_size: usize,
}

impl std::fmt::Debug for Poller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poller")
            .field("page_size", &self.page_size)
            .finish_non_exhaustive()
    }
}

impl Poller {
    /// A poller that validates with `validator` (give it the pattern checker).
    pub fn new(store: Arc<dyn Store>, validator: Validator) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("watchpost/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Poller {
            store,
            validator,
            http,
            page_size: 1000,
        }
    }

    /// Polls one feed to the end of what the remote has, recording progress page by page.
    pub async fn poll(&self, feed: &Feed) -> Result<PollReport, ClientError> {
        let result = self.poll_pages(feed).await;
        if let Err(e) = &result {
            self.store
                .record_poll(feed.id, None, Some(&e.to_string()))
                .await?;
        }
        result
    }

    async fn poll_pages(&self, feed: &Feed) -> Result<PollReport, ClientError> {
        let caller = Caller {
            user: format!("feed {}", feed.id),
            org: feed.org.clone(),
            role: Role::Analyst,
        };
        let base = format!("{}collections/{}/objects/", feed.api_root, feed.remote);
        // A feed from a peer hub whose key this hub holds: every page must carry its signature.
        let key = self
            .store
            .peers()
            .await?
            .into_iter()
            .find(|p| p.org == feed.org && p.url == feed.api_root)
            .and_then(|p| p.public_key);
        let mut report = PollReport::default();
        let mut last_added = feed.last_added.clone();
        let mut next: Option<String> = None;
        loop {
            let mut query = vec![("limit", self.page_size.to_string())];
            // The same added_after on every page of a poll: `next` is relative to it.
            if let Some(after) = &feed.last_added {
                query.push(("added_after", after.clone()));
            }
            if let Some(n) = &next {
                query.push(("next", n.clone()));
            }
            let (body, page_last, signature) = self.get(feed, &base, &query).await?;
            if let Some(key) = &key {
                crate::signing::verify(key, &body, signature.as_deref()).map_err(|source| {
                    ClientError::Signature {
                        url: base.clone(),
                        source,
                    }
                })?;
            }
            let envelope: Envelope =
                serde_json::from_slice(&body).map_err(|e| ClientError::Envelope {
                    url: base.clone(),
                    message: e.to_string(),
                })?;
            report.pages += 1;
            report.received += envelope.objects.len() as u64;
            let batch = ingest::prepare_all(&envelope.objects, &self.validator);
            report.refused.extend(batch.failures.iter().cloned());
            if !batch.objects.is_empty() || !batch.failures.is_empty() {
                let status = self
                    .store
                    .add_objects(&caller, &feed.collection, batch.objects, batch.failures)
                    .await?;
                report.stored += status.success_count;
            }
            // The position moves only once the page is stored.
            if page_last.is_some() {
                last_added = page_last;
            }
            self.store
                .record_poll(feed.id, last_added.as_deref(), None)
                .await?;
            match (envelope.more, envelope.next) {
                (true, Some(n)) => next = Some(n),
                _ => return Ok(report),
            }
        }
    }

    async fn get(
        &self,
        feed: &Feed,
        url: &str,
        query: &[(&str, String)],
    ) -> Result<(Bytes, Option<String>, Option<String>), ClientError> {
        let mut req = self.http.get(url).query(query).header("accept", TAXII);
        if let Some(auth) = &feed.auth {
            req = req.header("authorization", auth);
        }
        let http = |source| ClientError::Http {
            url: url.to_string(),
            source,
        };
        let resp = req.send().await.map_err(http)?;
        let status = resp.status();
        let last = resp
            .headers()
            .get("x-taxii-date-added-last")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let signature = resp
            .headers()
            .get(crate::signing::HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = resp.bytes().await.map_err(http)?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body[..body.len().min(500)]).into_owned();
            return Err(ClientError::Status {
                url: url.to_string(),
                status: status.as_u16(),
                body: text,
            });
        }
        Ok((body, last, signature))
    }

    /// Polls every feed when its interval has passed, forever; errors are recorded on the feed
    /// and logged, and the loop goes on.
    pub async fn run(self: Arc<Self>) {
        loop {
            match self.store.feeds().await {
                Ok(feeds) => {
                    let now = watchpost_stix::Timestamp::now().unix_micros();
                    // MISP feeds have their own poller.
                    for feed in feeds.into_iter().filter(|f| f.kind == FeedKind::Taxii) {
                        let due = feed
                            .last_polled
                            .is_none_or(|at| now - at >= feed.interval_secs * 1_000_000);
                        if due {
                            match self.poll(&feed).await {
                                Ok(r) => tracing::info!(
                                    feed = feed.id,
                                    received = r.received,
                                    stored = r.stored,
                                    refused = r.refused.len(),
                                    "feed polled"
                                ),
                                Err(e) => tracing::warn!(feed = feed.id, "feed poll failed: {e}"),
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!("cannot list feeds: {e}"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}
