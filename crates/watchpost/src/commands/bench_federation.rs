//! `watchpost bench federation`: hub-to-hub throughput. Two hubs on this machine, each with
//! its SQLite store; the receiving one serves TAXII 2.1 on 127.0.0.1 and holds the sending
//! hub's public key. The sending hub stores `--objects` new indicators (as a partner's feed
//! would have brought them) and then pushes them as it does to any peer: read as the peer
//! (the read rules applied), signed, POSTed in envelopes of 500, each checked and stored by the
//! receiver. The time is from the first read to the last acknowledged envelope: the catch-up
//! time of a peer that was away while that much was added.

use super::admin::runtime;
use anyhow::{Context, Result};
use clap::Args;
use serde_json::json;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;
use watchpost_pattern::workload::{ipv4, Rng};
use watchpost_pattern::SyntaxChecker;
use watchpost_stix::marking::Tlp;
use watchpost_stix::{Timestamp, Validator};
use watchpost_store::{
    Caller, NewCollection, NewObject, NewOrg, NewPeer, NewUser, Query, Role, SqlStore, Store,
};
use watchpost_taxii::push::Pusher;
use watchpost_taxii::server::{Config, Server};

#[derive(Args)]
pub struct FederationArgs {
    /// New objects the sending hub pushes.
    #[arg(long, default_value_t = 100_000)]
    pub objects: usize,
    /// Where the two databases go (a temporary directory when omitted).
    #[arg(long)]
    pub dir: Option<std::path::PathBuf>,
}

const COLLECTION: &str = "0f3a9d52-6c1e-4b7a-9e2d-5a8c7b6d4e31";

pub fn run(args: FederationArgs) -> Result<ExitCode> {
    let dir = args.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("watchpost-federation-{}", std::process::id()))
    });
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let result = runtime()?.block_on(async {
        let sender = hub(&dir.join("sender.db")).await?;
        let receiver = hub(&dir.join("receiver.db")).await?;
        let (base, token) = serve_receiver(&receiver, &sender).await?;
        let filled = Instant::now();
        fill(&sender, args.objects).await?;
        println!(
            "sender: {} objects stored in {:.1} s",
            args.objects,
            filled.elapsed().as_secs_f64()
        );
        let push = [COLLECTION.to_string()];
        let peer = sender
            .add_peer(NewPeer {
                name: "receiver",
                url: &format!("{base}/taxii2/api/"),
                token: &token,
                public_key: None,
                push: &push,
            })
            .await?;
        let secret = sender.signing_key().await?;
        let pusher = Pusher::new(sender.clone() as Arc<dyn Store>, secret);
        let started = Instant::now();
        let report = pusher.push(&peer, &peer.pushes[0]).await?;
        let took = started.elapsed().as_secs_f64();
        let arrived = count(&receiver).await?;
        println!(
            "pushed {} objects in {} envelopes in {took:.1} s: {:.0} objects/s hub to hub; \
             the receiver holds {arrived}, {} refused",
            report.sent,
            report.envelopes,
            report.sent as f64 / took,
            report.refused
        );
        anyhow::ensure!(arrived == args.objects, "the receiver holds {arrived}");
        Ok(ExitCode::SUCCESS)
    });
    if args.dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

/// A hub: its store, with the organisations of both ends and the shared collection.
async fn hub(path: &std::path::Path) -> Result<Arc<SqlStore>> {
    let url = format!("sqlite://{}", path.display());
    let store = Arc::new(SqlStore::open(&url).await.with_context(|| url.clone())?);
    for name in ["sender", "receiver"] {
        store
            .add_org(NewOrg {
                name: name.into(),
                ..Default::default()
            })
            .await?;
    }
    store
        .add_collection(NewCollection {
            id: Some(COLLECTION.into()),
            title: "Shared".into(),
            description: None,
            readers: None,
            writers: vec!["sender".into()],
            default_tlp: Tlp::Green,
            sharing_group: None,
        })
        .await?;
    Ok(store)
}

/// Serves the receiver, with the sender's peer account and key; returns (base URL, token).
async fn serve_receiver(receiver: &Arc<SqlStore>, sender: &SqlStore) -> Result<(String, String)> {
    receiver
        .add_user(NewUser {
            username: "sender-hub".into(),
            org_name: "sender".into(),
            role: Role::Peer,
            password: "bench-password-1".into(),
        })
        .await?;
    let token = receiver.create_token("sender-hub").await?;
    let key = watchpost_taxii::signing::public_key(&sender.signing_key().await?);
    receiver
        .add_peer(NewPeer {
            name: "sender",
            url: "http://127.0.0.1:9/taxii2/api/",
            token: "-",
            public_key: Some(&key),
            push: &[],
        })
        .await?;
    let server = Server::new(
        receiver.clone(),
        Validator::new().with_pattern_syntax(SyntaxChecker),
        Config::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let router = server.router();
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok((base, token))
}

/// Stores `n` GREEN indicators as a feed of a third party would have (owned by the sender's
/// organisation's feed), in batches of 1,000.
async fn fill(store: &SqlStore, n: usize) -> Result<()> {
    let org = store
        .orgs()
        .await?
        .into_iter()
        .find(|o| o.name == "sender")
        .context("no sender organisation")?;
    let caller = Caller {
        user: "bench".into(),
        org: org.id,
        role: Role::Admin,
    };
    let mut rng = Rng::new(11);
    let stamp = Timestamp::now().to_string();
    let mut batch = Vec::with_capacity(1000);
    for i in 0..n {
        let id = format!("indicator--{:08x}-1111-4000-8000-{:012x}", i, i);
        let body = json!({"type": "indicator", "spec_version": "2.1", "id": id,
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
            "name": format!("Indicator {i}"), "pattern_type": "stix",
            "pattern": format!("[ipv4-addr:value = '{}']", ipv4(&mut rng)),
            "valid_from": stamp});
        batch.push(NewObject {
            id,
            object_type: "indicator".into(),
            version: Some(1_767_225_600_000_000),
            spec_version: "2.1".into(),
            tlp: None,
            recipients: Vec::new(),
            body: body.to_string(),
        });
        if batch.len() == 1000 || i + 1 == n {
            store
                .add_objects(&caller, COLLECTION, std::mem::take(&mut batch), Vec::new())
                .await?;
        }
    }
    Ok(())
}

/// Objects in the receiver's shared collection.
async fn count(store: &SqlStore) -> Result<usize> {
    let org = store
        .orgs()
        .await?
        .into_iter()
        .find(|o| o.name == "receiver")
        .context("no receiver organisation")?;
    let reader = Caller {
        user: "bench".into(),
        org: org.id,
        role: Role::Reader,
    };
    let mut total = 0;
    let mut after = None;
    loop {
        let query = Query {
            added_after: after,
            limit: 10_000,
            with_body: false,
            ..Query::default()
        };
        let page = store.read(&reader, COLLECTION, &query).await?;
        let Some(last) = page.objects.last().map(|o| o.date_added).or(page.next) else {
            return Ok(total);
        };
        total += page.objects.len();
        after = Some(last);
    }
}
