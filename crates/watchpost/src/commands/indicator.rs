//! `watchpost indicator confirm`: an analyst's decision that a flagged indicator (its value
//! is on a MISP warning list) should match after all. The confirmation is a new version of the
//! indicator carrying `x_watchpost_confirmed: true`, so it is shared, audited and versioned
//! like any other change, and the live pattern set picks it up on its next reload.

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use serde_json::Value;
use std::process::ExitCode;
use watchpost_exchange::warninglist::CONFIRMED_PROPERTY;
use watchpost_pattern::SyntaxChecker;
use watchpost_stix::{Timestamp, Validator};
use watchpost_store::{Query, Store};
use watchpost_taxii::server::ingest;

use super::admin::{importer, runtime, DbArg};

/// Indicators in a collection.
#[derive(Subcommand)]
pub enum IndicatorCommand {
    /// Confirm an indicator that a warning list flagged, so that watches match it.
    Confirm {
        /// The indicator's id.
        id: String,
        /// The collection (its id).
        #[arg(long)]
        collection: String,
        /// The organisation that confirms; it must be allowed to write to the collection.
        #[arg(long)]
        org: String,
        #[command(flatten)]
        db: DbArg,
    },
}

/// Runs an `indicator` subcommand.
pub fn run(cmd: IndicatorCommand) -> Result<ExitCode> {
    let IndicatorCommand::Confirm {
        id,
        collection,
        org,
        db,
    } = cmd;
    runtime()?.block_on(async {
        let store = db.open().await?;
        let caller = importer(&store, &org).await?;
        let query = Query {
            ids: vec![id.clone()],
            ..Query::default()
        };
        let page = store.read(&caller, &collection, &query).await?;
        let Some(current) = page.objects.last() else {
            bail!("indicator {id} is not in collection {collection}, or {org} may not read it");
        };
        let mut object: Value = serde_json::from_str(&current.body)
            .with_context(|| format!("the stored indicator {id} is not JSON"))?;
        let Some(map) = object.as_object_mut() else {
            bail!("the stored indicator {id} is not a JSON object");
        };
        map.insert(CONFIRMED_PROPERTY.into(), Value::Bool(true));
        map.insert(
            "modified".into(),
            Value::String(Timestamp::now().to_string()),
        );
        let validator = Validator::new().with_pattern_syntax(SyntaxChecker);
        let new = ingest::prepare(&object, &validator, &mut Vec::new()).map_err(|f| {
            anyhow::anyhow!(
                "the confirmed indicator is refused: {}",
                f.message.unwrap_or_default()
            )
        })?;
        let status = store
            .add_objects(&caller, &collection, vec![new], Vec::new())
            .await?;
        if status.success_count != 1 {
            bail!("the confirmation of {id} was not stored: {status:?}");
        }
        println!("{id} confirmed: it matches from the next reload of the indicators");
        Ok(ExitCode::SUCCESS)
    })
}
