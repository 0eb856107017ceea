//! `watchpost-store`: persistence behind one [`Store`] trait (SQLite, the embedded default, and
//! PostgreSQL), TLP and sharing-group enforcement, and the audit log.
//!
//! Every read takes the caller and goes through [`access::decide`], and every AMBER+ object
//! shown to another organisation leaves a line in the append-only audit log, so that no request
//! handler, export or federation link can forget a rule. [`SqlStore`] implements the trait for
//! both databases through sqlx; the two differ only in their migrations and a few pragmas, and
//! one test suite (`tests/suite.rs`) runs against both.
//!
//! It may depend on `watchpost-stix` and sqlx, never on the TAXII, warning or web crates.
#![deny(missing_docs)]

pub mod access;
pub mod credentials;
mod error;
pub mod model;
mod sql;

pub use error::{Result, StoreError};
pub use model::*;
pub use sql::{Backend, SqlStore};

use async_trait::async_trait;

/// The hub's knowledge base: the directory (organisations, users, tokens, sharing groups),
/// collections of STIX object versions, add-statuses, the audit log, the warnings with
/// the outbox of their deliveries, and the 24/7 requests with their hash-chained events.
///
/// Methods that read or write objects take the [`Caller`] and enforce collection permissions
/// and the TLP rules themselves.
#[async_trait]
pub trait Store: Send + Sync {
    /// Adds an organisation and creates its `identity` object.
    async fn add_org(&self, org: NewOrg) -> Result<Org>;
    /// Every organisation, by name.
    async fn orgs(&self) -> Result<Vec<Org>>;
    /// Adds a user with an argon2 hash of the password.
    async fn add_user(&self, user: NewUser) -> Result<()>;
    /// The caller a user name and password identify, if they match.
    async fn login(&self, username: &str, password: &str) -> Result<Option<Caller>>;
    /// Creates an API token for a user and returns it; only its digest is kept.
    async fn create_token(&self, username: &str) -> Result<String>;
    /// The caller an API token identifies, if it is known.
    async fn caller_for_token(&self, token: &str) -> Result<Option<Caller>>;
    /// Adds a named sharing group of organisations (by name).
    async fn add_sharing_group(&self, name: &str, org_names: &[String]) -> Result<()>;
    /// Every API token's owner and age, oldest first.
    async fn tokens(&self) -> Result<Vec<TokenView>>;
    /// Who may read and write each collection.
    async fn permissions(&self) -> Result<Vec<Permissions>>;

    /// Adds a collection; returns its id.
    async fn add_collection(&self, collection: NewCollection) -> Result<String>;
    /// The collections the caller may read or write, in creation order.
    async fn collections(&self, caller: &Caller) -> Result<Vec<CollectionView>>;
    /// One collection, if the caller may read or write it.
    async fn collection(&self, caller: &Caller, id: &str) -> Result<Option<CollectionView>>;

    /// Stores validated objects in a collection and records the add-status, `failures`
    /// included, in the same transaction: an object reported as a success is durable.
    async fn add_objects(
        &self,
        caller: &Caller,
        collection: &str,
        objects: Vec<NewObject>,
        failures: Vec<StatusDetail>,
    ) -> Result<Status>;
    /// A page of the objects of a collection the caller may see.
    async fn read(&self, caller: &Caller, collection: &str, query: &Query) -> Result<Page>;
    /// Deletes the versions of an object that match the filters and that the caller may see;
    /// returns how many were deleted.
    async fn delete_object(
        &self,
        caller: &Caller,
        collection: &str,
        id: &str,
        versions: &VersionFilter,
        spec_versions: &[String],
    ) -> Result<u64>;
    /// An add-status, if it belongs to the caller's organisation.
    async fn status(&self, caller: &Caller, id: &str) -> Result<Option<Status>>;

    /// Adds a feed: a remote TAXII collection to poll into a local one.
    async fn add_feed(&self, feed: NewFeed) -> Result<Feed>;
    /// Every feed.
    async fn feeds(&self) -> Result<Vec<Feed>>;
    /// Records a poll: where it got to (unchanged when `None`) and its error, if any.
    async fn record_poll(
        &self,
        feed: i64,
        last_added: Option<&str>,
        error: Option<&str>,
    ) -> Result<()>;

    /// The MISP events a feed has stored, as (event UUID, the manifest timestamp stored).
    async fn feed_events(&self, feed: i64) -> Result<Vec<(String, String)>>;
    /// Records that a feed stored an event at its manifest timestamp.
    async fn record_feed_event(&self, feed: i64, uuid: &str, timestamp: &str) -> Result<()>;

    /// The risk trends `caller` may see: sightings counted under the same rules as a read of
    /// the sighting (and of the indicator's links and names), warnings of the caller's
    /// organisation (every organisation's for an admin).
    async fn trends(&self, caller: &Caller, query: &TrendQuery) -> Result<Trends>;

    /// Objects `caller` may read that match `query`, newest first; each AMBER+ hit shown to
    /// another organisation than its owner is written to the audit log, as a read is.
    async fn search(&self, caller: &Caller, query: &SearchQuery) -> Result<Vec<SearchHit>>;
    /// Indexes up to `budget` object versions added since the last call for search; returns how
    /// many it indexed (0: the index is up to date). The hub calls it in the background.
    async fn index_for_search(&self, budget: usize) -> Result<usize>;

    /// Adds a peer hub for an organisation (added when unknown), its public key, and the
    /// collections pushed to it; adding it again updates its URL, token, key and pushes.
    async fn add_peer(&self, peer: NewPeer<'_>) -> Result<Peer>;
    /// This hub's Ed25519 signing key (32 bytes), made and stored on first use.
    async fn signing_key(&self) -> Result<[u8; 32]>;
    /// Every peer.
    async fn peers(&self) -> Result<Vec<Peer>>;
    /// Records a push attempt: the new position when it succeeded, else the error and when to
    /// try again.
    async fn record_push(
        &self,
        peer: i64,
        collection: &str,
        outcome: std::result::Result<Micros, (String, Micros)>,
    ) -> Result<()>;
    /// Records how far the requests collection has been taken in from a peer (forward only).
    async fn record_request_intake(&self, peer: i64, position: Micros) -> Result<()>;
    /// Lets an organisation read and/or write a collection (adds to what it may already do).
    async fn grant(&self, collection: &str, org_name: &str, read: bool, write: bool) -> Result<()>;

    /// Sets an organisation's directory entry (focal points and constituency, as JSON that
    /// `watchpost-warn` reads), replacing the previous one.
    async fn set_directory_entry(&self, org_name: &str, entry: &str) -> Result<()>;
    /// Every directory entry, as (organisation name, JSON), by name.
    async fn directory_entries(&self) -> Result<Vec<(String, String)>>;

    /// The latest version of every object of `object_type`, in every collection, as
    /// (collection id, JSON), for the hub's own processes (the matcher reads the indicators,
    /// the CLI lists sightings). It bypasses the access rules on purpose: what these processes
    /// derive (sightings, warnings) carries the markings of what it came from, and is shown to
    /// users only through the reads above.
    async fn current_objects_of_type(&self, object_type: &str) -> Result<Vec<(String, String)>>;

    /// A value that changes whenever an object of `object_type` is added, replaced or deleted
    /// (the number of its stored versions and the newest one's position): how a watch
    /// notices that it should read the indicators again, without reading them.
    async fn objects_changed(&self, object_type: &str) -> Result<(i64, i64)>;

    /// Audit entries after position `after`, oldest first.
    async fn audit_log(&self, after: i64, limit: usize) -> Result<Vec<AuditEntry>>;

    /// Raises a warning for an indicator seen in an organisation's networks. When a warning for
    /// the same indicator and organisation is still within its deduplication window (its
    /// `dedup_until` is at or after `seen`), the sighting is counted towards it and nothing is
    /// enqueued (`created` is false); otherwise the warning and its level-0 deliveries are
    /// stored in one transaction.
    async fn raise_warning(&self, warning: NewWarning) -> Result<Raised>;
    /// Claims up to `limit` due deliveries (pending, `next_attempt_at` reached, no courier
    /// holding them) for `lease` microseconds: until then no other claim returns them.
    async fn claim_deliveries(
        &self,
        now: Micros,
        lease: Micros,
        limit: usize,
    ) -> Result<Vec<Delivery>>;
    /// Records that a delivery was sent; false (and no change) unless it was still pending.
    async fn delivery_sent(&self, id: &str, at: Micros) -> Result<bool>;
    /// Records a failed attempt: tried again at `retry_at`, or given up for good when `None`.
    /// False (and no change) unless it was still pending.
    async fn delivery_failed(
        &self,
        id: &str,
        error: &str,
        retry_at: Option<Micros>,
    ) -> Result<bool>;
    /// Acknowledges a warning on behalf of `by` and cancels its pending deliveries; a warning
    /// acknowledged already keeps its first acknowledgement.
    async fn acknowledge_warning(&self, id: &str, by: &str, at: Micros) -> Result<Warning>;
    /// Open warnings whose escalation time has come, oldest first.
    async fn due_escalations(&self, now: Micros, limit: usize) -> Result<Vec<Warning>>;
    /// Moves an open warning from `from_level` to the next level, enqueues that level's
    /// deliveries and sets its next escalation time, in one transaction. False (and no change)
    /// when the warning is no longer open at `from_level`: of several callers, one escalates.
    async fn escalate_warning(
        &self,
        id: &str,
        from_level: i64,
        deliveries: &[NewDelivery],
        escalate_at: Option<Micros>,
        now: Micros,
    ) -> Result<bool>;
    /// Warnings matching the filter, newest first.
    async fn warnings(&self, filter: &WarningFilter) -> Result<Vec<Warning>>;
    /// One warning and its deliveries (by level, then creation).
    async fn warning(&self, id: &str) -> Result<Option<(Warning, Vec<Delivery>)>>;

    /// Warnings matching the filter that `caller` may see, newest first: their organisation's,
    /// or every organisation's for an admin. The console lists warnings only through this.
    async fn visible_warnings(
        &self,
        caller: &Caller,
        filter: &WarningFilter,
    ) -> Result<Vec<Warning>>;
    /// One warning and its history, if `caller` may see it.
    async fn visible_warning(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Option<(Warning, Vec<WarningNote>)>>;
    /// Assigns a warning to a user of its organisation on behalf of `by`.
    async fn assign_warning(
        &self,
        id: &str,
        assignee: &str,
        by: &str,
        at: Micros,
    ) -> Result<Warning>;
    /// Closes a warning with a comment and cancels its pending deliveries; a warning closed
    /// already keeps its first closing.
    async fn close_warning(&self, id: &str, by: &str, comment: &str, at: Micros)
        -> Result<Warning>;
    /// The user names of an organisation (by name), sorted.
    async fn org_users(&self, org_name: &str) -> Result<Vec<String>>;

    /// Stores a console session (and forgets expired ones).
    async fn create_session(&self, session: NewSession) -> Result<()>;
    /// The live session whose id has this digest, with its user as the directory has them now.
    async fn session(&self, id_digest: &str, now: Micros) -> Result<Option<Session>>;
    /// Ends a session.
    async fn end_session(&self, id_digest: &str) -> Result<()>;
    /// Records a login attempt.
    async fn record_login_attempt(&self, attempt: LoginAttempt) -> Result<()>;
    /// The failed logins since `since`: for the user name (after its last successful login)
    /// and from the address.
    async fn login_failures(
        &self,
        username: &str,
        ip: &str,
        since: Micros,
    ) -> Result<LoginFailures>;

    /// Stores a new request with the first event of its chain, in one transaction. The two
    /// organisations must exist.
    async fn add_request(&self, request: RequestRow, first: RequestEvent) -> Result<()>;
    /// Appends an event to a request's chain and sets its state, if the newest event's hash is
    /// still `prev_hash`: of two writers that read the same head, one appends and the other
    /// gets [`StoreError::Stale`], so the chain cannot fork.
    async fn append_request_event(
        &self,
        id: &str,
        prev_hash: &str,
        event: RequestEvent,
        state: &str,
    ) -> Result<()>;
    /// The requests `caller`'s organisation sent or received, newest first; no one else's
    /// users (administrators included) see them.
    async fn visible_requests(&self, caller: &Caller) -> Result<Vec<RequestRow>>;
    /// One request and its events in chain order, if `caller`'s organisation is one of its two.
    async fn visible_request(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Option<(RequestRow, Vec<RequestEvent>)>>;
    /// One request and its events for the hub's own processes (the operator's CLI verifying
    /// a chain); like [`Store::current_objects_of_type`], it bypasses the access rules.
    async fn request_for_hub(&self, id: &str) -> Result<Option<(RequestRow, Vec<RequestEvent>)>>;
    /// The requests not yet closed, for the hub's deadline clocks; bypasses the access rules.
    async fn open_requests_for_hub(&self) -> Result<Vec<RequestRow>>;
    /// Every reminder raised on the requests' clocks.
    async fn request_reminders(&self) -> Result<Vec<RequestReminder>>;
    /// The reminders whose warning is still open (nobody has acknowledged it yet).
    async fn open_request_reminders(&self) -> Result<Vec<RequestReminder>>;
    /// Records a reminder once raised.
    async fn record_request_reminder(&self, reminder: RequestReminder) -> Result<()>;
    /// Stores a file of a request (once per content).
    async fn add_request_attachment(&self, id: &str, attachment: RequestAttachment) -> Result<()>;
    /// A file of a request by its SHA-256, if `caller`'s organisation is one of its two.
    async fn request_attachment(
        &self,
        caller: &Caller,
        id: &str,
        sha256: &str,
    ) -> Result<Option<RequestAttachment>>;
}
