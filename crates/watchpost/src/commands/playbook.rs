//! `playbook import` and `playbook export`: CACAO 2.0 playbooks shared as STIX
//! course-of-action objects (`watchpost_exchange::cacao`), stored, marked and federated like
//! any other intelligence.

use super::admin::{importer, runtime, DbArg, ImportReport};
use anyhow::{bail, Context, Result};
use clap::Subcommand;
use serde_json::Value;
use std::path::PathBuf;
use std::process::ExitCode;
use watchpost_exchange::cacao;
use watchpost_pattern::SyntaxChecker;
use watchpost_stix::Validator;
use watchpost_store::{Query, Store};

#[derive(Subcommand)]
pub enum PlaybookCommand {
    /// Store a CACAO 2.0 playbook (JSON) as a course of action in a collection.
    Import {
        file: PathBuf,
        #[arg(long)]
        collection: String,
        /// The organisation that shares it.
        #[arg(long)]
        org: String,
        /// Its TLP 2.0 marking (clear, green, amber, amber+strict, red); the collection's
        /// default when omitted.
        #[arg(long)]
        tlp: Option<String>,
        #[command(flatten)]
        db: DbArg,
    },
    /// Write the playbook a course of action carries, byte for byte as it was shared.
    Export {
        /// The course of action's id.
        id: String,
        #[arg(long)]
        collection: String,
        /// Read as this organisation.
        #[arg(long)]
        org: String,
        /// Where to write it (standard output when omitted).
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        db: DbArg,
    },
}

pub fn run(cmd: PlaybookCommand) -> Result<ExitCode> {
    runtime()?.block_on(async {
        match cmd {
            PlaybookCommand::Import {
                file,
                collection,
                org,
                tlp,
                db,
            } => import(&file, &collection, &org, tlp.as_deref(), &db).await,
            PlaybookCommand::Export {
                id,
                collection,
                org,
                out,
                db,
            } => export(&id, &collection, &org, out, &db).await,
        }
    })
}

async fn import(
    file: &PathBuf,
    collection: &str,
    org: &str,
    tlp: Option<&str>,
    db: &DbArg,
) -> Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut coa = match cacao::to_course_of_action(&bytes) {
        Ok(coa) => coa,
        Err(problems) => {
            for p in &problems {
                eprintln!("{}: {p}", file.display());
            }
            return Ok(ExitCode::from(1));
        }
    };
    if let Some(name) = tlp {
        let level = watchpost_stix::marking::Tlp::from_name(name)
            .with_context(|| format!("{name:?} is not a TLP 2.0 level"))?;
        coa["object_marking_refs"] = serde_json::json!([level.marking_id()]);
    }
    let store = db.open().await?;
    let caller = importer(&store, org).await?;
    let validator = Validator::new().with_pattern_syntax(SyntaxChecker);
    let mut report = ImportReport::default();
    let id = coa["id"].as_str().unwrap_or("").to_string();
    super::misp_import::store(
        &store,
        &caller,
        collection,
        file,
        (vec![coa], 0),
        &validator,
        &mut report,
    )
    .await?;
    if report.stored == 0 {
        bail!("{}: the course of action was refused", file.display());
    }
    println!("{id}");
    Ok(ExitCode::SUCCESS)
}

async fn export(
    id: &str,
    collection: &str,
    org: &str,
    out: Option<PathBuf>,
    db: &DbArg,
) -> Result<ExitCode> {
    let store = db.open().await?;
    let mut caller = importer(&store, org).await?;
    caller.role = watchpost_store::Role::Reader;
    let query = Query {
        ids: vec![id.to_string()],
        limit: 1,
        ..Query::default()
    };
    let page = store.read(&caller, collection, &query).await?;
    let body: Value = page
        .objects
        .first()
        .map(|o| serde_json::from_str(&o.body))
        .transpose()?
        .with_context(|| format!("{id} is not in collection {collection}, or not for {org}"))?;
    let playbook = cacao::playbook_of(&body).map_err(|e| anyhow::anyhow!("{id}: {e}"))?;
    match out {
        Some(path) => std::fs::write(&path, &playbook)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&playbook)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
