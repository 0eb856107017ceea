//! Which rows hold an object id, for SQLite: an in-memory map instead of an index.
//!
//! Object ids are random UUIDs, so each of the 1,000 objects of an envelope lands on its own
//! page of a B-tree index on `(collection, id, version)`: at a million stored objects every
//! envelope dirtied about 1,000 index pages (4 MB of WAL and checkpoint) and ingest fell from
//! 80,000 to 27,000 objects/s; without the index it stayed at 80,000 (docs/benchmarks.md).
//! So SQLite keeps no such index; this map, from a hash of (collection, id) to row numbers,
//! takes its place. It only names candidates: every caller re-checks the id on the rows it
//! reads, so a hash collision, a deleted row or a rolled-back insert costs a lookup, never a
//! wrong answer.
//!
//! It is a cache of the table, never a source of truth: it catches up on rows with a higher
//! `pk` than it has seen before each use. SQLite has one writer at a time and hands out `pk`s in
//! commit order, so that finds every committed row, whichever process added it (`watchpost
//! import` beside `watchpost serve`). PostgreSQL, where concurrent writers can commit out of `pk`
//! order, keeps its index instead.

use super::statement::Statement;
use super::Backend;
use crate::error::Result;
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use tokio::sync::Mutex;

/// Rows read per catch-up query.
const CATCH_UP_CHUNK: i64 = 100_000;

#[derive(Debug, Default)]
pub(super) struct IdMap {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The highest `pk` folded in.
    upto: i64,
    rows: HashMap<u64, Vec<i64>>,
}

fn key(collection: i64, id: &str) -> u64 {
    let mut h = DefaultHasher::new();
    (collection, id).hash(&mut h);
    h.finish()
}

impl IdMap {
    /// The rows that may hold one of `ids` in `collection`, after catching up with the table
    /// as `conn` sees it.
    pub(super) async fn candidates(
        &self,
        conn: &mut AnyConnection,
        collection: i64,
        ids: &[&str],
    ) -> Result<Vec<i64>> {
        let mut state = self.state.lock().await;
        state.catch_up(conn).await?;
        let mut pks: Vec<i64> = ids
            .iter()
            .filter_map(|id| state.rows.get(&key(collection, id)))
            .flatten()
            .copied()
            .collect();
        pks.sort_unstable();
        pks.dedup();
        Ok(pks)
    }
}

impl State {
    async fn catch_up(&mut self, conn: &mut AnyConnection) -> Result<()> {
        loop {
            // One aggregated row per chunk: sqlx hands SQLite rows over one at a time.
            let mut q = Statement::new(
                Backend::Sqlite,
                "SELECT count(*), string_agg(CAST(pk AS TEXT) || ',' || \
                 CAST(collection_pk AS TEXT) || ',' || stix_id, ';' ORDER BY pk) FROM \
                 (SELECT pk, collection_pk, stix_id FROM objects WHERE pk > ",
            );
            q.bind(self.upto)
                .push(" ORDER BY pk LIMIT ")
                .bind(CATCH_UP_CHUNK)
                .push(") AS fresh");
            let rows = q.fetch_all(&mut *conn).await?;
            let Some(row) = rows.first() else {
                return Ok(());
            };
            let count: i64 = row.try_get(0)?;
            let list: Option<String> = row.try_get(1)?;
            for entry in list
                .as_deref()
                .unwrap_or("")
                .split(';')
                .filter(|e| !e.is_empty())
            {
                // Ids are validated STIX identifiers (`type--uuid`): no ',' or ';' in them.
                let mut f = entry.splitn(3, ',');
                let (Some(pk), Some(collection), Some(id)) = (f.next(), f.next(), f.next()) else {
                    continue;
                };
                let (Ok(pk), Ok(collection)) = (pk.parse::<i64>(), collection.parse::<i64>())
                else {
                    continue;
                };
                self.rows.entry(key(collection, id)).or_default().push(pk);
                self.upto = self.upto.max(pk);
            }
            if count < CATCH_UP_CHUNK {
                return Ok(());
            }
        }
    }
}
