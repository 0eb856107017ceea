//! `export`: a collection written out in another format, read as an organisation through the
//! store, so an export shows exactly what that organisation may see. `export misp` writes one
//! MISP event; `export sensors` and `/exports/{collection}/{file}` the files sensors load
//! (Suricata, Zeek, plain lists, a STIX bundle). Over HTTP each file has an `ETag` and a `Last-Modified`, and a sensor that polls
//! with `curl -z FILE` or `If-None-Match` gets `304 Not Modified` until the indicators change;
//! the files are made again only when the store's indicators changed (`Store::objects_changed`).

use super::admin::{runtime, DbArg};
use anyhow::{Context, Result};
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use clap::Args;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use watchpost_exchange::export::{lists, suricata, zeek, Atoms};
use watchpost_stix::Timestamp;
use watchpost_store::{Caller, Query, Store};
use watchpost_taxii::Server;

/// The first Suricata sid of the rules (the range 9,700,000–9,799,999 is ours).
const FIRST_SID: u32 = 9_700_000;

#[derive(clap::Subcommand)]
pub enum ExportCommand {
    /// Suricata datasets and rules, a Zeek intel file, plain lists and a STIX bundle, written
    /// into a directory (`serve` serves the same at /exports/{collection}/{file}).
    Sensors(ExportArgs),
    /// A collection as one MISP event (indicators with to_ids, observed data without; the
    /// collection's first report gives the event's info and date; TLP markings as tags).
    Misp(MispArgs),
}

#[derive(Args)]
pub struct MispArgs {
    /// The collection (its id).
    #[arg(long)]
    pub collection: String,
    /// The organisation to read as: only what it may see is exported.
    #[arg(long)]
    pub org: String,
    /// Where to write the event; standard output if omitted.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub db: DbArg,
}

#[derive(Args)]
pub struct ExportArgs {
    /// The collection to export.
    #[arg(long)]
    pub collection: String,
    /// The organisation whose view of the collection is exported (TLP and sharing groups apply).
    #[arg(long)]
    pub org: String,
    /// The directory to write the files into (created if missing).
    #[arg(long)]
    pub dir: PathBuf,
    #[command(flatten)]
    pub db: DbArg,
}

/// One export: its files by name, and what was left out.
pub struct Files {
    pub files: HashMap<String, String>,
    pub skipped: Vec<(String, String)>,
    pub made: Timestamp,
}

/// The caller an export reads as: a reader of organisation `org`.
async fn reader_of(store: &dyn Store, org: &str) -> Result<Caller> {
    let org = store
        .orgs()
        .await?
        .into_iter()
        .find(|o| o.name == org)
        .with_context(|| format!("organisation {org:?} was not found"))?;
    Ok(Caller {
        user: "export".into(),
        org: org.id,
        role: watchpost_store::Role::Reader,
    })
}

/// The latest version of every object of `collection` that `caller` may read, of the given
/// types (all types when empty), page by page.
async fn read_all(
    store: &dyn Store,
    caller: &Caller,
    collection: &str,
    types: &[&str],
) -> Result<Vec<Value>> {
    let mut query = Query {
        types: types.iter().map(|t| t.to_string()).collect(),
        limit: 10_000,
        ..Query::default()
    };
    let mut out = Vec::new();
    loop {
        let page = store.read(caller, collection, &query).await?;
        for o in &page.objects {
            out.push(
                serde_json::from_str(&o.body)
                    .with_context(|| format!("object {} is unreadable", o.id))?,
            );
        }
        match page.next {
            Some(next) => query.after = Some(next),
            None => return Ok(out),
        }
    }
}

/// The export files of `collection` as `caller` sees it.
pub async fn make(store: &dyn Store, caller: &Caller, collection: &str) -> Result<Files> {
    let objects = read_all(store, caller, collection, &["indicator"]).await?;
    let made = Timestamp::now();
    let atoms = Atoms::of(&objects, &made.to_string());
    let mut files: HashMap<String, String> =
        suricata::files(&atoms, FIRST_SID).into_iter().collect();
    files.extend(lists::files(&atoms));
    let (name, text) = zeek::file(&atoms);
    files.insert(name, text);
    let (name, text) = lists::bundle(&objects);
    files.insert(name, text);
    Ok(Files {
        files,
        skipped: atoms.skipped,
        made,
    })
}

pub fn run(cmd: ExportCommand) -> Result<ExitCode> {
    match cmd {
        ExportCommand::Sensors(args) => sensors(args),
        ExportCommand::Misp(args) => misp(args),
    }
}

fn misp(args: MispArgs) -> Result<ExitCode> {
    runtime()?.block_on(async {
        let store = args.db.open().await?;
        let caller = reader_of(store.as_ref(), &args.org).await?;
        let objects = read_all(store.as_ref(), &caller, &args.collection, &[]).await?;
        let event = watchpost_exchange::misp::from_stix(&objects);
        let text = serde_json::to_string_pretty(&event)?;
        match &args.out {
            Some(path) => std::fs::write(path, text + "\n")
                .with_context(|| format!("cannot write {}", path.display()))?,
            None => println!("{text}"),
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn sensors(args: ExportArgs) -> Result<ExitCode> {
    runtime()?.block_on(async {
        let store = args.db.open().await?;
        let caller = reader_of(store.as_ref(), &args.org).await?;
        let export = make(store.as_ref(), &caller, &args.collection).await?;
        std::fs::create_dir_all(&args.dir)
            .with_context(|| format!("cannot create {}", args.dir.display()))?;
        let mut names: Vec<&String> = export.files.keys().collect();
        names.sort();
        for name in names {
            let path = args.dir.join(name);
            std::fs::write(&path, &export.files[name])
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!("{}", path.display());
        }
        for (id, reason) in &export.skipped {
            eprintln!("watchpost: indicator {id} not exported: {reason}");
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// A file as served: its text, its entity tag, when it was made.
struct Served {
    text: String,
    etag: String,
    made: Timestamp,
}

/// The exports made so far, by (organisation, collection), with the store's indicator token
/// they were made at: made again only when that token moves.
#[derive(Default)]
struct Cache {
    exports: HashMap<(String, String), Made>,
}

/// An export and the indicator token it was made at.
type Made = ((i64, i64), Arc<FileSet>);

/// The files of one export, by name.
type FileSet = HashMap<String, Served>;

#[derive(Clone)]
struct ExportState {
    server: Arc<Server>,
    store: Arc<dyn Store>,
    cache: Arc<Mutex<Cache>>,
}

/// `GET /exports/{collection}/{file}`, authenticated like TAXII.
pub fn router(server: Arc<Server>, store: Arc<dyn Store>) -> axum::Router {
    let state = ExportState {
        server,
        store,
        cache: Arc::default(),
    };
    axum::Router::new()
        .route(
            "/exports/{collection}/{file}",
            axum::routing::get(serve_file),
        )
        .with_state(state)
}

async fn serve_file(
    State(state): State<ExportState>,
    UrlPath((collection, file)): UrlPath<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let caller = match state.server.authenticate(&headers).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let files = match current(&state, &caller, &collection).await {
        Ok(f) => f,
        Err(e) => return (StatusCode::NOT_FOUND, format!("{e:#}\n")).into_response(),
    };
    let Some(served) = files.get(&file) else {
        let mut names: Vec<&String> = files.keys().collect();
        names.sort();
        let list: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
        return (
            StatusCode::NOT_FOUND,
            format!("no export file {file:?}; there are: {}\n", list.join(", ")),
        )
            .into_response();
    };
    respond(served, &headers)
}

/// The exports of `collection` for the caller's organisation, made again if the indicators
/// changed.
async fn current(state: &ExportState, caller: &Caller, collection: &str) -> Result<Arc<FileSet>> {
    let token = state.store.objects_changed("indicator").await?;
    let key = (caller.org.clone(), collection.to_string());
    {
        let cache = state.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((t, files)) = cache.exports.get(&key) {
            if *t == token {
                return Ok(files.clone());
            }
        }
    }
    let export = make(state.store.as_ref(), caller, collection).await?;
    let mut cache = state.cache.lock().unwrap_or_else(PoisonError::into_inner);
    let old = cache.exports.get(&key).map(|(_, files)| files.clone());
    let served: FileSet = export
        .files
        .into_iter()
        .map(|(name, text)| {
            let etag = format!("\"{:x}\"", Sha256::digest(text.as_bytes()));
            // A file whose text did not change keeps its time, so `curl -z` still gets 304.
            let made = old
                .as_ref()
                .and_then(|o| o.get(&name))
                .filter(|o| o.etag == etag)
                .map_or(export.made, |o| o.made);
            (name, Served { text, etag, made })
        })
        .collect();
    let served = Arc::new(served);
    cache.exports.insert(key, (token, served.clone()));
    Ok(served)
}

fn respond(served: &Served, headers: &HeaderMap) -> Response {
    let last_modified = http_date(served.made);
    let not_modified = match headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        Some(tags) => tags
            .split(',')
            .any(|t| t.trim() == served.etag || t.trim() == "*"),
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_http_date)
            .is_some_and(|since| served.made.unix_micros() / 1_000_000 <= since),
    };
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        served.text.clone().into_response()
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&served.etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&last_modified) {
        h.insert(header::LAST_MODIFIED, v);
    }
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// An HTTP date (RFC 9110 IMF-fixdate) of a timestamp.
fn http_date(t: Timestamp) -> String {
    let secs = t.unix_micros().div_euclid(1_000_000);
    let text = Timestamp::from_unix_micros(secs * 1_000_000).to_string();
    // `YYYY-MM-DDTHH:MM:SSZ`
    let (date, time) = text.split_once('T').unwrap_or((&text, "00:00:00Z"));
    let mut parts = date.split('-');
    let (y, m, d) = (
        parts.next().unwrap_or("1970"),
        parts.next().unwrap_or("01"),
        parts.next().unwrap_or("01"),
    );
    let month = m
        .parse::<usize>()
        .ok()
        .and_then(|m| MONTHS.get(m.wrapping_sub(1)))
        .unwrap_or(&"Jan");
    let day = DAYS[usize::try_from(secs.div_euclid(86_400).rem_euclid(7)).unwrap_or(0)];
    let time = time.trim_end_matches('Z');
    let time = time.split('.').next().unwrap_or(time);
    format!("{day}, {d} {month} {y} {time} GMT")
}

/// Seconds since the epoch of an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn parse_http_date(text: &str) -> Option<i64> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [_, d, month, y, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    let m = MONTHS.iter().position(|x| x == month)? + 1;
    let rfc3339 = format!("{y}-{m:02}-{d:0>2}T{time}Z");
    Timestamp::parse(&rfc3339)
        .ok()
        .map(|t| t.unix_micros() / 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_round_trip() {
        let t = Timestamp::parse("1994-11-06T08:49:37Z").unwrap();
        assert_eq!(http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(parse_http_date("yesterday"), None);
    }
}
