//! `org`, `user`, `token`, `group`, `collection` and `import`: the hub's directory and content,
//! administered from the command line against the database named by `--db`.

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use watchpost_exchange::list::ColumnMap;
use watchpost_pattern::SyntaxChecker;
use watchpost_stix::marking::Tlp;
use watchpost_stix::reader::{Location, Reader};
use watchpost_stix::Validator;
use watchpost_store::{
    Caller, NewCollection, NewOrg, NewUser, Role, SqlStore, StatusDetail, Store,
};
use watchpost_taxii::server::ingest;

use super::import_list;
use super::misp_import;

/// The database to work on.
#[derive(Args, Clone, Debug)]
pub struct DbArg {
    /// Database URL: sqlite://FILE (created on first use) or postgres://USER@HOST:PORT/DB.
    #[arg(long, env = "WATCHPOST_DB", default_value = "sqlite://watchpost.db")]
    pub db: String,
}

impl DbArg {
    pub async fn open(&self) -> Result<Arc<SqlStore>> {
        let store = SqlStore::open(&self.db)
            .await
            .with_context(|| format!("cannot open the database {}", self.db))?;
        Ok(Arc::new(store))
    }
}

#[derive(Subcommand)]
pub enum OrgCommand {
    /// Add a member organisation (and its STIX identity).
    Add {
        /// A short unique name, e.g. vncert.
        name: String,
        /// Its sector (STIX industry-sector vocabulary, e.g. government-national).
        #[arg(long)]
        sector: Option<String>,
        /// ISO 3166-1 alpha-2 country code, e.g. VN.
        #[arg(long)]
        country: Option<String>,
        #[command(flatten)]
        db: DbArg,
    },
    /// List the organisations.
    List {
        #[command(flatten)]
        db: DbArg,
    },
    /// Import the directory: focal points and constituencies (JSON list or CSV); organisations
    /// not yet known are added.
    Import {
        file: PathBuf,
        #[command(flatten)]
        db: DbArg,
    },
    /// Who answers for an IP address or a domain name, and whom to warn first.
    Route {
        /// An IPv4/IPv6 address or a domain name.
        target: String,
        #[command(flatten)]
        db: DbArg,
    },
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is read from WATCHPOST_PASSWORD, else from the first line of
    /// standard input.
    Add {
        username: String,
        /// The user's organisation (by name).
        #[arg(long)]
        org: String,
        /// admin, analyst, reader, or peer (another hub's account: it reads only what may
        /// leave this hub for the organisation, pushes where it may write, and has no console).
        #[arg(long, value_parser = parse_role)]
        role: Role,
        #[command(flatten)]
        db: DbArg,
    },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user and print it (it is shown once; only a digest is kept).
    Create {
        username: String,
        #[command(flatten)]
        db: DbArg,
    },
}

#[derive(Subcommand)]
pub enum GroupCommand {
    /// Add a sharing group: the organisations that see a collection's AMBER objects.
    Add {
        name: String,
        /// Member organisations, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        orgs: Vec<String>,
        #[command(flatten)]
        db: DbArg,
    },
}

#[derive(Subcommand)]
pub enum CollectionCommand {
    /// Add a TAXII collection.
    Add {
        title: String,
        /// Its id (a UUID); random when omitted.
        #[arg(long)]
        id: Option<String>,
        #[arg(long)]
        description: Option<String>,
        /// Organisations that may read, comma-separated; every member organisation if omitted.
        #[arg(long, value_delimiter = ',')]
        read: Option<Vec<String>>,
        /// Organisations that may write, comma-separated.
        #[arg(long, value_delimiter = ',')]
        write: Vec<String>,
        /// The marking of objects added without one: clear, green, amber, amber+strict, red.
        #[arg(long, default_value = "green", value_parser = parse_tlp)]
        tlp: Tlp,
        /// The sharing group of its AMBER objects; its readers if omitted.
        #[arg(long)]
        group: Option<String>,
        #[command(flatten)]
        db: DbArg,
    },
}

/// Import STIX 2.1 files (bundles, arrays, single objects or JSON lines), MISP event JSON,
/// reports (`.txt`, `.md`, `.adoc`, `.html`: their IoCs become indicators) or a CSV file into a
/// collection. MISP JSON (`{"Event": …}`, `{"response": […]}` or a bare event) is recognised
/// by its first key; `--misp` reads every file as MISP. Indicator values on a MISP warning
/// list are flagged and kept out of matching.
#[derive(Args)]
pub struct ImportArgs {
    /// Files to import.
    #[arg(required_unless_present = "csv")]
    pub files: Vec<PathBuf>,
    /// Read the files as MISP event JSON (a single event, a bare event, a `response` list).
    #[arg(long)]
    pub misp: bool,
    /// A CSV file (or a plain list, one value per line, with `--map value=0`) of indicator
    /// values.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Where the CSV's columns are, counted from 0: `value=2,type=auto,first_seen=0`.
    /// `type=auto` (or no type) recognises each value by its form.
    #[arg(long, default_value = "value=0,type=auto")]
    pub map: String,
    /// The collection (its id).
    #[arg(long)]
    pub collection: String,
    /// The organisation that owns the imported objects; it must be allowed to write.
    #[arg(long)]
    pub org: String,
    #[command(flatten)]
    pub db: DbArg,
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("{s:?} is not a role: use admin, analyst, reader or peer"))
}

fn parse_tlp(s: &str) -> Result<Tlp, String> {
    Tlp::from_name(s).ok_or_else(|| {
        format!("{s:?} is not a TLP 2.0 level: use clear, green, amber, amber+strict or red")
    })
}

pub fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

pub fn org(cmd: OrgCommand) -> Result<ExitCode> {
    runtime()?.block_on(async {
        match cmd {
            OrgCommand::Add {
                name,
                sector,
                country,
                db,
            } => {
                let org = db
                    .open()
                    .await?
                    .add_org(NewOrg {
                        name,
                        sector,
                        country,
                    })
                    .await?;
                println!("added organisation {} ({})", org.name, org.id);
            }
            OrgCommand::Import { file, db } => {
                return super::directory::import(&file, &*db.open().await?).await
            }
            OrgCommand::Route { target, db } => {
                return super::directory::route(&target, &*db.open().await?).await
            }
            OrgCommand::List { db } => {
                for o in db.open().await?.orgs().await? {
                    let cc = o.country.unwrap_or_default();
                    println!(
                        "{}\t{}\t{}\t{}",
                        o.name,
                        cc,
                        o.sector.unwrap_or_default(),
                        o.id
                    );
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn read_password() -> Result<String> {
    if let Ok(p) = std::env::var("WATCHPOST_PASSWORD") {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        bail!("no password: set WATCHPOST_PASSWORD or write it on standard input");
    }
    Ok(password)
}

pub fn user(cmd: UserCommand) -> Result<ExitCode> {
    let UserCommand::Add {
        username,
        org,
        role,
        db,
    } = cmd;
    let password = read_password()?;
    runtime()?.block_on(async {
        let user = NewUser {
            username: username.clone(),
            org_name: org.clone(),
            role,
            password,
        };
        db.open().await?.add_user(user).await?;
        println!("added user {username} ({}) to {org}", role.as_str());
        Ok(ExitCode::SUCCESS)
    })
}

pub fn token(cmd: TokenCommand) -> Result<ExitCode> {
    let TokenCommand::Create { username, db } = cmd;
    runtime()?.block_on(async {
        println!("{}", db.open().await?.create_token(&username).await?);
        Ok(ExitCode::SUCCESS)
    })
}

pub fn group(cmd: GroupCommand) -> Result<ExitCode> {
    let GroupCommand::Add { name, orgs, db } = cmd;
    runtime()?.block_on(async {
        db.open().await?.add_sharing_group(&name, &orgs).await?;
        println!("added sharing group {name}: {}", orgs.join(", "));
        Ok(ExitCode::SUCCESS)
    })
}

pub fn collection(cmd: CollectionCommand) -> Result<ExitCode> {
    let CollectionCommand::Add {
        title,
        id,
        description,
        read,
        write,
        tlp,
        group,
        db,
    } = cmd;
    runtime()?.block_on(async {
        let c = NewCollection {
            id,
            title,
            description,
            readers: read,
            writers: write,
            default_tlp: tlp,
            sharing_group: group,
        };
        println!("{}", db.open().await?.add_collection(c).await?);
        Ok(ExitCode::SUCCESS)
    })
}

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportReport {
    pub stored: u64,
    pub refused: u64,
    /// MISP records (attributes, objects, tags) that were not converted.
    pub skipped: u64,
}

/// Reads files object by object and stores them in batches, as the owning organisation;
/// prints each refused object with its place and reason.
pub async fn import_files(
    store: &SqlStore,
    org: &str,
    collection: &str,
    files: &[PathBuf],
) -> Result<ImportReport> {
    import_files_as(store, org, collection, files, false).await
}

/// [`import_files`], reading every file as MISP when `misp` is set, and otherwise each file
/// whose first key is `Event` or `response`.
pub async fn import_files_as(
    store: &SqlStore,
    org: &str,
    collection: &str,
    files: &[PathBuf],
    misp: bool,
) -> Result<ImportReport> {
    let org_id = store
        .orgs()
        .await?
        .into_iter()
        .find(|o| o.name == org)
        .with_context(|| format!("organisation {org:?} was not found"))?
        .id;
    let caller = Caller {
        user: "cli-import".into(),
        org: org_id,
        role: Role::Admin,
    };
    let validator = Validator::new().with_pattern_syntax(SyntaxChecker);
    let mut report = ImportReport::default();
    for path in files {
        if import_list::is_report(path) {
            let read = import_list::read_report(path)?;
            let values = import_list::flag_and_report(path, read);
            store_values(
                store,
                &caller,
                collection,
                path,
                &validator,
                values,
                &mut report,
            )
            .await?;
            continue;
        }
        let file =
            std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let mut buffered = std::io::BufReader::new(file);
        if misp || misp_import::starts_like_misp(&mut buffered)? {
            let objects = misp_import::convert(path, buffered)?;
            misp_import::store(
                store,
                &caller,
                collection,
                path,
                objects,
                &validator,
                &mut report,
            )
            .await?;
            continue;
        }
        let mut reader = Reader::new(buffered);
        let (mut batch, mut failures, mut issues) = (Vec::new(), Vec::new(), Vec::new());
        for entry in reader.by_ref() {
            let entry =
                entry.with_context(|| format!("{} cannot be read to its end", path.display()))?;
            if entry.location == Location::Bundle {
                continue;
            }
            let place = format!("{}:{}: {}", path.display(), entry.line, entry.location);
            let prepared = match &entry.value {
                Ok(value) => ingest::prepare(value, &validator, &mut issues),
                Err(e) => Err(StatusDetail {
                    id: String::new(),
                    version: String::new(),
                    message: Some(e.to_string()),
                }),
            };
            match prepared {
                Ok(o) => batch.push(o),
                Err(f) => {
                    eprintln!(
                        "{place}: {} refused: {}",
                        f.id,
                        f.message.as_deref().unwrap_or("")
                    );
                    failures.push(f);
                }
            }
            if batch.len() >= 1000 {
                flush(
                    store,
                    &caller,
                    collection,
                    &mut batch,
                    &mut failures,
                    &mut report,
                )
                .await?;
            }
        }
        flush(
            store,
            &caller,
            collection,
            &mut batch,
            &mut failures,
            &mut report,
        )
        .await?;
    }
    Ok(report)
}

/// Imports a CSV file (or plain list) through a column map.
pub async fn import_csv(
    store: &SqlStore,
    org: &str,
    collection: &str,
    path: &Path,
    map: &ColumnMap,
) -> Result<ImportReport> {
    let caller = importer(store, org).await?;
    let validator = Validator::new().with_pattern_syntax(SyntaxChecker);
    let read = import_list::read_csv(path, map)?;
    let skipped = read.problems.iter().filter(|p| p.column.is_some()).count() as u64;
    let values = import_list::flag_and_report(path, read);
    let mut report = ImportReport::default();
    store_values(
        store,
        &caller,
        collection,
        path,
        &validator,
        values,
        &mut report,
    )
    .await?;
    report.refused += skipped;
    Ok(report)
}

pub async fn importer(store: &SqlStore, org: &str) -> Result<Caller> {
    let org_id = store
        .orgs()
        .await?
        .into_iter()
        .find(|o| o.name == org)
        .with_context(|| format!("organisation {org:?} was not found"))?
        .id;
    Ok(Caller {
        user: "cli-import".into(),
        org: org_id,
        role: Role::Admin,
    })
}

/// Validates and stores indicators built from a list or report.
async fn store_values(
    store: &SqlStore,
    caller: &Caller,
    collection: &str,
    path: &Path,
    validator: &Validator,
    values: Vec<serde_json::Value>,
    report: &mut ImportReport,
) -> Result<()> {
    let (mut batch, mut failures, mut issues) = (Vec::new(), Vec::new(), Vec::new());
    for value in &values {
        match ingest::prepare(value, validator, &mut issues) {
            Ok(o) => batch.push(o),
            Err(f) => {
                eprintln!(
                    "{}: {} refused: {}",
                    path.display(),
                    f.id,
                    f.message.as_deref().unwrap_or("")
                );
                failures.push(f);
            }
        }
        if batch.len() >= 1000 {
            flush(store, caller, collection, &mut batch, &mut failures, report).await?;
        }
    }
    flush(store, caller, collection, &mut batch, &mut failures, report).await
}

pub(crate) async fn flush(
    store: &SqlStore,
    caller: &Caller,
    collection: &str,
    batch: &mut Vec<watchpost_store::NewObject>,
    failures: &mut Vec<StatusDetail>,
    report: &mut ImportReport,
) -> Result<()> {
    if batch.is_empty() && failures.is_empty() {
        return Ok(());
    }
    let status = store
        .add_objects(
            caller,
            collection,
            std::mem::take(batch),
            std::mem::take(failures),
        )
        .await?;
    report.stored += status.success_count;
    report.refused += status.failure_count;
    Ok(())
}

pub fn import(args: ImportArgs) -> Result<ExitCode> {
    runtime()?.block_on(async {
        let store = args.db.open().await?;
        let mut report =
            import_files_as(&store, &args.org, &args.collection, &args.files, args.misp).await?;
        if let Some(csv) = &args.csv {
            let map: ColumnMap = args.map.parse().context("--map")?;
            let more = import_csv(&store, &args.org, &args.collection, csv, &map).await?;
            report.stored += more.stored;
            report.refused += more.refused;
        }
        if report.skipped > 0 {
            println!(
                "{} objects stored, {} refused, {} MISP records skipped",
                report.stored, report.refused, report.skipped
            );
        } else {
            println!(
                "{} objects stored, {} refused",
                report.stored, report.refused
            );
        }
        Ok(if report.refused == 0 && report.skipped == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    })
}
