//! `peer add` and `peer list`: the hubs this hub exchanges with (federation). What it pulls
//! from a peer is a TAXII feed per collection (polled by `serve`); what it pushes is read for
//! the peer as a `peer` caller, so the store decides what may leave (`watchpost_taxii::push`),
//! and signed with this hub's Ed25519 key (`peer key` prints its public half).

use super::admin::{runtime, DbArg};
use anyhow::{Context, Result};
use clap::Subcommand;
use std::process::ExitCode;
use watchpost_coop::hub;
use watchpost_stix::marking::Tlp;
use watchpost_store::{FeedKind, NewCollection, NewFeed, NewPeer, SqlStore, Store, StoreError};

#[derive(Subcommand)]
pub enum PeerCommand {
    /// Exchange with another hub over TAXII 2.1. NAME is the peer's organisation on this hub
    /// (added when unknown); give its accounts here the `peer` role (`user add --role peer`).
    Add {
        name: String,
        /// The peer's TAXII 2.1 API root, e.g. https://hub.cert.la/taxii2/api/.
        #[arg(long)]
        url: String,
        /// This hub's API token on the peer.
        #[arg(long, env = "WATCHPOST_PEER_TOKEN")]
        token: String,
        /// Collections to pull from the peer (same ids here; created when missing).
        #[arg(long, value_delimiter = ',')]
        pull: Vec<String>,
        /// Collections to push to the peer (same ids there).
        #[arg(long, value_delimiter = ',')]
        push: Vec<String>,
        /// The peer's public key (what `watchpost peer key` prints on it): envelopes its
        /// account pushes here must then be signed with its key.
        #[arg(long)]
        key: Option<String>,
        /// Seconds between pulls.
        #[arg(long, default_value_t = 60)]
        every: i64,
        #[command(flatten)]
        db: DbArg,
    },
    /// Print this hub's public key, for its peers' `peer add --key`.
    Key {
        #[command(flatten)]
        db: DbArg,
    },
    /// List the peers, what is pushed to each and how far, and what is pulled.
    List {
        #[command(flatten)]
        db: DbArg,
    },
}

pub fn run(cmd: PeerCommand) -> Result<ExitCode> {
    runtime()?.block_on(async {
        match cmd {
            PeerCommand::Add {
                name,
                url,
                token,
                pull,
                push,
                key,
                every,
                db,
            } => {
                let store = db.open().await?;
                // 24/7 requests to and from the peer's organisation travel in the requests
                // collection, pushed to every peer (only what is addressed to it crosses).
                hub::open_collection(store.as_ref(), &[]).await?;
                let mut pushed = push.clone();
                pushed.push(hub::COLLECTION.to_string());
                let new = NewPeer {
                    name: &name,
                    url: &url,
                    token: &token,
                    public_key: key.as_deref(),
                    push: &pushed,
                };
                let peer = store.add_peer(new).await?;
                hub::open_collection(store.as_ref(), &[&peer.name]).await?;
                for remote in &pull {
                    pull_feed(&store, &peer, remote, every).await?;
                }
                println!(
                    "peer {}: {} (push {}, pull {})",
                    peer.name,
                    peer.url,
                    push.join(","),
                    pull.join(",")
                );
                Ok(ExitCode::SUCCESS)
            }
            PeerCommand::List { db } => list(db.open().await?.as_ref()).await,
            PeerCommand::Key { db } => {
                let secret = db.open().await?.signing_key().await?;
                println!("{}", watchpost_taxii::signing::public_key(&secret));
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

/// A TAXII feed of the peer's collection into the collection of the same id here.
async fn pull_feed(
    store: &SqlStore,
    peer: &watchpost_store::Peer,
    remote: &str,
    every: i64,
) -> Result<()> {
    let local = NewCollection {
        id: Some(remote.to_string()),
        title: format!("From {}", peer.name),
        description: Some(format!("Pulled from the peer hub {}", peer.name)),
        readers: None,
        writers: vec![peer.name.clone()],
        default_tlp: Tlp::Green,
        sharing_group: None,
    };
    match store.add_collection(local).await {
        Ok(_) | Err(StoreError::Conflict(_)) => {}
        Err(e) => return Err(e).context("cannot create the local collection"),
    }
    let feed = NewFeed {
        kind: FeedKind::Taxii,
        api_root: peer.url.clone(),
        remote: remote.to_string(),
        collection: remote.to_string(),
        org_name: peer.name.clone(),
        auth: Some(format!("Bearer {}", peer.token)),
        interval_secs: every,
    };
    match store.add_feed(feed).await {
        Ok(_) | Err(StoreError::Conflict(_)) => Ok(()),
        Err(e) => Err(e).context("cannot add the pull feed"),
    }
}

async fn list(store: &SqlStore) -> Result<ExitCode> {
    let feeds = store.feeds().await?;
    for peer in store.peers().await? {
        println!("{}\t{}", peer.name, peer.url);
        println!("  requests taken in up to {}", peer.requests_read);
        for s in &peer.pushes {
            let error = s.last_error.as_deref().unwrap_or("");
            println!(
                "  push {}\tup to {}\t{} failures\t{error}",
                s.collection, s.last_added, s.failures
            );
        }
        for f in feeds
            .iter()
            .filter(|f| f.org == peer.org && f.api_root == peer.url)
        {
            println!(
                "  pull {}\tlast polled {}\t{}",
                f.remote,
                f.last_polled.map_or("never".to_string(), |t| t.to_string()),
                f.last_error.as_deref().unwrap_or("")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
