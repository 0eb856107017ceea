//! Full-text search over the latest version of each object in each collection (see the
//! migration `0009_search.sql`): FTS5 on SQLite, a `tsvector` with a GIN index on PostgreSQL.
//!
//! The index is filled behind ingest ([`index`]), so storing a million indicators costs no
//! more than before; a search first catches up on a bounded number of new versions, so what an
//! analyst just added is found. Text is folded before it is indexed and before it is searched
//! (lower case, no diacritics, `đ` as `d`), the same way on both databases. Every hit passes
//! the read rules of [`crate::access`] before it is returned, and AMBER+ hits shown to another
//! organisation are audited as reads.

use super::audit::{self, Line};
use super::collections::{context, list, Context};
use super::statement::Statement;
use super::{tlp_from_rank, Backend, SqlStore};
use crate::access::{decide, Audience, OrgId};
use crate::error::Result;
use crate::model::{Caller, SearchHit, SearchQuery};
use serde_json::Value;
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Characters of an object's text that are indexed.
const TEXT_LIMIT: usize = 4096;
/// Versions a search indexes before it runs.
const CATCH_UP_BUDGET: usize = 5_000;

/// Text as it is indexed and searched: lower case, diacritics removed, `đ` as `d`.
pub(crate) fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'đ' { 'd' } else { c })
        .collect()
}

/// An object's name, and the text search reads: what analysts name things by.
pub(crate) fn document(body: &Value) -> (Option<String>, String) {
    let mut text = String::new();
    let mut add = |s: &str| {
        if text.len() < TEXT_LIMIT {
            text.push_str(s);
            text.push('\n');
        }
    };
    for key in [
        "name",
        "value",
        "pattern",
        "description",
        "abstract",
        "content",
        "explanation",
        "display_name",
        "subject",
    ] {
        if let Some(s) = body.get(key).and_then(Value::as_str) {
            add(s);
        }
    }
    // The ids an object refers to, so that an object's page finds what points at it: its
    // relationships, sightings, and the reports and notes that name it.
    for key in ["source_ref", "target_ref", "sighting_of_ref"] {
        if let Some(s) = body.get(key).and_then(Value::as_str) {
            add(s);
        }
    }
    for key in [
        "aliases",
        "labels",
        "x_mitre_aliases",
        "where_sighted_refs",
        "object_refs",
    ] {
        for s in body
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            add(s.as_str().unwrap_or(""));
        }
    }
    for r in body
        .get("external_references")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        add(r.get("external_id").and_then(Value::as_str).unwrap_or(""));
    }
    if let Some(hashes) = body.get("hashes").and_then(Value::as_object) {
        for h in hashes.values() {
            add(h.as_str().unwrap_or(""));
        }
    }
    let name = body.get("name").and_then(Value::as_str).map(str::to_string);
    let mut folded = fold(&text);
    if folded.len() > TEXT_LIMIT {
        let cut = (0..=TEXT_LIMIT)
            .rev()
            .find(|i| folded.is_char_boundary(*i))
            .unwrap_or(0);
        folded.truncate(cut);
    }
    (name, folded)
}

/// One stored version to index.
struct Version {
    collection_pk: i64,
    stix_id: String,
    object_type: String,
    version: i64,
    owner: String,
    tlp: Option<i64>,
    recipients: Option<String>,
    body: String,
}

/// Versions indexed per transaction: the writer is held for one chunk at a time, so warnings,
/// deliveries and ingest never wait long behind the indexer.
const CHUNK: usize = 500;

/// Indexes up to `budget` versions added since the last call, oldest first per collection.
pub(super) async fn index(store: &SqlStore, budget: usize) -> Result<usize> {
    // Only collections with versions past their position: an index that is up to date costs a
    // search (and the hub's idle tick) one read, not a write transaction per collection.
    let collections: Vec<i64> = sqlx::query_scalar(
        "SELECT c.pk FROM collections c LEFT JOIN search_progress p ON p.collection_pk = c.pk \
         WHERE c.last_added > COALESCE(p.date_added, 0) ORDER BY c.pk",
    )
    .fetch_all(&store.pool)
    .await?;
    let mut done = 0;
    for pk in collections {
        while done < budget {
            let n = index_chunk(store, pk, CHUNK.min(budget - done)).await?;
            if n == 0 {
                break;
            }
            done += n;
        }
    }
    Ok(done)
}

/// Indexes the next `limit` versions of one collection. The position is read and moved in the
/// same transaction, under the writer's lock (SQLite) or the progress row's (PostgreSQL), so
/// indexers in several processes never index a version twice or skip one.
async fn index_chunk(store: &SqlStore, pk: i64, limit: usize) -> Result<usize> {
    let _turn = store.write_turn().await;
    let mut tx = store.begin_write().await?;
    sqlx::query(
        "INSERT INTO search_progress (collection_pk, date_added) VALUES ($1, 0) \
         ON CONFLICT (collection_pk) DO NOTHING",
    )
    .bind(pk)
    .execute(&mut *tx)
    .await?;
    let lock = match store.backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    let after: i64 = sqlx::query_scalar(&format!(
        "SELECT date_added FROM search_progress WHERE collection_pk = $1{lock}"
    ))
    .bind(pk)
    .fetch_one(&mut *tx)
    .await?;
    let rows = sqlx::query(
        "SELECT date_added, stix_id, type, version, owner, tlp, recipients, body FROM objects \
         WHERE collection_pk = $1 AND date_added > $2 ORDER BY date_added LIMIT $3",
    )
    .bind(pk)
    .bind(after)
    .bind(limit as i64)
    .fetch_all(&mut *tx)
    .await?;
    let Some(last) = rows.last() else {
        tx.commit().await?;
        return Ok(0);
    };
    let upto: i64 = last.try_get(0)?;
    for row in &rows {
        let version = Version {
            collection_pk: pk,
            stix_id: row.try_get(1)?,
            object_type: row.try_get(2)?,
            version: row.try_get(3)?,
            owner: row.try_get(4)?,
            tlp: row.try_get(5)?,
            recipients: row.try_get(6)?,
            body: row.try_get(7)?,
        };
        put(store.backend, &mut tx, &version, false).await?;
    }
    sqlx::query("UPDATE search_progress SET date_added = $1 WHERE collection_pk = $2")
        .bind(upto)
        .bind(pk)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(rows.len())
}

/// Indexes one version unless a later one of the object is indexed (`replace`: whatever is).
async fn put(backend: Backend, conn: &mut AnyConnection, v: &Version, replace: bool) -> Result<()> {
    let Ok(body) = serde_json::from_str::<Value>(&v.body) else {
        return Ok(());
    };
    let (name, text) = document(&body);
    let revoked = i64::from(body.get("revoked") == Some(&Value::Bool(true)));
    let existing: Option<(i64, i64)> = sqlx::query(
        "SELECT rowid, version FROM search_docs WHERE collection_pk = $1 AND stix_id = $2",
    )
    .bind(v.collection_pk)
    .bind(&v.stix_id)
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?)))
    .transpose()?;
    if let Some((rowid, version)) = existing {
        if version > v.version && !replace {
            return Ok(());
        }
        remove(backend, conn, rowid).await?;
    }
    let mut q = Statement::new(
        backend,
        "INSERT INTO search_docs (collection_pk, stix_id, type, name, version, owner, tlp, \
         recipients, revoked",
    );
    q.push(if backend == Backend::Postgres {
        ", text) VALUES ("
    } else {
        ") VALUES ("
    });
    q.bind(v.collection_pk)
        .push(", ")
        .bind(v.stix_id.clone())
        .push(", ");
    q.bind(v.object_type.clone())
        .push(", ")
        .bind(name)
        .push(", ");
    q.bind(v.version)
        .push(", ")
        .bind(v.owner.clone())
        .push(", ");
    q.bind(v.tlp)
        .push(", ")
        .bind(v.recipients.clone())
        .push(", ")
        .bind(revoked);
    if backend == Backend::Postgres {
        q.push(", ").bind(text.clone());
    }
    q.push(") RETURNING rowid");
    let rowid: i64 = q
        .fetch_all(&mut *conn)
        .await?
        .first()
        .map(|r| r.try_get(0))
        .transpose()?
        .unwrap_or(0);
    if backend == Backend::Sqlite {
        sqlx::query("INSERT INTO search_text (rowid, text) VALUES ($1, $2)")
            .bind(rowid)
            .bind(text)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn remove(backend: Backend, conn: &mut AnyConnection, rowid: i64) -> Result<()> {
    if backend == Backend::Sqlite {
        sqlx::query("DELETE FROM search_text WHERE rowid = $1")
            .bind(rowid)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query("DELETE FROM search_docs WHERE rowid = $1")
        .bind(rowid)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// After versions of an object were deleted: its document follows the latest that remains.
pub(super) async fn refresh(
    backend: Backend,
    conn: &mut AnyConnection,
    collection_pk: i64,
    stix_id: &str,
    latest: Option<(String, i64, String, Option<i64>, String)>,
) -> Result<()> {
    let rowid: Option<i64> = sqlx::query_scalar(
        "SELECT rowid FROM search_docs WHERE collection_pk = $1 AND stix_id = $2",
    )
    .bind(collection_pk)
    .bind(stix_id)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(rowid) = rowid {
        remove(backend, conn, rowid).await?;
    }
    if let Some((object_type, version, owner, tlp, body)) = latest {
        let v = Version {
            collection_pk,
            stix_id: stix_id.to_string(),
            object_type,
            version,
            owner,
            tlp,
            recipients: None,
            body,
        };
        put(backend, conn, &v, true).await?;
    }
    Ok(())
}

/// The text query for each database: every word, the last one as a prefix (SQLite; the
/// PostgreSQL `simple` parser keeps `203.0.113.5` and `evil-c2.vn` whole, so whole words).
fn text_query(backend: Backend, text: &str) -> Option<String> {
    let words: Vec<String> = fold(text).split_whitespace().map(str::to_string).collect();
    if words.is_empty() {
        return None;
    }
    Some(match backend {
        Backend::Sqlite => {
            let n = words.len();
            words
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    let quoted = format!("\"{}\"", w.replace('"', "\"\""));
                    if i + 1 == n {
                        quoted + "*"
                    } else {
                        quoted
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        }
        Backend::Postgres => words.join(" "),
    })
}

pub(super) async fn search(
    store: &SqlStore,
    caller: &Caller,
    query: &SearchQuery,
) -> Result<Vec<SearchHit>> {
    index(store, CATCH_UP_BUDGET).await?;
    let contexts = readable(store, caller, query.collection.as_deref()).await?;
    if contexts.is_empty() {
        return Ok(Vec::new());
    }
    let limit = query.limit.clamp(1, 1000);
    let rows = select(store, &contexts, query, limit).await?;
    let reader = caller.reader();
    let (mut hits, mut audited) = (Vec::new(), Vec::new());
    for row in rows {
        let pk: i64 = row.try_get(3)?;
        let Some((collection, ctx)) = contexts.get(&pk) else {
            continue;
        };
        let owner: String = row.try_get(5)?;
        let tlp = row.try_get::<Option<i64>, _>(6)?.map(tlp_from_rank);
        let recipients: Option<String> = row.try_get(7)?;
        let recipients: Vec<OrgId> = recipients
            .as_deref()
            .unwrap_or("")
            .split(',')
            .filter(|r| !r.is_empty())
            .map(str::to_string)
            .collect();
        let audience = Audience {
            owner: &owner,
            tlp,
            collection_default: ctx.view.default_tlp,
            sharing_group: &ctx.group,
            recipients: &recipients,
            addressed: crate::access::addressed(&row.try_get::<String, _>(0)?),
        };
        let decision = decide(&reader, &audience);
        let effective = audience.effective_tlp();
        if !decision.visible() || query.tlp.is_some_and(|t| t != effective) {
            continue;
        }
        let hit = SearchHit {
            id: row.try_get(0)?,
            object_type: row.try_get(1)?,
            name: row.try_get(2)?,
            collection: collection.clone(),
            tlp: effective,
            version: row.try_get(4)?,
            revoked: row.try_get::<i64, _>(8)? != 0,
        };
        if decision.audited() {
            audited.push(hits.len());
        }
        hits.push(hit);
        if hits.len() == limit {
            break;
        }
    }
    audit_hits(store, caller, &hits, &audited).await?;
    Ok(hits)
}

/// The candidate rows, newest first; hidden rows are dropped later, so it reads more than a
/// page. On SQLite the full-text match drives the scan in descending row order and stops at
/// the limit, however common the words.
async fn select(
    store: &SqlStore,
    contexts: &HashMap<i64, (String, Context)>,
    query: &SearchQuery,
    limit: usize,
) -> Result<Vec<sqlx::any::AnyRow>> {
    let text = text_query(store.backend, &query.text);
    let mut q = Statement::new(
        store.backend,
        "SELECT d.stix_id, d.type, d.name, d.collection_pk, d.version, d.owner, d.tlp, \
         d.recipients, d.revoked FROM ",
    );
    match (&text, store.backend) {
        (Some(text), Backend::Sqlite) => {
            q.push(
                "search_text t JOIN search_docs d ON d.rowid = t.rowid WHERE search_text MATCH ",
            )
            .bind(text.clone())
            .push(" AND +d.collection_pk IN ");
        }
        (Some(text), Backend::Postgres) => {
            q.push("search_docs d WHERE d.tsv @@ plainto_tsquery('simple', ")
                .bind(text.clone())
                .push(") AND +d.collection_pk IN ");
        }
        (None, _) => {
            q.push("search_docs d WHERE +d.collection_pk IN ");
        }
    }
    // `+`: the collection is a filter, never the index to walk (it would sort every row of a
    // big collection to find the newest few).
    q.bind_list(contexts.keys().copied());
    if !query.types.is_empty() {
        q.push(" AND d.type IN ")
            .bind_list(query.types.iter().cloned());
    }
    if let Some(after) = query.modified_after {
        q.push(" AND d.version >= ").bind(after);
    }
    if let Some(before) = query.modified_before {
        q.push(" AND d.version < ").bind(before);
    }
    if !query.include_revoked {
        q.push(" AND d.revoked = 0");
    }
    let order = match (&text, store.backend) {
        (Some(_), Backend::Sqlite) => " ORDER BY t.rowid DESC LIMIT ",
        _ => " ORDER BY d.rowid DESC LIMIT ",
    };
    q.push(order).bind((limit * 5).max(200) as i64);
    Ok(q.fetch_all(&store.pool).await?)
}

/// The collections the caller reads (or just `only`), by pk, with their ids and rules.
async fn readable(
    store: &SqlStore,
    caller: &Caller,
    only: Option<&str>,
) -> Result<HashMap<i64, (String, Context)>> {
    let mut out = HashMap::new();
    for view in list(store, caller).await? {
        if !view.can_read || only.is_some_and(|o| o != view.id) {
            continue;
        }
        if let Some(ctx) = context(store, caller, &view.id).await? {
            out.insert(ctx.pk, (view.id.clone(), ctx));
        }
    }
    Ok(out)
}

async fn audit_hits(
    store: &SqlStore,
    caller: &Caller,
    hits: &[SearchHit],
    audited: &[usize],
) -> Result<()> {
    if audited.is_empty() {
        return Ok(());
    }
    let lines: Vec<Line> = audited
        .iter()
        .map(|&i| {
            let h = &hits[i];
            Line::new(caller, "read")
                .collection(&h.collection)
                .object(&h.id, h.version, h.tlp)
        })
        .collect();
    let _turn = store.write_turn().await;
    let mut tx = store.begin_write().await?;
    audit::append(store.backend, &mut tx, &lines).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_drops_diacritics_and_case() {
        assert_eq!(fold("Cảnh báo ĐIỆN lực"), "canh bao dien luc");
        assert_eq!(fold("APT32 (OceanLotus)"), "apt32 (oceanlotus)");
    }

    #[test]
    fn words_become_a_prefix_query_on_sqlite() {
        assert_eq!(
            text_query(Backend::Sqlite, "Ocean \"lot").as_deref(),
            Some("\"ocean\" \"\"\"lot\"*")
        );
        assert_eq!(text_query(Backend::Sqlite, "   "), None);
        assert_eq!(
            text_query(Backend::Postgres, "Điện  lực").as_deref(),
            Some("dien luc")
        );
    }

    #[test]
    fn documents_read_names_patterns_and_ids() {
        let body = serde_json::json!({"type": "attack-pattern", "name": "Phishing",
            "description": "Thư điện tử giả mạo",
            "external_references": [{"source_name": "mitre-attack", "external_id": "T1566"}]});
        let (name, text) = document(&body);
        assert_eq!(name.as_deref(), Some("Phishing"));
        assert!(text.contains("thu dien tu gia mao"), "{text}");
        assert!(text.contains("t1566"));
        let long = serde_json::json!({"description": "ế".repeat(5000)});
        assert!(document(&long).1.len() <= TEXT_LIMIT);
        let rel = serde_json::json!({"type": "relationship", "relationship_type": "indicates",
            "source_ref": "indicator--00000001-0000-4000-8000-000000000000",
            "target_ref": "malware--00000001-0000-4000-8000-000000000000"});
        assert!(document(&rel)
            .1
            .contains("malware--00000001-0000-4000-8000-000000000000"));
    }
}
