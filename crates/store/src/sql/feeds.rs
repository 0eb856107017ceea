//! Feeds: remote TAXII collections and MISP feeds polled into local collections, and where
//! each poll stopped.

use super::directory::org_pk;
use super::{conflict, now, SqlStore};
use crate::error::{Result, StoreError};
use crate::model::{Feed, FeedKind, NewFeed};
use sqlx::any::AnyRow;
use sqlx::Row;

pub(super) async fn add(store: &SqlStore, feed: NewFeed) -> Result<Feed> {
    let org = org_pk(store, &feed.org_name).await?;
    let collection: i64 = sqlx::query_scalar("SELECT pk FROM collections WHERE id = $1")
        .bind(&feed.collection)
        .fetch_optional(&store.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("collection {}", feed.collection)))?;
    if feed.interval_secs < 1 {
        return Err(StoreError::Invalid(
            "a feed's interval must be at least one second".into(),
        ));
    }
    let api_root = if feed.api_root.ends_with('/') {
        feed.api_root.clone()
    } else {
        format!("{}/", feed.api_root)
    };
    let pk: i64 = sqlx::query_scalar(
        "INSERT INTO feeds (api_root, remote, collection_pk, org_pk, auth, interval_secs, created, \
         kind) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING pk",
    )
    .bind(&api_root)
    .bind(&feed.remote)
    .bind(collection)
    .bind(org)
    .bind(&feed.auth)
    .bind(feed.interval_secs)
    .bind(now())
    .bind(feed.kind.as_str())
    .fetch_one(&store.pool)
    .await
    .map_err(conflict(|| match feed.kind {
        FeedKind::Taxii => format!("a feed of {}collections/{}", api_root, feed.remote),
        FeedKind::Misp => format!("a MISP feed of {api_root}"),
    }))?;
    let all = list(store).await?;
    all.into_iter()
        .find(|f| f.id == pk)
        .ok_or_else(|| StoreError::NotFound(format!("feed {pk}")))
}

fn from_row(r: &AnyRow) -> Result<Feed> {
    let kind: String = r.try_get(10)?;
    Ok(Feed {
        kind: FeedKind::parse(&kind)
            .ok_or_else(|| StoreError::Invalid(format!("a feed of unknown kind {kind:?}")))?,
        id: r.try_get(0)?,
        api_root: r.try_get(1)?,
        remote: r.try_get(2)?,
        collection: r.try_get(3)?,
        org: r.try_get(4)?,
        auth: r.try_get(5)?,
        interval_secs: r.try_get(6)?,
        last_added: r.try_get(7)?,
        last_polled: r.try_get(8)?,
        last_error: r.try_get(9)?,
    })
}

pub(super) async fn list(store: &SqlStore) -> Result<Vec<Feed>> {
    let rows = sqlx::query(
        "SELECT f.pk, f.api_root, f.remote, c.id, o.identity_id, f.auth, f.interval_secs, \
         f.last_added, f.last_polled, f.last_error, f.kind FROM feeds f \
         JOIN collections c ON c.pk = f.collection_pk JOIN orgs o ON o.pk = f.org_pk ORDER BY f.pk",
    )
    .fetch_all(&store.pool)
    .await?;
    rows.iter().map(from_row).collect()
}

pub(super) async fn record_poll(
    store: &SqlStore,
    id: i64,
    last_added: Option<&str>,
    error: Option<&str>,
) -> Result<()> {
    let _turn = store.write_turn().await;
    sqlx::query(
        "UPDATE feeds SET last_added = COALESCE($1, last_added), last_polled = $2, \
         last_error = $3 WHERE pk = $4",
    )
    .bind(last_added)
    .bind(now())
    .bind(error)
    .bind(id)
    .execute(&store.pool)
    .await?;
    Ok(())
}

pub(super) async fn events(store: &SqlStore, feed: i64) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query("SELECT uuid, timestamp FROM feed_events WHERE feed_pk = $1")
        .bind(feed)
        .fetch_all(&store.pool)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

pub(super) async fn record_event(
    store: &SqlStore,
    feed: i64,
    uuid: &str,
    timestamp: &str,
) -> Result<()> {
    let _turn = store.write_turn().await;
    sqlx::query(
        "INSERT INTO feed_events (feed_pk, uuid, timestamp, stored) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (feed_pk, uuid) DO UPDATE SET timestamp = excluded.timestamp, \
         stored = excluded.stored",
    )
    .bind(feed)
    .bind(uuid)
    .bind(timestamp)
    .bind(now())
    .execute(&store.pool)
    .await?;
    Ok(())
}
