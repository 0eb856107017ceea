//! Risk trends: the facts the dashboard counts, written with the objects they come from, and
//! the counts a caller may see.
//!
//! A fact carries the effective TLP, owner and collection of the version it came from, and a
//! count includes it only when the caller could read that version: its owner, or a CLEAR/GREEN
//! version in a collection the caller reads. AMBER and RED facts count for their owner alone:
//! a dashboard shows sums, and a sum cannot be audited per object, so it never includes what
//! only an audited read could show.

use super::statement::Statement;
use super::{tlp_rank, Backend, SqlStore};
use crate::error::Result;
use crate::model::{Caller, NewObject, Role, Tally, TrendBucket, TrendQuery, Trends};
use serde_json::Value;
use sqlx::{AnyConnection, Row};
use watchpost_stix::marking::Tlp;
use watchpost_stix::Timestamp;

/// Rows per INSERT (at most 8 parameters each).
const CHUNK: usize = 400;
/// Object types whose names rankings show.
/// Indicators are left out: a row per indicator, keyed by a random UUID, would cost ingest a
/// dirty index page per object (see `ids.rs`); the few a ranking shows are looked up instead.
const NAMED: &[&str] = &[
    "malware",
    "threat-actor",
    "intrusion-set",
    "campaign",
    "attack-pattern",
];
const DAY_MICROS: i64 = 86_400_000_000;

/// Where the versions being stored live, and who stores them.
pub(super) struct Origin<'a> {
    pub(super) collection_pk: i64,
    pub(super) default_tlp: Tlp,
    pub(super) owner: &'a str,
}

/// One fact to write (`Upsert`) or forget (a revoked object).
enum Fact {
    Sighting {
        id: String,
        day: i64,
        org: String,
        indicator: String,
        count: i64,
    },
    Link {
        id: String,
        indicator: String,
        target: String,
    },
    Named {
        id: String,
        kind: String,
        name: String,
    },
    Revoked {
        id: String,
        table: &'static str,
        key: &'static str,
    },
}

/// Writes the facts of `objects`, the latest versions of their ids among those just stored.
pub(super) async fn record<'a>(
    backend: Backend,
    conn: &mut AnyConnection,
    origin: &Origin<'_>,
    objects: impl Iterator<Item = &'a NewObject>,
) -> Result<()> {
    let mut facts = Vec::new();
    for object in objects {
        let wanted = matches!(object.object_type.as_str(), "sighting" | "relationship")
            || NAMED.contains(&object.object_type.as_str());
        if !wanted {
            continue;
        }
        let Ok(body) = serde_json::from_str::<Value>(&object.body) else {
            continue;
        };
        if let Some(fact) = fact(object, &body) {
            facts.push((fact, object.tlp.unwrap_or(origin.default_tlp)));
        }
    }
    write(backend, conn, origin, facts).await
}

fn fact(object: &NewObject, body: &Value) -> Option<Fact> {
    let text = |key: &str| body.get(key).and_then(Value::as_str);
    let id = object.id.clone();
    let revoked = |table, key| Fact::Revoked {
        id: id.clone(),
        table,
        key,
    };
    if body.get("revoked") == Some(&Value::Bool(true)) {
        return Some(match object.object_type.as_str() {
            "sighting" => revoked("sighting_facts", "sighting_id"),
            "relationship" => revoked("indicator_links", "relationship_id"),
            _ => revoked("named_objects", "stix_id"),
        });
    }
    match object.object_type.as_str() {
        "sighting" => {
            let seen = text("first_seen").or(text("created"))?;
            let micros = Timestamp::parse(seen).ok()?.unix_micros();
            let org = body
                .get("where_sighted_refs")
                .and_then(|r| r.get(0))
                .and_then(Value::as_str)
                .unwrap_or("");
            Some(Fact::Sighting {
                id,
                day: micros.div_euclid(DAY_MICROS),
                org: org.to_string(),
                indicator: text("sighting_of_ref")?.to_string(),
                count: body.get("count").and_then(Value::as_i64).unwrap_or(1),
            })
        }
        "relationship" => {
            let source = text("source_ref")?;
            let indicates =
                text("relationship_type") == Some("indicates") && source.starts_with("indicator--");
            indicates.then(|| Fact::Link {
                id,
                indicator: source.to_string(),
                target: text("target_ref").unwrap_or("").to_string(),
            })
        }
        kind => Some(Fact::Named {
            id,
            kind: kind.to_string(),
            name: display_name(kind, body)?,
        }),
    }
}

/// An object's name as rankings show it; an ATT&CK technique leads with its id (`T1566
/// Phishing`), as analysts call it.
fn display_name(kind: &str, body: &Value) -> Option<String> {
    let name = body.get("name").and_then(Value::as_str)?;
    if kind != "attack-pattern" {
        return Some(name.to_string());
    }
    let attack_id = body
        .get("external_references")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|r| {
            r.get("source_name")
                .and_then(Value::as_str)
                .is_some_and(|s| s.starts_with("mitre"))
        })
        .and_then(|r| r.get("external_id"))
        .and_then(Value::as_str);
    Some(match attack_id {
        Some(t) => format!("{t} {name}"),
        None => name.to_string(),
    })
}

async fn write(
    backend: Backend,
    conn: &mut AnyConnection,
    origin: &Origin<'_>,
    facts: Vec<(Fact, Tlp)>,
) -> Result<()> {
    let (mut sightings, mut links, mut named) = (Vec::new(), Vec::new(), Vec::new());
    for (fact, tlp) in facts {
        match fact {
            Fact::Revoked { id, table, key } => {
                let mut q = Statement::new(backend, format!("DELETE FROM {table} WHERE {key} = "));
                q.bind(id);
                q.execute(&mut *conn).await?;
            }
            Fact::Sighting { .. } => sightings.push((fact, tlp)),
            Fact::Link { .. } => links.push((fact, tlp)),
            Fact::Named { .. } => named.push((fact, tlp)),
        }
    }
    for chunk in sightings.chunks(CHUNK) {
        let mut q = Statement::new(
            backend,
            "INSERT INTO sighting_facts (sighting_id, day, org_identity, indicator_id, count, \
             collection_pk, owner, tlp) VALUES ",
        );
        for (i, (fact, tlp)) in chunk.iter().enumerate() {
            if let Fact::Sighting {
                id,
                day,
                org,
                indicator,
                count,
            } = fact
            {
                q.push(if i == 0 { "(" } else { ", (" });
                q.bind(id.clone()).push(", ").bind(*day).push(", ");
                q.bind(org.clone())
                    .push(", ")
                    .bind(indicator.clone())
                    .push(", ");
                q.bind(*count).push(", ");
                push_origin(&mut q, origin, *tlp);
            }
        }
        q.push(
            " ON CONFLICT (sighting_id) DO UPDATE SET day = excluded.day, \
             org_identity = excluded.org_identity, indicator_id = excluded.indicator_id, \
             count = excluded.count, collection_pk = excluded.collection_pk, \
             owner = excluded.owner, tlp = excluded.tlp",
        );
        q.execute(&mut *conn).await?;
    }
    for chunk in links.chunks(CHUNK) {
        let mut q = Statement::new(
            backend,
            "INSERT INTO indicator_links (relationship_id, indicator_id, target_id, \
             collection_pk, owner, tlp) VALUES ",
        );
        for (i, (fact, tlp)) in chunk.iter().enumerate() {
            if let Fact::Link {
                id,
                indicator,
                target,
            } = fact
            {
                q.push(if i == 0 { "(" } else { ", (" });
                q.bind(id.clone())
                    .push(", ")
                    .bind(indicator.clone())
                    .push(", ");
                q.bind(target.clone()).push(", ");
                push_origin(&mut q, origin, *tlp);
            }
        }
        q.push(
            " ON CONFLICT (relationship_id) DO UPDATE SET indicator_id = excluded.indicator_id, \
             target_id = excluded.target_id, collection_pk = excluded.collection_pk, \
             owner = excluded.owner, tlp = excluded.tlp",
        );
        q.execute(&mut *conn).await?;
    }
    for chunk in named.chunks(CHUNK) {
        let mut q = Statement::new(
            backend,
            "INSERT INTO named_objects (stix_id, type, name, collection_pk, owner, tlp) VALUES ",
        );
        for (i, (fact, tlp)) in chunk.iter().enumerate() {
            if let Fact::Named { id, kind, name } = fact {
                q.push(if i == 0 { "(" } else { ", (" });
                q.bind(id.clone()).push(", ").bind(kind.clone()).push(", ");
                q.bind(name.clone()).push(", ");
                push_origin(&mut q, origin, *tlp);
            }
        }
        q.push(
            " ON CONFLICT (stix_id) DO UPDATE SET type = excluded.type, name = excluded.name, \
             collection_pk = excluded.collection_pk, owner = excluded.owner, tlp = excluded.tlp",
        );
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Appends `collection_pk, owner, tlp)` of a row.
fn push_origin(q: &mut Statement<'_>, origin: &Origin<'_>, tlp: Tlp) {
    q.bind(origin.collection_pk).push(", ");
    q.bind(origin.owner.to_string()).push(", ");
    q.bind(tlp_rank(tlp)).push(")");
}

/// Forgets the facts of an object whose versions were deleted.
pub(super) async fn forget(backend: Backend, conn: &mut AnyConnection, id: &str) -> Result<()> {
    for (table, key) in [
        ("sighting_facts", "sighting_id"),
        ("indicator_links", "relationship_id"),
        ("named_objects", "stix_id"),
    ] {
        let mut q = Statement::new(backend, format!("DELETE FROM {table} WHERE {key} = "));
        q.bind(id.to_string());
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Who is counting: the caller's organisation, the collections it reads, and whose warnings
/// it sees (`None`: every organisation's).
struct Viewer {
    org: String,
    readable: Vec<i64>,
    warnings_of: Option<String>,
}

async fn viewer(store: &SqlStore, caller: &Caller) -> Result<Viewer> {
    let readable_ids: Vec<String> = super::collections::list(store, caller)
        .await?
        .into_iter()
        .filter(|c| c.can_read)
        .map(|c| c.id)
        .collect();
    let mut readable = Vec::new();
    for row in sqlx::query("SELECT pk, id FROM collections")
        .fetch_all(&store.pool)
        .await?
    {
        let id: String = row.try_get(1)?;
        if readable_ids.contains(&id) {
            readable.push(row.try_get::<i64, _>(0)?);
        }
    }
    let name: Option<String> = sqlx::query_scalar("SELECT name FROM orgs WHERE identity_id = $1")
        .bind(&caller.org)
        .fetch_optional(&store.pool)
        .await?;
    let warnings_of = match caller.role {
        Role::Admin => None,
        // An unknown organisation sees no warnings: its name matches none.
        _ => Some(name.unwrap_or_default()),
    };
    Ok(Viewer {
        org: caller.org.clone(),
        readable,
        warnings_of,
    })
}

impl Viewer {
    /// ` AND (<alias> readable by the viewer)`.
    fn filter(&self, q: &mut Statement<'_>, alias: &str) {
        q.push(&format!(" AND ({alias}.owner = "));
        q.bind(self.org.clone());
        if !self.readable.is_empty() {
            q.push(&format!(" OR ({alias}.tlp <= "));
            q.bind(tlp_rank(Tlp::Green));
            q.push(&format!(" AND {alias}.collection_pk IN "));
            q.bind_list(self.readable.iter().copied());
            q.push(")");
        }
        q.push(")");
    }

    /// `<alias>.day` within the query's span.
    fn span(&self, q: &mut Statement<'_>, alias: &str, query: &TrendQuery) {
        q.push(&format!(" {alias}.day >= "));
        q.bind(query.from_day);
        q.push(&format!(" AND {alias}.day < "));
        q.bind(query.to_day);
    }
}

pub(super) async fn query(store: &SqlStore, caller: &Caller, query: &TrendQuery) -> Result<Trends> {
    let query = TrendQuery {
        bucket_days: query.bucket_days.max(1),
        to_day: query.to_day.max(query.from_day),
        ..*query
    };
    let viewer = viewer(store, caller).await?;
    let mut trends = Trends {
        buckets: buckets(&query),
        ..Trends::default()
    };
    sightings_by_bucket(store, &viewer, &query, &mut trends.buckets).await?;
    warnings_by_bucket(store, &viewer, &query, &mut trends.buckets).await?;
    novelty_by_bucket(store, &viewer, &query, &mut trends.buckets).await?;
    trends.by_sector = by_org_column(store, &viewer, &query, "o.sector").await?;
    trends.by_org = by_org_column(store, &viewer, &query, "o.name").await?;
    trends.by_malware = by_target(store, &viewer, &query, &["malware"]).await?;
    trends.by_actor = by_target(store, &viewer, &query, &["threat-actor", "intrusion-set"]).await?;
    trends.by_technique = by_target(store, &viewer, &query, &["attack-pattern"]).await?;
    trends.top_indicators = top_indicators(store, &viewer, &query).await?;
    Ok(trends)
}

fn buckets(query: &TrendQuery) -> Vec<TrendBucket> {
    let days = query.to_day - query.from_day;
    let count = (days + query.bucket_days - 1) / query.bucket_days;
    (0..count)
        .map(|k| TrendBucket {
            start_day: query.from_day + k * query.bucket_days,
            ..TrendBucket::default()
        })
        .collect()
}

/// `(<column> - from) / bucket_days`: the bucket of a day.
fn bucket_of(q: &mut Statement<'_>, column: &str, query: &TrendQuery) {
    q.push(&format!("({column} - "));
    q.bind(query.from_day);
    q.push(") / ");
    q.bind(query.bucket_days);
}

fn slot(buckets: &mut [TrendBucket], k: i64) -> Option<&mut TrendBucket> {
    usize::try_from(k).ok().and_then(|k| buckets.get_mut(k))
}

async fn sightings_by_bucket(
    store: &SqlStore,
    viewer: &Viewer,
    query: &TrendQuery,
    buckets: &mut [TrendBucket],
) -> Result<()> {
    let mut q = Statement::new(store.backend, "SELECT ");
    bucket_of(&mut q, "f.day", query);
    q.push(" AS k, CAST(SUM(f.count) AS BIGINT) FROM sighting_facts f WHERE");
    viewer.span(&mut q, "f", query);
    viewer.filter(&mut q, "f");
    q.push(" GROUP BY k");
    for row in q.fetch_all(&store.pool).await? {
        if let Some(b) = slot(buckets, row.try_get(0)?) {
            b.sightings = row.try_get(1)?;
        }
    }
    Ok(())
}

async fn warnings_by_bucket(
    store: &SqlStore,
    viewer: &Viewer,
    query: &TrendQuery,
    buckets: &mut [TrendBucket],
) -> Result<()> {
    let mut q = Statement::new(store.backend, "SELECT ");
    bucket_of(&mut q, &format!("w.created / {DAY_MICROS}"), query);
    q.push(" AS k, COUNT(*) FROM warnings w WHERE w.created >= ");
    q.bind(query.from_day * DAY_MICROS);
    q.push(" AND w.created < ");
    q.bind(query.to_day * DAY_MICROS);
    if let Some(org) = &viewer.warnings_of {
        q.push(" AND w.org = ");
        q.bind(org.clone());
    }
    q.push(" GROUP BY k");
    for row in q.fetch_all(&store.pool).await? {
        if let Some(b) = slot(buckets, row.try_get(0)?) {
            b.warnings = row.try_get(1)?;
        }
    }
    Ok(())
}

/// Per bucket, the indicators sighted in it for the first time (among the sightings the viewer
/// may see) and those sighted before.
async fn novelty_by_bucket(
    store: &SqlStore,
    viewer: &Viewer,
    query: &TrendQuery,
    buckets: &mut [TrendBucket],
) -> Result<()> {
    let mut q = Statement::new(store.backend, "SELECT s.k, s.first_day FROM (SELECT ");
    bucket_of(&mut q, "f.day", query);
    q.push(
        " AS k, (SELECT MIN(g.day) FROM sighting_facts g \
         WHERE g.indicator_id = f.indicator_id",
    );
    viewer.filter(&mut q, "g");
    q.push(") AS first_day FROM sighting_facts f WHERE");
    viewer.span(&mut q, "f", query);
    viewer.filter(&mut q, "f");
    q.push(" GROUP BY f.indicator_id, k) s");
    for row in q.fetch_all(&store.pool).await? {
        let first_day: i64 = row.try_get(1)?;
        if let Some(b) = slot(buckets, row.try_get(0)?) {
            if first_day >= b.start_day {
                b.new_indicators += 1;
            } else {
                b.recurring_indicators += 1;
            }
        }
    }
    Ok(())
}

/// Sightings by a column of the organisation where they were made.
async fn by_org_column(
    store: &SqlStore,
    viewer: &Viewer,
    query: &TrendQuery,
    column: &str,
) -> Result<Vec<Tally>> {
    let mut q = Statement::new(
        store.backend,
        format!(
            "SELECT COALESCE({column}, ''), CAST(SUM(f.count) AS BIGINT) AS n \
             FROM sighting_facts f LEFT JOIN orgs o ON o.identity_id = f.org_identity WHERE"
        ),
    );
    viewer.span(&mut q, "f", query);
    viewer.filter(&mut q, "f");
    q.push(" GROUP BY 1 ORDER BY n DESC, 1 LIMIT ");
    q.bind(query.top as i64);
    tallies(store, q, false).await
}

/// Sightings by the objects of `kinds` their indicators indicate.
async fn by_target(
    store: &SqlStore,
    viewer: &Viewer,
    query: &TrendQuery,
    kinds: &[&str],
) -> Result<Vec<Tally>> {
    let mut q = Statement::new(
        store.backend,
        "SELECT n.stix_id, n.name, CAST(SUM(f.count) AS BIGINT) AS c FROM sighting_facts f \
         JOIN indicator_links l ON l.indicator_id = f.indicator_id \
         JOIN named_objects n ON n.stix_id = l.target_id WHERE",
    );
    viewer.span(&mut q, "f", query);
    viewer.filter(&mut q, "f");
    viewer.filter(&mut q, "l");
    viewer.filter(&mut q, "n");
    q.push(" AND n.type IN ");
    q.bind_list(kinds.iter().map(|k| k.to_string()));
    q.push(" GROUP BY n.stix_id, n.name ORDER BY c DESC, n.name LIMIT ");
    q.bind(query.top as i64);
    tallies(store, q, true).await
}

async fn top_indicators(
    store: &SqlStore,
    viewer: &Viewer,
    query: &TrendQuery,
) -> Result<Vec<Tally>> {
    let mut q = Statement::new(
        store.backend,
        "SELECT f.indicator_id, CAST(SUM(f.count) AS BIGINT) AS c FROM sighting_facts f WHERE",
    );
    viewer.span(&mut q, "f", query);
    viewer.filter(&mut q, "f");
    q.push(" GROUP BY f.indicator_id ORDER BY c DESC, f.indicator_id LIMIT ");
    q.bind(query.top as i64);
    let mut out = Vec::new();
    for row in q.fetch_all(&store.pool).await? {
        let id: String = row.try_get(0)?;
        out.push(Tally {
            label: id.clone(),
            id: Some(id),
            count: row.try_get(1)?,
        });
    }
    name_indicators(store, viewer, &mut out).await?;
    Ok(out)
}

/// Labels each tally with its indicator's name, where the viewer may read a latest version.
async fn name_indicators(store: &SqlStore, viewer: &Viewer, tallies: &mut [Tally]) -> Result<()> {
    let ids: Vec<String> = tallies.iter().filter_map(|t| t.id.clone()).collect();
    if ids.is_empty() {
        return Ok(());
    }
    let defaults: Vec<(i64, i64)> = sqlx::query("SELECT pk, default_tlp FROM collections")
        .fetch_all(&store.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_>>()?;
    for (pk, owner, tlp, body) in super::objects::latest_everywhere(store, &ids).await? {
        let default = defaults
            .iter()
            .find(|d| d.0 == pk)
            .map_or(tlp_rank(Tlp::Red), |d| d.1);
        let open = tlp.unwrap_or(default) <= tlp_rank(Tlp::Green) && viewer.readable.contains(&pk);
        if owner != viewer.org && !open {
            continue;
        }
        let Ok(body) = serde_json::from_str::<Value>(&body) else {
            continue;
        };
        let (Some(id), Some(name)) = (
            body.get("id").and_then(Value::as_str),
            body.get("name").and_then(Value::as_str),
        ) else {
            continue;
        };
        for tally in tallies.iter_mut().filter(|t| t.id.as_deref() == Some(id)) {
            tally.label = name.to_string();
        }
    }
    Ok(())
}

/// Reads `(label, count)` rows, or `(id, label, count)` when `with_id`.
async fn tallies(store: &SqlStore, q: Statement<'_>, with_id: bool) -> Result<Vec<Tally>> {
    let offset = usize::from(with_id);
    q.fetch_all(&store.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(Tally {
                id: if with_id { Some(row.try_get(0)?) } else { None },
                label: row.try_get(offset)?,
                count: row.try_get(offset + 1)?,
            })
        })
        .collect()
}
