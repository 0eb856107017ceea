//! Collections, their per-organisation permissions and their sharing groups.

use super::directory::org_pk;
use super::{conflict, now, tlp_from_rank, tlp_rank, SqlStore};
use crate::access::OrgId;
use crate::error::{Result, StoreError};
use crate::model::{Caller, CollectionView, NewCollection, Role};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::BTreeMap;

/// A collection as the store needs it to serve one caller.
pub(super) struct Context {
    pub(super) pk: i64,
    pub(super) view: CollectionView,
    /// The sharing group of its AMBER objects.
    pub(super) group: Vec<OrgId>,
}

pub(super) async fn add(store: &SqlStore, c: NewCollection) -> Result<String> {
    let id = match c.id {
        Some(id) => uuid::Uuid::parse_str(&id)
            .map_err(|_| StoreError::Invalid(format!("collection id {id:?} is not a UUID")))?
            .hyphenated()
            .to_string(),
        None => uuid::Uuid::new_v4().to_string(),
    };
    let group = match &c.sharing_group {
        Some(name) => Some(
            sqlx::query_scalar::<_, i64>("SELECT pk FROM sharing_groups WHERE name = $1")
                .bind(name)
                .fetch_optional(&store.pool)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("sharing group {name:?}")))?,
        ),
        None => None,
    };
    // (can_read, can_write) per organisation.
    let mut access: BTreeMap<i64, (bool, bool)> = BTreeMap::new();
    for name in c.readers.iter().flatten() {
        access.entry(org_pk(store, name).await?).or_default().0 = true;
    }
    for name in &c.writers {
        access.entry(org_pk(store, name).await?).or_default().1 = true;
    }
    let mut tx = store.begin_write().await?;
    let pk: i64 = sqlx::query_scalar(
        "INSERT INTO collections (id, title, description, default_tlp, read_all, group_pk, \
         created) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING pk",
    )
    .bind(&id)
    .bind(&c.title)
    .bind(&c.description)
    .bind(tlp_rank(c.default_tlp))
    .bind(i64::from(c.readers.is_none()))
    .bind(group)
    .bind(now())
    .fetch_one(&mut *tx)
    .await
    .map_err(conflict(|| format!("collection {id}")))?;
    for (org, (read, write)) in access {
        sqlx::query(
            "INSERT INTO collection_access (collection_pk, org_pk, can_read, can_write) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(pk)
        .bind(org)
        .bind(i64::from(read))
        .bind(i64::from(write))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(id)
}

const SELECT: &str = "SELECT c.pk, c.id, c.title, c.description, c.default_tlp, c.read_all, \
     c.group_pk, COALESCE(a.can_read, 0), COALESCE(a.can_write, 0) \
     FROM collections c LEFT JOIN collection_access a ON a.collection_pk = c.pk \
     AND a.org_pk = (SELECT pk FROM orgs WHERE identity_id = $1)";

fn view(row: &AnyRow, caller: &Caller) -> Result<CollectionView> {
    let read_all: i64 = row.try_get(5)?;
    let can_read: i64 = row.try_get(7)?;
    let can_write: i64 = row.try_get(8)?;
    Ok(CollectionView {
        id: row.try_get(1)?,
        title: row.try_get(2)?,
        description: row.try_get(3)?,
        can_read: read_all != 0 || can_read != 0,
        // Analysts, administrators, and peer hubs pushing for their organisation.
        can_write: can_write != 0 && (caller.role >= Role::Analyst || caller.role == Role::Peer),
        default_tlp: tlp_from_rank(row.try_get(4)?),
    })
}

pub(super) async fn list(store: &SqlStore, caller: &Caller) -> Result<Vec<CollectionView>> {
    let rows = sqlx::query(&format!("{SELECT} ORDER BY c.pk"))
        .bind(&caller.org)
        .fetch_all(&store.pool)
        .await?;
    let mut views = Vec::new();
    for row in &rows {
        let v = view(row, caller)?;
        if v.can_read || v.can_write {
            views.push(v);
        }
    }
    Ok(views)
}

/// The collection `id` as `caller` sees it; `None` when it does not exist or the caller may
/// neither read nor write it (the two are indistinguishable on purpose).
pub(super) async fn context(
    store: &SqlStore,
    caller: &Caller,
    id: &str,
) -> Result<Option<Context>> {
    let row = sqlx::query(&format!("{SELECT} WHERE c.id = $2"))
        .bind(&caller.org)
        .bind(id)
        .fetch_optional(&store.pool)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let view = view(&row, caller)?;
    if !view.can_read && !view.can_write {
        return Ok(None);
    }
    let pk: i64 = row.try_get(0)?;
    let read_all: i64 = row.try_get(5)?;
    let group_pk: Option<i64> = row.try_get(6)?;
    let group = sharing_group(store, pk, read_all != 0, group_pk).await?;
    Ok(Some(Context { pk, view, group }))
}

/// The named group if the collection has one, else the collection's readers.
async fn sharing_group(
    store: &SqlStore,
    pk: i64,
    read_all: bool,
    group_pk: Option<i64>,
) -> Result<Vec<OrgId>> {
    let query = match (group_pk, read_all) {
        (Some(g), _) => sqlx::query_scalar(
            "SELECT o.identity_id FROM sharing_group_members m JOIN orgs o ON o.pk = m.org_pk \
             WHERE m.group_pk = $1",
        )
        .bind(g),
        (None, true) => sqlx::query_scalar("SELECT identity_id FROM orgs"),
        (None, false) => sqlx::query_scalar(
            "SELECT o.identity_id FROM collection_access a JOIN orgs o ON o.pk = a.org_pk \
             WHERE a.collection_pk = $1 AND a.can_read = 1",
        )
        .bind(pk),
    };
    Ok(query.fetch_all(&store.pool).await?)
}

/// The collection for a caller who must be allowed to `read` (or else write) it.
pub(super) async fn require(
    store: &SqlStore,
    caller: &Caller,
    id: &str,
    write: bool,
) -> Result<Context> {
    let ctx = context(store, caller, id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("collection {id}")))?;
    let allowed = if write {
        ctx.view.can_write
    } else {
        ctx.view.can_read
    };
    if !allowed {
        let what = if write {
            "add to or delete from"
        } else {
            "read"
        };
        return Err(StoreError::Forbidden(format!(
            "user {} of this organisation may not {what} collection {id}",
            caller.user
        )));
    }
    Ok(ctx)
}

pub(super) async fn permissions(store: &SqlStore) -> Result<Vec<crate::Permissions>> {
    let collections = sqlx::query(
        "SELECT c.pk, c.id, c.title, c.default_tlp, c.read_all, g.name FROM collections c \
         LEFT JOIN sharing_groups g ON g.pk = c.group_pk ORDER BY c.pk",
    )
    .fetch_all(&store.pool)
    .await?;
    let grants = sqlx::query(
        "SELECT a.collection_pk, o.name, a.can_read, a.can_write FROM collection_access a \
         JOIN orgs o ON o.pk = a.org_pk ORDER BY o.name",
    )
    .fetch_all(&store.pool)
    .await?;
    let mut out = Vec::new();
    for c in collections {
        let pk: i64 = c.try_get(0)?;
        let read_all: i64 = c.try_get(4)?;
        let mut list = Vec::new();
        for g in &grants {
            if g.try_get::<i64, _>(0)? == pk {
                let (read, write): (i64, i64) = (g.try_get(2)?, g.try_get(3)?);
                list.push((g.try_get(1)?, read != 0, write != 0));
            }
        }
        out.push(crate::Permissions {
            collection: c.try_get(1)?,
            title: c.try_get(2)?,
            default_tlp: super::tlp_from_rank(c.try_get(3)?),
            read_all: read_all != 0,
            sharing_group: c.try_get(5)?,
            grants: list,
        });
    }
    Ok(out)
}

pub(super) async fn grant(
    store: &SqlStore,
    collection: &str,
    org_name: &str,
    read: bool,
    write: bool,
) -> Result<()> {
    let org = org_pk(store, org_name).await?;
    let _turn = store.write_turn().await;
    let pk: i64 = sqlx::query_scalar("SELECT pk FROM collections WHERE id = $1")
        .bind(collection)
        .fetch_optional(&store.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("collection {collection}")))?;
    // What the organisation could already do is kept: a grant only adds.
    sqlx::query(
        "INSERT INTO collection_access (collection_pk, org_pk, can_read, can_write) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (collection_pk, org_pk) DO UPDATE SET \
         can_read = CASE WHEN collection_access.can_read = 1 THEN 1 ELSE excluded.can_read END, \
         can_write = CASE WHEN collection_access.can_write = 1 THEN 1 ELSE excluded.can_write END",
    )
    .bind(pk)
    .bind(org)
    .bind(i64::from(read))
    .bind(i64::from(write))
    .execute(&store.pool)
    .await?;
    Ok(())
}
