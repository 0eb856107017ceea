//! `watchpost bench console`: the analyst console's data at the size issue 8 names (1,000,000
//! stored objects, 100,000 sightings), and how long the console's queries take on it.
//!
//! The database is filled once (deterministically, straight through the store, as a feed and
//! the hub's watch would have stored it) and reused by later runs, so the measured part is the
//! reading alone.

use super::admin::runtime;
use anyhow::{Context, Result};
use clap::Args;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use watchpost_pattern::workload::{ipv4, uuid4, Rng};
use watchpost_stix::marking::Tlp;
use watchpost_stix::Timestamp;
use watchpost_store::{
    Caller, NewCollection, NewObject, NewOrg, Role, SearchQuery, SqlStore, Store, TrendQuery,
};

#[derive(Args)]
pub struct ConsoleArgs {
    /// The SQLite file to fill (when empty) and read.
    #[arg(long)]
    pub db: PathBuf,
    /// Objects to store in all (indicators make up what the others leave).
    #[arg(long, default_value_t = 1_000_000)]
    pub objects: usize,
    /// Sightings among them, spread over the last 90 days.
    #[arg(long, default_value_t = 100_000)]
    pub sightings: usize,
    /// Runs of each measured query; the median and the slowest are reported.
    #[arg(long, default_value_t = 20)]
    pub runs: usize,
}

const SECTORS: [&str; 5] = [
    "energy",
    "financial-services",
    "telecommunications",
    "government-national",
    "healthcare",
];
const ORGS: usize = 20;
const MALWARE: usize = 200;
const ACTORS: usize = 50;
const TECHNIQUES: usize = 300;
const LINKS: usize = 20_000;
/// Sightings name indicators among the first this many, so some recur.
const HOT: usize = 20_000;
const DAY_MICROS: i64 = 86_400_000_000;
const WARNINGS: usize = 10_000;
/// The analyst the page measurements sign in as.
const USER: &str = "bench-analyst";
/// The administrator the administration pages are measured as.
const ADMIN: &str = "bench-admin";
const PASSWORD: &str = "bench-password-1";

pub fn run(args: ConsoleArgs) -> Result<ExitCode> {
    runtime()?.block_on(async {
        let url = format!("sqlite://{}", args.db.display());
        let store = Arc::new(
            SqlStore::open(&url)
                .await
                .with_context(|| format!("cannot open {url}"))?,
        );
        let viewer = match store.orgs().await?.first() {
            Some(org) => caller(&org.id, Role::Analyst),
            None => fill(&store, &args).await?,
        };
        let started = Instant::now();
        let mut indexed = 0;
        loop {
            let n = store.index_for_search(50_000).await?;
            if n == 0 {
                break;
            }
            indexed += n;
        }
        if indexed > 0 {
            println!(
                "indexed {indexed} versions for search in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
        measure_search(&store, &viewer, args.runs).await?;
        let today = Timestamp::now().unix_micros().div_euclid(DAY_MICROS);
        for (what, query) in [
            (
                "trends, 90 days by day",
                TrendQuery {
                    from_day: today - 89,
                    to_day: today + 1,
                    bucket_days: 1,
                    top: 10,
                },
            ),
            (
                "trends, 12 weeks by week",
                TrendQuery {
                    from_day: today - 83,
                    to_day: today + 1,
                    bucket_days: 7,
                    top: 10,
                },
            ),
            (
                "trends, one week (report)",
                TrendQuery {
                    from_day: today - 6,
                    to_day: today + 1,
                    bucket_days: 1,
                    top: 10,
                },
            ),
        ] {
            let mut times = Vec::with_capacity(args.runs);
            let mut counted = 0;
            for _ in 0..args.runs.max(1) {
                let start = Instant::now();
                let trends = store.trends(&viewer, &query).await?;
                times.push(start.elapsed());
                counted = trends.buckets.iter().map(|b| b.sightings).sum::<i64>();
            }
            report(what, &mut times, counted);
        }
        measure_pages(store.clone(), args.runs).await?;
        Ok(ExitCode::SUCCESS)
    })
}

/// Each console page over HTTP on 127.0.0.1, signed in as an analyst of the first
/// organisation: the time from request to the last byte of the page.
async fn measure_pages(store: Arc<SqlStore>, runs: usize) -> Result<()> {
    let org = store
        .orgs()
        .await?
        .into_iter()
        .next()
        .context("no organisation")?;
    for (name, role) in [(USER, Role::Analyst), (ADMIN, Role::Admin)] {
        let user = watchpost_store::NewUser {
            username: name.into(),
            org_name: org.name.clone(),
            role,
            password: PASSWORD.into(),
        };
        match store.add_user(user).await {
            Ok(()) | Err(watchpost_store::StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let object = format!(
        "/intel/objects/{}/{}",
        intelligence_collection(&store).await?,
        indicator_id(4242)
    );
    let app = watchpost_web::router(store as Arc<dyn Store>, watchpost_web::Config::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let service = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await });
    let analyst = sign_in(&base, USER).await?;
    let admin = sign_in(&base, ADMIN).await?;
    let http = reqwest::Client::new();
    let pages = [
        "/",
        "/console/inbox",
        "/dashboard",
        "/dashboard?span=12w",
        "/dashboard?span=52w",
        "/dashboard/activity.csv",
        "/report",
        "/intel",
        "/intel/results?q=c2+server+4242",
        "/intel/results?q=server",
        "/intel/results?type=malware",
        object.as_str(),
        "/intel/indicators/new",
        "/directory",
        "/admin",
        "/admin/audit",
    ];
    for path in pages {
        let cookies = if path.starts_with("/admin") {
            &admin
        } else {
            &analyst
        };
        let mut times = Vec::with_capacity(runs);
        let mut bytes = 0;
        for _ in 0..runs.max(1) {
            let start = Instant::now();
            let response = http
                .get(format!("{base}{path}"))
                .header("cookie", cookies)
                .send()
                .await?;
            anyhow::ensure!(
                response.status().is_success(),
                "{path}: {}",
                response.status()
            );
            bytes = response.bytes().await?.len() as i64;
            times.push(start.elapsed());
        }
        report(&format!("page {path} ({bytes} bytes)"), &mut times, bytes);
    }
    Ok(())
}

/// The collection the fill stored the intelligence in.
async fn intelligence_collection(store: &SqlStore) -> Result<String> {
    let org = store
        .orgs()
        .await?
        .into_iter()
        .next()
        .context("no organisation")?;
    let hub = caller(&org.id, Role::Admin);
    let all = store.collections(&hub).await?;
    Ok(all.first().context("no collection")?.id.clone())
}

/// Signs in through the form; returns the cookies to send.
async fn sign_in(base: &str, user: &str) -> Result<String> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let form = http.get(format!("{base}/login")).send().await?;
    let mut cookies: Vec<String> = set_cookies(&form);
    let body = form.text().await?;
    let start = body
        .find("name=\"csrf\" value=\"")
        .context("no CSRF field")?
        + 19;
    let token = &body[start..start + body[start..].find('"').context("no CSRF value")?];
    let signed = http
        .post(format!("{base}/login"))
        .header("cookie", cookies.join("; "))
        .form(&[("csrf", token), ("username", user), ("password", PASSWORD)])
        .send()
        .await?;
    cookies.extend(set_cookies(&signed));
    Ok(cookies.join("; "))
}

fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_string))
        .filter(|pair| !pair.ends_with('='))
        .collect()
}

async fn measure_search(store: &SqlStore, viewer: &Caller, runs: usize) -> Result<()> {
    let searches = [
        (
            "search, two words",
            SearchQuery {
                text: "c2 server 4242".into(),
                limit: 50,
                ..SearchQuery::default()
            },
        ),
        (
            "search, a common word",
            SearchQuery {
                text: "server".into(),
                limit: 50,
                ..SearchQuery::default()
            },
        ),
        (
            "search, newest of a type",
            SearchQuery {
                types: vec!["malware".into()],
                limit: 50,
                ..SearchQuery::default()
            },
        ),
        (
            "search, newest of everything",
            SearchQuery {
                limit: 50,
                ..SearchQuery::default()
            },
        ),
    ];
    for (what, query) in searches {
        let mut times = Vec::with_capacity(runs);
        let mut found = 0;
        for _ in 0..runs.max(1) {
            let start = Instant::now();
            found = store.search(viewer, &query).await?.len() as i64;
            times.push(start.elapsed());
        }
        report(what, &mut times, found);
    }
    Ok(())
}

fn report(what: &str, times: &mut [Duration], counted: i64) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{what}: median {:.1} ms, slowest {:.1} ms ({} runs, {counted} counted)",
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1]),
        times.len()
    );
}

fn caller(org: &str, role: Role) -> Caller {
    Caller {
        user: "bench".into(),
        org: org.into(),
        role,
    }
}

/// Fills an empty store; returns the caller the measurements read as (an analyst of the first
/// organisation).
async fn fill(store: &SqlStore, args: &ConsoleArgs) -> Result<Caller> {
    let started = Instant::now();
    let mut orgs = Vec::new();
    for i in 0..ORGS {
        let org = store
            .add_org(NewOrg {
                name: format!("org-{i:02}"),
                sector: Some(SECTORS[i % SECTORS.len()].into()),
                country: Some("VN".into()),
            })
            .await?;
        orgs.push(org);
    }
    let hub = caller(&orgs[0].id, Role::Admin);
    let collection = store
        .add_collection(NewCollection {
            id: None,
            title: "Intelligence".into(),
            description: None,
            readers: None,
            writers: vec![orgs[0].name.clone()],
            default_tlp: Tlp::Green,
            sharing_group: None,
        })
        .await?;
    let mut rng = Rng::new(7);
    let named = MALWARE + ACTORS + TECHNIQUES;
    let indicators = args
        .objects
        .saturating_sub(named + LINKS + args.sightings)
        .max(HOT);
    let now = Timestamp::now().unix_micros();
    let mut batch = Vec::with_capacity(1000);
    let mut total = 0usize;
    for n in 0..indicators {
        batch.push(new_object(indicator(&mut rng, n)));
        if batch.len() == 1000 {
            total += flush(store, &hub, &collection, &mut batch).await?;
        }
    }
    for n in 0..named {
        batch.push(new_object(named_object(n)));
    }
    for n in 0..LINKS {
        batch.push(new_object(link(&mut rng, n)));
        if batch.len() == 1000 {
            total += flush(store, &hub, &collection, &mut batch).await?;
        }
    }
    for n in 0..args.sightings {
        let org = &orgs[rng.below(ORGS as u64) as usize].id;
        batch.push(new_object(sighting(&mut rng, n, org, now)));
        if batch.len() == 1000 {
            total += flush(store, &hub, &collection, &mut batch).await?;
        }
    }
    total += flush(store, &hub, &collection, &mut batch).await?;
    raise_warnings(store, &orgs, &mut rng, now).await?;
    println!(
        "filled {total} objects ({indicators} indicators, {} sightings) in {:.1} s",
        args.sightings,
        started.elapsed().as_secs_f64()
    );
    Ok(caller(&orgs[0].id, Role::Analyst))
}

/// Warnings as a busy hub has them: 10,000 over the 90 days, a fifth of them for the first
/// organisation (whose analyst the measurements sign in as).
async fn raise_warnings(
    store: &SqlStore,
    orgs: &[watchpost_store::Org],
    rng: &mut Rng,
    now: i64,
) -> Result<()> {
    for n in 0..WARNINGS {
        let org = if n % 5 == 0 {
            &orgs[0]
        } else {
            &orgs[rng.below(ORGS as u64) as usize]
        };
        let seen = now - rng.below(90 * DAY_MICROS as u64) as i64;
        let detail = json!({"indicator_name": format!("C2 server {n}"),
            "pattern": format!("[ipv4-addr:value = '{}']", ipv4(rng)),
            "observation": format!("{{\"src_ip\": \"{}\", \"dest_port\": 443}}", ipv4(rng))});
        store
            .raise_warning(watchpost_store::NewWarning {
                indicator_id: indicator_id(n),
                org: org.name.clone(),
                severity: ["low", "medium", "high", "critical"][n % 4].into(),
                seen,
                now: seen,
                dedup_window: 3_600_000_000,
                escalate_at: None,
                detail: detail.to_string(),
                deliveries: Vec::new(),
            })
            .await?;
    }
    Ok(())
}

async fn flush(
    store: &SqlStore,
    caller: &Caller,
    collection: &str,
    batch: &mut Vec<NewObject>,
) -> Result<usize> {
    let n = batch.len();
    store
        .add_objects(caller, collection, std::mem::take(batch), Vec::new())
        .await?;
    Ok(n)
}

fn new_object(object: Value) -> NewObject {
    let text = |k: &str| {
        object
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let version = object
        .get("modified")
        .and_then(Value::as_str)
        .and_then(|m| Timestamp::parse(m).ok())
        .map(|t| t.unix_micros());
    // One object in ten is AMBER, as in a hub that takes partners' restricted intelligence.
    let amber = text("id").ends_with('7');
    NewObject {
        id: text("id"),
        object_type: text("type"),
        version,
        spec_version: "2.1".into(),
        tlp: amber.then_some(Tlp::Amber),
        recipients: Vec::new(),
        body: object.to_string(),
    }
}

const CREATED: &str = "2026-01-01T00:00:00.000Z";

fn indicator_id(n: usize) -> String {
    format!("indicator--{:08x}-0000-4000-8000-{:012x}", n, n)
}

fn named_id(n: usize) -> (String, &'static str) {
    let kind = if n < MALWARE {
        "malware"
    } else if n < MALWARE + ACTORS {
        "intrusion-set"
    } else {
        "attack-pattern"
    };
    (format!("{kind}--{:08x}-0000-4000-8000-{:012x}", n, n), kind)
}

fn indicator(rng: &mut Rng, n: usize) -> Value {
    json!({"type": "indicator", "spec_version": "2.1", "id": indicator_id(n),
        "created": CREATED, "modified": CREATED, "name": format!("C2 server {n}"),
        "pattern": format!("[ipv4-addr:value = '{}']", ipv4(rng)), "pattern_type": "stix",
        "valid_from": CREATED})
}

fn named_object(n: usize) -> Value {
    let (id, kind) = named_id(n);
    let mut o = json!({"type": kind, "spec_version": "2.1", "id": id, "created": CREATED,
        "modified": CREATED, "name": format!("{kind} {n}")});
    if kind == "malware" {
        o["is_family"] = json!(true);
    }
    if kind == "attack-pattern" {
        o["external_references"] =
            json!([{"source_name": "mitre-attack", "external_id": format!("T{}", 1000 + n)}]);
    }
    o
}

fn link(rng: &mut Rng, n: usize) -> Value {
    let target = named_id(rng.below((MALWARE + ACTORS + TECHNIQUES) as u64) as usize).0;
    json!({"type": "relationship", "spec_version": "2.1", "id": format!("relationship--{}", uuid4(rng)),
        "created": CREATED, "modified": CREATED, "relationship_type": "indicates",
        "source_ref": indicator_id(n % HOT), "target_ref": target})
}

fn sighting(rng: &mut Rng, n: usize, org: &str, now: i64) -> Value {
    let seen = now - rng.below(90 * DAY_MICROS as u64) as i64;
    let stamp = |t: i64| Timestamp::from_unix_micros(t - t.rem_euclid(1000)).to_string();
    json!({"type": "sighting", "spec_version": "2.1", "id": format!("sighting--{}", uuid4(rng)),
        "created": stamp(seen), "modified": stamp(seen), "count": 1 + rng.below(20),
        "first_seen": stamp(seen), "last_seen": stamp(seen),
        "sighting_of_ref": indicator_id(rng.below(HOT as u64) as usize + n % 2),
        "where_sighted_refs": [org]})
}
