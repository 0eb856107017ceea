//! The append-only audit log. Lines are written in the transaction of the act they record,
//! so an act without its line cannot be committed; triggers refuse UPDATE and DELETE.

use super::statement::Statement;
use super::{now, tlp_from_rank, tlp_rank, Backend, SqlStore};
use crate::error::Result;
use crate::model::{AuditEntry, Caller};
use sqlx::{AnyConnection, Row};
use watchpost_stix::marking::Tlp;

/// One act to record.
pub(super) struct Line<'a> {
    caller: &'a Caller,
    action: &'static str,
    collection: Option<&'a str>,
    object_id: Option<&'a str>,
    version: Option<i64>,
    tlp: Option<Tlp>,
    detail: Option<String>,
}

impl<'a> Line<'a> {
    pub(super) fn new(caller: &'a Caller, action: &'static str) -> Self {
        Line {
            caller,
            action,
            collection: None,
            object_id: None,
            version: None,
            tlp: None,
            detail: None,
        }
    }

    pub(super) fn collection(mut self, id: &'a str) -> Self {
        self.collection = Some(id);
        self
    }

    pub(super) fn object(mut self, id: &'a str, version: i64, tlp: Tlp) -> Self {
        self.object_id = Some(id);
        self.version = Some(version);
        self.tlp = Some(tlp);
        self
    }

    pub(super) fn detail(mut self, detail: String) -> Self {
        self.detail = Some(detail);
        self
    }
}

/// Rows per INSERT: well under both databases' limits on bound parameters.
const CHUNK: usize = 500;

pub(super) async fn append(
    backend: Backend,
    conn: &mut AnyConnection,
    lines: &[Line<'_>],
) -> Result<()> {
    let at = now();
    for chunk in lines.chunks(CHUNK) {
        let mut q = Statement::new(
            backend,
            "INSERT INTO audit (at, actor_org, actor_user, action, collection, object_id, \
             version, tlp, detail) VALUES ",
        );
        for (i, l) in chunk.iter().enumerate() {
            q.push(if i == 0 { "(" } else { ", (" });
            q.bind(at).push(", ").bind(l.caller.org.clone()).push(", ");
            q.bind(l.caller.user.clone())
                .push(", ")
                .bind(l.action)
                .push(", ");
            q.bind(l.collection.map(str::to_string)).push(", ");
            q.bind(l.object_id.map(str::to_string))
                .push(", ")
                .bind(l.version)
                .push(", ");
            q.bind(l.tlp.map(tlp_rank))
                .push(", ")
                .bind(l.detail.clone())
                .push(")");
        }
        q.execute(conn).await?;
    }
    Ok(())
}

pub(super) async fn log(store: &SqlStore, after: i64, limit: usize) -> Result<Vec<AuditEntry>> {
    let rows = sqlx::query(
        "SELECT seq, at, actor_org, actor_user, action, collection, object_id, version, tlp \
         FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(after)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(&store.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AuditEntry {
                seq: r.try_get(0)?,
                at: r.try_get(1)?,
                actor_org: r.try_get(2)?,
                actor_user: r.try_get(3)?,
                action: r.try_get(4)?,
                collection: r.try_get(5)?,
                object_id: r.try_get(6)?,
                version: r.try_get(7)?,
                tlp: r.try_get::<Option<i64>, _>(8)?.map(tlp_from_rank),
            })
        })
        .collect()
}
