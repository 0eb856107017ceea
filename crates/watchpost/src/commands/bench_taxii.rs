//! `watchpost bench taxii`: the TAXII server on 127.0.0.1 over a SQLite file, driven over HTTP:
//! objects ingested per second (envelopes of indicators) and read per second when paging with
//! `limit`/`next`, at growing collection sizes; then the same work at a small size against the
//! OASIS reference server medallion (memory backend), for the ratio.

use super::admin::runtime;
use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Deserialize;
use serde_json::json;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use watchpost_pattern::workload::{indicators, uuid4, Rng};
use watchpost_pattern::SyntaxChecker;
use watchpost_stix::marking::Tlp;
use watchpost_stix::Validator;
use watchpost_store::{NewCollection, NewOrg, NewUser, Role, SqlStore, Store};
use watchpost_taxii::media::TAXII;
use watchpost_taxii::{Config, Server};

#[derive(Args)]
pub struct TaxiiArgs {
    /// Objects to store in the end; read rates are measured at 1,000, 10,000, 100,000… up to it.
    #[arg(long, default_value_t = 1_000_000)]
    objects: usize,
    /// Indicators per POSTed envelope.
    #[arg(long, default_value_t = 1000)]
    envelope: usize,
    /// `limit` of each page read.
    #[arg(long, default_value_t = 1000)]
    limit: usize,
    /// Concurrent clients posting envelopes (each waits for its answer before the next POST).
    #[arg(long, default_value_t = 1)]
    clients: usize,
    /// Objects for the comparison with medallion (0 to skip it).
    #[arg(long, default_value_t = 4000)]
    medallion_objects: usize,
    /// The Python with medallion installed.
    #[arg(long, env = "WATCHPOST_PYTHON", default_value = ".venv/bin/python")]
    python: PathBuf,
    /// Directory for the SQLite file (a temporary one if omitted).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// A TAXII collection to drive, and how to authenticate to it.
struct Target {
    objects_url: String,
    auth: String,
}

#[derive(Deserialize)]
struct PageEnvelope {
    #[serde(default)]
    more: bool,
    next: Option<String>,
    #[serde(default)]
    objects: Vec<serde::de::IgnoredAny>,
}

struct ReadRun {
    objects: usize,
    total: Duration,
    pages: Vec<Duration>,
}

impl ReadRun {
    fn rate(&self) -> f64 {
        self.objects as f64 / self.total.as_secs_f64()
    }

    /// Median time of the first and of the last `n` pages.
    fn ends(&self, n: usize) -> (Duration, Duration) {
        let median = |s: &[Duration]| {
            let mut v = s.to_vec();
            v.sort();
            v.get(v.len() / 2).copied().unwrap_or_default()
        };
        let n = n.min(self.pages.len());
        (
            median(&self.pages[..n]),
            median(&self.pages[self.pages.len() - n..]),
        )
    }
}

impl Target {
    async fn post(&self, http: &reqwest::Client, body: String) -> Result<Duration> {
        let start = Instant::now();
        let resp = http
            .post(&self.objects_url)
            .header("authorization", &self.auth)
            .header("accept", TAXII)
            .header("content-type", TAXII)
            .body(body)
            .send()
            .await?;
        let status = resp.status();
        let text = resp.text().await?;
        let elapsed = start.elapsed();
        if status.as_u16() != 202 {
            bail!("POST {} answered {status}: {text}", self.objects_url);
        }
        Ok(elapsed)
    }

    async fn page_through(&self, http: &reqwest::Client, limit: usize) -> Result<ReadRun> {
        let mut run = ReadRun {
            objects: 0,
            total: Duration::ZERO,
            pages: Vec::new(),
        };
        let mut next: Option<String> = None;
        loop {
            let mut url = format!("{}?limit={limit}", self.objects_url);
            if let Some(n) = &next {
                url.push_str(&format!("&next={n}"));
            }
            let start = Instant::now();
            let resp = http
                .get(&url)
                .header("authorization", &self.auth)
                .header("accept", TAXII)
                .send()
                .await?;
            let status = resp.status();
            let bytes = resp.bytes().await?;
            if !status.is_success() {
                bail!(
                    "GET {url} answered {status}: {}",
                    String::from_utf8_lossy(&bytes)
                );
            }
            let page: PageEnvelope =
                serde_json::from_slice(&bytes).with_context(|| format!("GET {url}"))?;
            let elapsed = start.elapsed();
            run.total += elapsed;
            run.pages.push(elapsed);
            run.objects += page.objects.len();
            match (page.more, page.next) {
                (true, Some(n)) => next = Some(n),
                _ => return Ok(run),
            }
        }
    }
}

/// Envelopes of generated indicators (ids from a seeded generator, so runs are comparable).
struct Envelopes {
    patterns: std::vec::IntoIter<String>,
    rng: Rng,
    size: usize,
}

impl Envelopes {
    fn new(count: usize, size: usize, seed: u64) -> Self {
        Envelopes {
            patterns: indicators(count, seed).0.into_iter(),
            rng: Rng::new(seed ^ 0x5eed),
            size,
        }
    }
}

impl Iterator for Envelopes {
    /// The envelope and how many objects it carries.
    type Item = (String, usize);

    fn next(&mut self) -> Option<(String, usize)> {
        let objects: Vec<_> = self
            .patterns
            .by_ref()
            .take(self.size)
            .map(|pattern| {
                json!({"type": "indicator", "spec_version": "2.1",
                    "id": format!("indicator--{}", uuid4(&mut self.rng)),
                    "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z",
                    "name": "generated", "pattern": pattern, "pattern_type": "stix",
                    "valid_from": "2025-01-01T00:00:00Z"})
            })
            .collect();
        (!objects.is_empty()).then(|| (json!({ "objects": objects }).to_string(), objects.len()))
    }
}

/// Posts `count` objects from `clients` concurrent clients; returns objects per second of
/// wall time. The envelopes are generated first, so the client's JSON building is not timed.
async fn ingest(
    target: &Target,
    http: &reqwest::Client,
    envelopes: &mut Envelopes,
    count: usize,
    clients: usize,
) -> Result<f64> {
    let mut batch = Vec::new();
    let mut sent = 0;
    while sent < count {
        let Some((body, n)) = envelopes.next() else {
            break;
        };
        sent += n;
        batch.push(body);
    }
    let queue = std::sync::Mutex::new(batch);
    let start = Instant::now();
    let workers = (0..clients.max(1)).map(|_| async {
        loop {
            let next = queue
                .lock()
                .map_err(|_| anyhow::anyhow!("queue poisoned"))?
                .pop();
            match next {
                Some(body) => {
                    target.post(http, body).await?;
                }
                None => return Ok::<(), anyhow::Error>(()),
            }
        }
    });
    for r in futures_util::future::join_all(workers).await {
        r?;
    }
    Ok(sent as f64 / start.elapsed().as_secs_f64())
}

async fn watchpost_hub(db: &str) -> Result<(Arc<SqlStore>, String, String)> {
    let store = Arc::new(SqlStore::open(db).await?);
    store
        .add_org(NewOrg {
            name: "bench".into(),
            ..Default::default()
        })
        .await?;
    let user = NewUser {
        username: "bench".into(),
        org_name: "bench".into(),
        role: Role::Analyst,
        password: "bench-password".into(),
    };
    store.add_user(user).await?;
    let token = store.create_token("bench").await?;
    let server = Server::new(
        store.clone(),
        Validator::new().with_pattern_syntax(SyntaxChecker),
        Config::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let router = server.router();
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok((store, base, format!("Bearer {token}")))
}

async fn new_collection(store: &SqlStore, base: &str, auth: &str) -> Result<Target> {
    let id = store
        .add_collection(NewCollection {
            id: None,
            title: "bench".into(),
            description: None,
            readers: None,
            writers: vec!["bench".into()],
            default_tlp: Tlp::Green,
            sharing_group: None,
        })
        .await?;
    Ok(Target {
        objects_url: format!("{base}/taxii2/api/collections/{id}/objects/"),
        auth: auth.to_string(),
    })
}

pub fn run(args: TaxiiArgs) -> Result<ExitCode> {
    runtime()?.block_on(async move {
        let tmp = tempfile::tempdir()?;
        let dir = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
        let db = format!("sqlite://{}", dir.join("bench-taxii.db").display());
        let (store, base, auth) = watchpost_hub(&db).await?;
        let http = reqwest::Client::new();
        println!(
            "watchpost TAXII server, SQLite ({db}), {} client(s), envelopes of {}, limit={}",
            args.clients, args.envelope, args.limit
        );
        println!(
            "{:>10} {:>14} {:>14} {:>12} {:>12}",
            "stored", "ingest obj/s", "read obj/s", "first page", "last page"
        );
        let target = new_collection(&store, &base, &auth).await?;
        let mut envelopes = Envelopes::new(args.objects, args.envelope, 1);
        let (mut stored, mut checkpoint) = (0, 1000.min(args.objects));
        while stored < args.objects {
            let rate = ingest(
                &target,
                &http,
                &mut envelopes,
                checkpoint - stored,
                args.clients,
            )
            .await?;
            stored = checkpoint;
            let read = median_read(&target, &http, args.limit).await?;
            if read.objects != stored {
                bail!("paging returned {} objects of {stored}", read.objects);
            }
            let (first, last) = read.ends(5);
            println!(
                "{stored:>10} {rate:>14.0} {:>14.0} {:>10.2}ms {:>10.2}ms",
                read.rate(),
                ms(first),
                ms(last)
            );
            checkpoint = (checkpoint * 10).min(args.objects);
        }
        if args.medallion_objects > 0 {
            compare_with_medallion(&args, &store, &base, &auth, &http, &dir).await?;
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Pages through the collection three times; the run with the median rate.
async fn median_read(target: &Target, http: &reqwest::Client, limit: usize) -> Result<ReadRun> {
    let mut runs = Vec::new();
    for _ in 0..3 {
        runs.push(target.page_through(http, limit).await?);
    }
    runs.sort_by(|a, b| a.rate().total_cmp(&b.rate()));
    Ok(runs.swap_remove(1))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A medallion process; killed when dropped.
struct Medallion(Child);

impl Drop for Medallion {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_medallion(
    python: &PathBuf,
    dir: &std::path::Path,
    collection: &str,
) -> Result<(Medallion, String)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let data = json!({
        "/discovery": {"title": "medallion", "default": format!("{base}/api1/"), "api_roots": [format!("{base}/api1/")]},
        "api1": {
            "information": {"title": "api1", "versions": [TAXII], "max_content_length": 100_000_000},
            "status": [],
            "collections": [{"id": collection, "title": "bench", "can_read": true, "can_write": true,
                "media_types": ["application/stix+json;version=2.1"], "objects": [], "manifest": []}]
        }
    });
    let data_path = dir.join("medallion-data.json");
    std::fs::write(&data_path, data.to_string())?;
    let config = json!({
        "backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend", "filename": data_path},
        "users": {"bench": "bench-password"},
        "taxii": {"max_page_size": 1000}
    });
    let config_path = dir.join("medallion-config.json");
    std::fs::write(&config_path, config.to_string())?;
    let child = Command::new(python)
        .args([
            "-m",
            "medallion.scripts.run",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .arg(&config_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start medallion with {}", python.display()))?;
    let medallion = Medallion(child);
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok((medallion, base));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("medallion did not start listening on port {port}")
}

async fn compare_with_medallion(
    args: &TaxiiArgs,
    store: &SqlStore,
    base: &str,
    auth: &str,
    http: &reqwest::Client,
    dir: &std::path::Path,
) -> Result<()> {
    let n = args.medallion_objects;
    let collection = "91a7b528-80eb-42ed-a74d-c6fbd5a26116";
    let (_medallion, mbase) = start_medallion(&args.python, dir, collection).await?;
    let basic = format!("Basic {}", base64_basic("bench", "bench-password"));
    let theirs = Target {
        objects_url: format!("{mbase}/api1/collections/{collection}/objects/"),
        auth: basic,
    };
    let ours = new_collection(store, base, auth).await?;
    println!(
        "\nsame work on both servers: {n} objects, envelopes of {}, limit={}",
        args.envelope, args.limit
    );
    println!(
        "{:>12} {:>14} {:>14}",
        "server", "ingest obj/s", "read obj/s"
    );
    let mut rates = Vec::new();
    for (name, target) in [("watchpost", &ours), ("medallion", &theirs)] {
        let ingest_rate = ingest(
            target,
            http,
            &mut Envelopes::new(n, args.envelope, 2),
            n,
            args.clients,
        )
        .await?;
        let read = target.page_through(http, args.limit).await?;
        if read.objects != n {
            bail!("{name}: paging returned {} objects of {n}", read.objects);
        }
        println!("{name:>12} {ingest_rate:>14.0} {:>14.0}", read.rate());
        rates.push((ingest_rate, read.rate()));
    }
    println!(
        "{:>12} {:>13.0}x {:>13.0}x",
        "ratio",
        rates[0].0 / rates[1].0,
        rates[0].1 / rates[1].1
    );
    Ok(())
}

fn base64_basic(user: &str, password: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}
