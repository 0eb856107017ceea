//! MISP feeds (`watchpost feed add --misp URL`): a directory of event files listed by
//! `manifest.json`, as MISP publishes them and as MISP's own "Fetch and store all feed data"
//! reads them. Each poll fetches the manifest, then only the events whose manifest timestamp
//! differs from the one stored last time, converts them as `import` converts MISP JSON, and
//! records each event once its objects are stored, so a poll that dies resumes where it was.

use super::misp_import::flag_warning_lists;
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use watchpost_exchange::misp::{to_stix, Options};
use watchpost_exchange::warninglist::WarningLists;
use watchpost_stix::Validator;
use watchpost_store::{Caller, Feed, FeedKind, Role, SqlStore, StatusDetail, Store};
use watchpost_taxii::server::ingest;

/// What one poll of a MISP feed did.
#[derive(Debug, Default)]
pub struct MispPollReport {
    /// Events the manifest lists.
    pub listed: usize,
    /// Events fetched because they were new or changed.
    pub fetched: usize,
    /// Objects stored (new versions and versions already known).
    pub stored: u64,
    /// Objects refused by validation.
    pub refused: u64,
    /// Indicators flagged by a warning list.
    pub flagged: usize,
    /// Events or records that could not be read, each with its URL and JSON path.
    pub problems: Vec<String>,
}

/// Polls MISP feeds into a store.
pub struct MispFeeds {
    store: Arc<SqlStore>,
    validator: Validator,
    lists: WarningLists,
    http: reqwest::Client,
}

impl MispFeeds {
    /// A poller that validates converted objects with `validator`.
    pub fn new(store: Arc<SqlStore>, validator: Validator) -> Result<MispFeeds> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("watchpost/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot build the HTTP client")?;
        Ok(MispFeeds {
            store,
            validator,
            lists: WarningLists::embedded(),
            http,
        })
    }

    /// Polls one feed and records the outcome on it (a poll that read the manifest but lost
    /// some events records them as its error, and fetches them again next time).
    pub async fn poll(&self, feed: &Feed) -> Result<MispPollReport> {
        let result = self.poll_events(feed).await;
        let error = match &result {
            Ok(r) if r.problems.is_empty() => None,
            Ok(r) => Some(format!(
                "{} problems, the first: {}",
                r.problems.len(),
                r.problems[0]
            )),
            Err(e) => Some(format!("{e:#}")),
        };
        self.store
            .record_poll(feed.id, None, error.as_deref())
            .await?;
        result
    }

    async fn poll_events(&self, feed: &Feed) -> Result<MispPollReport> {
        let manifest_url = format!("{}manifest.json", feed.api_root);
        let manifest = manifest(&self.get(feed, &manifest_url).await?)
            .with_context(|| format!("{manifest_url} is not a MISP feed manifest"))?;
        let stored: HashMap<String, String> =
            self.store.feed_events(feed.id).await?.into_iter().collect();
        let mut report = MispPollReport {
            listed: manifest.len(),
            ..MispPollReport::default()
        };
        for (uuid, timestamp) in manifest {
            if stored.get(&uuid) == Some(&timestamp) {
                continue;
            }
            let url = format!("{}{uuid}.json", feed.api_root);
            match self.fetch_event(feed, &url, &mut report).await {
                Ok(()) => {
                    report.fetched += 1;
                    self.store
                        .record_feed_event(feed.id, &uuid, &timestamp)
                        .await?;
                }
                Err(e) => report.problems.push(format!("{url}: {e:#}")),
            }
        }
        Ok(report)
    }

    async fn fetch_event(&self, feed: &Feed, url: &str, report: &mut MispPollReport) -> Result<()> {
        let body = self.get(feed, url).await?;
        let conversion = to_stix(&body, &Options::default())?;
        for p in &conversion.problems {
            report.problems.push(format!("{url}: {p}"));
        }
        let mut objects = conversion.objects;
        report.flagged += flag_warning_lists(&self.lists, &mut objects).len();
        let (mut batch, mut failures, mut issues) = (Vec::new(), Vec::new(), Vec::new());
        for object in &objects {
            match ingest::prepare(object, &self.validator, &mut issues) {
                Ok(o) => batch.push(o),
                Err(f) => failures.push(StatusDetail { ..f }),
            }
        }
        let caller = Caller {
            user: format!("feed {}", feed.id),
            org: feed.org.clone(),
            role: Role::Analyst,
        };
        let status = self
            .store
            .add_objects(&caller, &feed.collection, batch, failures)
            .await?;
        report.stored += status.success_count;
        report.refused += status.failure_count;
        Ok(())
    }

    async fn get(&self, feed: &Feed, url: &str) -> Result<Vec<u8>> {
        let mut req = self.http.get(url);
        if let Some(auth) = &feed.auth {
            req = req.header("authorization", auth);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("cannot fetch {url}"))?;
        let status = resp.status();
        let body = resp
            .bytes()
            .await
            .with_context(|| format!("cannot read {url}"))?;
        if !status.is_success() {
            bail!("{url} answered {status}");
        }
        Ok(body.to_vec())
    }

    /// Polls every MISP feed when its interval has passed, forever; errors are recorded on the
    /// feed and logged, and the loop goes on.
    pub async fn run(self: Arc<Self>) {
        loop {
            match self.store.feeds().await {
                Ok(feeds) => {
                    let now = watchpost_stix::Timestamp::now().unix_micros();
                    for feed in feeds.iter().filter(|f| f.kind == FeedKind::Misp) {
                        let due = feed
                            .last_polled
                            .is_none_or(|at| now - at >= feed.interval_secs * 1_000_000);
                        if due {
                            match self.poll(feed).await {
                                Ok(r) => tracing::info!(
                                    feed = feed.id,
                                    fetched = r.fetched,
                                    stored = r.stored,
                                    problems = r.problems.len(),
                                    "MISP feed polled"
                                ),
                                Err(e) => {
                                    tracing::warn!(feed = feed.id, "MISP feed poll failed: {e:#}")
                                }
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

/// The (event UUID, timestamp) pairs of a `manifest.json`, oldest first. MISP writes the
/// timestamp as a string of seconds; a number is taken too.
fn manifest(body: &[u8]) -> Result<Vec<(String, String)>> {
    let value: Value = serde_json::from_slice(body)?;
    let Value::Object(events) = value else {
        bail!("expected an object of events by UUID at $");
    };
    let mut out = Vec::with_capacity(events.len());
    for (uuid, event) in events {
        let timestamp = match event.get("timestamp") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => bail!("expected a timestamp at $.{uuid}.timestamp"),
        };
        if uuid::Uuid::parse_str(&uuid).is_err() {
            bail!("expected an event UUID as the key at $.{uuid}");
        }
        out.push((uuid, timestamp));
    }
    out.sort_by_key(|(uuid, t)| (t.parse::<i64>().unwrap_or(i64::MAX), uuid.clone()));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_are_read_oldest_first_and_errors_name_the_path() {
        let body = br#"{"b2c3d4e5-0000-4000-8000-000000000002": {"timestamp": "1700000100"},
                        "a1b2c3d4-0000-4000-8000-000000000001": {"timestamp": 1700000000}}"#;
        let events = manifest(body).unwrap();
        assert_eq!(events[0].1, "1700000000");
        assert_eq!(events[1].0, "b2c3d4e5-0000-4000-8000-000000000002");
        let bad = manifest(br#"{"a1b2c3d4-0000-4000-8000-000000000001": {}}"#).unwrap_err();
        assert!(bad.to_string().contains("$.a1b2c3d4"), "{bad}");
        assert!(manifest(b"[]").unwrap_err().to_string().contains("at $"));
        assert!(manifest(br#"{"../x": {"timestamp": "1"}}"#).is_err());
    }
}
