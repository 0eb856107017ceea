//! `sightings`: what the matchers saw, from the knowledge base.

use super::admin::{runtime, DbArg};
use anyhow::Result;
use clap::Args;
use serde_json::Value;
use std::collections::HashMap;
use std::process::ExitCode;
use watchpost_store::Store;

#[derive(Args)]
pub struct SightingsArgs {
    /// Only sightings in this organisation's networks.
    #[arg(long)]
    pub org: Option<String>,
    /// Only sightings of this indicator.
    #[arg(long)]
    pub indicator: Option<String>,
    #[command(flatten)]
    pub db: DbArg,
}

pub fn run(args: SightingsArgs) -> Result<ExitCode> {
    runtime()?.block_on(async {
        let store = args.db.open().await?;
        let names: HashMap<String, String> = store
            .orgs()
            .await?
            .into_iter()
            .map(|o| (o.id, o.name))
            .collect();
        let mut rows: Vec<Value> = store
            .current_objects_of_type("sighting")
            .await?
            .into_iter()
            .filter_map(|(_, body)| serde_json::from_str(&body).ok())
            .collect();
        rows.sort_by(|a: &Value, b: &Value| b["last_seen"].as_str().cmp(&a["last_seen"].as_str()));
        println!("last_seen\tcount\torganisation\tindicator");
        for s in rows {
            let org_id = s["where_sighted_refs"][0].as_str().unwrap_or("");
            let org = names.get(org_id).map(String::as_str).unwrap_or(org_id);
            let indicator = s["sighting_of_ref"].as_str().unwrap_or("");
            if args.org.as_deref().is_some_and(|o| o != org)
                || args.indicator.as_deref().is_some_and(|i| i != indicator)
            {
                continue;
            }
            println!(
                "{}\t{}\t{org}\t{indicator}",
                s["last_seen"].as_str().unwrap_or(""),
                s["count"]
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}
