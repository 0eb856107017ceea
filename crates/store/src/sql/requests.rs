//! 24/7 requests and the hash chains of their events. Visibility is part of every query: a
//! request is joined to the caller's organisation by name, so a user of a third organisation
//! (an administrator included) gets no row, not a row to filter out.

use super::{conflict, now, SqlStore};
use crate::error::{Result, StoreError};
use crate::model::{Caller, RequestAttachment, RequestEvent, RequestReminder, RequestRow};
use sqlx::any::AnyRow;
use sqlx::Row;

const COLUMNS: &str =
    "r.id, r.from_org, r.to_org, r.type, r.state, r.deadline, r.body, r.created, r.updated";

/// Joins the caller's organisation (bound as `$1`) and keeps the requests it is party to.
const VISIBLE: &str = "FROM requests r JOIN orgs o ON o.identity_id = $1 \
     AND (r.from_org = o.name OR r.to_org = o.name)";

fn row(r: &AnyRow) -> Result<RequestRow> {
    Ok(RequestRow {
        id: r.try_get(0)?,
        from_org: r.try_get(1)?,
        to_org: r.try_get(2)?,
        kind: r.try_get(3)?,
        state: r.try_get(4)?,
        deadline: r.try_get(5)?,
        body: r.try_get(6)?,
        created: r.try_get(7)?,
        updated: r.try_get(8)?,
    })
}

async fn insert_event(
    conn: &mut sqlx::AnyConnection,
    id: &str,
    event: &RequestEvent,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO request_events (request_id, seq, at, actor, kind, body, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(event.seq)
    .bind(&event.at)
    .bind(&event.actor)
    .bind(&event.kind)
    .bind(&event.body)
    .bind(&event.prev_hash)
    .bind(&event.hash)
    .execute(conn)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Stale(format!("the chain of request {id}"))
        }
        _ => StoreError::Database(e),
    })?;
    Ok(())
}

pub(super) async fn add(store: &SqlStore, request: RequestRow, first: RequestEvent) -> Result<()> {
    let _turn = store.write_turn().await;
    let mut tx = store.begin_write().await?;
    let known: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orgs WHERE name = $1 OR name = $2")
        .bind(&request.from_org)
        .bind(&request.to_org)
        .fetch_one(&mut *tx)
        .await?;
    let wanted = if request.from_org == request.to_org {
        1
    } else {
        2
    };
    if known < wanted {
        return Err(StoreError::NotFound(format!(
            "the organisation {} or {}",
            request.from_org, request.to_org
        )));
    }
    let at = now();
    sqlx::query(
        "INSERT INTO requests (id, from_org, to_org, type, state, deadline, body, created, updated) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&request.id)
    .bind(&request.from_org)
    .bind(&request.to_org)
    .bind(&request.kind)
    .bind(&request.state)
    .bind(request.deadline.clone())
    .bind(&request.body)
    .bind(at)
    .bind(at)
    .execute(&mut *tx)
    .await
    .map_err(conflict(|| format!("request {}", request.id)))?;
    insert_event(&mut tx, &request.id, &first).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn append(
    store: &SqlStore,
    id: &str,
    prev_hash: &str,
    event: RequestEvent,
    state: &str,
) -> Result<()> {
    let _turn = store.write_turn().await;
    let mut tx = store.begin_write().await?;
    let head: Option<(i64, String)> = sqlx::query(
        "SELECT seq, hash FROM request_events WHERE request_id = $1 ORDER BY seq DESC LIMIT 1",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?)))
    .transpose()?;
    let Some((seq, hash)) = head else {
        return Err(StoreError::NotFound(format!("request {id}")));
    };
    // The compare-and-set: the head must still be the one the caller extended. The unique
    // (request_id, seq) catches the writer that checked at the same moment on PostgreSQL.
    if hash != prev_hash || event.prev_hash != prev_hash || event.seq != seq + 1 {
        return Err(StoreError::Stale(format!("the chain of request {id}")));
    }
    insert_event(&mut tx, id, &event).await?;
    sqlx::query("UPDATE requests SET state = $1, updated = $2 WHERE id = $3")
        .bind(state)
        .bind(now())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn visible_list(store: &SqlStore, caller: &Caller) -> Result<Vec<RequestRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} {VISIBLE} ORDER BY r.updated DESC, r.id"
    ))
    .bind(&caller.org)
    .fetch_all(&store.pool)
    .await?;
    rows.iter().map(row).collect()
}

pub(super) async fn get(
    store: &SqlStore,
    caller: Option<&Caller>,
    id: &str,
) -> Result<Option<(RequestRow, Vec<RequestEvent>)>> {
    let found = match caller {
        Some(caller) => {
            sqlx::query(&format!("SELECT {COLUMNS} {VISIBLE} WHERE r.id = $2"))
                .bind(&caller.org)
                .bind(id)
                .fetch_optional(&store.pool)
                .await?
        }
        None => {
            sqlx::query(&format!("SELECT {COLUMNS} FROM requests r WHERE r.id = $1"))
                .bind(id)
                .fetch_optional(&store.pool)
                .await?
        }
    };
    let Some(found) = found else {
        return Ok(None);
    };
    let request = row(&found)?;
    let events = sqlx::query(
        "SELECT seq, at, actor, kind, body, prev_hash, hash FROM request_events \
         WHERE request_id = $1 ORDER BY seq",
    )
    .bind(id)
    .fetch_all(&store.pool)
    .await?
    .iter()
    .map(|r| {
        Ok(RequestEvent {
            seq: r.try_get(0)?,
            at: r.try_get(1)?,
            actor: r.try_get(2)?,
            kind: r.try_get(3)?,
            body: r.try_get(4)?,
            prev_hash: r.try_get(5)?,
            hash: r.try_get(6)?,
        })
    })
    .collect::<Result<Vec<_>>>()?;
    Ok(Some((request, events)))
}

pub(super) async fn add_attachment(
    store: &SqlStore,
    id: &str,
    attachment: RequestAttachment,
) -> Result<()> {
    let _turn = store.write_turn().await;
    let mut tx = store.begin_write().await?;
    let exists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM requests WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    if exists == 0 {
        return Err(StoreError::NotFound(format!("request {id}")));
    }
    sqlx::query(
        "INSERT INTO request_attachments (request_id, sha256, name, size, content) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(&attachment.sha256)
    .bind(&attachment.name)
    .bind(attachment.size)
    .bind(attachment.content)
    .execute(&mut *tx)
    .await
    .map_err(conflict(|| format!("attachment {}", attachment.sha256)))?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn attachment(
    store: &SqlStore,
    caller: &Caller,
    id: &str,
    sha256: &str,
) -> Result<Option<RequestAttachment>> {
    let found = sqlx::query(&format!(
        "SELECT a.sha256, a.name, a.size, a.content {VISIBLE} \
         JOIN request_attachments a ON a.request_id = r.id WHERE r.id = $2 AND a.sha256 = $3"
    ))
    .bind(&caller.org)
    .bind(id)
    .bind(sha256)
    .fetch_optional(&store.pool)
    .await?;
    found
        .map(|r| {
            Ok(RequestAttachment {
                sha256: r.try_get(0)?,
                name: r.try_get(1)?,
                size: r.try_get(2)?,
                content: r.try_get(3)?,
            })
        })
        .transpose()
}

pub(super) async fn open_for_hub(store: &SqlStore) -> Result<Vec<RequestRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM requests r WHERE r.state NOT IN ('draft', 'closed') ORDER BY r.id"
    ))
    .fetch_all(&store.pool)
    .await?;
    rows.iter().map(row).collect()
}

pub(super) async fn reminders(store: &SqlStore) -> Result<Vec<RequestReminder>> {
    reminder_rows(
        store,
        "SELECT request_id, kind, org, warning_id, raised FROM request_reminders",
    )
    .await
}

pub(super) async fn open_reminders(store: &SqlStore) -> Result<Vec<RequestReminder>> {
    reminder_rows(
        store,
        "SELECT r.request_id, r.kind, r.org, r.warning_id, r.raised FROM request_reminders r \
         JOIN warnings w ON w.id = r.warning_id WHERE w.status = 'open'",
    )
    .await
}

async fn reminder_rows(store: &SqlStore, sql: &str) -> Result<Vec<RequestReminder>> {
    sqlx::query(sql)
        .fetch_all(&store.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(RequestReminder {
                request_id: r.try_get(0)?,
                kind: r.try_get(1)?,
                org: r.try_get(2)?,
                warning_id: r.try_get(3)?,
                raised: r.try_get(4)?,
            })
        })
        .collect()
}

pub(super) async fn record_reminder(store: &SqlStore, reminder: RequestReminder) -> Result<()> {
    let _turn = store.write_turn().await;
    sqlx::query(
        "INSERT INTO request_reminders (request_id, kind, org, warning_id, raised) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (request_id, kind, org) DO NOTHING",
    )
    .bind(&reminder.request_id)
    .bind(&reminder.kind)
    .bind(&reminder.org)
    .bind(&reminder.warning_id)
    .bind(reminder.raised)
    .execute(&store.pool)
    .await?;
    Ok(())
}
