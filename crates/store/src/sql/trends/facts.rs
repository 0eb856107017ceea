//! The facts the dashboard counts, written in the transaction that stores the objects they
//! come from, each stamped with a tick of `trend_clock` (see the migration `0008_trends.sql`).

use super::DAY_MICROS;
use crate::error::Result;
use crate::model::NewObject;
use crate::sql::statement::Statement;
use crate::sql::{tlp_rank, Backend};
use serde_json::Value;
use sqlx::AnyConnection;
use watchpost_stix::marking::Tlp;
use watchpost_stix::Timestamp;

/// Rows per INSERT (at most 9 parameters each).
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

/// Where the versions being stored live, and who stores them.
pub(in crate::sql) struct Origin<'a> {
    pub(in crate::sql) collection_pk: i64,
    pub(in crate::sql) default_tlp: Tlp,
    pub(in crate::sql) owner: &'a str,
}

/// One fact to write, or to mark gone (a revoked object).
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
pub(in crate::sql) async fn record<'a>(
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
    if facts.is_empty() {
        return Ok(());
    }
    let seq = tick(conn).await?;
    write(backend, conn, origin, seq, facts).await
}

/// Takes the next `seq`, locking the clock until the transaction ends.
async fn tick(conn: &mut AnyConnection) -> Result<i64> {
    Ok(
        sqlx::query_scalar("UPDATE trend_clock SET seq = seq + 1 RETURNING seq")
            .fetch_one(&mut *conn)
            .await?,
    )
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
    seq: i64,
    facts: Vec<(Fact, Tlp)>,
) -> Result<()> {
    let (mut sightings, mut links, mut named) = (Vec::new(), Vec::new(), Vec::new());
    for (fact, tlp) in facts {
        match fact {
            Fact::Revoked { id, table, key } => gone(backend, conn, seq, table, key, id).await?,
            Fact::Sighting { .. } => sightings.push((fact, tlp)),
            Fact::Link { .. } => links.push((fact, tlp)),
            Fact::Named { .. } => named.push((fact, tlp)),
        }
    }
    for chunk in sightings.chunks(CHUNK) {
        let mut q = Statement::new(
            backend,
            "INSERT INTO sighting_facts (sighting_id, day, org_identity, indicator_id, count, \
             collection_pk, owner, tlp, seq) VALUES ",
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
                push_origin(&mut q, origin, *tlp, seq);
            }
        }
        q.push(
            " ON CONFLICT (sighting_id) DO UPDATE SET day = excluded.day, \
             org_identity = excluded.org_identity, indicator_id = excluded.indicator_id, \
             count = excluded.count, collection_pk = excluded.collection_pk, \
             owner = excluded.owner, tlp = excluded.tlp, seq = excluded.seq, gone = 0",
        );
        q.execute(&mut *conn).await?;
    }
    for chunk in links.chunks(CHUNK) {
        let mut q = Statement::new(
            backend,
            "INSERT INTO indicator_links (relationship_id, indicator_id, target_id, \
             collection_pk, owner, tlp, seq) VALUES ",
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
                push_origin(&mut q, origin, *tlp, seq);
            }
        }
        q.push(
            " ON CONFLICT (relationship_id) DO UPDATE SET indicator_id = excluded.indicator_id, \
             target_id = excluded.target_id, collection_pk = excluded.collection_pk, \
             owner = excluded.owner, tlp = excluded.tlp, seq = excluded.seq, gone = 0",
        );
        q.execute(&mut *conn).await?;
    }
    for chunk in named.chunks(CHUNK) {
        let mut q = Statement::new(
            backend,
            "INSERT INTO named_objects (stix_id, type, name, collection_pk, owner, tlp, seq) \
             VALUES ",
        );
        for (i, (fact, tlp)) in chunk.iter().enumerate() {
            if let Fact::Named { id, kind, name } = fact {
                q.push(if i == 0 { "(" } else { ", (" });
                q.bind(id.clone()).push(", ").bind(kind.clone()).push(", ");
                q.bind(name.clone()).push(", ");
                push_origin(&mut q, origin, *tlp, seq);
            }
        }
        q.push(
            " ON CONFLICT (stix_id) DO UPDATE SET type = excluded.type, name = excluded.name, \
             collection_pk = excluded.collection_pk, owner = excluded.owner, tlp = excluded.tlp, \
             seq = excluded.seq, gone = 0",
        );
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Appends `collection_pk, owner, tlp, seq)` of a row.
fn push_origin(q: &mut Statement<'_>, origin: &Origin<'_>, tlp: Tlp, seq: i64) {
    q.bind(origin.collection_pk).push(", ");
    q.bind(origin.owner.to_string()).push(", ");
    q.bind(tlp_rank(tlp)).push(", ");
    q.bind(seq).push(")");
}

/// Marks a fact gone at `seq`.
async fn gone(
    backend: Backend,
    conn: &mut AnyConnection,
    seq: i64,
    table: &str,
    key: &str,
    id: String,
) -> Result<()> {
    let mut q = Statement::new(backend, format!("UPDATE {table} SET gone = 1, seq = "));
    q.bind(seq).push(&format!(" WHERE {key} = ")).bind(id);
    q.execute(&mut *conn).await?;
    Ok(())
}

/// Marks gone the facts of an object whose versions were deleted.
pub(in crate::sql) async fn forget(
    backend: Backend,
    conn: &mut AnyConnection,
    id: &str,
) -> Result<()> {
    let seq = tick(conn).await?;
    for (table, key) in [
        ("sighting_facts", "sighting_id"),
        ("indicator_links", "relationship_id"),
        ("named_objects", "stix_id"),
    ] {
        gone(backend, conn, seq, table, key, id.to_string()).await?;
    }
    Ok(())
}
