//! Warnings and the outbox of their deliveries.
//!
//! Every state change is a conditional UPDATE (a compare-and-set on the row's status, lease or
//! level), so several couriers, on one hub or on several hubs sharing a PostgreSQL server, can
//! work the same outbox: a delivery is claimed by one of them until its lease ends, a sent one
//! is never claimed again, and an escalation moves a warning up one level exactly once.

use super::statement::Statement;
use super::{Backend, SqlStore};
use crate::error::{Result, StoreError};
use crate::model::{
    Caller, Channel, Delivery, DeliveryStatus, Micros, NewDelivery, NewWarning, Raised, Role,
    Warning, WarningFilter, WarningNote, WarningStatus,
};
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

const WARNING_COLUMNS: &str = "id, indicator_id, org, severity, status, first_seen, last_seen, \
     count, level, escalate_at, ack_by, ack_at, created, dedup_until, detail, assigned_to, \
     closed_by, closed_at";

const DELIVERY_COLUMNS: &str = "id, warning_id, level, channel, target, focal_point, language, \
     attempts, next_attempt_at, lease_until, status, last_error, sent_at";

fn warning_from_row(r: &AnyRow) -> Result<Warning> {
    let id: String = r.try_get(0)?;
    let status: String = r.try_get(4)?;
    let status = WarningStatus::parse(&status).ok_or_else(|| {
        StoreError::Invalid(format!(
            "warning {id} has the status {status:?}, which this version does not know"
        ))
    })?;
    Ok(Warning {
        id,
        indicator_id: r.try_get(1)?,
        org: r.try_get(2)?,
        severity: r.try_get(3)?,
        status,
        first_seen: r.try_get(5)?,
        last_seen: r.try_get(6)?,
        count: r.try_get(7)?,
        level: r.try_get(8)?,
        escalate_at: r.try_get(9)?,
        ack_by: r.try_get(10)?,
        ack_at: r.try_get(11)?,
        created: r.try_get(12)?,
        dedup_until: r.try_get(13)?,
        detail: r.try_get(14)?,
        assigned_to: r.try_get(15)?,
        closed_by: r.try_get(16)?,
        closed_at: r.try_get(17)?,
    })
}

fn delivery_from_row(r: &AnyRow) -> Result<Delivery> {
    let id: String = r.try_get(0)?;
    let unknown = |what: &str, value: &str| {
        StoreError::Invalid(format!(
            "delivery {id} has the {what} {value:?}, which this version does not know"
        ))
    };
    let channel: String = r.try_get(3)?;
    let status: String = r.try_get(10)?;
    Ok(Delivery {
        channel: Channel::parse(&channel).ok_or_else(|| unknown("channel", &channel))?,
        status: DeliveryStatus::parse(&status).ok_or_else(|| unknown("status", &status))?,
        warning_id: r.try_get(1)?,
        level: r.try_get(2)?,
        target: r.try_get(4)?,
        focal_point: r.try_get(5)?,
        language: r.try_get(6)?,
        attempts: r.try_get(7)?,
        next_attempt_at: r.try_get(8)?,
        lease_until: r.try_get(9)?,
        last_error: r.try_get(11)?,
        sent_at: r.try_get(12)?,
        id,
    })
}

/// The PostgreSQL advisory lock that serialises raising warnings for one (indicator,
/// organisation): without it two hubs could both find no recent warning and both insert one.
/// SQLite needs none: it has one writer at a time.
fn raise_lock_key(indicator: &str, org: &str) -> i64 {
    let digest = Sha256::new()
        .chain_update(indicator.as_bytes())
        .chain_update([0])
        .chain_update(org.as_bytes())
        .finalize();
    let mut key = [0u8; 8];
    key.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(key)
}

async fn warning_in(conn: &mut AnyConnection, id: &str) -> Result<Option<Warning>> {
    sqlx::query(&format!(
        "SELECT {WARNING_COLUMNS} FROM warnings WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(warning_from_row)
    .transpose()
}

async fn enqueue(
    conn: &mut AnyConnection,
    warning: &str,
    level: i64,
    deliveries: &[NewDelivery],
    now: Micros,
) -> Result<()> {
    for d in deliveries {
        // The same address listed twice at one level is sent to once.
        sqlx::query(
            "INSERT INTO deliveries (id, warning_id, level, channel, target, focal_point, \
             language, next_attempt_at, created) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT DO NOTHING",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(warning)
        .bind(level)
        .bind(d.channel.as_str())
        .bind(&d.target)
        .bind(&d.focal_point)
        .bind(&d.language)
        .bind(now)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub(super) async fn raise(store: &SqlStore, w: NewWarning) -> Result<Raised> {
    if w.dedup_window < 0 {
        return Err(StoreError::Invalid(
            "a deduplication window cannot be negative".into(),
        ));
    }
    let _turn = store.write_turn().await;
    let mut tx = store.begin_write().await?;
    if store.backend == Backend::Postgres {
        sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1)) AS l")
            .bind(raise_lock_key(&w.indicator_id, &w.org))
            .fetch_one(&mut *tx)
            .await?;
    }
    let recent: Option<String> = sqlx::query_scalar(
        "SELECT id FROM warnings WHERE indicator_id = $1 AND org = $2 AND dedup_until >= $3 \
         ORDER BY created DESC LIMIT 1",
    )
    .bind(&w.indicator_id)
    .bind(&w.org)
    .bind(w.seen)
    .fetch_optional(&mut *tx)
    .await?;
    let (id, created) = match recent {
        Some(id) => {
            sqlx::query(
                "UPDATE warnings SET count = count + 1, \
                 first_seen = CASE WHEN first_seen > $1 THEN $2 ELSE first_seen END, \
                 last_seen = CASE WHEN last_seen < $3 THEN $4 ELSE last_seen END WHERE id = $5",
            )
            .bind(w.seen)
            .bind(w.seen)
            .bind(w.seen)
            .bind(w.seen)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
            (id, false)
        }
        None => {
            let id = uuid::Uuid::new_v4().to_string();
            sqlx::query(
                "INSERT INTO warnings (id, indicator_id, org, severity, status, first_seen, \
                 last_seen, count, level, escalate_at, created, dedup_until, detail) \
                 VALUES ($1, $2, $3, $4, 'open', $5, $6, 1, 0, $7, $8, $9, $10)",
            )
            .bind(&id)
            .bind(&w.indicator_id)
            .bind(&w.org)
            .bind(&w.severity)
            .bind(w.seen)
            .bind(w.seen)
            .bind(w.escalate_at)
            .bind(w.now)
            .bind(w.seen.saturating_add(w.dedup_window))
            .bind(&w.detail)
            .execute(&mut *tx)
            .await?;
            enqueue(&mut tx, &id, 0, &w.deliveries, w.now).await?;
            (id, true)
        }
    };
    let warning = warning_in(&mut tx, &id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("warning {id}")))?;
    tx.commit().await?;
    Ok(Raised { warning, created })
}

pub(super) async fn claim(
    store: &SqlStore,
    now: Micros,
    lease: Micros,
    limit: usize,
) -> Result<Vec<Delivery>> {
    // PostgreSQL skips rows another courier is claiming right now instead of waiting for it,
    // and picks them once (`ARRAY(…)` runs once; a semi-join could run the LIMIT again per row
    // and claim more); the outer conditions are checked again on each row as it is when
    // updated, so a delivery claimed in between is not taken twice on either database.
    let (pick, skip_locked) = match store.backend {
        Backend::Postgres => (" WHERE id = ANY(ARRAY(", " FOR UPDATE SKIP LOCKED)"),
        Backend::Sqlite => (" WHERE id IN (", ""),
    };
    let due = "status = 'pending' AND (lease_until IS NULL OR lease_until <= ";
    let mut s = Statement::new(store.backend, "UPDATE deliveries SET lease_until = ");
    s.bind(now.saturating_add(lease))
        .push(pick)
        .push("SELECT id FROM deliveries WHERE next_attempt_at <= ")
        .bind(now)
        .push(" AND ")
        .push(due)
        .bind(now)
        .push(") ORDER BY next_attempt_at LIMIT ")
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .push(skip_locked)
        .push(") AND ")
        .push(due)
        .bind(now)
        .push(&format!(") RETURNING {DELIVERY_COLUMNS}"));
    let _turn = store.write_turn().await;
    let rows = s.fetch_all(&store.pool).await?;
    let mut claimed = rows
        .iter()
        .map(delivery_from_row)
        .collect::<Result<Vec<_>>>()?;
    claimed.sort_by_key(|d| d.next_attempt_at);
    Ok(claimed)
}

pub(super) async fn sent(store: &SqlStore, id: &str, at: Micros) -> Result<bool> {
    let _turn = store.write_turn().await;
    let done = sqlx::query(
        "UPDATE deliveries SET status = 'sent', sent_at = $1, lease_until = NULL \
         WHERE id = $2 AND status = 'pending'",
    )
    .bind(at)
    .bind(id)
    .execute(&store.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn failed(
    store: &SqlStore,
    id: &str,
    error: &str,
    retry_at: Option<Micros>,
) -> Result<bool> {
    let _turn = store.write_turn().await;
    let query = match retry_at {
        Some(at) => sqlx::query(
            "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = $1, \
             last_error = $2, lease_until = NULL WHERE id = $3 AND status = 'pending'",
        )
        .bind(at),
        None => sqlx::query(
            "UPDATE deliveries SET attempts = attempts + 1, status = 'failed', \
             last_error = $1, lease_until = NULL WHERE id = $2 AND status = 'pending'",
        ),
    };
    let done = query.bind(error).bind(id).execute(&store.pool).await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn acknowledge(
    store: &SqlStore,
    id: &str,
    by: &str,
    at: Micros,
) -> Result<Warning> {
    let _turn = store.write_turn().await;
    let mut tx = store.begin_write().await?;
    let done = sqlx::query(
        "UPDATE warnings SET status = 'acknowledged', ack_by = $1, ack_at = $2, \
         escalate_at = NULL WHERE id = $3 AND status = 'open'",
    )
    .bind(by)
    .bind(at)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 1 {
        cancel_pending(&mut tx, id).await?;
    }
    // Acknowledging twice is not an error: the first acknowledgement stands.
    let warning = warning_in(&mut tx, id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("warning {id}")))?;
    tx.commit().await?;
    Ok(warning)
}

pub(super) async fn due_escalations(
    store: &SqlStore,
    now: Micros,
    limit: usize,
) -> Result<Vec<Warning>> {
    let rows = sqlx::query(&format!(
        "SELECT {WARNING_COLUMNS} FROM warnings WHERE status = 'open' \
         AND escalate_at IS NOT NULL AND escalate_at <= $1 ORDER BY escalate_at LIMIT $2"
    ))
    .bind(now)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(&store.pool)
    .await?;
    rows.iter().map(warning_from_row).collect()
}

pub(super) async fn escalate(
    store: &SqlStore,
    id: &str,
    from_level: i64,
    deliveries: &[NewDelivery],
    escalate_at: Option<Micros>,
    now: Micros,
) -> Result<bool> {
    let _turn = store.write_turn().await;
    let mut tx = store.begin_write().await?;
    // The compare-and-set on `level`: of two callers that saw the same level, the second finds
    // it moved (PostgreSQL re-checks the condition after the first commits) and does nothing.
    let done = sqlx::query(
        "UPDATE warnings SET level = level + 1, escalate_at = $1 \
         WHERE id = $2 AND level = $3 AND status = 'open'",
    )
    .bind(escalate_at)
    .bind(id)
    .bind(from_level)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    enqueue(&mut tx, id, from_level + 1, deliveries, now).await?;
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn list(store: &SqlStore, filter: &WarningFilter) -> Result<Vec<Warning>> {
    let mut s = Statement::new(
        store.backend,
        format!("SELECT {WARNING_COLUMNS} FROM warnings WHERE 1 = 1"),
    );
    if let Some(org) = &filter.org {
        s.push(" AND org = ").bind(org.clone());
    }
    if let Some(status) = filter.status {
        s.push(" AND status = ").bind(status.as_str());
    }
    if let Some(severity) = &filter.severity {
        s.push(" AND severity = ").bind(severity.clone());
    }
    if let Some(since) = filter.since {
        s.push(" AND last_seen >= ").bind(since);
    }
    if filter.worst_first {
        s.push(
            " AND status <> 'closed' ORDER BY CASE severity WHEN 'critical' THEN 0 \
             WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END, \
             created DESC, id",
        );
    } else {
        s.push(" ORDER BY created DESC, id");
    }
    if let Some(limit) = filter.limit {
        s.push(" LIMIT ")
            .bind(i64::try_from(limit).unwrap_or(i64::MAX));
    }
    let rows = s.fetch_all(&store.pool).await?;
    rows.iter().map(warning_from_row).collect()
}

pub(super) async fn get(store: &SqlStore, id: &str) -> Result<Option<(Warning, Vec<Delivery>)>> {
    let mut conn = store.pool.acquire().await?;
    let Some(warning) = warning_in(&mut conn, id).await? else {
        return Ok(None);
    };
    let rows = sqlx::query(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE warning_id = $1 \
         ORDER BY level, created, channel, target"
    ))
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let deliveries = rows
        .iter()
        .map(delivery_from_row)
        .collect::<Result<Vec<_>>>()?;
    Ok(Some((warning, deliveries)))
}

/// Cancels the deliveries of a warning still waiting to go out: someone has it in hand.
async fn cancel_pending(conn: &mut AnyConnection, id: &str) -> Result<()> {
    sqlx::query(
        "UPDATE deliveries SET status = 'cancelled', lease_until = NULL \
         WHERE warning_id = $1 AND status = 'pending'",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The name of the only organisation whose warnings `caller` may see, or `None` for an admin,
/// who sees every organisation's. This is the one place the console's rule is decided:
/// every listing and lookup for a user goes through it.
async fn visible_org(store: &SqlStore, caller: &Caller) -> Result<Option<String>> {
    if caller.role == Role::Admin {
        return Ok(None);
    }
    let name: Option<String> = sqlx::query_scalar("SELECT name FROM orgs WHERE identity_id = $1")
        .bind(&caller.org)
        .fetch_optional(&store.pool)
        .await?;
    // A caller whose organisation is gone sees nothing: an org name no warning can have.
    Ok(Some(name.unwrap_or_default()))
}

pub(super) async fn visible_list(
    store: &SqlStore,
    caller: &Caller,
    filter: &WarningFilter,
) -> Result<Vec<Warning>> {
    let Some(own) = visible_org(store, caller).await? else {
        return list(store, filter).await;
    };
    if own.is_empty() || filter.org.as_ref().is_some_and(|asked| *asked != own) {
        return Ok(Vec::new());
    }
    let filter = WarningFilter {
        org: Some(own),
        ..filter.clone()
    };
    list(store, &filter).await
}

pub(super) async fn visible_get(
    store: &SqlStore,
    caller: &Caller,
    id: &str,
) -> Result<Option<(Warning, Vec<WarningNote>)>> {
    let own = visible_org(store, caller).await?;
    let mut conn = store.pool.acquire().await?;
    let Some(warning) = warning_in(&mut conn, id).await? else {
        return Ok(None);
    };
    if own.is_some_and(|own| own != warning.org) {
        return Ok(None);
    }
    let rows = sqlx::query(
        "SELECT author, at, action, text FROM warning_notes WHERE warning_id = $1 ORDER BY pk",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let notes = rows
        .iter()
        .map(|r| {
            Ok(WarningNote {
                author: r.try_get(0)?,
                at: r.try_get(1)?,
                action: r.try_get(2)?,
                text: r.try_get(3)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Some((warning, notes)))
}

async fn note(
    conn: &mut AnyConnection,
    id: &str,
    author: &str,
    at: Micros,
    action: &str,
    text: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO warning_notes (warning_id, author, at, action, text) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(author)
    .bind(at)
    .bind(action)
    .bind(text)
    .execute(conn)
    .await?;
    Ok(())
}

pub(super) async fn assign(
    store: &SqlStore,
    id: &str,
    assignee: &str,
    by: &str,
    at: Micros,
) -> Result<Warning> {
    let _turn = store.write_turn().await;
    let mut tx = store.begin_write().await?;
    let warning = warning_in(&mut tx, id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("warning {id}")))?;
    // Only a user of the affected organisation can be handed its warning.
    let member: Option<String> = sqlx::query_scalar(
        "SELECT u.username FROM users u JOIN orgs o ON o.pk = u.org_pk \
         WHERE u.username = $1 AND o.name = $2",
    )
    .bind(assignee)
    .bind(&warning.org)
    .fetch_optional(&mut *tx)
    .await?;
    if member.is_none() {
        return Err(StoreError::Invalid(format!(
            "{assignee:?} is not a user of {}, whose warning this is",
            warning.org
        )));
    }
    sqlx::query("UPDATE warnings SET assigned_to = $1 WHERE id = $2")
        .bind(assignee)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    note(&mut tx, id, by, at, "assigned", assignee).await?;
    let warning = warning_in(&mut tx, id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("warning {id}")))?;
    tx.commit().await?;
    Ok(warning)
}

pub(super) async fn close(
    store: &SqlStore,
    id: &str,
    by: &str,
    comment: &str,
    at: Micros,
) -> Result<Warning> {
    if comment.trim().is_empty() {
        return Err(StoreError::Invalid(
            "closing a warning needs a comment saying what was done".into(),
        ));
    }
    let _turn = store.write_turn().await;
    let mut tx = store.begin_write().await?;
    let done = sqlx::query(
        "UPDATE warnings SET status = 'closed', closed_by = $1, closed_at = $2, \
         escalate_at = NULL WHERE id = $3 AND status <> 'closed'",
    )
    .bind(by)
    .bind(at)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    // Like an acknowledgement, a closing stops the messages still waiting to go out; closing
    // twice keeps the first closing.
    if done.rows_affected() == 1 {
        cancel_pending(&mut tx, id).await?;
        note(&mut tx, id, by, at, "closed", comment.trim()).await?;
    }
    let warning = warning_in(&mut tx, id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("warning {id}")))?;
    tx.commit().await?;
    Ok(warning)
}

pub(super) async fn org_users(store: &SqlStore, org: &str) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT u.username FROM users u JOIN orgs o ON o.pk = u.org_pk WHERE o.name = $1 \
         ORDER BY u.username",
    )
    .bind(org)
    .fetch_all(&store.pool)
    .await?)
}
