//! Risk trends: the facts the dashboard counts ([`facts`], written with the objects), kept in
//! memory ([`cache`]), and the counts a caller may see.
//!
//! A fact carries the effective TLP, owner and collection of the version it came from, and a
//! count includes it only when the caller could read that version: its owner, or a CLEAR/GREEN
//! version in a collection the caller reads. AMBER and RED facts count for their owner alone:
//! a dashboard shows sums, and a sum cannot be audited per object, so it never includes what
//! only an audited read could show.

mod cache;
mod facts;

pub(super) use facts::{forget, record, Origin};

use super::{tlp_rank, SqlStore};
use crate::error::Result;
use crate::model::{Caller, Role, Tally, TrendBucket, TrendQuery, Trends};
use cache::{Cache, Vis};
use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::Value;
use sqlx::Row;
use std::collections::HashMap;
use watchpost_stix::marking::Tlp;

const DAY_MICROS: i64 = 86_400_000_000;

/// The in-memory facts of one store, caught up before each count.
#[derive(Debug, Default)]
pub(super) struct TrendFacts {
    cache: tokio::sync::Mutex<Cache>,
}

/// Who is counting: the caller's organisation, the collections it reads, and whose warnings
/// it sees (`None`: every organisation's).
struct Viewer {
    org: String,
    readable: Vec<i64>,
    warnings_of: Option<String>,
}

impl Viewer {
    async fn of(store: &SqlStore, caller: &Caller) -> Result<Viewer> {
        let readable_ids: FxHashSet<String> = super::collections::list(store, caller)
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
        let name: Option<String> =
            sqlx::query_scalar("SELECT name FROM orgs WHERE identity_id = $1")
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

    fn may_count(&self, vis: &Vis, org: Option<u32>) -> bool {
        Some(vis.owner) == org
            || (vis.tlp <= tlp_rank(Tlp::Green) && self.readable.contains(&vis.collection))
    }
}

pub(in crate::sql) async fn query(
    store: &SqlStore,
    caller: &Caller,
    query: &TrendQuery,
) -> Result<Trends> {
    let query = TrendQuery {
        bucket_days: query.bucket_days.max(1),
        to_day: query.to_day.max(query.from_day),
        ..*query
    };
    let viewer = Viewer::of(store, caller).await?;
    let orgs = orgs(store).await?;
    let mut trends = {
        let mut cache = store.trends.cache.lock().await;
        cache.catch_up(&store.pool).await?;
        count(&cache, &viewer, &query, &orgs)
    };
    warnings_by_bucket(store, &viewer, &query, &mut trends.buckets).await?;
    name_indicators(store, &viewer, &mut trends.top_indicators).await?;
    Ok(trends)
}

/// Organisation identity → (name, sector).
async fn orgs(store: &SqlStore) -> Result<HashMap<String, (String, String)>> {
    let mut out = HashMap::new();
    for row in sqlx::query("SELECT identity_id, name, sector FROM orgs")
        .fetch_all(&store.pool)
        .await?
    {
        let sector: Option<String> = row.try_get(2)?;
        out.insert(
            row.try_get(0)?,
            (row.try_get(1)?, sector.unwrap_or_default()),
        );
    }
    Ok(out)
}

/// Sums keyed by what a ranking shows.
#[derive(Default)]
struct Sums<K: std::hash::Hash + Eq>(FxHashMap<K, i64>);

impl<K: std::hash::Hash + Eq> Sums<K> {
    fn add(&mut self, key: K, n: i64) {
        *self.0.entry(key).or_default() += n;
    }

    /// The `top` largest, ties by label.
    fn top(self, top: usize, tally: impl Fn(K, i64) -> Tally) -> Vec<Tally> {
        let mut all: Vec<Tally> = self.0.into_iter().map(|(k, n)| tally(k, n)).collect();
        all.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.label.cmp(&b.label)));
        all.truncate(top);
        all
    }
}

/// Counts what the viewer may see in the cache.
fn count(
    cache: &Cache,
    viewer: &Viewer,
    query: &TrendQuery,
    orgs: &HashMap<String, (String, String)>,
) -> Trends {
    let me = cache.strings.get(&viewer.org);
    let mut buckets = buckets(query);
    let targets = targets(cache, viewer, me);
    let (mut by_org, mut by_indicator) = (Sums::default(), Sums::default());
    let mut by_target: Sums<u32> = Sums::default();
    let mut first_day: FxHashMap<u32, i64> = FxHashMap::default();
    let mut seen_in: FxHashSet<(u32, usize)> = FxHashSet::default();
    for s in cache.sightings.values() {
        if !viewer.may_count(&s.vis, me) {
            continue;
        }
        let first = first_day.entry(s.indicator).or_insert(s.day);
        *first = (*first).min(s.day);
        if s.day < query.from_day || s.day >= query.to_day {
            continue;
        }
        let k = ((s.day - query.from_day) / query.bucket_days) as usize;
        if let Some(b) = buckets.get_mut(k) {
            b.sightings += s.count;
        }
        seen_in.insert((s.indicator, k));
        by_org.add(s.org, s.count);
        by_indicator.add(s.indicator, s.count);
        for &t in targets.get(&s.indicator).into_iter().flatten() {
            by_target.add(t, s.count);
        }
    }
    for (indicator, k) in seen_in {
        if let Some(b) = buckets.get_mut(k) {
            if first_day.get(&indicator).is_some_and(|d| *d >= b.start_day) {
                b.new_indicators += 1;
            } else {
                b.recurring_indicators += 1;
            }
        }
    }
    let org_of = |o: u32| orgs.get(cache.strings.name(o));
    let mut by_sector = Sums::default();
    for (&o, &n) in &by_org.0 {
        by_sector.add(org_of(o).map_or("", |x| x.1.as_str()), n);
    }
    let ranking = |kinds: &[&str]| {
        let mut sums = Sums::default();
        for (&t, &n) in &by_target.0 {
            if cache
                .named
                .get(&t)
                .is_some_and(|x| kinds.contains(&x.kind.as_str()))
            {
                sums.add(t, n);
            }
        }
        sums.top(query.top, |t, n| Tally {
            id: Some(cache.strings.name(t).to_string()),
            label: cache
                .named
                .get(&t)
                .map_or("", |x| x.name.as_str())
                .to_string(),
            count: n,
        })
    };
    Trends {
        by_malware: ranking(&["malware"]),
        by_actor: ranking(&["threat-actor", "intrusion-set", "campaign"]),
        by_technique: ranking(&["attack-pattern"]),
        by_sector: by_sector.top(query.top, |s, n| Tally {
            id: None,
            label: s.to_string(),
            count: n,
        }),
        by_org: by_org.top(query.top, |o, n| Tally {
            id: None,
            label: org_of(o).map_or_else(|| cache.strings.name(o).to_string(), |x| x.0.clone()),
            count: n,
        }),
        top_indicators: by_indicator.top(query.top, |i, n| {
            let id = cache.strings.name(i).to_string();
            Tally {
                label: id.clone(),
                id: Some(id),
                count: n,
            }
        }),
        buckets,
    }
}

/// Indicator → the named objects it indicates, through links and names the viewer may see.
fn targets(cache: &Cache, viewer: &Viewer, me: Option<u32>) -> FxHashMap<u32, Vec<u32>> {
    let mut out: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
    for l in cache.links.values() {
        let named = cache.named.get(&l.target);
        if viewer.may_count(&l.vis, me) && named.is_some_and(|n| viewer.may_count(&n.vis, me)) {
            let list = out.entry(l.indicator).or_default();
            // Two links to one target must not count its sightings twice.
            if !list.contains(&l.target) {
                list.push(l.target);
            }
        }
    }
    out
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

async fn warnings_by_bucket(
    store: &SqlStore,
    viewer: &Viewer,
    query: &TrendQuery,
    buckets: &mut [TrendBucket],
) -> Result<()> {
    let mut sql = String::from("SELECT created FROM warnings WHERE created >= $1 AND created < $2");
    if viewer.warnings_of.is_some() {
        sql.push_str(" AND org = $3");
    }
    let mut q = sqlx::query_scalar::<_, i64>(&sql)
        .bind(query.from_day * DAY_MICROS)
        .bind(query.to_day * DAY_MICROS);
    if let Some(org) = &viewer.warnings_of {
        q = q.bind(org);
    }
    for created in q.fetch_all(&store.pool).await? {
        let k = (created.div_euclid(DAY_MICROS) - query.from_day) / query.bucket_days;
        if let Some(b) = usize::try_from(k).ok().and_then(|k| buckets.get_mut(k)) {
            b.warnings += 1;
        }
    }
    Ok(())
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
