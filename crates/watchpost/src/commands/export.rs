//! `export`: a collection written out in another format, read as an organisation through
//! the store, so an export shows exactly what that organisation may see.

use super::admin::{runtime, DbArg};
use anyhow::{Context, Result};
use clap::Subcommand;
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use watchpost_store::{Caller, Query, Role, SqlStore, Store};

#[derive(Subcommand)]
pub enum ExportCommand {
    /// A collection as one MISP event (indicators with to_ids, observed data without; the
    /// collection's first report gives the event's info and date; TLP markings as tags).
    Misp {
        /// The collection (its id).
        #[arg(long)]
        collection: String,
        /// The organisation to read as: only what it may see is exported.
        #[arg(long)]
        org: String,
        /// Where to write the event; standard output if omitted.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        db: DbArg,
    },
}

pub fn run(cmd: ExportCommand) -> Result<ExitCode> {
    let ExportCommand::Misp {
        collection,
        org,
        out,
        db,
    } = cmd;
    runtime()?.block_on(async {
        let store = db.open().await?;
        let objects = read_all(&store, &org, &collection).await?;
        let event = watchpost_exchange::misp::from_stix(&objects);
        let text = serde_json::to_string_pretty(&event)?;
        match out {
            Some(path) => std::fs::write(&path, text + "\n")
                .with_context(|| format!("cannot write {}", path.display()))?,
            None => writeln!(std::io::stdout().lock(), "{text}")?,
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Every object of a collection that `org` may read, latest versions, page by page.
async fn read_all(store: &SqlStore, org: &str, collection: &str) -> Result<Vec<Value>> {
    let org_id = store
        .orgs()
        .await?
        .into_iter()
        .find(|o| o.name == org)
        .with_context(|| format!("organisation {org:?} was not found"))?
        .id;
    let caller = Caller {
        user: "cli-export".into(),
        org: org_id,
        role: Role::Reader,
    };
    let mut query = Query::default();
    let mut objects = Vec::new();
    loop {
        let page = store.read(&caller, collection, &query).await?;
        for stored in &page.objects {
            let object = serde_json::from_str(&stored.body)
                .with_context(|| format!("stored object {} is not JSON", stored.id))?;
            objects.push(object);
        }
        match page.next {
            Some(next) => query.after = Some(next),
            None => return Ok(objects),
        }
    }
}
