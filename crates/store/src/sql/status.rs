//! Add-statuses, kept as the status resource's JSON and shown only to the organisation that
//! made the request.

use super::{now, SqlStore};
use crate::error::{Result, StoreError};
use crate::model::{Caller, Status};
use sqlx::AnyConnection;

pub(super) async fn insert(
    conn: &mut AnyConnection,
    status: &Status,
    caller: &Caller,
    collection: i64,
) -> Result<()> {
    let body = serde_json::to_string(status)
        .map_err(|e| StoreError::Invalid(format!("status cannot be encoded: {e}")))?;
    sqlx::query(
        "INSERT INTO statuses (id, owner, collection_pk, created, body) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&status.id)
    .bind(&caller.org)
    .bind(collection)
    .bind(now())
    .bind(body)
    .execute(conn)
    .await?;
    Ok(())
}

pub(super) async fn get(store: &SqlStore, caller: &Caller, id: &str) -> Result<Option<Status>> {
    let body: Option<String> =
        sqlx::query_scalar("SELECT body FROM statuses WHERE id = $1 AND owner = $2")
            .bind(id)
            .bind(&caller.org)
            .fetch_optional(&store.pool)
            .await?;
    body.map(|b| {
        serde_json::from_str(&b)
            .map_err(|e| StoreError::Invalid(format!("stored status {id} is unreadable: {e}")))
    })
    .transpose()
}
