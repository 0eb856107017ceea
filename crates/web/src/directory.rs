//! The directory (`/directory`): the organisations, their focal points and 24/7 contacts, and
//! their constituencies (prefixes, ASNs, domains), with export (`/directory/export.json`, the
//! format `watchpost org import` reads) and, for administrators, import of JSON or CSV pasted
//! into the page.

use crate::error::{respond, WebError};
use crate::i18n::{Key, Lang};
use crate::page::{render, Page};
use crate::session::Signed;
use crate::Console;
use askama::Template;
use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use std::sync::Arc;
use watchpost_store::Role;
use watchpost_warn::directory::{self as dir, DirectoryEntry};

/// Prefixes an organisation's card lists before "and N more" (the export has them all).
const PREFIXES_SHOWN: usize = 12;

/// An organisation as the directory page shows it.
pub struct Card {
    /// Its name.
    pub org: String,
    /// Country, sector and flags, as one line.
    pub facts: String,
    /// Whether it is a national CERT (the escalation of last resort).
    pub national: bool,
    /// Whether its constituency is critical infrastructure.
    pub critical: bool,
    /// Its focal points, in escalation order.
    pub focal_points: Vec<dir::FocalPoint>,
    /// The first prefixes.
    pub prefixes: Vec<String>,
    /// How many more there are.
    pub more: usize,
    /// Its ASNs.
    pub asns: String,
    /// Its domains.
    pub domains: String,
}

#[derive(Template)]
#[template(path = "directory.html")]
struct DirectoryPage {
    page: Page,
    cards: Vec<Card>,
    can_import: bool,
    report: Vec<String>,
}

async fn entries(console: &Console) -> Result<Vec<DirectoryEntry>, WebError> {
    let mut out = Vec::new();
    for (_, json) in console.store.directory_entries().await? {
        // An entry this version cannot read is left out of the page, not fatal to it.
        if let Ok(entry) = serde_json::from_str::<DirectoryEntry>(&json) {
            out.push(entry);
        }
    }
    Ok(out)
}

fn card(e: DirectoryEntry) -> Card {
    let c = &e.constituency;
    let facts: Vec<&str> = [c.country.as_deref(), c.sector.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    let mut focal_points = e.focal_points.clone();
    focal_points.sort_by_key(|f| f.order);
    Card {
        facts: facts.join(" · "),
        national: e.national,
        critical: c.critical,
        prefixes: c
            .prefixes
            .iter()
            .take(PREFIXES_SHOWN)
            .map(ToString::to_string)
            .collect(),
        more: c.prefixes.len().saturating_sub(PREFIXES_SHOWN),
        asns: c
            .asns
            .iter()
            .map(|a| format!("AS{a}"))
            .collect::<Vec<_>>()
            .join(", "),
        domains: c.domains.join(", "),
        focal_points,
        org: e.org,
    }
}

async fn show(
    console: &Console,
    signed: &Signed,
    headers: &HeaderMap,
    report: Vec<String>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let page = Page::new(headers, signed, Key::Directory, "/directory");
    let cards = entries(console).await?.into_iter().map(card).collect();
    let html = render(&DirectoryPage {
        can_import: signed.caller.role == Role::Admin,
        cards,
        report,
        page,
    })?;
    Ok((status, html).into_response())
}

/// `GET /directory`.
pub(crate) async fn page(
    State(console): State<Arc<Console>>,
    signed: Signed,
    lang: Lang,
    headers: HeaderMap,
) -> Response {
    respond(
        lang,
        show(&console, &signed, &headers, Vec::new(), StatusCode::OK).await,
    )
}

/// `GET /directory/export.json`.
pub(crate) async fn export(State(console): State<Arc<Console>>, _: Signed, lang: Lang) -> Response {
    let result = async {
        let all = entries(&console).await?;
        let body =
            serde_json::to_string_pretty(&all).map_err(|e| WebError::Invalid(e.to_string()))?;
        Ok((
            [
                (CONTENT_TYPE, "application/json"),
                (
                    CONTENT_DISPOSITION,
                    "attachment; filename=\"watchpost-directory.json\"",
                ),
            ],
            body,
        )
            .into_response())
    };
    respond(lang, result.await)
}

/// The import form: the directory as JSON (a list of entries) or CSV.
#[derive(Deserialize)]
pub(crate) struct ImportForm {
    #[serde(default)]
    text: String,
}

/// `POST /directory/import` (administrators): the good entries are stored, each bad one is
/// named with its place (JSON path or CSV line and column).
pub(crate) async fn import(
    State(console): State<Arc<Console>>,
    signed: Signed,
    lang: Lang,
    headers: HeaderMap,
    Form(form): Form<ImportForm>,
) -> Response {
    let result = async {
        if signed.caller.role != Role::Admin {
            return Err(WebError::Forbidden);
        }
        let (entries, errors) = if form.text.trim_start().starts_with('[') {
            dir::from_json(&form.text)
        } else {
            dir::from_csv(&form.text)
        };
        dir::save(console.store.as_ref(), &entries).await?;
        let mut report = vec![format!(
            "{} {}",
            entries.len(),
            lang.t(Key::EntriesImported)
        )];
        report.extend(errors.iter().map(ToString::to_string));
        let status = if errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        show(&console, &signed, &headers, report, status).await
    };
    respond(lang, result.await)
}
