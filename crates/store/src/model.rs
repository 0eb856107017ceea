//! What the store keeps and hands out: organisations, users, collections, object versions,
//! add-statuses and audit entries, as plain values with no database types in them.

use crate::access::OrgId;
use serde::{Deserialize, Serialize};
use watchpost_stix::marking::Tlp;

/// Microseconds since the Unix epoch: `date_added`, object versions and audit times.
pub type Micros = i64;

/// A member organisation of the hub, with the `identity` SDO that names it in STIX.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Org {
    /// The id of its `identity` object, which is also its [`OrgId`].
    pub id: OrgId,
    /// A short unique name (`cert-vn`).
    pub name: String,
    /// Its sector, from the STIX `industry-sector-ov` vocabulary where it fits.
    pub sector: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    pub country: Option<String>,
    /// The `identity` SDO, as compact JSON.
    pub identity: String,
}

/// The fields of an organisation to be added.
#[derive(Clone, Debug, Default)]
pub struct NewOrg {
    /// A short unique name.
    pub name: String,
    /// Its sector.
    pub sector: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    pub country: Option<String>,
}

/// What a user may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Another hub, reading and pushing on behalf of its organisation through federation: it
    /// reads what may leave this hub for that organisation (see [`crate::access`]: no
    /// AMBER+STRICT, no RED) and writes where the organisation may write. Lowest, so that no
    /// console or administrative check (`role >= Analyst`) ever lets a peer through.
    Peer,
    /// Reads what the organisation may read.
    Reader,
    /// Also writes to the collections the organisation may write to.
    Analyst,
    /// Also administers the hub.
    Admin,
}

impl Role {
    /// The role's name as stored and typed on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Peer => "peer",
            Role::Reader => "reader",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }

    /// Reads a role name.
    pub fn parse(name: &str) -> Option<Role> {
        match name {
            "peer" => Some(Role::Peer),
            "reader" => Some(Role::Reader),
            "analyst" => Some(Role::Analyst),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

impl Caller {
    /// Who the read rules see: a member of this hub, or a peer hub for its organisation.
    pub fn reader(&self) -> crate::access::Reader {
        match self.role {
            Role::Peer => crate::access::Reader::Peer(self.org.clone()),
            _ => crate::access::Reader::Member(self.org.clone()),
        }
    }
}

/// An authenticated caller: who is asking, for which organisation, with which role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The user name.
    pub user: String,
    /// The user's organisation.
    pub org: OrgId,
    /// The user's role.
    pub role: Role,
}

/// A user to be added.
#[derive(Clone, Debug)]
pub struct NewUser {
    /// A unique login name.
    pub username: String,
    /// The name of the user's organisation.
    pub org_name: String,
    /// The user's role.
    pub role: Role,
    /// The password in clear; only its argon2 hash is stored.
    pub password: String,
}

/// A collection to be added.
#[derive(Clone, Debug)]
pub struct NewCollection {
    /// Its id (a UUID); a random one when `None`.
    pub id: Option<String>,
    /// A human-readable title.
    pub title: String,
    /// A longer description.
    pub description: Option<String>,
    /// Organisation names that may read; `None` means every member organisation.
    pub readers: Option<Vec<String>>,
    /// Organisation names that may write.
    pub writers: Vec<String>,
    /// The marking of objects added without one.
    pub default_tlp: Tlp,
    /// The sharing group of its AMBER objects, by name; `None` means the collection's readers.
    pub sharing_group: Option<String>,
}

/// A collection as one caller sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectionView {
    /// Its id (a UUID).
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its description.
    pub description: Option<String>,
    /// Whether the caller's organisation may read it.
    pub can_read: bool,
    /// Whether the caller may write to it (organisation permission and a writing role).
    pub can_write: bool,
    /// The marking of objects added without one.
    pub default_tlp: Tlp,
}

/// A validated object version to be stored.
#[derive(Clone, Debug)]
pub struct NewObject {
    /// The STIX id.
    pub id: String,
    /// The STIX type.
    pub object_type: String,
    /// Its version: `modified`, else `created`, else the time it is added (SCOs).
    pub version: Option<Micros>,
    /// `spec_version` (`2.1`).
    pub spec_version: String,
    /// The most restrictive TLP marking on it.
    pub tlp: Option<Tlp>,
    /// Organisations named as recipients of a RED object (`x_watchpost_recipients`).
    pub recipients: Vec<OrgId>,
    /// The object, as compact JSON.
    pub body: String,
}

/// One object version as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredObject {
    /// The STIX id.
    pub id: String,
    /// When this hub added it to the collection.
    pub date_added: Micros,
    /// Its version.
    pub version: Micros,
    /// `spec_version`.
    pub spec_version: String,
    /// The organisation that stored it (added it, or whose feed or peer hub brought it).
    pub owner: OrgId,
    /// The object as compact JSON; empty when the query asked for no bodies.
    pub body: String,
}

/// Which versions of each object a query returns (`match[version]`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VersionFilter {
    /// The earliest version.
    pub first: bool,
    /// The latest version.
    pub last: bool,
    /// Every version.
    pub all: bool,
    /// These exact versions.
    pub at: Vec<Micros>,
}

impl VersionFilter {
    /// Only the latest version: TAXII's default for objects and the manifest.
    pub fn last() -> Self {
        VersionFilter {
            last: true,
            ..Default::default()
        }
    }

    /// Every version: TAXII's default for the versions endpoint.
    pub fn all() -> Self {
        VersionFilter {
            all: true,
            ..Default::default()
        }
    }
}

/// A read of a collection: TAXII's filters and the page position.
#[derive(Clone, Debug)]
pub struct Query {
    /// Only objects added after this instant.
    pub added_after: Option<Micros>,
    /// The position after which the page starts (from a previous page's `next`).
    pub after: Option<Micros>,
    /// The most objects to return.
    pub limit: usize,
    /// `match[id]`.
    pub ids: Vec<String>,
    /// `match[type]`.
    pub types: Vec<String>,
    /// `match[version]`.
    pub versions: VersionFilter,
    /// `match[spec_version]`.
    pub spec_versions: Vec<String>,
    /// Whether to read the objects themselves, or only their manifest entries.
    pub with_body: bool,
}

impl Default for Query {
    fn default() -> Self {
        Query {
            added_after: None,
            after: None,
            limit: 1000,
            ids: Vec::new(),
            types: Vec::new(),
            versions: VersionFilter::last(),
            spec_versions: Vec::new(),
            with_body: true,
        }
    }
}

/// A page of a collection.
#[derive(Clone, Debug, Default)]
pub struct Page {
    /// The visible objects, in `date_added` order.
    pub objects: Vec<StoredObject>,
    /// Where the next page starts, when there may be more.
    pub next: Option<Micros>,
}

/// One object's outcome in an add-status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusDetail {
    /// The object's id, or what could be read of it.
    pub id: String,
    /// Its version, as a STIX timestamp.
    pub version: String,
    /// Why it failed, or a note on its success.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The outcome of one POST of objects: TAXII's status resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The status id (a UUID).
    pub id: String,
    /// `complete` or `pending`.
    pub status: String,
    /// When the request arrived.
    pub request_timestamp: String,
    /// Objects in the request.
    pub total_count: u64,
    /// Objects stored.
    pub success_count: u64,
    /// The stored objects.
    pub successes: Vec<StatusDetail>,
    /// Objects refused.
    pub failure_count: u64,
    /// The refused objects and why.
    pub failures: Vec<StatusDetail>,
    /// Objects not yet processed.
    pub pending_count: u64,
    /// The objects not yet processed.
    pub pendings: Vec<StatusDetail>,
}

/// One line of the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the log.
    pub seq: i64,
    /// When.
    pub at: Micros,
    /// The acting organisation.
    pub actor_org: OrgId,
    /// The acting user.
    pub actor_user: String,
    /// What was done (`read`, `add`, `delete`, `token create`…).
    pub action: String,
    /// The collection concerned.
    pub collection: Option<String>,
    /// The object concerned.
    pub object_id: Option<String>,
    /// The object's version.
    pub version: Option<Micros>,
    /// The object's effective marking.
    pub tlp: Option<Tlp>,
}

/// Prints a microsecond instant as a STIX/TAXII timestamp: milliseconds when that is exact,
/// microseconds otherwise (`2024-01-01T00:00:00.000Z`, `2024-01-01T00:00:00.000001Z`).
///
/// ```
/// use watchpost_store::timestamp_text;
/// assert_eq!(timestamp_text(1_700_000_000_123_000), "2023-11-14T22:13:20.123Z");
/// assert_eq!(timestamp_text(1_700_000_000_123_456), "2023-11-14T22:13:20.123456Z");
/// ```
pub fn timestamp_text(micros: Micros) -> String {
    watchpost_stix::Timestamp::from_unix_micros_compact(micros).to_string()
}

/// A remote TAXII 2.1 collection to poll into a local one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Feed {
    /// Its number in this hub.
    pub id: i64,
    /// What the remote speaks.
    pub kind: FeedKind,
    /// The remote API root URL, ending in `/`.
    pub api_root: String,
    /// The remote collection id.
    pub remote: String,
    /// The local collection it feeds.
    pub collection: String,
    /// The organisation that owns what it brings.
    pub org: OrgId,
    /// The Authorization header to send, if any.
    pub auth: Option<String>,
    /// Seconds between polls.
    pub interval_secs: i64,
    /// The remote's last `date_added` seen (its `X-TAXII-Date-Added-Last`), where polling resumes.
    pub last_added: Option<String>,
    /// When it was last polled.
    pub last_polled: Option<Micros>,
    /// Why the last poll failed, if it did.
    pub last_error: Option<String>,
}

/// What a feed's remote speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeedKind {
    /// A TAXII 2.1 collection, read by `added_after` pages.
    Taxii,
    /// A MISP feed: `manifest.json` and one `<uuid>.json` file per event.
    Misp,
}

impl FeedKind {
    /// The kind's name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            FeedKind::Taxii => "taxii",
            FeedKind::Misp => "misp",
        }
    }

    /// The kind of a stored name.
    pub fn parse(name: &str) -> Option<FeedKind> {
        match name {
            "taxii" => Some(FeedKind::Taxii),
            "misp" => Some(FeedKind::Misp),
            _ => None,
        }
    }
}

/// A feed to be added.
#[derive(Clone, Debug)]
pub struct NewFeed {
    /// What the remote speaks.
    pub kind: FeedKind,
    /// The remote API root URL (a MISP feed's base URL, where `manifest.json` is).
    pub api_root: String,
    /// The remote collection id.
    pub remote: String,
    /// The local collection id.
    pub collection: String,
    /// The owning organisation, by name.
    pub org_name: String,
    /// The Authorization header to send, if any (kept in the database as given: the hub needs it
    /// to poll).
    pub auth: Option<String>,
    /// Seconds between polls.
    pub interval_secs: i64,
}

/// Where a warning stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WarningStatus {
    /// Not yet acknowledged: its deliveries and escalations go on.
    Open,
    /// A focal point (or a user of the organisation) has taken it in hand.
    Acknowledged,
    /// An analyst has dealt with it and closed it, with a comment.
    Closed,
}

impl WarningStatus {
    /// The status as stored and typed on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            WarningStatus::Open => "open",
            WarningStatus::Acknowledged => "acknowledged",
            WarningStatus::Closed => "closed",
        }
    }

    /// Reads a status name.
    pub fn parse(name: &str) -> Option<WarningStatus> {
        match name {
            "open" => Some(WarningStatus::Open),
            "acknowledged" => Some(WarningStatus::Acknowledged),
            "closed" => Some(WarningStatus::Closed),
            _ => None,
        }
    }
}

/// How a delivery reaches its focal point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// An HTTP POST of the warning as JSON.
    Webhook,
    /// An e-mail message.
    Email,
}

impl Channel {
    /// The channel's name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Webhook => "webhook",
            Channel::Email => "email",
        }
    }

    /// Reads a channel name.
    pub fn parse(name: &str) -> Option<Channel> {
        match name {
            "webhook" => Some(Channel::Webhook),
            "email" => Some(Channel::Email),
            _ => None,
        }
    }
}

/// Where a delivery stands in the outbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Still to be sent (perhaps after a failed attempt).
    Pending,
    /// Accepted by the receiving server; never sent again.
    Sent,
    /// Given up: refused for good, or out of attempts.
    Failed,
    /// No longer needed: the warning was acknowledged first.
    Cancelled,
}

impl DeliveryStatus {
    /// The status as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Cancelled => "cancelled",
        }
    }

    /// Reads a status name.
    pub fn parse(name: &str) -> Option<DeliveryStatus> {
        match name {
            "pending" => Some(DeliveryStatus::Pending),
            "sent" => Some(DeliveryStatus::Sent),
            "failed" => Some(DeliveryStatus::Failed),
            "cancelled" => Some(DeliveryStatus::Cancelled),
            _ => None,
        }
    }
}

/// A delivery to enqueue: one channel of one focal point at one escalation level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDelivery {
    /// How.
    pub channel: Channel,
    /// The webhook URL or the e-mail address.
    pub target: String,
    /// The focal point's name (it signs the acknowledgement link).
    pub focal_point: String,
    /// The language of the message (`vi`, `en`).
    pub language: String,
}

/// A warning to raise, unless one for the same indicator and organisation is still within its
/// deduplication window.
#[derive(Clone, Debug)]
pub struct NewWarning {
    /// The indicator's STIX id.
    pub indicator_id: String,
    /// The affected organisation's name.
    pub org: String,
    /// Its severity (`low`, `medium`, `high`, `critical`).
    pub severity: String,
    /// When the indicator was seen.
    pub seen: Micros,
    /// When the warning is raised (the first deliveries are due then).
    pub now: Micros,
    /// How long after `seen` further sightings count towards this warning.
    pub dedup_window: Micros,
    /// When to escalate if no one acknowledges; `None` when there is no next level.
    pub escalate_at: Option<Micros>,
    /// The indicator's name and pattern and what was observed, as JSON.
    pub detail: String,
    /// The level-0 deliveries.
    pub deliveries: Vec<NewDelivery>,
}

/// A warning: an indicator seen in an organisation's networks, and who has been told.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// Its id (a UUID).
    pub id: String,
    /// The indicator's STIX id.
    pub indicator_id: String,
    /// The affected organisation's name.
    pub org: String,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// Open or acknowledged.
    pub status: WarningStatus,
    /// The first sighting it covers.
    pub first_seen: Micros,
    /// The latest sighting it covers.
    pub last_seen: Micros,
    /// How many sightings it covers.
    pub count: i64,
    /// The escalation level reached (0: the organisation's first focal points).
    pub level: i64,
    /// When it escalates next, if no one acknowledges it.
    pub escalate_at: Option<Micros>,
    /// Who acknowledged it.
    pub ack_by: Option<String>,
    /// When.
    pub ack_at: Option<Micros>,
    /// When it was raised.
    pub created: Micros,
    /// Sightings until then count towards it; later ones raise a new warning.
    pub dedup_until: Micros,
    /// The indicator's name and pattern and what was observed, as JSON.
    pub detail: String,
    /// The user of the organisation it is assigned to.
    pub assigned_to: Option<String>,
    /// Who closed it.
    pub closed_by: Option<String>,
    /// When.
    pub closed_at: Option<Micros>,
}

/// The outcome of raising a warning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Raised {
    /// The new warning, or the one the sighting was counted towards.
    pub warning: Warning,
    /// Whether it is new (and its first deliveries were enqueued).
    pub created: bool,
}

/// One message of the outbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// Its id (a UUID): also the idempotency key the receiver sees.
    pub id: String,
    /// The warning it carries.
    pub warning_id: String,
    /// The escalation level that enqueued it.
    pub level: i64,
    /// How.
    pub channel: Channel,
    /// The webhook URL or e-mail address.
    pub target: String,
    /// The focal point's name.
    pub focal_point: String,
    /// The language of the message.
    pub language: String,
    /// Failed attempts so far.
    pub attempts: i64,
    /// When it may be tried next.
    pub next_attempt_at: Micros,
    /// Until when a courier holds it.
    pub lease_until: Option<Micros>,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was sent.
    pub sent_at: Option<Micros>,
}

/// Which warnings to list, newest first.
#[derive(Clone, Debug, Default)]
pub struct WarningFilter {
    /// Only this organisation's (by name).
    pub org: Option<String>,
    /// Only open or only acknowledged ones.
    pub status: Option<WarningStatus>,
    /// Only this severity.
    pub severity: Option<String>,
    /// Only those last seen at or after this instant.
    pub since: Option<Micros>,
    /// At most this many (all when `None`).
    pub limit: Option<usize>,
    /// The inbox's view: closed ones left out, the most severe first and the newest first
    /// within a severity (otherwise: newest first).
    pub worst_first: bool,
}

/// One thing an analyst did with a warning, for its history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WarningNote {
    /// The user.
    pub author: String,
    /// When.
    pub at: Micros,
    /// `assigned`, `closed` or `comment`.
    pub action: String,
    /// The assignee's name, or the comment.
    pub text: String,
}

/// A console session to be stored. The store keeps only a digest of the session id, so the
/// caller hashes it (and hashes the cookie the same way when looking it up).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSession {
    /// SHA-256 of the session id, in hex.
    pub id_digest: String,
    /// Whose session it is.
    pub username: String,
    /// The token every form of the session must send back.
    pub csrf: String,
    /// When it began.
    pub created: Micros,
    /// When it ends.
    pub expires: Micros,
}

/// A live console session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// The user, as the directory knows them now (a role changed since login applies at once).
    pub caller: Caller,
    /// The session's CSRF token.
    pub csrf: String,
    /// When it began.
    pub created: Micros,
    /// When it ends.
    pub expires: Micros,
}

/// A login attempt, kept to lock out password guessing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginAttempt {
    /// The user name typed.
    pub username: String,
    /// The address it came from.
    pub ip: String,
    /// When.
    pub at: Micros,
    /// Whether the password was right.
    pub succeeded: bool,
}

/// Failed logins counted since some instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoginFailures {
    /// For the user name, since its last successful login.
    pub by_user: i64,
    /// From the address, for any user name.
    pub by_ip: i64,
}

/// What the risk-trend dashboard asks for: a span of days cut into buckets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrendQuery {
    /// The first day counted (days since the epoch, UTC).
    pub from_day: i64,
    /// The day after the last one counted.
    pub to_day: i64,
    /// Days per bucket: 1 for days, 7 for weeks.
    pub bucket_days: i64,
    /// How many entries each ranking keeps.
    pub top: usize,
}

/// One bucket of a trend's time series.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrendBucket {
    /// Its first day (days since the epoch, UTC).
    pub start_day: i64,
    /// Sightings counted (the sum of each sighting's `count`).
    pub sightings: i64,
    /// Warnings raised.
    pub warnings: i64,
    /// Indicators sighted in the bucket and never before.
    pub new_indicators: i64,
    /// Indicators sighted in the bucket that had been sighted before it.
    pub recurring_indicators: i64,
}

/// One entry of a ranking: what, and how many sightings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tally {
    /// The STIX id, when the entry is an object.
    pub id: Option<String>,
    /// What is shown: a name, a sector, an organisation.
    pub label: String,
    /// Sightings counted.
    pub count: i64,
}

/// The risk trends a caller may see over a span of days.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trends {
    /// Every bucket of the span, empty ones included, oldest first.
    pub buckets: Vec<TrendBucket>,
    /// Sightings by the sector of the organisation where they were made.
    pub by_sector: Vec<Tally>,
    /// Sightings by organisation.
    pub by_org: Vec<Tally>,
    /// Sightings by the malware their indicators indicate.
    pub by_malware: Vec<Tally>,
    /// Sightings by threat actor or intrusion set.
    pub by_actor: Vec<Tally>,
    /// Sightings by ATT&CK technique (attack pattern).
    pub by_technique: Vec<Tally>,
    /// The most sighted indicators.
    pub top_indicators: Vec<Tally>,
}

/// What an analyst searches for: words, and filters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// Words to find (in names, descriptions, patterns, values, aliases, external ids); every
    /// word must occur, the last may be the start of a word. Empty: the newest objects.
    pub text: String,
    /// Only these types (empty: every type).
    pub types: Vec<String>,
    /// Only objects with this effective marking.
    pub tlp: Option<Tlp>,
    /// Only this collection (its id).
    pub collection: Option<String>,
    /// Only versions modified at or after this instant.
    pub modified_after: Option<Micros>,
    /// Only versions modified before this instant.
    pub modified_before: Option<Micros>,
    /// Revoked objects too.
    pub include_revoked: bool,
    /// The most hits to return.
    pub limit: usize,
}

/// One object found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchHit {
    /// Its STIX id.
    pub id: String,
    /// Its STIX type.
    pub object_type: String,
    /// Its name, when it has one.
    pub name: Option<String>,
    /// The collection it is in.
    pub collection: String,
    /// Its effective marking.
    pub tlp: Tlp,
    /// Its latest version (`modified`).
    pub version: Micros,
    /// Whether it is revoked.
    pub revoked: bool,
}

/// An API token as administrators see it: whose, and since when (never the token itself, which
/// the hub does not keep).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenView {
    /// Its owner.
    pub username: String,
    /// The owner's organisation.
    pub org: String,
    /// When it was created.
    pub created: Micros,
}

/// Who may read and write a collection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Permissions {
    /// The collection's id.
    pub collection: String,
    /// Its title.
    pub title: String,
    /// Its default marking.
    pub default_tlp: Tlp,
    /// Every member organisation reads it.
    pub read_all: bool,
    /// Its sharing group (for AMBER), if it has one.
    pub sharing_group: Option<String>,
    /// (organisation, reads, writes) of each organisation granted access, by name.
    pub grants: Vec<(String, bool, bool)>,
}

/// A hub this hub exchanges with (federation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    /// Its number on this hub.
    pub id: i64,
    /// Its organisation's name on this hub.
    pub name: String,
    /// Its organisation's identity (owner of what it sends).
    pub org: OrgId,
    /// Its TAXII 2.1 API root.
    pub url: String,
    /// This hub's token on it.
    pub token: String,
    /// Its Ed25519 public key (base64), when envelopes from it must be signed.
    pub public_key: Option<String>,
    /// The last `date_added` of the requests collection whose objects from it were taken in.
    pub requests_read: Micros,
    /// The collections pushed to it, each with where pushing got to.
    pub pushes: Vec<PushState>,
}

/// Where pushing one collection to a peer got to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushState {
    /// The collection's id (the same id on both hubs).
    pub collection: String,
    /// The last `date_added` of this hub the peer has accepted.
    pub last_added: Micros,
    /// Failed attempts in a row.
    pub failures: i64,
    /// Not before this instant (backing off after failures).
    pub next_attempt: Micros,
    /// The last failure.
    pub last_error: Option<String>,
}

/// A peer to add.
#[derive(Clone, Copy, Debug)]
pub struct NewPeer<'a> {
    /// Its organisation's name here (added when unknown).
    pub name: &'a str,
    /// Its TAXII 2.1 API root.
    pub url: &'a str,
    /// This hub's token on it.
    pub token: &'a str,
    /// Its Ed25519 public key (base64), if envelopes from it must be signed.
    pub public_key: Option<&'a str>,
    /// Collections pushed to it.
    pub push: &'a [String],
}

/// A 24/7 request between two organisations' focal points, as the store keeps it; the
/// cooperation crate gives the type, state and body their meaning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRow {
    /// `x-watchpost-request--UUID`.
    pub id: String,
    /// The requesting organisation (by name).
    pub from_org: String,
    /// The receiving organisation (by name).
    pub to_org: String,
    /// The request type.
    pub kind: String,
    /// The state after the newest event.
    pub state: String,
    /// The requested deadline as written (with its offset), if any.
    pub deadline: Option<String>,
    /// The request as JSON.
    pub body: String,
    /// When it was stored.
    pub created: Micros,
    /// When its newest event was stored.
    pub updated: Micros,
}

/// One event of a request's audit chain, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestEvent {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When (a STIX timestamp).
    pub at: String,
    /// Who.
    pub actor: String,
    /// What kind of event.
    pub kind: String,
    /// The event as JSON.
    pub body: String,
    /// The hash of the event before.
    pub prev_hash: String,
    /// This event's hash.
    pub hash: String,
}

/// A file sent with a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestAttachment {
    /// SHA-256 of the content, lower-case hex.
    pub sha256: String,
    /// The file name.
    pub name: String,
    /// The size in bytes.
    pub size: i64,
    /// The content.
    pub content: Vec<u8>,
}

/// A reminder raised on a request's deadline clock (once per request, kind and organisation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestReminder {
    /// The request.
    pub request_id: String,
    /// Which clock ran out (`acknowledgement`, `deadline-near`, `deadline-passed`, …).
    pub kind: String,
    /// The organisation reminded, by name.
    pub org: String,
    /// The warning that carries it.
    pub warning_id: String,
    /// When it was raised.
    pub raised: Micros,
}
