//! `serve` and `demo`: the hub itself, serving TAXII 2.1 over the knowledge base.

use super::admin::{import_files, runtime, DbArg};
use super::watch::WatchArgs;
use super::watch_hub::Hub;
use anyhow::{Context, Result};
use clap::Args;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use watchpost_pattern::SyntaxChecker;
use watchpost_stix::marking::Tlp;
use watchpost_stix::Validator;
use watchpost_store::{NewCollection, NewOrg, NewUser, Role, SqlStore, Store};
use watchpost_taxii::client::Poller;
use watchpost_taxii::server::DISCOVERY;
use watchpost_taxii::{Config, Server};
use watchpost_warn::{Courier, Warnings};

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub db: DbArg,
    #[command(flatten)]
    pub warn: WarnArgs,
    #[command(flatten)]
    pub sources: SourceArgs,
    /// Mark the console's cookies `Secure`: for a hub reached over HTTPS (through a proxy that
    /// ends TLS). Browsers then never send them over plain HTTP.
    #[arg(long, env = "WATCHPOST_SECURE_COOKIES")]
    pub secure_cookies: bool,
}

/// How the hub warns: `serve` delivers what is in the outbox.
#[derive(Args, Clone, Default)]
pub struct WarnArgs {
    /// The warning settings (JSON: secret, ack_base_url, dedup_window_secs,
    /// escalate_after_secs, delivery, smtp); see `watchpost_warn::Config`.
    #[arg(long, env = "WATCHPOST_WARN_CONFIG")]
    pub warn_config: Option<PathBuf>,
    /// Where the hub's secret is kept when neither the configuration nor WATCHPOST_SECRET
    /// gives one; created (random, readable by the owner only) on first start.
    #[arg(long, default_value = "watchpost.secret")]
    pub secret_file: PathBuf,
}

/// Telemetry the hub watches while it serves (its indicators, sightings and warnings).
#[derive(Args, Clone, Default)]
pub struct SourceArgs {
    /// Suricata EVE JSON files to watch.
    #[arg(long)]
    pub eve: Vec<PathBuf>,
    /// Zeek logs (files or directories) to watch.
    #[arg(long)]
    pub zeek: Vec<PathBuf>,
    /// Keep reading the files as they grow, through rotation (like `tail -F`).
    #[arg(long)]
    pub follow: bool,
    /// The collection sightings are stored in (required with --eve/--zeek).
    #[arg(long)]
    pub sightings_collection: Option<String>,
    /// The organisation that stores the sightings.
    #[arg(long)]
    pub org: Option<String>,
    /// Sightings aggregate an indicator's matches in one organisation over this many seconds.
    #[arg(long, default_value_t = 3600)]
    pub window: u32,
    /// Where malformed telemetry lines are written.
    #[arg(long, default_value = "watchpost-quarantine.jsonl")]
    pub quarantine: PathBuf,
}

impl SourceArgs {
    fn any(&self) -> bool {
        !self.eve.is_empty() || !self.zeek.is_empty()
    }

    fn watch_args(&self, db: &str) -> WatchArgs {
        WatchArgs {
            indicators: None,
            db: db.to_string(),
            sightings_collection: self.sightings_collection.clone(),
            org: self.org.clone(),
            window: self.window,
            eve: self.eve.clone(),
            zeek: self.zeek.clone(),
            json: Vec::new(),
            mapping: None,
            sightings_out: PathBuf::from("/dev/null"),
            warn_config: None,
            quarantine: self.quarantine.clone(),
            follow: self.follow,
            reload_every: 10,
        }
    }
}

/// The warning configuration, with a secret: from the file, WATCHPOST_SECRET, or the
/// secret file (created when missing).
fn warn_config(args: &WarnArgs) -> Result<watchpost_warn::Config> {
    let mut config = super::watch_hub::warn_config(args.warn_config.as_deref())?;
    if config.secret.is_empty() {
        config.secret = secret_from_file(&args.secret_file)?;
    }
    Ok(config)
}

fn secret_from_file(path: &Path) -> Result<String> {
    if let Ok(text) = std::fs::read_to_string(path) {
        let secret = text.trim().to_string();
        if secret.len() >= 32 {
            return Ok(secret);
        }
        anyhow::bail!(
            "the secret in {} is shorter than 32 characters; remove the file to have a new one made",
            path.display()
        );
    }
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create the secret file {}", path.display()))?;
    std::io::Write::write_all(&mut file, secret.as_bytes())?;
    Ok(secret)
}

#[derive(Args)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Database URL; demo data is added on first start.
    #[arg(
        long,
        env = "WATCHPOST_DEMO_DB",
        default_value = "sqlite://watchpost-demo.db"
    )]
    pub db: String,
    /// Where the demo files are (the repository's demo/ directory).
    #[arg(long, default_value = "demo")]
    pub data: PathBuf,
    /// Seed the database and exit instead of serving.
    #[arg(long)]
    pub no_serve: bool,
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Starts what runs beside the server: the courier of the outbox, and the watch of the
/// configured telemetry (on a thread of its own: matching is not async work).
fn start_warning(
    store: &Arc<SqlStore>,
    config: &watchpost_warn::Config,
    sources: &SourceArgs,
    db: &str,
) -> Result<()> {
    let courier = Courier::new(store.clone() as Arc<dyn Store>, config.clone())?;
    tokio::spawn(async move { courier.run(shutdown()).await });
    if !sources.any() {
        return Ok(());
    }
    let args = sources.watch_args(db);
    let store = store.clone();
    let config = config.clone();
    let handle = tokio::runtime::Handle::current();
    std::thread::Builder::new()
        .name("watch".into())
        .spawn(move || {
            let result = watch_sources(&args, store, config, &handle);
            if let Err(e) = result {
                tracing::error!(message = "The watch of the telemetry stopped.", error = %format!("{e:#}"));
            }
        })?;
    Ok(())
}

fn watch_sources(
    args: &WatchArgs,
    store: Arc<SqlStore>,
    config: watchpost_warn::Config,
    handle: &tokio::runtime::Handle,
) -> Result<()> {
    let (collection, org) = match (&args.sightings_collection, &args.org) {
        (Some(c), Some(o)) => (c.clone(), o.clone()),
        _ => anyhow::bail!("watching telemetry needs --sightings-collection ID and --org NAME"),
    };
    let directory = handle.block_on(super::directory::load(&store))?;
    let hub = Hub {
        warnings: Warnings::new(store.clone() as Arc<dyn Store>, directory, config),
        store,
        collection,
        org,
    };
    let report = super::watch_hub::watch(args, &hub, handle)?;
    tracing::info!(
        message = "The telemetry was watched to its end.",
        sightings = report.sightings,
        warnings = report.warnings_raised,
        unrouted = report.unrouted,
    );
    Ok(())
}

async fn run_server(
    store: Arc<SqlStore>,
    listen: SocketAddr,
    warn: &watchpost_warn::Config,
    console: watchpost_web::Config,
) -> Result<()> {
    let poller = Poller::new(
        store.clone(),
        Validator::new().with_pattern_syntax(SyntaxChecker),
    );
    tokio::spawn(Arc::new(poller).run());
    let misp = super::misp_feed::MispFeeds::new(
        store.clone(),
        Validator::new().with_pattern_syntax(SyntaxChecker),
    )?;
    tokio::spawn(Arc::new(misp).run());
    tokio::spawn(index_for_search(store.clone()));
    tokio::spawn(super::request_desk::run(store.clone(), warn.clone()));
    let secret = store
        .signing_key()
        .await
        .context("cannot read or make the hub's signing key")?;
    let pusher = watchpost_taxii::push::Pusher::new(store.clone() as Arc<dyn Store>, secret);
    tokio::spawn(Arc::new(pusher).run());
    let validator = Validator::new().with_pattern_syntax(SyntaxChecker);
    let store_for_ack = store.clone() as Arc<dyn Store>;
    let server = Server::with_signing_key(store, validator, Config::default(), secret);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    // Tests and scripts read the first line to learn the port (with --listen 127.0.0.1:0), and
    // may close the pipe after it: a hub must not die because no one reads its stdout, so
    // these lines are written without println!'s panic on a broken pipe.
    let mut out = std::io::stdout();
    let _ = writeln!(out, "TAXII 2.1 discovery: http://{addr}{DISCOVERY}");
    let routes = server
        .router()
        .merge(watchpost_warn::ack::router(
            store_for_ack.clone(),
            warn.secret.as_bytes(),
        ))
        .merge(super::export::router(server.clone(), store_for_ack.clone()))
        .merge(watchpost_web::router(store_for_ack, console));
    let _ = writeln!(out, "Console: http://{addr}/");
    let _ = out.flush();
    // The console counts failed sign-ins per client address, which the connection info gives.
    let routes = routes.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, routes)
        .with_graceful_shutdown(shutdown())
        .await?;
    Ok(())
}

/// Loads the trend facts, then keeps the search index up with what is stored, in steps that leave the writer free between
/// them; idle, it looks once a second.
async fn index_for_search(store: Arc<SqlStore>) {
    // The dashboard's first count loads every trend fact into memory; do it before anyone waits.
    let nobody = watchpost_store::Caller {
        user: "warm-up".into(),
        org: String::new(),
        role: watchpost_store::Role::Reader,
    };
    let today = watchpost_stix::Timestamp::now().unix_micros() / 86_400_000_000;
    let span = watchpost_store::TrendQuery {
        from_day: today,
        to_day: today + 1,
        bucket_days: 1,
        top: 1,
    };
    if let Err(e) = store.trends(&nobody, &span).await {
        tracing::warn!("cannot load the trend facts: {e}");
    }
    loop {
        match store.index_for_search(10_000).await {
            Ok(0) => tokio::time::sleep(std::time::Duration::from_secs(1)).await,
            Ok(_) => tokio::task::yield_now().await,
            Err(e) => {
                tracing::warn!("search indexing failed: {e}");
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            }
        }
    }
}

async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

pub fn serve(args: ServeArgs) -> Result<ExitCode> {
    init_logging();
    let config = warn_config(&args.warn)?;
    runtime()?.block_on(async {
        let store = args.db.open().await?;
        start_warning(&store, &config, &args.sources, &args.db.db)?;
        let console = watchpost_web::Config {
            secure_cookies: args.secure_cookies,
            ..watchpost_web::Config::default()
        };
        run_server(store, args.listen, &config, console).await?;
        Ok(ExitCode::SUCCESS)
    })
}

/// The demo's login, printed at start.
pub const DEMO_USER: &str = "demo";
/// The demo's password.
pub const DEMO_PASSWORD: &str = "watchpost-demo";

pub fn demo(args: DemoArgs) -> Result<ExitCode> {
    init_logging();
    runtime()?.block_on(async {
        let store = DbArg { db: args.db.clone() }.open().await?;
        let config = warn_config(&WarnArgs {
            warn_config: None,
            secret_file: PathBuf::from("watchpost-demo.secret"),
        })?;
        if store.orgs().await?.is_empty() {
            seed(&store, &args.data).await?;
            replay(&store, &args.data, &config).await?;
            println!("  list them: watchpost warnings list --db {}", args.db);
        }
        println!("Watchpost demo hub on {} ({})", args.listen, args.db);
        println!("  login: {DEMO_USER} / {DEMO_PASSWORD} (VNCERT, admin); also lao-analyst and cam-reader, same password");
        println!("  try: curl -u {DEMO_USER}:{DEMO_PASSWORD} http://{}/taxii2/api/collections/", args.listen);
        if !args.no_serve {
            start_warning(&store, &config, &SourceArgs::default(), &args.db)?;
            // The demo is served over plain HTTP on loopback: its cookies cannot be `Secure`.
            let console = watchpost_web::Config::default();
            run_server(store, args.listen, &config, console).await?;
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// The demo's sightings collection.
const DEMO_SIGHTINGS: &str = "7d0c8a52-93a4-4c1e-b1f3-2a9e5d6c4b21";

/// Replays the demo telemetry through the hub's watch: each hit routed to the organisation
/// whose network it is, stored as a sighting and raised as a warning in its outbox.
async fn replay(store: &Arc<SqlStore>, data: &Path, config: &watchpost_warn::Config) -> Result<()> {
    let recorded = data.join("telemetry/eve.json");
    let text = std::fs::read_to_string(&recorded)
        .with_context(|| format!("cannot read {}", recorded.display()))?;
    // Replayed as if it happened today, so the dashboard's recent weeks show it.
    let eve = PathBuf::from("watchpost-demo-eve.json");
    std::fs::write(&eve, shifted_to_today(&text))
        .with_context(|| format!("cannot write {}", eve.display()))?;
    let sources = SourceArgs {
        eve: vec![eve.clone()],
        sightings_collection: Some(DEMO_SIGHTINGS.into()),
        org: Some("vncert".into()),
        window: 3600,
        quarantine: PathBuf::from("watchpost-demo-quarantine.jsonl"),
        ..SourceArgs::default()
    };
    let args = sources.watch_args("");
    let (store2, config2) = (store.clone(), config.clone());
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let directory = handle.block_on(super::directory::load(&store2))?;
        let hub = Hub {
            warnings: Warnings::new(store2.clone() as Arc<dyn Store>, directory, config2),
            store: store2,
            collection: DEMO_SIGHTINGS.into(),
            org: "vncert".into(),
        };
        super::watch_hub::watch(&args, &hub, &handle)
    })
    .await
    .context("the demo replay stopped")?
    .with_context(|| format!("cannot replay {}", eve.display()))?;
    println!(
        "demo: replayed {} (malformed lines in watchpost-demo-quarantine.jsonl)",
        eve.display()
    );
    let warnings = store
        .warnings(&watchpost_store::WarningFilter::default())
        .await?;
    let directory = super::directory::load(store).await?;
    for w in &warnings {
        let detail: serde_json::Value = serde_json::from_str(&w.detail).unwrap_or_default();
        let first = watchpost_warn::warning::escalation_chain(&directory, &w.org)
            .into_iter()
            .next()
            .unwrap_or_default();
        let to: Vec<String> = first
            .iter()
            .map(|f| format!("{} ({})", f.name, f.language.code()))
            .collect();
        println!(
            "demo: {} warning to {}: {} → {}",
            w.severity,
            w.org,
            detail["indicator_name"].as_str().unwrap_or(&w.indicator_id),
            to.join(", ")
        );
    }
    Ok(())
}

/// `text` with every `YYYY-MM-DDT` date moved by the same whole number of days, so that the
/// latest falls today (UTC); times of day and zones stay as recorded.
fn shifted_to_today(text: &str) -> String {
    let day_of = |date: &str| {
        watchpost_stix::Timestamp::parse(&format!("{date}T00:00:00Z"))
            .ok()
            .map(|t| t.unix_micros().div_euclid(86_400_000_000))
    };
    let is_date = |b: &[u8]| {
        b.len() >= 11
            && b[4] == b'-'
            && b[7] == b'-'
            && b[10] == b'T'
            && [0, 1, 2, 3, 5, 6, 8, 9]
                .iter()
                .all(|&i| b[i].is_ascii_digit())
    };
    let bytes = text.as_bytes();
    let dates: Vec<(usize, i64)> = (0..bytes.len())
        .filter(|&i| is_date(&bytes[i..]))
        .filter_map(|i| day_of(&text[i..i + 10]).map(|d| (i, d)))
        .collect();
    let Some(latest) = dates.iter().map(|d| d.1).max() else {
        return text.to_string();
    };
    let shift = watchpost_stix::Timestamp::now()
        .unix_micros()
        .div_euclid(86_400_000_000)
        - latest;
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (i, day) in dates {
        out.push_str(&text[at..i]);
        let moved = watchpost_stix::Timestamp::from_unix_micros((day + shift) * 86_400_000_000);
        out.push_str(&moved.to_string()[..10]);
        at = i + 10;
    }
    out.push_str(&text[at..]);
    out
}

/// Three national CERTs of the Mekong region, a sharing group of two, and two collections:
/// ATT&CK (APT32) for everyone, and a partner feed whose AMBER objects only the group sees.
async fn seed(store: &SqlStore, data: &Path) -> Result<()> {
    let orgs = [("vncert", "VN"), ("laocert", "LA"), ("camcert", "KH")];
    for (name, cc) in orgs {
        store
            .add_org(NewOrg {
                name: name.into(),
                sector: Some("government-national".into()),
                country: Some(cc.into()),
            })
            .await?;
    }
    for (user, org, role) in [
        (DEMO_USER, "vncert", Role::Admin),
        ("lao-analyst", "laocert", Role::Analyst),
        ("cam-reader", "camcert", Role::Reader),
    ] {
        let user = NewUser {
            username: user.into(),
            org_name: org.into(),
            role,
            password: DEMO_PASSWORD.into(),
        };
        store.add_user(user).await?;
    }
    store
        .add_sharing_group("mekong", &["vncert".into(), "laocert".into()])
        .await?;
    let attack = store
        .add_collection(NewCollection {
            id: Some("2f5cf12e-8ef5-4a9d-9a7d-5c1e1cd0a8a1".into()),
            title: "MITRE ATT&CK: APT32 (OceanLotus)".into(),
            description: Some("The APT32 intrusion set, its techniques, malware and tools, from MITRE ATT&CK v18.1".into()),
            readers: None,
            writers: vec!["vncert".into()],
            default_tlp: Tlp::Clear,
            sharing_group: None,
        })
        .await?;
    let feed = store
        .add_collection(NewCollection {
            id: Some("5b0f3a4c-6f0e-4d3e-8a55-0c5c7a1b9e11".into()),
            title: "Mekong partner indicators".into(),
            description: Some(
                "Indicators shared among the Mekong CERTs; AMBER for the mekong group".into(),
            ),
            readers: None,
            writers: vec!["vncert".into(), "laocert".into()],
            default_tlp: Tlp::Green,
            sharing_group: Some("mekong".into()),
        })
        .await?;
    store
        .add_collection(NewCollection {
            id: Some(DEMO_SIGHTINGS.into()),
            title: "Sightings".into(),
            description: Some(
                "Where the hub's indicators were seen, by organisation; each sighting carries its indicator's marking".into(),
            ),
            readers: None,
            writers: vec!["vncert".into()],
            default_tlp: Tlp::Green,
            sharing_group: None,
        })
        .await?;
    for (collection, file) in [
        (&attack, "stix/apt32-oceanlotus.json"),
        (&feed, "stix/partner-feed.json"),
    ] {
        let path = data.join(file);
        let report = import_files(store, "vncert", collection, std::slice::from_ref(&path))
            .await
            .with_context(|| format!("cannot import the demo file {}", path.display()))?;
        println!(
            "demo: {} objects from {} into collection {collection}",
            report.stored,
            path.display()
        );
    }
    // The constituency directory: real VN, LA and KH ranges, and a critical-infrastructure
    // company inside the VN ones.
    let directory = data.join("directory.json");
    super::directory::import(&directory, store)
        .await
        .with_context(|| format!("cannot import the demo directory {}", directory.display()))?;
    seed_request(store).await
}

/// A preservation request from VNCERT to LaoCERT, acknowledged, with its hash-chained record
/// (`/requests` in the console; `watchpost request list --org vncert`).
async fn seed_request(store: &SqlStore) -> Result<()> {
    use watchpost_coop::chain::Case;
    use watchpost_coop::request::{Identifier, Request, RequestType, Urgency};
    use watchpost_coop::state::Event;
    let now = watchpost_stix::Timestamp::now();
    let at = |minutes: i64| {
        watchpost_stix::Timestamp::from_unix_micros(now.unix_micros() + minutes * 60_000_000)
            .to_string()
    };
    let deadline = format!("{}Z", &at(3 * 24 * 60)[..19]);
    let request = Request {
        id: Request::new_id(),
        request_type: RequestType::Preservation,
        requesting_authority: "Ministry of Public Security, A05".into(),
        case_reference: "VN-2025-0142".into(),
        legal_basis: "UN Convention against Cybercrime, art. 42".into(),
        identifiers: vec![
            Identifier::parse_ip("103.75.117.21:443@2025-11-19T23:59:01+07:00")?,
            Identifier::Domain {
                value: "update-check.example".into(),
            },
        ],
        data_holder: Some("Lao Telecom".into()),
        urgency: Urgency::Urgent,
        confidentiality: Default::default(),
        deadline: Some(deadline.parse()?),
        attachments: Vec::new(),
        from_org: "vncert".into(),
        to_org: "laocert".into(),
    };
    let mut case = Case::create(request, &at(-90), "vncert/demo");
    case.apply(Event::Send, &at(-89), "vncert/demo")?;
    case.apply(Event::Receive, &at(-89), "laocert/hub")?;
    case.apply(Event::Acknowledge, &at(-75), "laocert/lao-analyst")?;
    watchpost_coop::hub::persist(store, &case, 0).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_telemetry_moves_to_today_by_whole_days() {
        let text = "{\"timestamp\": \"2025-11-19T23:59:01.5+0700\", \"x\": \"1999-01-01\"}\n\
                    {\"timestamp\": \"2025-11-20T08:15:02.118204+0700\"}\n";
        let shifted = shifted_to_today(text);
        let today = watchpost_stix::Timestamp::now().to_string()[..10].to_string();
        let lines: Vec<&str> = shifted.lines().collect();
        assert!(
            lines[1].contains(&format!("\"{today}T08:15:02.118204+0700\"")),
            "{shifted}"
        );
        // The day before stays the day before; a date without a time is not a timestamp.
        let yesterday = watchpost_stix::Timestamp::from_unix_micros(
            watchpost_stix::Timestamp::now().unix_micros() - 86_400_000_000,
        )
        .to_string()[..10]
            .to_string();
        assert!(
            lines[0].contains(&format!("{yesterday}T23:59:01.5+0700")),
            "{shifted}"
        );
        assert!(lines[0].contains("\"1999-01-01\""));
        assert_eq!(shifted_to_today("no dates"), "no dates");
    }
}
