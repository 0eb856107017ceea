//! `serve` and `demo`: the hub itself, serving TAXII 2.1 over the knowledge base.

use super::admin::{import_files, runtime, DbArg};
use anyhow::{Context, Result};
use clap::Args;
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

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub db: DbArg,
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

async fn run_server(store: Arc<SqlStore>, listen: SocketAddr) -> Result<()> {
    let poller = Poller::new(
        store.clone(),
        Validator::new().with_pattern_syntax(SyntaxChecker),
    );
    tokio::spawn(Arc::new(poller).run());
    let validator = Validator::new().with_pattern_syntax(SyntaxChecker);
    let server = Server::new(store, validator, Config::default());
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    // Tests and scripts read this line to learn the port (with --listen 127.0.0.1:0).
    println!("TAXII 2.1 discovery: http://{addr}{DISCOVERY}");
    axum::serve(listener, server.router())
        .with_graceful_shutdown(shutdown())
        .await?;
    Ok(())
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
    runtime()?.block_on(async {
        let store = args.db.open().await?;
        run_server(store, args.listen).await?;
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
        if store.orgs().await?.is_empty() {
            seed(&store, &args.data).await?;
        }
        println!("Watchpost demo hub on {} ({})", args.listen, args.db);
        println!("  login: {DEMO_USER} / {DEMO_PASSWORD} (VNCERT, admin); also lao-analyst and cam-reader, same password");
        println!("  try: curl -u {DEMO_USER}:{DEMO_PASSWORD} http://{}/taxii2/api/collections/", args.listen);
        if !args.no_serve {
            run_server(store, args.listen).await?;
        }
        Ok(ExitCode::SUCCESS)
    })
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
    Ok(())
}
