//! `feed add` and `feed poll`: remote TAXII 2.1 collections polled into this hub.

use super::admin::{runtime, DbArg};
use anyhow::{bail, Context, Result};
use base64::Engine;
use clap::Subcommand;
use std::process::ExitCode;
use std::sync::Arc;
use watchpost_pattern::SyntaxChecker;
use watchpost_stix::marking::Tlp;
use watchpost_stix::Validator;
use watchpost_store::{NewCollection, NewFeed, SqlStore, Store};
use watchpost_taxii::client::Poller;

#[derive(Subcommand)]
pub enum FeedCommand {
    /// Poll a remote TAXII 2.1 collection on a schedule (`watchpost serve` does the polling).
    Add {
        /// The remote API root, e.g. https://hub.example.org/taxii2/api/.
        url: String,
        /// The remote collection's id.
        #[arg(long)]
        collection: String,
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
                let local = match into {
                    Some(id) => id,
                    None => local_collection(&store, &collection, &org).await?,
                };
                let feed = NewFeed {
                    api_root: url,
                    remote: collection,
                    collection: local,
                    org_name: org,
                    auth,
                    interval_secs: every,
                };
                let feed = store.add_feed(feed).await?;
                println!(
                    "feed {}: {}collections/{} into collection {} every {} s",
                    feed.id, feed.api_root, feed.remote, feed.collection, feed.interval_secs
                );
                Ok(ExitCode::SUCCESS)
            }
            FeedCommand::Poll { db } => poll_all(db.open().await?).await,
        }
    })
}

async fn local_collection(store: &SqlStore, remote: &str, org: &str) -> Result<String> {
    let new = NewCollection {
        id: Some(remote.to_string()),
        title: format!("Feed {remote}"),
        description: Some("Polled from a remote TAXII 2.1 server".into()),
        readers: None,
        writers: vec![org.to_string()],
        default_tlp: Tlp::Green,
        sharing_group: None,
    };
    match store.add_collection(new).await {
        Ok(id) => Ok(id),
        Err(watchpost_store::StoreError::Conflict(_)) => Ok(remote.to_string()),
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
    let mut failed = false;
    for feed in feeds {
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
