//! `feed add` and `feed poll`: remote TAXII 2.1 collections and MISP feeds polled into this
//! hub.

use super::admin::{runtime, DbArg};
use super::misp_feed::MispFeeds;
use anyhow::{bail, Context, Result};
use base64::Engine;
use clap::Subcommand;
use std::process::ExitCode;
use std::sync::Arc;
use watchpost_pattern::SyntaxChecker;
use watchpost_stix::marking::Tlp;
use watchpost_stix::Validator;
use watchpost_store::{Feed, FeedKind, NewCollection, NewFeed, SqlStore, Store};
use watchpost_taxii::client::Poller;

#[derive(Subcommand)]
pub enum FeedCommand {
    /// Poll a remote TAXII 2.1 collection, or a MISP feed, on a schedule (`watchpost serve`
    /// does the polling).
    Add {
        /// The remote API root, e.g. https://hub.example.org/taxii2/api/; with --misp, the
        /// feed's URL, where its manifest.json is.
        url: String,
        /// The remote collection's id (TAXII feeds).
        #[arg(long, required_unless_present = "misp", conflicts_with = "misp")]
        collection: Option<String>,
        /// The URL is a MISP feed (manifest.json and one <uuid>.json file per event).
        #[arg(long)]
        misp: bool,
        /// The local collection to fill; by default one with the remote's id, created readable
        /// by every member and writable by --org.
        #[arg(long)]
        into: Option<String>,
        /// The organisation that owns what the feed brings.
        #[arg(long)]
        org: String,
        /// Remote user name (HTTP Basic); the password comes from WATCHPOST_FEED_PASSWORD.
        #[arg(long, conflicts_with = "token")]
        user: Option<String>,
        /// Remote API token (bearer).
        #[arg(long, env = "WATCHPOST_FEED_TOKEN")]
        token: Option<String>,
        /// Seconds between polls.
        #[arg(long, default_value_t = 300)]
        every: i64,
        #[command(flatten)]
        db: DbArg,
    },
    /// Poll every feed once, now, and report.
    Poll {
        #[command(flatten)]
        db: DbArg,
    },
}

pub fn run(cmd: FeedCommand) -> Result<ExitCode> {
    runtime()?.block_on(async {
        match cmd {
            FeedCommand::Add {
                url,
                collection,
                misp,
                into,
                org,
                user,
                token,
                every,
                db,
            } => {
                let auth = match (user, token) {
                    (Some(user), _) => {
                        let password = std::env::var("WATCHPOST_FEED_PASSWORD")
                            .context("set WATCHPOST_FEED_PASSWORD to the remote user's password")?;
                        let pair = format!("{user}:{password}");
                        Some(format!(
                            "Basic {}",
                            base64::engine::general_purpose::STANDARD.encode(pair)
                        ))
                    }
                    (None, Some(token)) => Some(format!("Bearer {token}")),
                    (None, None) => None,
                };
                let store = db.open().await?;
                let (kind, remote) = if misp {
                    (FeedKind::Misp, String::new())
                } else {
                    let remote = collection.context("a TAXII feed needs --collection")?;
                    (FeedKind::Taxii, remote)
                };
                let local = match into {
                    Some(id) => id,
                    None => local_collection(&store, kind, &url, &remote, &org).await?,
                };
                let feed = NewFeed {
                    kind,
                    api_root: url,
                    remote,
                    collection: local,
                    org_name: org,
                    auth,
                    interval_secs: every,
                };
                let feed = store.add_feed(feed).await?;
                let source = match feed.kind {
                    FeedKind::Taxii => format!("{}collections/{}", feed.api_root, feed.remote),
                    FeedKind::Misp => format!("MISP feed {}manifest.json", feed.api_root),
                };
                println!(
                    "feed {}: {source} into collection {} every {} s",
                    feed.id, feed.collection, feed.interval_secs
                );
                Ok(ExitCode::SUCCESS)
            }
            FeedCommand::Poll { db } => poll_all(db.open().await?).await,
        }
    })
}

/// The local collection a feed fills by default: the remote's id for TAXII, an id derived
/// from the URL for MISP (so adding the same feed again finds it).
async fn local_collection(
    store: &SqlStore,
    kind: FeedKind,
    url: &str,
    remote: &str,
    org: &str,
) -> Result<String> {
    let (id, description) = match kind {
        FeedKind::Taxii => (remote.to_string(), "Polled from a remote TAXII 2.1 server"),
        FeedKind::Misp => (
            uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, url.as_bytes()).to_string(),
            "Polled from a MISP feed",
        ),
    };
    let new = NewCollection {
        id: Some(id.clone()),
        title: match kind {
            FeedKind::Taxii => format!("Feed {remote}"),
            FeedKind::Misp => format!("MISP feed {url}"),
        },
        description: Some(description.into()),
        readers: None,
        writers: vec![org.to_string()],
        default_tlp: Tlp::Green,
        sharing_group: None,
    };
    match store.add_collection(new).await {
        Ok(id) => Ok(id),
        Err(watchpost_store::StoreError::Conflict(_)) => Ok(id),
        Err(e) => Err(e.into()),
    }
}

async fn poll_all(store: Arc<SqlStore>) -> Result<ExitCode> {
    let poller = Poller::new(
        store.clone(),
        Validator::new().with_pattern_syntax(SyntaxChecker),
    );
    let feeds = store.feeds().await?;
    if feeds.is_empty() {
        bail!("no feeds: add one with `watchpost feed add`");
    }
    let misp = MispFeeds::new(
        store.clone(),
        Validator::new().with_pattern_syntax(SyntaxChecker),
    )?;
    let mut failed = false;
    for feed in feeds {
        if feed.kind == FeedKind::Misp {
            failed |= !poll_misp(&misp, &feed).await;
            continue;
        }
        match poller.poll(&feed).await {
            Ok(r) => {
                println!(
                    "feed {}: {} pages, {} objects received, {} stored, {} refused",
                    feed.id,
                    r.pages,
                    r.received,
                    r.stored,
                    r.refused.len()
                );
                for f in &r.refused {
                    println!("  refused {}: {}", f.id, f.message.as_deref().unwrap_or(""));
                }
            }
            Err(e) => {
                failed = true;
                eprintln!("feed {}: {e}", feed.id);
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Polls one MISP feed and prints what it did; false when it failed or lost events.
async fn poll_misp(misp: &MispFeeds, feed: &Feed) -> bool {
    match misp.poll(feed).await {
        Ok(r) => {
            println!(
                "feed {}: {} events listed, {} fetched, {} objects stored, {} refused, \
                 {} indicators on a warning list",
                feed.id, r.listed, r.fetched, r.stored, r.refused, r.flagged
            );
            for p in &r.problems {
                println!("  {p}");
            }
            r.problems.is_empty()
        }
        Err(e) => {
            eprintln!("feed {}: {e:#}", feed.id);
            false
        }
    }
}
