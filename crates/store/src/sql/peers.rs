//! Peers: the hubs this hub exchanges with, and where pushing each collection to each got to.

use super::directory::org_pk;
use super::{now, SqlStore};
use crate::error::{Result, StoreError};
use crate::model::{Micros, NewOrg, NewPeer, Peer, PushState};
use base64::Engine;
use sqlx::Row;

pub(super) async fn add(store: &SqlStore, new: NewPeer<'_>) -> Result<Peer> {
    let NewPeer {
        name,
        url,
        token,
        public_key,
        push,
    } = new;
    let org = match org_pk(store, name).await {
        Ok(pk) => pk,
        Err(StoreError::NotFound(_)) => {
            let new = NewOrg {
                name: name.to_string(),
                sector: None,
                country: None,
            };
            super::directory::add_org(store, new).await?;
            org_pk(store, name).await?
        }
        Err(e) => return Err(e),
    };
    let url = if url.ends_with('/') {
        url.to_string()
    } else {
        format!("{url}/")
    };
    let mut collections = Vec::new();
    for id in push {
        let pk: i64 = sqlx::query_scalar("SELECT pk FROM collections WHERE id = $1")
            .bind(id)
            .fetch_optional(&store.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("collection {id}")))?;
        collections.push(pk);
    }
    let _turn = store.write_turn().await;
    let mut tx = store.begin_write().await?;
    let peer: i64 = sqlx::query_scalar(
        "INSERT INTO peers (org_pk, url, token, created, public_key) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (org_pk) DO UPDATE SET url = excluded.url, token = excluded.token, \
         public_key = excluded.public_key RETURNING pk",
    )
    .bind(org)
    .bind(&url)
    .bind(token)
    .bind(now())
    .bind(public_key)
    .fetch_one(&mut *tx)
    .await?;
    for pk in collections {
        sqlx::query(
            "INSERT INTO peer_pushes (peer_pk, collection_pk) VALUES ($1, $2) \
             ON CONFLICT (peer_pk, collection_pk) DO NOTHING",
        )
        .bind(peer)
        .bind(pk)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    list(store)
        .await?
        .into_iter()
        .find(|p| p.id == peer)
        .ok_or_else(|| StoreError::NotFound(format!("peer {name}")))
}

pub(super) async fn list(store: &SqlStore) -> Result<Vec<Peer>> {
    let peers = sqlx::query(
        "SELECT p.pk, o.name, o.identity_id, p.url, p.token, p.public_key, p.requests_read \
         FROM peers p \
         JOIN orgs o ON o.pk = p.org_pk ORDER BY p.pk",
    )
    .fetch_all(&store.pool)
    .await?;
    let pushes = sqlx::query(
        "SELECT s.peer_pk, c.id, s.last_added, s.failures, s.next_attempt, s.last_error \
         FROM peer_pushes s JOIN collections c ON c.pk = s.collection_pk ORDER BY c.pk",
    )
    .fetch_all(&store.pool)
    .await?;
    let mut out = Vec::new();
    for p in peers {
        let pk: i64 = p.try_get(0)?;
        let mut states = Vec::new();
        for s in &pushes {
            if s.try_get::<i64, _>(0)? == pk {
                states.push(PushState {
                    collection: s.try_get(1)?,
                    last_added: s.try_get(2)?,
                    failures: s.try_get(3)?,
                    next_attempt: s.try_get(4)?,
                    last_error: s.try_get(5)?,
                });
            }
        }
        out.push(Peer {
            id: pk,
            name: p.try_get(1)?,
            org: p.try_get(2)?,
            url: p.try_get(3)?,
            token: p.try_get(4)?,
            public_key: p.try_get(5)?,
            requests_read: p.try_get(6)?,
            pushes: states,
        });
    }
    Ok(out)
}

pub(super) async fn record_push(
    store: &SqlStore,
    peer: i64,
    collection: &str,
    outcome: std::result::Result<Micros, (String, Micros)>,
) -> Result<()> {
    let _turn = store.write_turn().await;
    let q = match &outcome {
        // The position only moves forward, whatever order two pushers record in.
        Ok(last) => sqlx::query(
            "UPDATE peer_pushes SET last_added = CASE WHEN last_added > $1 THEN last_added \
             ELSE $1 END, failures = 0, next_attempt = 0, last_error = NULL \
             WHERE peer_pk = $2 AND collection_pk = (SELECT pk FROM collections WHERE id = $3)",
        )
        .bind(*last),
        Err((_, next)) => sqlx::query(
            "UPDATE peer_pushes SET failures = failures + 1, next_attempt = $1, last_error = $4 \
             WHERE peer_pk = $2 AND collection_pk = (SELECT pk FROM collections WHERE id = $3)",
        )
        .bind(*next),
    };
    let mut q = q.bind(peer).bind(collection);
    if let Err((error, _)) = &outcome {
        q = q.bind(error.clone());
    }
    q.execute(&store.pool).await?;
    Ok(())
}

pub(super) async fn signing_key(store: &SqlStore) -> Result<[u8; 32]> {
    let read = || sqlx::query_scalar::<_, String>("SELECT secret FROM hub_key WHERE id = 1");
    let secret = match read().fetch_optional(&store.pool).await? {
        Some(secret) => secret,
        None => {
            let fresh: [u8; 32] = rand::random();
            let encoded = base64::engine::general_purpose::STANDARD.encode(fresh);
            let _turn = store.write_turn().await;
            // Two processes starting at once: the first key stored is the hub's.
            sqlx::query(
                "INSERT INTO hub_key (id, secret) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
            )
            .bind(encoded)
            .execute(&store.pool)
            .await?;
            read().fetch_one(&store.pool).await?
        }
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(secret.as_bytes())
        .map_err(|e| StoreError::Invalid(format!("the stored signing key is not base64: {e}")))?;
    bytes
        .try_into()
        .map_err(|_| StoreError::Invalid("the stored signing key is not 32 bytes".into()))
}

pub(super) async fn record_request_intake(
    store: &SqlStore,
    peer: i64,
    position: Micros,
) -> Result<()> {
    let _turn = store.write_turn().await;
    // Forward only, like a push position.
    sqlx::query(
        "UPDATE peers SET requests_read = CASE WHEN requests_read > $1 THEN requests_read \
         ELSE $1 END WHERE pk = $2",
    )
    .bind(position)
    .bind(peer)
    .execute(&store.pool)
    .await?;
    Ok(())
}
