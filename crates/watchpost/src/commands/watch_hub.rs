//! `watch` with a hub: the hub's current indicators matched against telemetry, each match
//! routed to the organisation whose network it is (the directory), and aggregated into STIX
//! sightings stored in a collection, carrying their indicator's markings.

use super::admin::{runtime, DbArg};
use super::indicators::{indicator_pattern, IndicatorPattern};
use super::watch::{scan, WatchArgs};
use anyhow::{Context, Result};
use serde_json::Value;
use std::collections::HashMap;
use std::process::ExitCode;
use watchpost_pattern::SyntaxChecker;
use watchpost_stix::{Timestamp, Validator};
use watchpost_store::{Caller, Role, Store};
use watchpost_taxii::server::ingest;
use watchpost_warn::sighting::{Aggregator, Match};
use watchpost_warn::Router;

/// What a sighting copies from its indicator: its marking refs and RED recipients.
#[derive(Default)]
struct Audience {
    markings: Vec<String>,
    recipients: Option<Value>,
}

/// The indicators a matcher should use now: STIX patterns, not revoked, not expired.
fn current_indicators(
    bodies: &[(String, String)],
    now: i64,
) -> (Vec<IndicatorPattern>, HashMap<String, Audience>) {
    let (mut list, mut audiences) = (Vec::new(), HashMap::new());
    for (_, body) in bodies {
        let Ok(v) = serde_json::from_str::<Value>(body) else {
            continue;
        };
        let text = |k: &str| v.get(k).and_then(Value::as_str);
        let expired = text("valid_until")
            .and_then(|t| Timestamp::parse(t).ok())
            .is_some_and(|t| t.unix_micros() <= now);
        let revoked = v.get("revoked").and_then(Value::as_bool).unwrap_or(false);
        let Some(indicator) = indicator_pattern(&v).filter(|_| !expired && !revoked) else {
            continue;
        };
        let id = indicator.0.clone();
        list.push(indicator);
        let markings = v
            .get("object_marking_refs")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        audiences.insert(
            id,
            Audience {
                markings,
                recipients: v.get(ingest::RECIPIENTS).cloned(),
            },
        );
    }
    (list, audiences)
}

pub fn run(args: &WatchArgs) -> Result<ExitCode> {
    let collection = args.sightings_collection.clone().context(
        "without --indicators, watch uses the hub: give --sightings-collection ID and --org NAME",
    )?;
    let org_name = args.org.clone().context("without --indicators, watch uses the hub: give --org NAME, the organisation that stores the sightings")?;
    let rt = runtime()?;
    let now = Timestamp::now().unix_micros();
    let (store, bodies, entries, orgs) = rt.block_on(async {
        let store = DbArg {
            db: args.db.clone(),
        }
        .open()
        .await?;
        let bodies = store.current_objects_of_type("indicator").await?;
        let entries = super::directory::load(&store).await?;
        let orgs = store.orgs().await?;
        anyhow::Ok((store, bodies, entries, orgs))
    })?;
    let (indicators, audiences) = current_indicators(&bodies, now);
    let identity: HashMap<&str, &str> = orgs
        .iter()
        .map(|o| (o.name.as_str(), o.id.as_str()))
        .collect();
    let writer = identity
        .get(org_name.as_str())
        .with_context(|| format!("organisation {org_name:?} was not found"))?
        .to_string();
    let router = Router::new(&entries);
    let mut aggregator = Aggregator::new(args.window);
    let mut unrouted = 0u64;
    scan(args, &indicators, |index, seen| {
        let objects = seen.event.objects.iter().map(|(_, o)| o);
        match router
            .responsible_for_objects(objects)
            .and_then(|e| identity.get(entries[e].org.as_str()))
        {
            Some(org) => aggregator.record(
                Match {
                    indicator: &indicators[index].0,
                    org,
                    time: seen.time,
                },
                now,
            ),
            None => unrouted += 1,
        }
        Ok(())
    })?;
    let mut sightings = aggregator.flush(Timestamp::now().unix_micros(), |id| {
        audiences
            .get(id)
            .map(|a| a.markings.clone())
            .unwrap_or_default()
    });
    for s in &mut sightings {
        let indicator = s["sighting_of_ref"].as_str().unwrap_or("").to_string();
        if let Some(r) = audiences.get(&indicator).and_then(|a| a.recipients.clone()) {
            s[ingest::RECIPIENTS] = r;
        }
    }
    let validator = Validator::new().with_pattern_syntax(SyntaxChecker);
    let (mut objects, mut failures, mut issues) = (Vec::new(), Vec::new(), Vec::new());
    for s in &sightings {
        match ingest::prepare(s, &validator, &mut issues) {
            Ok(o) => objects.push(o),
            Err(f) => failures.push(f),
        }
    }
    let caller = Caller {
        user: "watch".into(),
        org: writer,
        role: Role::Analyst,
    };
    let status = rt.block_on(store.add_objects(&caller, &collection, objects, failures))?;
    if unrouted > 0 {
        eprintln!("watchpost: {unrouted} matches in networks no organisation answers for (the directory has no national CERT)");
    }
    println!(
        "{} sightings of {} indicators stored in collection {collection} ({} refused)",
        status.success_count,
        indicators.len(),
        status.failure_count
    );
    for f in &status.failures {
        eprintln!(
            "watchpost: sighting {} refused: {}",
            f.id,
            f.message.as_deref().unwrap_or("")
        );
    }
    Ok(ExitCode::SUCCESS)
}
