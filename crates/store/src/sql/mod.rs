//! [`Store`](crate::Store) over sqlx's `Any` driver: one implementation for SQLite and
//! PostgreSQL, chosen by the URL. Queries use `$n` placeholders, which both dialects accept;
//! what differs (migrations, connection pragmas, SQLite's single writer) is decided here.

mod audit;
mod collections;
mod console;
mod directory;
mod feeds;
mod peers;
mod search;

mod ids;
mod objects;
mod requests;
mod statement;
mod status;
mod trends;
mod warnings;

use crate::error::{Result, StoreError};
use crate::model::Micros;
use async_trait::async_trait;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Executor};
use std::borrow::Cow;
use std::str::FromStr;
use std::sync::Once;
use tokio::sync::{Mutex, MutexGuard};
use watchpost_stix::marking::Tlp;

/// Which database a [`SqlStore`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file, in WAL mode.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// The knowledge base in SQLite or PostgreSQL.
#[derive(Debug)]
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
    /// SQLite admits one writer at a time and its busy handler sleeps in steps of up to 100 ms;
    /// queueing this process's writers here keeps them off that handler.
    writer: Mutex<()>,
    /// Which rows hold an object id (SQLite only; PostgreSQL has an index).
    ids: ids::IdMap,
    /// The risk-trend facts in memory.
    trends: trends::TrendFacts,
}

/// WAL lets readers run beside the writer; NORMAL sync in WAL mode loses no committed
/// transaction when the process dies (only, at worst, the last ones on power loss). The page
/// cache and memory map keep the id and date indexes of a million-object collection in memory
/// (the default 2 MB cache halved ingest speed at 100,000 objects). Checkpoints run in the
/// background (see [`checkpoints`]).
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
     PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536; \
     PRAGMA mmap_size = 1073741824; PRAGMA temp_store = MEMORY; \
     PRAGMA wal_autocheckpoint = 0;";

impl SqlStore {
    /// Opens (and creates, for SQLite) the database at `url` and brings its schema up to date.
    ///
    /// `sqlite://watchpost.db` is a file relative to the working directory,
    /// `sqlite:///var/lib/watchpost.db` an absolute one; `postgres://…` a server.
    pub async fn open(url: &str) -> Result<Self> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let (backend, url) = normalise_url(url)?;
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(sqlx::raw_sql(SQLITE_PRAGMAS)).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        migrator(backend).run(&pool).await?;
        if backend == Backend::Sqlite {
            tokio::spawn(checkpoints(pool.clone()));
        }
        Ok(SqlStore {
            pool,
            backend,
            writer: Mutex::new(()),
            ids: ids::IdMap::default(),
            trends: trends::TrendFacts::default(),
        })
    }

    /// The database behind this store.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes the connections.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Holds back other writers of this process while a write transaction runs (SQLite only).
    /// A transaction that writes. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`): a deferred transaction that reads first and then writes, while another
    /// process (an import beside the hub, the hub's indexer) has written in between, fails with
    /// "database is locked" instead of waiting for its turn.
    async fn begin_write(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Any>> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    async fn write_turn(&self) -> Option<MutexGuard<'_, ()>> {
        match self.backend {
            Backend::Sqlite => Some(self.writer.lock().await),
            Backend::Postgres => None,
        }
    }
}

/// Copies the WAL back into the database file once a second, off the writer's path: with
/// automatic checkpoints the commit that crosses the threshold pays for copying every page
/// the previous ones dirtied, which at a million objects cost more than the inserts. PASSIVE
/// never waits for readers or the writer; the loop ends when the pool closes.
async fn checkpoints(pool: AnyPool) {
    while !pool.is_closed() {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            if !pool.is_closed() {
                tracing::warn!("WAL checkpoint failed: {e}");
            }
        }
    }
}

fn normalise_url(url: &str) -> Result<(Backend, String)> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, url.to_string()));
    }
    if let Some(rest) = url.strip_prefix("sqlite:") {
        // Create the file on first start unless the URL says otherwise.
        let url = if rest.contains("mode=") {
            url.to_string()
        } else if rest.contains('?') {
            format!("{url}&mode=rwc")
        } else {
            format!("{url}?mode=rwc")
        };
        return Ok((Backend::Sqlite, url));
    }
    Err(StoreError::Url(url.to_string()))
}

/// The schema's migrations, embedded in the binary: (version, description, SQLite, PostgreSQL).
const MIGRATIONS: [(i64, &str, &str, &str); 12] = [
    (
        1,
        "knowledge base",
        include_str!("../../migrations/sqlite/0001_knowledge_base.sql"),
        include_str!("../../migrations/postgres/0001_knowledge_base.sql"),
    ),
    (
        2,
        "feeds",
        include_str!("../../migrations/sqlite/0002_feeds.sql"),
        include_str!("../../migrations/postgres/0002_feeds.sql"),
    ),
    (
        3,
        "id map",
        include_str!("../../migrations/sqlite/0003_id_map.sql"),
        include_str!("../../migrations/postgres/0003_id_map.sql"),
    ),
    (
        4,
        "directory",
        include_str!("../../migrations/sqlite/0004_directory.sql"),
        include_str!("../../migrations/postgres/0004_directory.sql"),
    ),
    (
        5,
        "warnings",
        include_str!("../../migrations/sqlite/0005_warnings.sql"),
        include_str!("../../migrations/postgres/0005_warnings.sql"),
    ),
    (
        6,
        "misp feeds",
        include_str!("../../migrations/sqlite/0006_misp_feeds.sql"),
        include_str!("../../migrations/postgres/0006_misp_feeds.sql"),
    ),
    (
        7,
        "console",
        include_str!("../../migrations/sqlite/0007_console.sql"),
        include_str!("../../migrations/postgres/0007_console.sql"),
    ),
    (
        8,
        "trends",
        include_str!("../../migrations/sqlite/0008_trends.sql"),
        include_str!("../../migrations/postgres/0008_trends.sql"),
    ),
    (
        9,
        "search",
        include_str!("../../migrations/sqlite/0009_search.sql"),
        include_str!("../../migrations/postgres/0009_search.sql"),
    ),
    (
        10,
        "requests",
        include_str!("../../migrations/sqlite/0010_requests.sql"),
        include_str!("../../migrations/postgres/0010_requests.sql"),
    ),
    (
        11,
        "peers",
        include_str!("../../migrations/sqlite/0011_peers.sql"),
        include_str!("../../migrations/postgres/0011_peers.sql"),
    ),
    (
        12,
        "request relay",
        include_str!("../../migrations/sqlite/0012_request_relay.sql"),
        include_str!("../../migrations/postgres/0012_request_relay.sql"),
    ),
];

fn migrator(backend: Backend) -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .map(|&(version, description, sqlite, postgres)| {
            let sql = match backend {
                Backend::Sqlite => sqlite,
                Backend::Postgres => postgres,
            };
            Migration::new(
                version,
                Cow::Borrowed(description),
                MigrationType::Simple,
                Cow::Borrowed(sql),
                false,
            )
        })
        .collect();
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

/// The current time in microseconds.
fn now() -> Micros {
    watchpost_stix::Timestamp::now().unix_micros()
}

fn tlp_rank(tlp: Tlp) -> i64 {
    match tlp {
        Tlp::Clear => 0,
        Tlp::Green => 1,
        Tlp::Amber => 2,
        Tlp::AmberStrict => 3,
        Tlp::Red => 4,
    }
}

fn tlp_from_rank(rank: i64) -> Tlp {
    match rank {
        0 => Tlp::Clear,
        1 => Tlp::Green,
        2 => Tlp::Amber,
        3 => Tlp::AmberStrict,
        // An unknown rank can only come from a newer schema: treat it as the strictest.
        _ => Tlp::Red,
    }
}

/// Maps a unique-constraint violation to [`StoreError::Conflict`] naming `what`.
fn conflict(what: impl FnOnce() -> String) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(what()),
        _ => StoreError::Database(e),
    }
}

#[async_trait]
impl crate::Store for SqlStore {
    async fn add_org(&self, org: crate::NewOrg) -> Result<crate::Org> {
        directory::add_org(self, org).await
    }
    async fn orgs(&self) -> Result<Vec<crate::Org>> {
        directory::orgs(self).await
    }
    async fn add_user(&self, user: crate::NewUser) -> Result<()> {
        directory::add_user(self, user).await
    }
    async fn login(&self, username: &str, password: &str) -> Result<Option<crate::Caller>> {
        directory::login(self, username, password).await
    }
    async fn create_token(&self, username: &str) -> Result<String> {
        directory::create_token(self, username).await
    }
    async fn caller_for_token(&self, token: &str) -> Result<Option<crate::Caller>> {
        directory::caller_for_token(self, token).await
    }
    async fn add_sharing_group(&self, name: &str, org_names: &[String]) -> Result<()> {
        directory::add_sharing_group(self, name, org_names).await
    }
    async fn add_collection(&self, collection: crate::NewCollection) -> Result<String> {
        collections::add(self, collection).await
    }
    async fn collections(&self, caller: &crate::Caller) -> Result<Vec<crate::CollectionView>> {
        collections::list(self, caller).await
    }
    async fn collection(
        &self,
        caller: &crate::Caller,
        id: &str,
    ) -> Result<Option<crate::CollectionView>> {
        Ok(collections::context(self, caller, id)
            .await?
            .map(|c| c.view))
    }
    async fn add_objects(
        &self,
        caller: &crate::Caller,
        collection: &str,
        objects: Vec<crate::NewObject>,
        failures: Vec<crate::StatusDetail>,
    ) -> Result<crate::Status> {
        objects::add(self, caller, collection, objects, failures).await
    }
    async fn read(
        &self,
        caller: &crate::Caller,
        collection: &str,
        query: &crate::Query,
    ) -> Result<crate::Page> {
        objects::read(self, caller, collection, query).await
    }
    async fn delete_object(
        &self,
        caller: &crate::Caller,
        collection: &str,
        id: &str,
        versions: &crate::VersionFilter,
        spec_versions: &[String],
    ) -> Result<u64> {
        objects::delete(self, caller, collection, id, versions, spec_versions).await
    }
    async fn status(&self, caller: &crate::Caller, id: &str) -> Result<Option<crate::Status>> {
        status::get(self, caller, id).await
    }
    async fn add_feed(&self, feed: crate::NewFeed) -> Result<crate::Feed> {
        feeds::add(self, feed).await
    }
    async fn feeds(&self) -> Result<Vec<crate::Feed>> {
        feeds::list(self).await
    }
    async fn record_poll(
        &self,
        feed: i64,
        last_added: Option<&str>,
        error: Option<&str>,
    ) -> Result<()> {
        feeds::record_poll(self, feed, last_added, error).await
    }
    async fn feed_events(&self, feed: i64) -> Result<Vec<(String, String)>> {
        feeds::events(self, feed).await
    }
    async fn record_feed_event(&self, feed: i64, uuid: &str, timestamp: &str) -> Result<()> {
        feeds::record_event(self, feed, uuid, timestamp).await
    }
    async fn trends(
        &self,
        caller: &crate::Caller,
        query: &crate::TrendQuery,
    ) -> Result<crate::Trends> {
        trends::query(self, caller, query).await
    }
    async fn search(
        &self,
        caller: &crate::Caller,
        query: &crate::SearchQuery,
    ) -> Result<Vec<crate::SearchHit>> {
        search::search(self, caller, query).await
    }
    async fn index_for_search(&self, budget: usize) -> Result<usize> {
        search::index(self, budget).await
    }
    async fn tokens(&self) -> Result<Vec<crate::TokenView>> {
        directory::tokens(self).await
    }
    async fn permissions(&self) -> Result<Vec<crate::Permissions>> {
        collections::permissions(self).await
    }
    async fn add_peer(&self, peer: crate::NewPeer<'_>) -> Result<crate::Peer> {
        peers::add(self, peer).await
    }
    async fn signing_key(&self) -> Result<[u8; 32]> {
        peers::signing_key(self).await
    }
    async fn peers(&self) -> Result<Vec<crate::Peer>> {
        peers::list(self).await
    }
    async fn record_push(
        &self,
        peer: i64,
        collection: &str,
        outcome: std::result::Result<crate::Micros, (String, crate::Micros)>,
    ) -> Result<()> {
        peers::record_push(self, peer, collection, outcome).await
    }
    async fn record_request_intake(&self, peer: i64, position: crate::Micros) -> Result<()> {
        peers::record_request_intake(self, peer, position).await
    }
    async fn grant(&self, collection: &str, org_name: &str, read: bool, write: bool) -> Result<()> {
        collections::grant(self, collection, org_name, read, write).await
    }
    async fn open_requests_for_hub(&self) -> Result<Vec<crate::RequestRow>> {
        requests::open_for_hub(self).await
    }
    async fn request_reminders(&self) -> Result<Vec<crate::RequestReminder>> {
        requests::reminders(self).await
    }
    async fn open_request_reminders(&self) -> Result<Vec<crate::RequestReminder>> {
        requests::open_reminders(self).await
    }
    async fn record_request_reminder(&self, reminder: crate::RequestReminder) -> Result<()> {
        requests::record_reminder(self, reminder).await
    }
    async fn set_directory_entry(&self, org_name: &str, entry: &str) -> Result<()> {
        directory::set_entry(self, org_name, entry).await
    }
    async fn directory_entries(&self) -> Result<Vec<(String, String)>> {
        directory::entries(self).await
    }
    async fn current_objects_of_type(&self, object_type: &str) -> Result<Vec<(String, String)>> {
        objects::current_of_type(self, object_type).await
    }
    async fn objects_changed(&self, object_type: &str) -> Result<(i64, i64)> {
        objects::changed(self, object_type).await
    }
    async fn audit_log(&self, after: i64, limit: usize) -> Result<Vec<crate::AuditEntry>> {
        audit::log(self, after, limit).await
    }
    async fn raise_warning(&self, warning: crate::NewWarning) -> Result<crate::Raised> {
        warnings::raise(self, warning).await
    }
    async fn claim_deliveries(
        &self,
        now: Micros,
        lease: Micros,
        limit: usize,
    ) -> Result<Vec<crate::Delivery>> {
        warnings::claim(self, now, lease, limit).await
    }
    async fn delivery_sent(&self, id: &str, at: Micros) -> Result<bool> {
        warnings::sent(self, id, at).await
    }
    async fn delivery_failed(
        &self,
        id: &str,
        error: &str,
        retry_at: Option<Micros>,
    ) -> Result<bool> {
        warnings::failed(self, id, error, retry_at).await
    }
    async fn acknowledge_warning(&self, id: &str, by: &str, at: Micros) -> Result<crate::Warning> {
        warnings::acknowledge(self, id, by, at).await
    }
    async fn due_escalations(&self, now: Micros, limit: usize) -> Result<Vec<crate::Warning>> {
        warnings::due_escalations(self, now, limit).await
    }
    async fn escalate_warning(
        &self,
        id: &str,
        from_level: i64,
        deliveries: &[crate::NewDelivery],
        escalate_at: Option<Micros>,
        now: Micros,
    ) -> Result<bool> {
        warnings::escalate(self, id, from_level, deliveries, escalate_at, now).await
    }
    async fn warnings(&self, filter: &crate::WarningFilter) -> Result<Vec<crate::Warning>> {
        warnings::list(self, filter).await
    }
    async fn warning(&self, id: &str) -> Result<Option<(crate::Warning, Vec<crate::Delivery>)>> {
        warnings::get(self, id).await
    }
    async fn visible_warnings(
        &self,
        caller: &crate::Caller,
        filter: &crate::WarningFilter,
    ) -> Result<Vec<crate::Warning>> {
        warnings::visible_list(self, caller, filter).await
    }
    async fn visible_warning(
        &self,
        caller: &crate::Caller,
        id: &str,
    ) -> Result<Option<(crate::Warning, Vec<crate::WarningNote>)>> {
        warnings::visible_get(self, caller, id).await
    }
    async fn assign_warning(
        &self,
        id: &str,
        assignee: &str,
        by: &str,
        at: Micros,
    ) -> Result<crate::Warning> {
        warnings::assign(self, id, assignee, by, at).await
    }
    async fn close_warning(
        &self,
        id: &str,
        by: &str,
        comment: &str,
        at: Micros,
    ) -> Result<crate::Warning> {
        warnings::close(self, id, by, comment, at).await
    }
    async fn org_users(&self, org_name: &str) -> Result<Vec<String>> {
        warnings::org_users(self, org_name).await
    }
    async fn create_session(&self, session: crate::NewSession) -> Result<()> {
        console::create_session(self, session).await
    }
    async fn session(&self, id_digest: &str, now: Micros) -> Result<Option<crate::Session>> {
        console::session(self, id_digest, now).await
    }
    async fn end_session(&self, id_digest: &str) -> Result<()> {
        console::end_session(self, id_digest).await
    }
    async fn record_login_attempt(&self, attempt: crate::LoginAttempt) -> Result<()> {
        console::record_attempt(self, attempt).await
    }
    async fn login_failures(
        &self,
        username: &str,
        ip: &str,
        since: Micros,
    ) -> Result<crate::LoginFailures> {
        console::failures(self, username, ip, since).await
    }
    async fn add_request(
        &self,
        request: crate::RequestRow,
        first: crate::RequestEvent,
    ) -> Result<()> {
        requests::add(self, request, first).await
    }
    async fn append_request_event(
        &self,
        id: &str,
        prev_hash: &str,
        event: crate::RequestEvent,
        state: &str,
    ) -> Result<()> {
        requests::append(self, id, prev_hash, event, state).await
    }
    async fn visible_requests(&self, caller: &crate::Caller) -> Result<Vec<crate::RequestRow>> {
        requests::visible_list(self, caller).await
    }
    async fn visible_request(
        &self,
        caller: &crate::Caller,
        id: &str,
    ) -> Result<Option<(crate::RequestRow, Vec<crate::RequestEvent>)>> {
        requests::get(self, Some(caller), id).await
    }
    async fn request_for_hub(
        &self,
        id: &str,
    ) -> Result<Option<(crate::RequestRow, Vec<crate::RequestEvent>)>> {
        requests::get(self, None, id).await
    }
    async fn add_request_attachment(
        &self,
        id: &str,
        attachment: crate::RequestAttachment,
    ) -> Result<()> {
        requests::add_attachment(self, id, attachment).await
    }
    async fn request_attachment(
        &self,
        caller: &crate::Caller,
        id: &str,
        sha256: &str,
    ) -> Result<Option<crate::RequestAttachment>> {
        requests::attachment(self, caller, id, sha256).await
    }
}
