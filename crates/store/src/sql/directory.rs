//! Organisations, users, API tokens and sharing groups.

use super::{audit, conflict, now, SqlStore};
use crate::credentials::{hash_password, new_token, token_digest, verify_password};
use crate::error::{Result, StoreError};
use crate::model::{Caller, NewOrg, NewUser, Org, Role};
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::Row;
use watchpost_stix::{id::random_id, Timestamp};

pub(super) async fn add_org(store: &SqlStore, org: NewOrg) -> Result<Org> {
    if org.name.trim().is_empty() {
        return Err(StoreError::Invalid("an organisation needs a name".into()));
    }
    if let Some(cc) = &org.country {
        if cc.len() != 2 || !cc.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(StoreError::Invalid(format!(
                "country {cc:?} is not an ISO 3166-1 alpha-2 code such as VN"
            )));
        }
    }
    let id = random_id("identity");
    let created = Timestamp::now().unix_micros() / 1000 * 1000;
    let stamp = Timestamp::from_unix(created.div_euclid(1_000_000), 0).to_string();
    let mut identity = json!({
        "type": "identity", "spec_version": "2.1", "id": id,
        "created": stamp, "modified": stamp,
        "name": org.name, "identity_class": "organization",
    });
    if let Some(sector) = &org.sector {
        identity["sectors"] = json!([sector]);
    }
    if let Some(cc) = &org.country {
        identity["x_watchpost_country"] = json!(cc);
    }
    let identity = identity.to_string();
    sqlx::query(
        "INSERT INTO orgs (identity_id, name, sector, country, identity, created) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(&org.name)
    .bind(&org.sector)
    .bind(&org.country)
    .bind(&identity)
    .bind(now())
    .execute(&store.pool)
    .await
    .map_err(conflict(|| format!("organisation {:?}", org.name)))?;
    Ok(Org {
        id,
        name: org.name,
        sector: org.sector,
        country: org.country,
        identity,
    })
}

fn org_from_row(row: &AnyRow) -> Result<Org> {
    Ok(Org {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        sector: row.try_get(2)?,
        country: row.try_get(3)?,
        identity: row.try_get(4)?,
    })
}

pub(super) async fn orgs(store: &SqlStore) -> Result<Vec<Org>> {
    let rows =
        sqlx::query("SELECT identity_id, name, sector, country, identity FROM orgs ORDER BY name")
            .fetch_all(&store.pool)
            .await?;
    rows.iter().map(org_from_row).collect()
}

/// The primary key of an organisation named `name`.
pub(super) async fn org_pk(store: &SqlStore, name: &str) -> Result<i64> {
    sqlx::query_scalar("SELECT pk FROM orgs WHERE name = $1")
        .bind(name)
        .fetch_optional(&store.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("organisation {name:?}")))
}

pub(super) async fn add_user(store: &SqlStore, user: NewUser) -> Result<()> {
    if user.username.trim().is_empty() || user.username.contains(':') {
        return Err(StoreError::Invalid(
            "a user name must be non-empty and contain no ':' (HTTP Basic uses it)".into(),
        ));
    }
    if user.password.chars().count() < 8 {
        return Err(StoreError::Invalid(
            "a password needs at least 8 characters".into(),
        ));
    }
    let org = org_pk(store, &user.org_name).await?;
    let password = user.password;
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| StoreError::Password(e.to_string()))??;
    sqlx::query(
        "INSERT INTO users (username, org_pk, role, password_hash, created) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&user.username)
    .bind(org)
    .bind(user.role.as_str())
    .bind(hash)
    .bind(now())
    .execute(&store.pool)
    .await
    .map_err(conflict(|| format!("user {:?}", user.username)))?;
    Ok(())
}

const CALLER_COLUMNS: &str = "u.username, o.identity_id, u.role";

fn caller_from_row(row: &AnyRow) -> Result<Caller> {
    let role: String = row.try_get(2)?;
    Ok(Caller {
        user: row.try_get(0)?,
        org: row.try_get(1)?,
        // A role this version does not know gets the least power.
        role: Role::parse(&role).unwrap_or(Role::Reader),
    })
}

pub(super) async fn login(
    store: &SqlStore,
    username: &str,
    password: &str,
) -> Result<Option<Caller>> {
    let row = sqlx::query(&format!(
        "SELECT {CALLER_COLUMNS}, u.password_hash FROM users u \
         JOIN orgs o ON o.pk = u.org_pk WHERE u.username = $1"
    ))
    .bind(username)
    .fetch_optional(&store.pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let hash: String = row.try_get(3)?;
    let password = password.to_string();
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    if ok {
        caller_from_row(&row).map(Some)
    } else {
        Ok(None)
    }
}

pub(super) async fn create_token(store: &SqlStore, username: &str) -> Result<String> {
    let row = sqlx::query(&format!(
        "SELECT {CALLER_COLUMNS}, u.pk FROM users u JOIN orgs o ON o.pk = u.org_pk \
         WHERE u.username = $1"
    ))
    .bind(username)
    .fetch_optional(&store.pool)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("user {username:?}")))?;
    let caller = caller_from_row(&row)?;
    let user_pk: i64 = row.try_get(3)?;
    let token = new_token();
    let mut tx = store.begin_write().await?;
    sqlx::query("INSERT INTO tokens (user_pk, token_hash, created) VALUES ($1, $2, $3)")
        .bind(user_pk)
        .bind(token_digest(&token))
        .bind(now())
        .execute(&mut *tx)
        .await?;
    audit::append(
        store.backend,
        &mut tx,
        &[audit::Line::new(&caller, "token create")],
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

pub(super) async fn caller_for_token(store: &SqlStore, token: &str) -> Result<Option<Caller>> {
    let row = sqlx::query(&format!(
        "SELECT {CALLER_COLUMNS} FROM tokens t JOIN users u ON u.pk = t.user_pk \
         JOIN orgs o ON o.pk = u.org_pk WHERE t.token_hash = $1"
    ))
    .bind(token_digest(token))
    .fetch_optional(&store.pool)
    .await?;
    row.as_ref().map(caller_from_row).transpose()
}

pub(super) async fn add_sharing_group(
    store: &SqlStore,
    name: &str,
    org_names: &[String],
) -> Result<()> {
    let mut members = Vec::with_capacity(org_names.len());
    for org in org_names {
        members.push(org_pk(store, org).await?);
    }
    let mut tx = store.begin_write().await?;
    let group: i64 = sqlx::query_scalar(
        "INSERT INTO sharing_groups (name, created) VALUES ($1, $2) RETURNING pk",
    )
    .bind(name)
    .bind(now())
    .fetch_one(&mut *tx)
    .await
    .map_err(conflict(|| format!("sharing group {name:?}")))?;
    for org in members {
        sqlx::query(
            "INSERT INTO sharing_group_members (group_pk, org_pk) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(group)
        .bind(org)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn set_entry(store: &SqlStore, org_name: &str, entry: &str) -> Result<()> {
    let org = org_pk(store, org_name).await?;
    sqlx::query(
        "INSERT INTO directory (org_pk, entry, updated) VALUES ($1, $2, $3) \
         ON CONFLICT (org_pk) DO UPDATE SET entry = excluded.entry, updated = excluded.updated",
    )
    .bind(org)
    .bind(entry)
    .bind(now())
    .execute(&store.pool)
    .await?;
    Ok(())
}

pub(super) async fn entries(store: &SqlStore) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT o.name, d.entry FROM directory d JOIN orgs o ON o.pk = d.org_pk ORDER BY o.name",
    )
    .fetch_all(&store.pool)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

pub(super) async fn tokens(store: &SqlStore) -> Result<Vec<crate::TokenView>> {
    let rows = sqlx::query(
        "SELECT u.username, o.name, t.created FROM tokens t JOIN users u ON u.pk = t.user_pk \
         JOIN orgs o ON o.pk = u.org_pk ORDER BY t.created, t.pk",
    )
    .fetch_all(&store.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(crate::TokenView {
                username: r.try_get(0)?,
                org: r.try_get(1)?,
                created: r.try_get(2)?,
            })
        })
        .collect()
}
