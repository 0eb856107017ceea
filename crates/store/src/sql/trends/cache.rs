//! The facts in memory: each process catches up on the rows whose `seq` passed the last it
//! saw, so a dashboard counts 100,000 sightings in memory instead of scanning them in SQL on
//! every page (see docs/benchmarks.md, "Analyst console").

use crate::error::Result;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};
use std::collections::HashMap;

/// Who may count a fact: the read rules' inputs of the version it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Vis {
    /// The owning organisation (interned).
    pub(super) owner: u32,
    /// The effective TLP rank.
    pub(super) tlp: i64,
    pub(super) collection: i64,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Sighting {
    pub(super) day: i64,
    /// Where it was made (an organisation's identity, interned).
    pub(super) org: u32,
    pub(super) indicator: u32,
    pub(super) count: i64,
    pub(super) vis: Vis,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Link {
    pub(super) indicator: u32,
    pub(super) target: u32,
    pub(super) vis: Vis,
}

#[derive(Clone, Debug)]
pub(super) struct Named {
    pub(super) kind: String,
    pub(super) name: String,
    pub(super) vis: Vis,
}

/// Strings stored once, named by number.
#[derive(Debug, Default)]
pub(super) struct Interner {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    pub(super) fn intern(&mut self, s: &str) -> u32 {
        if let Some(&n) = self.ids.get(s) {
            return n;
        }
        let n = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.ids.insert(s.to_string(), n);
        self.names.push(s.to_string());
        n
    }

    pub(super) fn get(&self, s: &str) -> Option<u32> {
        self.ids.get(s).copied()
    }

    pub(super) fn name(&self, n: u32) -> &str {
        self.names.get(n as usize).map_or("", String::as_str)
    }
}

/// Every fact that is not gone, as of `seq`.
#[derive(Debug, Default)]
pub(super) struct Cache {
    pub(super) seq: i64,
    pub(super) strings: Interner,
    pub(super) sightings: HashMap<String, Sighting>,
    pub(super) links: HashMap<String, Link>,
    pub(super) named: HashMap<u32, Named>,
}

impl Cache {
    /// Folds in the rows written since the last catch-up.
    pub(super) async fn catch_up(&mut self, pool: &AnyPool) -> Result<()> {
        let seq: i64 = sqlx::query_scalar("SELECT seq FROM trend_clock")
            .fetch_one(pool)
            .await?;
        if seq == self.seq {
            return Ok(());
        }
        // Rows up to `seq` are all committed (the clock is ticked under a lock held to
        // commit); later ones are left for the next catch-up.
        let span = |table: &str, columns: &str| {
            format!(
                "SELECT {columns}, collection_pk, owner, tlp, gone FROM {table} \
                 WHERE seq > $1 AND seq <= $2"
            )
        };
        let rows = sqlx::query(&span(
            "sighting_facts",
            "sighting_id, day, org_identity, indicator_id, count",
        ))
        .bind(self.seq)
        .bind(seq)
        .fetch_all(pool)
        .await?;
        for row in rows {
            self.sighting(&row)?;
        }
        let rows = sqlx::query(&span(
            "indicator_links",
            "relationship_id, indicator_id, target_id",
        ))
        .bind(self.seq)
        .bind(seq)
        .fetch_all(pool)
        .await?;
        for row in rows {
            self.link(&row)?;
        }
        let rows = sqlx::query(&span("named_objects", "stix_id, type, name"))
            .bind(self.seq)
            .bind(seq)
            .fetch_all(pool)
            .await?;
        for row in rows {
            self.named(&row)?;
        }
        self.seq = seq;
        Ok(())
    }

    /// The visibility columns that follow `at` columns of a row, and whether it is gone.
    fn vis(&mut self, row: &AnyRow, at: usize) -> Result<(Vis, bool)> {
        let owner: String = row.try_get(at + 1)?;
        let gone: i64 = row.try_get(at + 3)?;
        Ok((
            Vis {
                collection: row.try_get(at)?,
                owner: self.strings.intern(&owner),
                tlp: row.try_get(at + 2)?,
            },
            gone != 0,
        ))
    }

    fn sighting(&mut self, row: &AnyRow) -> Result<()> {
        let id: String = row.try_get(0)?;
        let (vis, gone) = self.vis(row, 5)?;
        if gone {
            self.sightings.remove(&id);
            return Ok(());
        }
        let org: String = row.try_get(2)?;
        let indicator: String = row.try_get(3)?;
        let sighting = Sighting {
            day: row.try_get(1)?,
            org: self.strings.intern(&org),
            indicator: self.strings.intern(&indicator),
            count: row.try_get(4)?,
            vis,
        };
        self.sightings.insert(id, sighting);
        Ok(())
    }

    fn link(&mut self, row: &AnyRow) -> Result<()> {
        let id: String = row.try_get(0)?;
        let (vis, gone) = self.vis(row, 3)?;
        if gone {
            self.links.remove(&id);
            return Ok(());
        }
        let indicator: String = row.try_get(1)?;
        let target: String = row.try_get(2)?;
        let link = Link {
            indicator: self.strings.intern(&indicator),
            target: self.strings.intern(&target),
            vis,
        };
        self.links.insert(id, link);
        Ok(())
    }

    fn named(&mut self, row: &AnyRow) -> Result<()> {
        let id: String = row.try_get(0)?;
        let id = self.strings.intern(&id);
        let (vis, gone) = self.vis(row, 3)?;
        if gone {
            self.named.remove(&id);
            return Ok(());
        }
        let named = Named {
            kind: row.try_get(1)?,
            name: row.try_get(2)?,
            vis,
        };
        self.named.insert(id, named);
        Ok(())
    }
}
