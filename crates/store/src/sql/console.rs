//! What the analyst console keeps: sessions (by the digest of their id) and login attempts.

use super::SqlStore;
use crate::error::Result;
use crate::model::{Caller, LoginAttempt, LoginFailures, Micros, NewSession, Role, Session};
use sqlx::Row;

pub(super) async fn create_session(store: &SqlStore, session: NewSession) -> Result<()> {
    let _turn = store.write_turn().await;
    let mut tx = store.begin_write().await?;
    // Expired sessions are swept as new ones begin, so the table holds live ones only.
    sqlx::query("DELETE FROM console_sessions WHERE expires < $1")
        .bind(session.created)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO console_sessions (id_digest, username, csrf, created, expires) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&session.id_digest)
    .bind(&session.username)
    .bind(&session.csrf)
    .bind(session.created)
    .bind(session.expires)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn session(
    store: &SqlStore,
    id_digest: &str,
    now: Micros,
) -> Result<Option<Session>> {
    let row = sqlx::query(
        "SELECT u.username, o.identity_id, u.role, s.csrf, s.created, s.expires \
         FROM console_sessions s JOIN users u ON u.username = s.username \
         JOIN orgs o ON o.pk = u.org_pk WHERE s.id_digest = $1 AND s.expires > $2",
    )
    .bind(id_digest)
    .bind(now)
    .fetch_optional(&store.pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let role: String = row.try_get(2)?;
    Ok(Some(Session {
        caller: Caller {
            user: row.try_get(0)?,
            org: row.try_get(1)?,
            // A role this version does not know gets the least power.
            role: Role::parse(&role).unwrap_or(Role::Reader),
        },
        csrf: row.try_get(3)?,
        created: row.try_get(4)?,
        expires: row.try_get(5)?,
    }))
}

pub(super) async fn end_session(store: &SqlStore, id_digest: &str) -> Result<()> {
    let _turn = store.write_turn().await;
    sqlx::query("DELETE FROM console_sessions WHERE id_digest = $1")
        .bind(id_digest)
        .execute(&store.pool)
        .await?;
    Ok(())
}

pub(super) async fn record_attempt(store: &SqlStore, attempt: LoginAttempt) -> Result<()> {
    let _turn = store.write_turn().await;
    sqlx::query("INSERT INTO login_attempts (username, ip, at, succeeded) VALUES ($1, $2, $3, $4)")
        .bind(&attempt.username)
        .bind(&attempt.ip)
        .bind(attempt.at)
        .bind(i64::from(attempt.succeeded))
        .execute(&store.pool)
        .await?;
    Ok(())
}

pub(super) async fn failures(
    store: &SqlStore,
    username: &str,
    ip: &str,
    since: Micros,
) -> Result<LoginFailures> {
    // A successful login wipes the slate for its user name, not for the address: one address
    // guessing many names is still counted.
    let by_user: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM login_attempts WHERE username = $1 AND succeeded = 0 \
         AND at >= $2 AND at > COALESCE((SELECT MAX(at) FROM login_attempts \
         WHERE username = $3 AND succeeded = 1), $4)",
    )
    .bind(username)
    .bind(since)
    .bind(username)
    .bind(i64::MIN)
    .fetch_one(&store.pool)
    .await?;
    let by_ip: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM login_attempts WHERE ip = $1 AND succeeded = 0 AND at >= $2",
    )
    .bind(ip)
    .bind(since)
    .fetch_one(&store.pool)
    .await?;
    Ok(LoginFailures { by_user, by_ip })
}
