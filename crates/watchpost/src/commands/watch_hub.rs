//! `watch` with a hub (and the watching inside `serve`): the hub's current indicators matched
//! against telemetry, each match routed to the organisation whose network it is (the
//! directory), aggregated into STIX sightings stored in a collection (carrying their
//! indicator's markings), and raised as a warning to that organisation, whose deliveries wait
//! in the store's outbox for the courier of `serve`.

use super::admin::{runtime, DbArg};
use super::indicators::{indicator_pattern, IndicatorPattern};
use super::live::{Compiled, Live};
use super::watch::{scan, Seen, WatchArgs};
use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};
use tokio::runtime::Handle;
use watchpost_exchange::warninglist;
use watchpost_pattern::SyntaxChecker;
use watchpost_stix::marking::{tlp_of, Tlp};
use watchpost_stix::{Timestamp, Validator};
use watchpost_store::{Caller, Role, SqlStore, Store};
use watchpost_taxii::server::ingest;
use watchpost_warn::sighting::{Aggregator, Match};
use watchpost_warn::{DirectoryEntry, RaiseRequest, Router, Warnings};

/// How often sightings are stored while telemetry keeps coming.
const FLUSH_EVERY: Duration = Duration::from_secs(5);

/// An indicator as the watch uses it: its object (for warnings) and what its sightings copy.
struct Indicator {
    object: Value,
    markings: Vec<String>,
    recipients: Option<Value>,
}

/// The indicators a matcher should use now: STIX patterns, not revoked, not expired, and not
/// held back by a warning-list hit (a private address or a public resolver would raise
/// warnings all day) unless an analyst confirmed them (`watchpost indicator confirm`).
fn current_indicators(bodies: &[(String, String)], now: i64) -> (Vec<IndicatorPattern>, Known) {
    let (mut list, mut known) = (Vec::new(), HashMap::new());
    for (_, body) in bodies {
        let Ok(v) = serde_json::from_str::<Value>(body) else {
            continue;
        };
        let text = |k: &str| v.get(k).and_then(Value::as_str);
        let expired = text("valid_until")
            .and_then(|t| Timestamp::parse(t).ok())
            .is_some_and(|t| t.unix_micros() <= now);
        let revoked = v.get("revoked").and_then(Value::as_bool).unwrap_or(false);
        let held = v.as_object().is_some_and(warninglist::held_back);
        let Some(indicator) = indicator_pattern(&v).filter(|_| !expired && !revoked && !held)
        else {
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
        let recipients = v.get(ingest::RECIPIENTS).cloned();
        known.insert(
            id,
            Indicator {
                object: v,
                markings,
                recipients,
            },
        );
    }
    (list, known)
}

/// What a warning may tell an organisation of an indicator: all of it, unless the indicator
/// is TLP:RED and the organisation is not among its named recipients — then only that a
/// restricted indicator matched, which its owner can follow up.
fn shown_to(known: &Indicator, org_identity: &str) -> Value {
    let red = tlp_of(&known.object) == Some(Tlp::Red);
    let named = known
        .recipients
        .as_ref()
        .and_then(Value::as_array)
        .is_some_and(|r| r.iter().any(|x| x.as_str() == Some(org_identity)));
    if !red || named {
        return known.object.clone();
    }
    let mut redacted = json!({
        "type": "indicator",
        "id": known.object["id"],
        "name": "a TLP:RED indicator (ask the national CERT)",
    });
    for key in ["confidence", "kill_chain_phases"] {
        if let Some(v) = known.object.get(key) {
            redacted[key] = v.clone();
        }
    }
    redacted
}

/// One line describing what was seen: the event kind, its values, and where it was read.
fn summary(seen: &Seen) -> String {
    let mut values = Vec::new();
    for (_, o) in &seen.event.objects {
        if let Some(v) = o.get("value").and_then(Value::as_str) {
            values.push(v.to_string());
        }
        if let Some(p) = o.get("dst_port").and_then(Value::as_u64) {
            values.push(format!("port {p}"));
        }
    }
    format!(
        "{} at {}: {} ({}, line {})",
        seen.event.kind,
        Timestamp::from_unix_micros(seen.time),
        values.join(", "),
        seen.source_name(),
        seen.line()
    )
}

/// The hub's side of a watch: where sightings go and who is warned.
pub struct Hub {
    pub store: Arc<SqlStore>,
    pub collection: String,
    /// The organisation that stores the sightings.
    pub org: String,
    pub warnings: Warnings,
}

/// What a watch did.
#[derive(Default)]
pub struct Report {
    pub indicators: usize,
    pub sightings: u64,
    pub refused: u64,
    pub warnings_raised: u64,
    pub unrouted: u64,
}

/// The hub's indicators as a watch uses them, replaced together when they change.
type Known = HashMap<String, Indicator>;

/// Matches `args`' sources against the hub's indicators on this thread (async work through
/// `handle`, so it can run beside a server), storing sightings as they come and raising
/// warnings. While it runs, a second thread reads the indicators again whenever the store
/// changes or an indicator's `valid_until` passes, and publishes the new set ([`Live`]).
pub fn watch(args: &WatchArgs, hub: &Hub, handle: &Handle) -> Result<Report> {
    let now = Timestamp::now().unix_micros();
    let store = hub.store.clone();
    let (token, bodies, entries, orgs) = handle.block_on(async {
        let token = store.objects_changed("indicator").await?;
        let bodies = store.current_objects_of_type("indicator").await?;
        let entries = super::directory::load(&store).await?;
        let orgs = store.orgs().await?;
        anyhow::Ok((token, bodies, entries, orgs))
    })?;
    let (indicators, known) = current_indicators(&bodies, now);
    let count = indicators.len();
    let expiry = next_expiry(&known, now);
    let live = Live::new(Compiled::new(indicators));
    let known = RwLock::new(Arc::new(known));
    let identity: HashMap<String, String> = orgs.into_iter().map(|o| (o.name, o.id)).collect();
    let writer = Caller {
        user: "watch".into(),
        org: identity
            .get(&hub.org)
            .with_context(|| format!("organisation {:?} was not found", hub.org))?
            .clone(),
        role: Role::Analyst,
    };
    let router = Router::new(&entries);
    let mut sink = Sightings {
        hub,
        handle,
        writer,
        known: &known,
        aggregator: Aggregator::new(args.window),
        last_flush: Instant::now(),
        report: Report {
            indicators: count,
            ..Report::default()
        },
    };
    let done = AtomicBool::new(false);
    let reload = Reload {
        store: &hub.store,
        handle,
        live: &live,
        known: &known,
        done: &done,
        every: Duration::from_secs(args.reload_every.max(1)),
    };
    std::thread::scope(|scope| {
        scope.spawn(|| reload.run(token, expiry));
        let scanned = scan(args, &live, |indicator, seen| {
            sink.on_match(indicator, seen, &router, &entries, &identity)
        });
        done.store(true, Ordering::Relaxed);
        scanned
    })?;
    sink.flush()?;
    Ok(sink.report)
}

/// When the earliest `valid_until` still ahead of `now` passes, if any.
fn next_expiry(known: &Known, now: i64) -> Option<i64> {
    known
        .values()
        .filter_map(|k| k.object.get("valid_until").and_then(Value::as_str))
        .filter_map(|t| Timestamp::parse(t).ok())
        .map(|t| t.unix_micros())
        .filter(|t| *t > now)
        .min()
}

/// Reads the indicators again when they change, and publishes them compiled.
struct Reload<'a> {
    store: &'a Arc<SqlStore>,
    handle: &'a Handle,
    live: &'a Live,
    known: &'a RwLock<Arc<Known>>,
    done: &'a AtomicBool,
    every: Duration,
}

impl Reload<'_> {
    fn run(&self, mut token: (i64, i64), mut expiry: Option<i64>) {
        let mut last = Instant::now();
        while !self.done.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
            if last.elapsed() < self.every {
                continue;
            }
            last = Instant::now();
            let now = Timestamp::now().unix_micros();
            let Ok(current) = self
                .handle
                .block_on(self.store.objects_changed("indicator"))
            else {
                continue;
            };
            if current == token && expiry.is_none_or(|e| e > now) {
                continue;
            }
            match self
                .handle
                .block_on(self.store.current_objects_of_type("indicator"))
            {
                Ok(bodies) => {
                    let (indicators, known) = current_indicators(&bodies, now);
                    expiry = next_expiry(&known, now);
                    let compiled = Compiled::new(indicators);
                    *self.known.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(known);
                    self.live.replace(compiled);
                    token = current;
                    tracing::info!(
                        message = "The indicators changed; matching goes on with the new set."
                    );
                }
                Err(e) => tracing::warn!(message = "Cannot read the indicators again.", error = %e),
            }
        }
    }
}

/// Routes matches, raises warnings, and stores sightings every [`FLUSH_EVERY`].
struct Sightings<'a> {
    hub: &'a Hub,
    handle: &'a Handle,
    writer: Caller,
    known: &'a RwLock<Arc<Known>>,
    aggregator: Aggregator,
    last_flush: Instant,
    report: Report,
}

impl Sightings<'_> {
    fn on_match(
        &mut self,
        indicator: &str,
        seen: &Seen,
        router: &Router,
        entries: &[DirectoryEntry],
        identity: &HashMap<String, String>,
    ) -> Result<()> {
        let objects = seen.event.objects.iter().map(|(_, o)| o);
        let Some((org, org_identity)) = router
            .responsible_for_objects(objects)
            .and_then(|e| Some((&entries[e].org, identity.get(&entries[e].org)?)))
        else {
            self.report.unrouted += 1;
            return Ok(());
        };
        let now = Timestamp::now().unix_micros();
        self.aggregator.record(
            Match {
                indicator,
                org: org_identity,
                time: seen.time,
            },
            now,
        );
        let known = self.known();
        if let Some(known) = known.get(indicator) {
            let shown = shown_to(known, org_identity);
            let observation = summary(seen);
            let raised = self.handle.block_on(self.hub.warnings.raise(RaiseRequest {
                indicator: &shown,
                org,
                observation: &observation,
                seen: seen.time,
                now,
            }))?;
            self.report.warnings_raised += u64::from(raised.created);
        }
        if self.last_flush.elapsed() >= FLUSH_EVERY {
            self.flush()?;
        }
        Ok(())
    }

    fn known(&self) -> Arc<Known> {
        self.known
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stores the sightings that changed since the last flush.
    fn flush(&mut self) -> Result<()> {
        self.last_flush = Instant::now();
        let now = Timestamp::now().unix_micros();
        let known = self.known();
        let mut sightings = self.aggregator.flush(now, |id| {
            known
                .get(id)
                .map(|k| k.markings.clone())
                .unwrap_or_default()
        });
        if sightings.is_empty() {
            return Ok(());
        }
        for s in &mut sightings {
            let indicator = s["sighting_of_ref"].as_str().unwrap_or("").to_string();
            if let Some(r) = known.get(&indicator).and_then(|k| k.recipients.clone()) {
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
        let status = self.handle.block_on(self.hub.store.add_objects(
            &self.writer,
            &self.hub.collection,
            objects,
            failures,
        ))?;
        self.report.sightings += status.success_count;
        self.report.refused += status.failure_count;
        for f in &status.failures {
            eprintln!(
                "watchpost: sighting {} refused: {}",
                f.id,
                f.message.as_deref().unwrap_or("")
            );
        }
        self.aggregator.expire(now, 2 * 86_400);
        Ok(())
    }
}

/// The hub's warning settings: `--warn-config` and the secret.
pub fn warn_config(path: Option<&std::path::Path>) -> Result<watchpost_warn::Config> {
    let mut config = match path {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| {
                format!("cannot read the warning configuration {}", p.display())
            })?;
            serde_json::from_str(&text)
                .with_context(|| format!("{} is not a warning configuration", p.display()))?
        }
        None => watchpost_warn::Config::default(),
    };
    if let Ok(secret) = std::env::var("WATCHPOST_SECRET") {
        config.secret = secret;
    }
    Ok(config)
}

pub fn run(args: &WatchArgs) -> Result<ExitCode> {
    let collection = args.sightings_collection.clone().context(
        "without --indicators, watch uses the hub: give --sightings-collection ID and --org NAME",
    )?;
    let org = args.org.clone().context("without --indicators, watch uses the hub: give --org NAME, the organisation that stores the sightings")?;
    let config = warn_config(args.warn_config.as_deref())?;
    let rt = runtime()?;
    let store = rt.block_on(
        DbArg {
            db: args.db.clone(),
        }
        .open(),
    )?;
    let directory = rt.block_on(super::directory::load(&store))?;
    let hub = Hub {
        warnings: Warnings::new(store.clone() as Arc<dyn Store>, directory, config),
        store,
        collection: collection.clone(),
        org,
    };
    let report = watch(args, &hub, rt.handle())?;
    if report.unrouted > 0 {
        eprintln!("watchpost: {} matches in networks no organisation answers for (the directory has no national CERT)", report.unrouted);
    }
    println!(
        "{} sightings of {} indicators stored in collection {collection} ({} refused); {} warnings raised",
        report.sightings, report.indicators, report.refused, report.warnings_raised
    );
    Ok(ExitCode::SUCCESS)
}
