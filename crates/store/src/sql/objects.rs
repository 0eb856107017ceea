//! Object versions: adding them with a strictly increasing `date_added`, reading pages by
//! keyset under the access rules, deleting them.

use super::audit::{self, Line};
use super::collections::{require, Context};
use super::search;
use super::statement::Statement;
use super::trends::{self, Origin};
use super::{now, status, tlp_from_rank, tlp_rank, Backend, SqlStore};
use crate::access::{decide, Audience, Decision, OrgId, Reader};
use crate::error::{Result, StoreError};
use crate::model::{
    timestamp_text, Caller, Micros, NewObject, Page, Query, Status, StatusDetail, StoredObject,
    VersionFilter,
};
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;
use watchpost_stix::marking::Tlp;

/// Rows per INSERT: 12 parameters each, well under both databases' limits.
const INSERT_CHUNK: usize = 400;
/// Ids per `IN (…)` list.
const ID_CHUNK: usize = 500;
/// Rows a read may scan past hidden objects before it returns a short page with a `next`:
/// bounds the cost of a request by an organisation that may see little of a big collection.
const MIN_SCAN_BUDGET: usize = 10_000;

/// What is known of an object's stored versions: (version, is_first, is_last, pk).
type Versions = Vec<(Micros, bool, bool, i64)>;

pub(super) async fn add(
    store: &SqlStore,
    caller: &Caller,
    collection: &str,
    objects: Vec<NewObject>,
    failures: Vec<StatusDetail>,
) -> Result<Status> {
    let ctx = require(store, caller, collection, true).await?;
    let request_timestamp = now();
    let total = objects.len() + failures.len();
    let _turn = store.write_turn().await;
    let mut tx = store.begin_write().await?;
    // Locks the collection row (PostgreSQL) or the database (SQLite) before reading the clock,
    // so date_added follows commit order and a reader never sees a later one first.
    let last: Micros = sqlx::query_scalar(
        "UPDATE collections SET last_added = last_added WHERE pk = $1 RETURNING last_added",
    )
    .bind(ctx.pk)
    .fetch_one(&mut *tx)
    .await?;
    let existing = existing_versions(store, &mut tx, ctx.pk, &objects).await?;
    let mut plan = Plan::new(existing, last.max(now() - 1));
    let mut successes = Vec::with_capacity(objects.len());
    for object in objects {
        successes.push(plan.admit(object));
    }
    plan.settle_flags();
    insert_rows(store.backend, &mut tx, ctx.pk, caller, &plan.rows).await?;
    let origin = Origin {
        collection_pk: ctx.pk,
        default_tlp: ctx.view.default_tlp,
        owner: &caller.org,
    };
    let latest = plan.rows.iter().filter(|r| r.last).map(|r| &r.object);
    trends::record(store.backend, &mut tx, &origin, latest).await?;
    for (pk, first, last) in &plan.demoted {
        sqlx::query("UPDATE objects SET is_first = $1, is_last = $2 WHERE pk = $3")
            .bind(i64::from(*first))
            .bind(i64::from(*last))
            .bind(pk)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("UPDATE collections SET last_added = $1 WHERE pk = $2")
        .bind(plan.clock)
        .bind(ctx.pk)
        .execute(&mut *tx)
        .await?;
    let status = Status {
        id: uuid::Uuid::new_v4().to_string(),
        status: "complete".into(),
        request_timestamp: timestamp_text(request_timestamp),
        total_count: total as u64,
        success_count: successes.len() as u64,
        successes,
        failure_count: failures.len() as u64,
        failures,
        pending_count: 0,
        pendings: Vec::new(),
    };
    status::insert(&mut tx, &status, caller, ctx.pk).await?;
    let line = Line::new(caller, "add")
        .collection(collection)
        .detail(format!(
            "{} stored ({} new versions), {} refused",
            status.success_count,
            plan.rows.len(),
            status.failure_count
        ));
    audit::append(store.backend, &mut tx, &[line]).await?;
    tx.commit().await?;
    Ok(status)
}

async fn existing_versions(
    store: &SqlStore,
    conn: &mut AnyConnection,
    collection: i64,
    objects: &[NewObject],
) -> Result<HashMap<String, Versions>> {
    let mut ids: Vec<String> = objects.iter().map(|o| o.id.clone()).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut found: HashMap<String, Versions> = HashMap::new();
    for chunk in ids.chunks(ID_CHUNK) {
        let mut q = Statement::new(
            store.backend,
            "SELECT stix_id, version, is_first, is_last, pk FROM objects WHERE collection_pk = ",
        );
        q.bind(collection);
        if !restrict_ids(store, conn, &mut q, collection, chunk).await? {
            continue;
        }
        for row in q.fetch_all(&mut *conn).await? {
            let first: i64 = row.try_get(2)?;
            let last: i64 = row.try_get(3)?;
            found.entry(row.try_get(0)?).or_default().push((
                row.try_get(1)?,
                first != 0,
                last != 0,
                row.try_get(4)?,
            ));
        }
    }
    Ok(found)
}

/// Restricts `q` to the rows of `ids`: the id map's candidate rows on SQLite (re-checked by
/// the `stix_id` condition), the index on PostgreSQL. False when no row can match.
async fn restrict_ids(
    store: &SqlStore,
    conn: &mut AnyConnection,
    q: &mut Statement<'_>,
    collection: i64,
    ids: &[String],
) -> Result<bool> {
    if ids.is_empty() {
        return Ok(true);
    }
    if store.backend == Backend::Sqlite {
        let wanted: Vec<&str> = ids.iter().map(String::as_str).collect();
        let pks = store.ids.candidates(conn, collection, &wanted).await?;
        if pks.is_empty() {
            return Ok(false);
        }
        q.push(" AND pk IN ").bind_list(pks);
    }
    push_in(q, "stix_id", ids);
    Ok(true)
}

/// A row to insert.
struct Pending {
    object: NewObject,
    version: Micros,
    date_added: Micros,
    first: bool,
    last: bool,
}

/// Decides, for one batch, which versions are new, their `date_added`, and which first/last
/// flags move.
struct Plan {
    existing: HashMap<String, Versions>,
    /// The last `date_added` handed out.
    clock: Micros,
    rows: Vec<Pending>,
    /// The versions this batch adds, by id.
    batch: HashMap<String, Vec<Micros>>,
    /// Stored versions whose flags change: (pk, is_first, is_last).
    demoted: Vec<(i64, bool, bool)>,
}

impl Plan {
    fn new(existing: HashMap<String, Versions>, clock: Micros) -> Self {
        Plan {
            existing,
            clock,
            rows: Vec::new(),
            batch: HashMap::new(),
            demoted: Vec::new(),
        }
    }

    /// Takes one object: a new version gets the next `date_added`; a version already stored
    /// (or, for objects without timestamps, an id already stored) is a success with a note.
    fn admit(&mut self, object: NewObject) -> StatusDetail {
        let known = self.existing.get(&object.id);
        let duplicate = match (object.version, known) {
            (_, None) => None,
            (None, Some(v)) => v.first().map(|v| v.0),
            (Some(version), Some(v)) => v.iter().any(|v| v.0 == version).then_some(version),
        };
        let dup_in_batch = self
            .batch
            .get(&object.id)
            .and_then(|versions| match object.version {
                None => versions.first().copied(),
                Some(v) => versions.contains(&v).then_some(v),
            });
        if let Some(version) = duplicate.or(dup_in_batch) {
            return StatusDetail {
                id: object.id,
                version: timestamp_text(version),
                message: Some("this version was already stored".into()),
            };
        }
        self.clock = self.clock.max(now() - 1) + 1;
        let version = object.version.unwrap_or(self.clock);
        let detail = StatusDetail {
            id: object.id.clone(),
            version: timestamp_text(version),
            message: None,
        };
        self.batch
            .entry(object.id.clone())
            .or_default()
            .push(version);
        self.rows.push(Pending {
            object,
            version,
            date_added: self.clock,
            first: false,
            last: false,
        });
        detail
    }

    /// Marks the earliest and latest version of every touched object, old and new together.
    fn settle_flags(&mut self) {
        let mut span: HashMap<String, (Micros, Micros)> = HashMap::new();
        for r in &self.rows {
            let e = span
                .entry(r.object.id.clone())
                .or_insert((r.version, r.version));
            e.0 = e.0.min(r.version);
            e.1 = e.1.max(r.version);
        }
        for (id, (lo, hi)) in span.iter_mut() {
            for v in self.existing.get(id).into_iter().flatten() {
                *lo = (*lo).min(v.0);
                *hi = (*hi).max(v.0);
            }
        }
        for r in &mut self.rows {
            let (lo, hi) = span[r.object.id.as_str()];
            r.first = r.version == lo;
            r.last = r.version == hi;
        }
        for (id, (lo, hi)) in &span {
            for &(version, first, last, pk) in self.existing.get(id).into_iter().flatten() {
                let (f, l) = (version == *lo, version == *hi);
                if (f, l) != (first, last) {
                    self.demoted.push((pk, f, l));
                }
            }
        }
    }
}

async fn insert_rows(
    backend: Backend,
    conn: &mut AnyConnection,
    collection: i64,
    caller: &Caller,
    rows: &[Pending],
) -> Result<()> {
    for chunk in rows.chunks(INSERT_CHUNK) {
        let mut q = Statement::new(
            backend,
            "INSERT INTO objects (collection_pk, date_added, stix_id, type, version, \
             spec_version, owner, tlp, recipients, is_first, is_last, body) VALUES ",
        );
        for (i, r) in chunk.iter().enumerate() {
            let recipients =
                (!r.object.recipients.is_empty()).then(|| r.object.recipients.join(","));
            q.push(if i == 0 { "(" } else { ", (" });
            q.bind(collection).push(", ").bind(r.date_added).push(", ");
            q.bind(r.object.id.clone()).push(", ");
            q.bind(r.object.object_type.clone())
                .push(", ")
                .bind(r.version)
                .push(", ");
            q.bind(r.object.spec_version.clone()).push(", ");
            q.bind(caller.org.clone())
                .push(", ")
                .bind(r.object.tlp.map(tlp_rank))
                .push(", ");
            q.bind(recipients)
                .push(", ")
                .bind(i64::from(r.first))
                .push(", ");
            q.bind(i64::from(r.last))
                .push(", ")
                .bind(r.object.body.clone())
                .push(")");
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// One stored version as a read scans it: what the access rules need, and the object.
struct Scanned {
    date_added: Micros,
    version: Micros,
    tlp: Option<Tlp>,
    owner: String,
    recipients: String,
    id: String,
    spec_version: String,
    body: String,
}

/// Unit and record separators of the aggregated page (see [`select_page`]). Stored bodies are
/// serde_json output, which escapes every control character, so neither occurs in them; the
/// head fields are numbers, identities and validated ids, with `spec_version` last so that
/// even an unexpected separator in it could not shift the owner or marking fields.
const UNIT: char = '\u{1f}';
const RECORD: char = '\u{1e}';

impl Scanned {
    fn parse(head: &str, body: &str) -> Result<Self> {
        let bad = || StoreError::Invalid(format!("a stored row is unreadable: {head:?}"));
        let mut f = head.splitn(7, UNIT);
        let mut next = || f.next().ok_or_else(bad);
        let date_added = next()?.parse().map_err(|_| bad())?;
        let version = next()?.parse().map_err(|_| bad())?;
        let tlp = match next()? {
            "" => None,
            rank => Some(tlp_from_rank(rank.parse().map_err(|_| bad())?)),
        };
        Ok(Scanned {
            date_added,
            version,
            tlp,
            owner: next()?.to_string(),
            recipients: next()?.to_string(),
            id: next()?.to_string(),
            spec_version: next()?.to_string(),
            body: body.to_string(),
        })
    }

    /// Applies the access rules; returns the decision and the effective marking.
    fn decide(&self, ctx: &Context, reader: &Reader) -> (Decision, Tlp) {
        let recipients: Vec<OrgId> = match self.tlp {
            Some(Tlp::Red) if !self.recipients.is_empty() => {
                self.recipients.split(',').map(str::to_string).collect()
            }
            _ => Vec::new(),
        };
        let audience = Audience {
            owner: &self.owner,
            tlp: self.tlp,
            collection_default: ctx.view.default_tlp,
            sharing_group: &ctx.group,
            recipients: &recipients,
            addressed: crate::access::addressed(&self.id),
        };
        (decide(reader, &audience), audience.effective_tlp())
    }
}

/// The head of a row, its access fields joined by [`UNIT`], as SQL both databases run.
const HEAD: &str = "CAST(date_added AS TEXT) || '\u{1f}' || CAST(version AS TEXT) || '\u{1f}' || \
     COALESCE(CAST(tlp AS TEXT), '') || '\u{1f}' || owner || '\u{1f}' || \
     COALESCE(recipients, '') || '\u{1f}' || stix_id || '\u{1f}' || spec_version";

/// Appends the `match[version]` and `match[spec_version]` conditions.
fn push_version_filters(q: &mut Statement<'_>, versions: &VersionFilter, specs: &[String]) {
    if !versions.all {
        q.push(" AND (1 = 0");
        if versions.first {
            q.push(" OR is_first = 1");
        }
        if versions.last {
            q.push(" OR is_last = 1");
        }
        for v in &versions.at {
            q.push(" OR version = ").bind(*v);
        }
        q.push(")");
    }
    push_in(q, "spec_version", specs);
}

fn push_in(q: &mut Statement<'_>, column: &str, values: &[String]) {
    if !values.is_empty() {
        q.push(&format!(" AND {column} IN "));
        q.bind_list(values.iter().cloned());
    }
}

pub(super) async fn read(
    store: &SqlStore,
    caller: &Caller,
    collection: &str,
    query: &Query,
) -> Result<Page> {
    let ctx = require(store, caller, collection, false).await?;
    let reader = caller.reader();
    let limit = query.limit.max(1);
    let budget = (limit * 10).max(MIN_SCAN_BUDGET);
    let mut cursor = query.after.max(query.added_after).unwrap_or(i64::MIN);
    let (mut page, mut audited, mut scanned) = (Page::default(), Vec::new(), 0usize);
    'scan: loop {
        let rows = select_page(store, &ctx, query, cursor, limit + 1).await?;
        let exhausted = rows.len() <= limit;
        for row in rows {
            let (decision, tlp) = row.decide(&ctx, &reader);
            scanned += 1;
            if decision.visible() {
                if page.objects.len() == limit {
                    page.next = page.objects.last().map(|o| o.date_added);
                    break 'scan;
                }
                if decision.audited() {
                    audited.push((row.id.clone(), row.version, tlp));
                }
                cursor = row.date_added;
                page.objects.push(StoredObject {
                    id: row.id,
                    date_added: row.date_added,
                    version: row.version,
                    spec_version: row.spec_version,
                    owner: row.owner,
                    body: row.body,
                });
            } else {
                cursor = row.date_added;
            }
        }
        if exhausted {
            break;
        }
        if scanned >= budget {
            page.next = Some(cursor);
            break;
        }
    }
    record_reads(store, caller, collection, &audited).await?;
    Ok(page)
}

/// Up to `batch` rows after `cursor`, aggregated into one result row: sqlx hands SQLite rows
/// over one by one through a channel to its worker thread, which cost more than SQLite itself
/// on a 1,000-object page; two aggregated strings cross it once.
async fn select_page(
    store: &SqlStore,
    ctx: &Context,
    query: &Query,
    cursor: Micros,
    batch: usize,
) -> Result<Vec<Scanned>> {
    let body = if query.with_body { "body" } else { "''" };
    let mut q = Statement::new(
        store.backend,
        format!(
            "SELECT string_agg(head, '{RECORD}' ORDER BY date_added), \
             string_agg(body, '{RECORD}' ORDER BY date_added) FROM \
             (SELECT date_added, {HEAD} AS head, {body} AS body FROM objects WHERE collection_pk = "
        ),
    );
    q.bind(ctx.pk).push(" AND date_added > ").bind(cursor);
    let mut conn = store.pool.acquire().await?;
    if !restrict_ids(store, &mut conn, &mut q, ctx.pk, &query.ids).await? {
        return Ok(Vec::new());
    }
    push_in(&mut q, "type", &query.types);
    push_version_filters(&mut q, &query.versions, &query.spec_versions);
    q.push(" ORDER BY date_added LIMIT ")
        .bind(i64::try_from(batch).unwrap_or(i64::MAX))
        .push(") AS page");
    let rows = q.fetch_all(&mut *conn).await?;
    let Some(row) = rows.first() else {
        return Ok(Vec::new());
    };
    let heads: Option<String> = row.try_get(0)?;
    let bodies: Option<String> = row.try_get(1)?;
    let (Some(heads), Some(bodies)) = (heads, bodies) else {
        return Ok(Vec::new());
    };
    heads
        .split(RECORD)
        .zip(bodies.split(RECORD))
        .map(|(h, b)| Scanned::parse(h, b))
        .collect()
}

/// Writes one audit line per AMBER+ version shown to an organisation other than its owner.
async fn record_reads(
    store: &SqlStore,
    caller: &Caller,
    collection: &str,
    reads: &[(String, Micros, Tlp)],
) -> Result<()> {
    if reads.is_empty() {
        return Ok(());
    }
    let lines: Vec<Line> = reads
        .iter()
        .map(|(id, v, tlp)| {
            Line::new(caller, "read")
                .collection(collection)
                .object(id, *v, *tlp)
        })
        .collect();
    let _turn = store.write_turn().await;
    let mut tx = store.begin_write().await?;
    audit::append(store.backend, &mut tx, &lines).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn delete(
    store: &SqlStore,
    caller: &Caller,
    collection: &str,
    id: &str,
    versions: &VersionFilter,
    spec_versions: &[String],
) -> Result<u64> {
    let ctx = require(store, caller, collection, true).await?;
    let reader = caller.reader();
    let _turn = store.write_turn().await;
    let mut tx = store.begin_write().await?;
    let mut q = Statement::new(
        store.backend,
        format!("SELECT {HEAD}, pk FROM objects WHERE collection_pk = "),
    );
    q.bind(ctx.pk);
    let id_list = [id.to_string()];
    let any = restrict_ids(store, &mut tx, &mut q, ctx.pk, &id_list).await?;
    push_version_filters(&mut q, versions, spec_versions);
    let mut doomed = Vec::new();
    let rows = if any {
        q.fetch_all(&mut *tx).await?
    } else {
        Vec::new()
    };
    for row in rows {
        let scanned = Scanned::parse(&row.try_get::<String, _>(0)?, "")?;
        let (decision, tlp) = scanned.decide(&ctx, &reader);
        if decision.visible() {
            doomed.push((row.try_get::<i64, _>(1)?, scanned.version, tlp));
        }
    }
    if doomed.is_empty() {
        return Err(StoreError::NotFound(format!(
            "object {id} in collection {collection}"
        )));
    }
    for (pk, _, _) in &doomed {
        sqlx::query("DELETE FROM objects WHERE pk = $1")
            .bind(pk)
            .execute(&mut *tx)
            .await?;
    }
    reflag(store, &mut tx, ctx.pk, &id_list).await?;
    refresh_facts(store, &mut tx, &ctx, &id_list).await?;
    let lines: Vec<Line> = doomed
        .iter()
        .map(|(_, v, tlp)| {
            Line::new(caller, "delete")
                .collection(collection)
                .object(id, *v, *tlp)
        })
        .collect();
    audit::append(store.backend, &mut tx, &lines).await?;
    tx.commit().await?;
    Ok(doomed.len() as u64)
}

/// The latest version of each of `ids` in every collection, as (collection pk, owner, TLP rank
/// or `None`, body): for the few objects a page names, without an index on ids (see `ids.rs`).
pub(super) async fn latest_everywhere(
    store: &SqlStore,
    ids: &[String],
) -> Result<Vec<(i64, String, Option<i64>, String)>> {
    let mut conn = store.pool.acquire().await?;
    let pks: Vec<i64> = sqlx::query_scalar("SELECT pk FROM collections")
        .fetch_all(&mut *conn)
        .await?;
    let mut out = Vec::new();
    for pk in pks {
        // SQLite 3.46 would walk the collection's date index rather than look the few row
        // numbers up (50 ms at a million objects); NOT INDEXED leaves it the row numbers.
        let table = match store.backend {
            Backend::Sqlite => "objects NOT INDEXED",
            Backend::Postgres => "objects",
        };
        let mut q = Statement::new(
            store.backend,
            format!("SELECT owner, tlp, body FROM {table} WHERE is_last = 1 AND collection_pk = "),
        );
        q.bind(pk);
        if !restrict_ids(store, &mut conn, &mut q, pk, ids).await? {
            continue;
        }
        for row in q.fetch_all(&mut *conn).await? {
            out.push((pk, row.try_get(0)?, row.try_get(1)?, row.try_get(2)?));
        }
    }
    Ok(out)
}

/// Makes the trend facts and the search document of an object follow the latest version that
/// remains of it.
async fn refresh_facts(
    store: &SqlStore,
    conn: &mut AnyConnection,
    ctx: &Context,
    id: &[String],
) -> Result<()> {
    let Some(stix_id) = id.first() else {
        return Ok(());
    };
    trends::forget(store.backend, conn, stix_id).await?;
    let mut q = Statement::new(
        store.backend,
        "SELECT type, spec_version, owner, tlp, body, version FROM objects \
         WHERE is_last = 1 AND collection_pk = ",
    );
    q.bind(ctx.pk);
    if !restrict_ids(store, conn, &mut q, ctx.pk, id).await? {
        return search::refresh(store.backend, conn, ctx.pk, stix_id, None).await;
    }
    let Some(row) = q.fetch_all(&mut *conn).await?.into_iter().next() else {
        return search::refresh(store.backend, conn, ctx.pk, stix_id, None).await;
    };
    let owner: String = row.try_get(2)?;
    let latest = (
        row.try_get(0)?,
        row.try_get(5)?,
        owner.clone(),
        row.try_get(3)?,
        row.try_get(4)?,
    );
    search::refresh(store.backend, conn, ctx.pk, stix_id, Some(latest)).await?;
    let object = NewObject {
        id: stix_id.clone(),
        object_type: row.try_get(0)?,
        version: Some(row.try_get(5)?),
        spec_version: row.try_get(1)?,
        tlp: row.try_get::<Option<i64>, _>(3)?.map(tlp_from_rank),
        recipients: Vec::new(),
        body: row.try_get(4)?,
    };
    let origin = Origin {
        collection_pk: ctx.pk,
        default_tlp: ctx.view.default_tlp,
        owner: &owner,
    };
    trends::record(store.backend, conn, &origin, std::iter::once(&object)).await
}

/// Re-marks the first and last of the versions that remain of an object.
async fn reflag(
    store: &SqlStore,
    conn: &mut AnyConnection,
    collection: i64,
    id: &[String],
) -> Result<()> {
    let mut q = Statement::new(
        store.backend,
        "SELECT pk, version FROM objects WHERE collection_pk = ",
    );
    q.bind(collection);
    if !restrict_ids(store, conn, &mut q, collection, id).await? {
        return Ok(());
    }
    let mut rows: Vec<(i64, Micros)> = Vec::new();
    for row in q.fetch_all(&mut *conn).await? {
        rows.push((row.try_get(0)?, row.try_get(1)?));
    }
    let lo = rows.iter().map(|r| r.1).min();
    let hi = rows.iter().map(|r| r.1).max();
    for (pk, version) in rows {
        sqlx::query("UPDATE objects SET is_first = $1, is_last = $2 WHERE pk = $3")
            .bind(i64::from(Some(version) == lo))
            .bind(i64::from(Some(version) == hi))
            .bind(pk)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub(super) async fn current_of_type(
    store: &SqlStore,
    object_type: &str,
) -> Result<Vec<(String, String)>> {
    // One aggregated row per collection: sqlx hands SQLite rows over one at a time.
    let rows = sqlx::query(&format!(
        "SELECT c.id, string_agg(o.body, '{RECORD}' ORDER BY o.date_added) FROM objects o \
         JOIN collections c ON c.pk = o.collection_pk \
         WHERE o.type = $1 AND o.is_last = 1 GROUP BY c.id"
    ))
    .bind(object_type)
    .fetch_all(&store.pool)
    .await?;
    let mut out = Vec::new();
    for row in rows {
        let collection: String = row.try_get(0)?;
        let bodies: Option<String> = row.try_get(1)?;
        for body in bodies
            .as_deref()
            .unwrap_or("")
            .split(RECORD)
            .filter(|b| !b.is_empty())
        {
            out.push((collection.clone(), body.to_string()));
        }
    }
    Ok(out)
}

pub(super) async fn changed(store: &SqlStore, object_type: &str) -> Result<(i64, i64)> {
    let row = sqlx::query("SELECT COUNT(*), COALESCE(MAX(pk), 0) FROM objects WHERE type = $1")
        .bind(object_type)
        .fetch_one(&store.pool)
        .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}
