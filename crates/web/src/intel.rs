//! Intelligence: search (`/intel`, results refreshed as the analyst types), an object's page
//! with its versions, relationships and sightings (`/intel/objects/{collection}/{id}`), and
//! indicators created and edited with their pattern checked as it is typed
//! (`/intel/indicators/…`).
//!
//! Every object shown comes from [`Store::search`](watchpost_store::Store::search) or
//! [`Store::read`](watchpost_store::Store::read), which apply the read rules and audit AMBER+
//! reads; every object written goes through [`Store::add_objects`], which checks the caller
//! may write the collection.

use crate::error::{respond, WebError};
use crate::i18n::{Key, Lang};
use crate::page::{render, Page};
use crate::session::Signed;
use crate::Console;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use watchpost_pattern::{Pattern, SyntaxChecker};
use watchpost_stix::marking::Tlp;
use watchpost_stix::{Timestamp, Validator};
use watchpost_store::{
    Caller, CollectionView, NewObject, Query as ReadQuery, Role, SearchHit, SearchQuery,
    VersionFilter,
};

/// Hits per search page.
const HITS: usize = 100;
/// Object types the search filter offers.
const TYPES: &[&str] = &[
    "indicator",
    "malware",
    "threat-actor",
    "intrusion-set",
    "campaign",
    "attack-pattern",
    "tool",
    "vulnerability",
    "report",
    "relationship",
    "sighting",
    "course-of-action",
    "note",
    "identity",
];
const TLPS: [Tlp; 5] = [
    Tlp::Clear,
    Tlp::Green,
    Tlp::Amber,
    Tlp::AmberStrict,
    Tlp::Red,
];

/// The search form, as sent.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct SearchForm {
    #[serde(default)]
    q: String,
    #[serde(default, rename = "type")]
    object_type: String,
    #[serde(default)]
    tlp: String,
    #[serde(default)]
    collection: String,
    /// `YYYY-MM-DD`: modified on or after.
    #[serde(default)]
    from: String,
    /// `YYYY-MM-DD`: modified before the end of this day.
    #[serde(default)]
    to: String,
}

/// A hit as the results table shows it.
pub struct HitRow {
    /// Link to its page.
    pub href: String,
    /// Its name, or its id.
    pub name: String,
    /// Its type.
    pub object_type: String,
    /// `tlp-green` and so on.
    pub tlp_class: &'static str,
    /// `TLP:GREEN` and so on.
    pub tlp_label: &'static str,
    /// The collection's title.
    pub collection: String,
    /// Its latest version, in the user's zone.
    pub modified: String,
    /// Whether it is revoked.
    pub revoked: bool,
}

#[derive(Template)]
#[template(path = "intel.html")]
struct IntelPage {
    page: Page,
    form: SearchForm,
    types: &'static [&'static str],
    tlps: Vec<(&'static str, &'static str)>,
    collections: Vec<CollectionView>,
    hits: Vec<HitRow>,
    can_write: bool,
}

#[derive(Template)]
#[template(path = "intel_hits.html")]
struct HitsFragment {
    page: Page,
    hits: Vec<HitRow>,
}

/// The CSS class and label of a marking.
pub fn tlp_badge(tlp: Tlp) -> (&'static str, &'static str) {
    match tlp {
        Tlp::Clear => ("tlp-clear", "TLP:CLEAR"),
        Tlp::Green => ("tlp-green", "TLP:GREEN"),
        Tlp::Amber => ("tlp-amber", "TLP:AMBER"),
        Tlp::AmberStrict => ("tlp-amber-strict", "TLP:AMBER+STRICT"),
        Tlp::Red => ("tlp-red", "TLP:RED"),
    }
}

/// Micros of the start of a `YYYY-MM-DD` day (UTC), if it is one.
fn day_start(text: &str) -> Option<i64> {
    Timestamp::parse(&format!("{}T00:00:00Z", text.trim()))
        .ok()
        .map(|t| t.unix_micros())
}

fn search_query(form: &SearchForm) -> Result<SearchQuery, WebError> {
    let date = |text: &str| -> Result<Option<i64>, WebError> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        day_start(text)
            .map(Some)
            .ok_or_else(|| WebError::Invalid(format!("{text:?} is not a date (YYYY-MM-DD)")))
    };
    Ok(SearchQuery {
        text: form.q.clone(),
        types: if form.object_type.is_empty() {
            Vec::new()
        } else {
            vec![form.object_type.clone()]
        },
        tlp: Tlp::from_name(&form.tlp),
        collection: (!form.collection.is_empty()).then(|| form.collection.clone()),
        modified_after: date(&form.from)?,
        modified_before: date(&form.to)?.map(|d| d + 86_400_000_000),
        include_revoked: false,
        limit: HITS,
    })
}

async fn hits(
    console: &Console,
    caller: &Caller,
    form: &SearchForm,
    page: &Page,
) -> Result<(Vec<HitRow>, Vec<CollectionView>), WebError> {
    let collections = console.store.collections(caller).await?;
    let found = console.store.search(caller, &search_query(form)?).await?;
    let title = |id: &str| {
        collections
            .iter()
            .find(|c| c.id == id)
            .map_or_else(|| id.to_string(), |c| c.title.clone())
    };
    let rows = found
        .into_iter()
        .map(|h: SearchHit| {
            let (tlp_class, tlp_label) = tlp_badge(h.tlp);
            HitRow {
                href: format!("/intel/objects/{}/{}", h.collection, h.id),
                name: h.name.clone().unwrap_or_else(|| h.id.clone()),
                object_type: h.object_type,
                tlp_class,
                tlp_label,
                collection: title(&h.collection),
                modified: page.zone.format(h.version),
                revoked: h.revoked,
            }
        })
        .collect();
    Ok((rows, collections))
}

/// `GET /intel`.
pub(crate) async fn page(
    State(console): State<Arc<Console>>,
    signed: Signed,
    lang: Lang,
    headers: HeaderMap,
    Query(form): Query<SearchForm>,
) -> Response {
    let page = Page::new(&headers, &signed, Key::Intelligence, "/intel");
    let result = async {
        let (hits, collections) = hits(&console, &signed.caller, &form, &page).await?;
        render(&IntelPage {
            types: TYPES,
            tlps: TLPS
                .iter()
                .map(|t| (t.tlp2_name(), tlp_badge(*t).1))
                .collect(),
            can_write: collections.iter().any(|c| c.can_write)
                && signed.caller.role >= Role::Analyst,
            collections,
            hits,
            form,
            page,
        })
    };
    respond(lang, result.await)
}

/// `GET /intel/results`: the results table alone, for htmx as the analyst types.
pub(crate) async fn results(
    State(console): State<Arc<Console>>,
    signed: Signed,
    lang: Lang,
    headers: HeaderMap,
    Query(form): Query<SearchForm>,
) -> Response {
    let page = Page::new(&headers, &signed, Key::Intelligence, "/intel");
    let result = async {
        let (hits, _) = hits(&console, &signed.caller, &form, &page).await?;
        render(&HitsFragment { page, hits })
    };
    respond(lang, result.await)
}

/// A version of an object as its page lists it.
pub struct VersionRow {
    /// Its `modified`, in the user's zone.
    pub modified: String,
    /// When this hub added it.
    pub added: String,
    /// Who stored it here: the organisation, or the peer hub that brought it.
    pub source: String,
}

/// A related object as the page lists it.
pub struct Related {
    /// What the relation is (`indicates`, `sighting`…).
    pub relation: String,
    /// The object at the other end.
    pub other: String,
    /// Link to it, when it is a STIX id.
    pub href: Option<String>,
    /// Sightings: how many; else empty.
    pub detail: String,
}

#[derive(Template)]
#[template(path = "object.html")]
struct ObjectPage {
    page: Page,
    id: String,
    collection: String,
    name: String,
    object_type: String,
    tlp_class: &'static str,
    tlp_label: &'static str,
    json: String,
    versions: Vec<VersionRow>,
    related: Vec<Related>,
    sightings: i64,
    edit_href: Option<String>,
}

/// `GET /intel/objects/{collection}/{id}`.
pub(crate) async fn object(
    State(console): State<Arc<Console>>,
    signed: Signed,
    lang: Lang,
    headers: HeaderMap,
    Path((collection, id)): Path<(String, String)>,
) -> Response {
    let page = Page::new(&headers, &signed, Key::Intelligence, "/intel");
    let result = async {
        let caller = &signed.caller;
        let read = ReadQuery {
            ids: vec![id.clone()],
            versions: VersionFilter::all(),
            limit: 1000,
            ..ReadQuery::default()
        };
        let stored = console.store.read(caller, &collection, &read).await?;
        let latest = stored
            .objects
            .iter()
            .max_by_key(|o| o.version)
            .ok_or(WebError::NotFound)?;
        let body: Value = serde_json::from_str(&latest.body)
            .map_err(|e| WebError::Invalid(format!("the stored object is unreadable: {e}")))?;
        let tlp = watchpost_stix::marking::tlp_of(&body).unwrap_or(Tlp::Green);
        let (tlp_class, tlp_label) = tlp_badge(tlp);
        let (related, sightings) = related(&console, caller, &id).await?;
        let writable = console
            .store
            .collections(caller)
            .await?
            .iter()
            .any(|c| c.id == collection && c.can_write);
        let edit = body["type"] == "indicator" && writable && caller.role >= Role::Analyst;
        let sources = sources(&console, page.lang).await?;
        render(&ObjectPage {
            name: body["name"].as_str().unwrap_or(&id).to_string(),
            object_type: body["type"].as_str().unwrap_or("").to_string(),
            json: serde_json::to_string_pretty(&body).unwrap_or_default(),
            versions: stored
                .objects
                .iter()
                .rev()
                .map(|o| VersionRow {
                    modified: page.zone.format(o.version),
                    added: page.zone.format(o.date_added),
                    source: sources.get(&o.owner).cloned().unwrap_or_default(),
                })
                .collect(),
            edit_href: edit.then(|| format!("/intel/indicators/{collection}/{id}/edit")),
            related,
            sightings,
            tlp_class,
            tlp_label,
            id,
            collection,
            page,
        })
    };
    respond(lang, result.await)
}

/// Each organisation's name by its id, marked when it is a peer hub's (provenance of what
/// federation brought).
async fn sources(
    console: &Console,
    lang: Lang,
) -> Result<std::collections::HashMap<String, String>, WebError> {
    let peers: Vec<String> = console
        .store
        .peers()
        .await?
        .into_iter()
        .map(|p| p.org)
        .collect();
    Ok(console
        .store
        .orgs()
        .await?
        .into_iter()
        .map(|o| {
            let name = if peers.contains(&o.id) {
                format!("{} ({})", o.name, lang.t(Key::PeerHub))
            } else {
                o.name
            };
            (o.id, name)
        })
        .collect())
}

/// What refers to `id` (relationships both ways, sightings), found through search so that the
/// read rules apply, then read for their contents.
async fn related(
    console: &Console,
    caller: &Caller,
    id: &str,
) -> Result<(Vec<Related>, i64), WebError> {
    let query = SearchQuery {
        text: id.to_string(),
        types: vec!["relationship".into(), "sighting".into()],
        limit: 200,
        ..SearchQuery::default()
    };
    let hits = console.store.search(caller, &query).await?;
    let (mut out, mut sightings) = (Vec::new(), 0);
    for hit in hits {
        let read = ReadQuery {
            ids: vec![hit.id.clone()],
            limit: 1,
            ..ReadQuery::default()
        };
        let page = console.store.read(caller, &hit.collection, &read).await?;
        let Some(body) = page
            .objects
            .first()
            .and_then(|o| serde_json::from_str::<Value>(&o.body).ok())
        else {
            continue;
        };
        let text = |k: &str| body[k].as_str().unwrap_or("").to_string();
        if hit.object_type == "sighting" {
            if text("sighting_of_ref") == id {
                sightings += body["count"].as_i64().unwrap_or(1);
            }
            continue;
        }
        let (relation, other) = if text("source_ref") == id {
            (text("relationship_type"), text("target_ref"))
        } else if text("target_ref") == id {
            (
                format!("← {}", text("relationship_type")),
                text("source_ref"),
            )
        } else {
            continue;
        };
        out.push(Related {
            href: Some(format!("/intel/find?id={other}")),
            relation,
            other,
            detail: String::new(),
        });
    }
    Ok((out, sightings))
}

/// `?id=` of `/intel/find`.
#[derive(Deserialize)]
pub(crate) struct FindParam {
    id: String,
}

/// `GET /intel/find?id=…`: the page of an object whose collection is not known (the other end
/// of a relationship), or the search for it when it is in none the user reads.
pub(crate) async fn find(
    State(console): State<Arc<Console>>,
    signed: Signed,
    lang: Lang,
    Query(param): Query<FindParam>,
) -> Response {
    let result = async {
        for c in console.store.collections(&signed.caller).await? {
            if !c.can_read {
                continue;
            }
            let read = ReadQuery {
                ids: vec![param.id.clone()],
                limit: 1,
                with_body: false,
                ..ReadQuery::default()
            };
            if !console
                .store
                .read(&signed.caller, &c.id, &read)
                .await?
                .objects
                .is_empty()
            {
                return Ok(see_other(&format!("/intel/objects/{}/{}", c.id, param.id)));
            }
        }
        Err(WebError::NotFound)
    };
    respond(lang, result.await)
}

fn see_other(location: &str) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, location.to_string())]).into_response()
}

/// The indicator form, as sent.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct IndicatorForm {
    #[serde(default)]
    collection: String,
    /// Set when editing: the indicator's id.
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    pattern: String,
    #[serde(default)]
    tlp: String,
    #[serde(default)]
    confidence: String,
}

#[derive(Template)]
#[template(path = "indicator_form.html")]
struct IndicatorPage {
    page: Page,
    form: IndicatorForm,
    collections: Vec<CollectionView>,
    tlps: Vec<(&'static str, &'static str)>,
    check: PatternCheck,
    errors: Vec<String>,
}

/// What the live check says of a pattern.
pub struct PatternCheck {
    /// Whether there is anything to say.
    pub shown: bool,
    /// Whether it parses.
    pub ok: bool,
    /// The message, with the column, in the user's language.
    pub message: String,
    /// The pattern with a caret under the column, for a monospace block.
    pub caret: String,
}

#[derive(Template)]
#[template(path = "pattern_check.html")]
struct PatternFragment {
    check: PatternCheck,
}

/// Checks a pattern with the engine the watches use: the first error, with its column.
pub fn check_pattern(pattern: &str, lang: Lang) -> PatternCheck {
    if pattern.trim().is_empty() {
        return PatternCheck {
            shown: false,
            ok: false,
            message: String::new(),
            caret: String::new(),
        };
    }
    match Pattern::parse(pattern) {
        Ok(_) => PatternCheck {
            shown: true,
            ok: true,
            message: lang.t(Key::PatternValid).to_string(),
            caret: String::new(),
        },
        Err(e) => {
            let line: String = pattern.chars().filter(|c| *c != '\n').collect();
            let pad: String = " ".repeat(e.column.saturating_sub(1));
            PatternCheck {
                shown: true,
                ok: false,
                message: format!("{} {}: {}", lang.t(Key::Column), e.column, e.message),
                caret: format!("{line}\n{pad}^"),
            }
        }
    }
}

fn writable(collections: Vec<CollectionView>) -> Vec<CollectionView> {
    collections.into_iter().filter(|c| c.can_write).collect()
}

fn may_write(caller: &Caller) -> Result<(), WebError> {
    if caller.role >= Role::Analyst {
        Ok(())
    } else {
        Err(WebError::Forbidden)
    }
}

/// `?collection=` of the new-indicator form.
#[derive(Deserialize)]
pub(crate) struct NewParam {
    #[serde(default)]
    collection: String,
}

/// `GET /intel/indicators/new`.
pub(crate) async fn new_form(
    State(console): State<Arc<Console>>,
    signed: Signed,
    lang: Lang,
    headers: HeaderMap,
    Query(param): Query<NewParam>,
) -> Response {
    let page = Page::new(&headers, &signed, Key::NewIndicator, "/intel");
    let result = async {
        may_write(&signed.caller)?;
        let collections = writable(console.store.collections(&signed.caller).await?);
        let form = IndicatorForm {
            collection: param.collection,
            tlp: "green".into(),
            ..IndicatorForm::default()
        };
        form_page(page, form, collections, Vec::new(), StatusCode::OK)
    };
    respond(lang, result.await)
}

fn form_page(
    page: Page,
    form: IndicatorForm,
    collections: Vec<CollectionView>,
    errors: Vec<String>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let check = check_pattern(&form.pattern, page.lang);
    let html = render(&IndicatorPage {
        tlps: TLPS
            .iter()
            .map(|t| (t.tlp2_name(), tlp_badge(*t).1))
            .collect(),
        check,
        collections,
        errors,
        form,
        page,
    })?;
    Ok((status, html).into_response())
}

/// `GET /intel/indicators/{collection}/{id}/edit`.
pub(crate) async fn edit_form(
    State(console): State<Arc<Console>>,
    signed: Signed,
    lang: Lang,
    headers: HeaderMap,
    Path((collection, id)): Path<(String, String)>,
) -> Response {
    let page = Page::new(&headers, &signed, Key::EditIndicator, "/intel");
    let result = async {
        may_write(&signed.caller)?;
        let read = ReadQuery {
            ids: vec![id.clone()],
            limit: 1,
            ..ReadQuery::default()
        };
        let stored = console
            .store
            .read(&signed.caller, &collection, &read)
            .await?;
        let body: Value = stored
            .objects
            .first()
            .and_then(|o| serde_json::from_str(&o.body).ok())
            .ok_or(WebError::NotFound)?;
        if body["type"] != "indicator" {
            return Err(WebError::NotFound);
        }
        let text = |k: &str| body[k].as_str().unwrap_or("").to_string();
        let form = IndicatorForm {
            collection,
            id,
            name: text("name"),
            description: text("description"),
            pattern: text("pattern"),
            tlp: watchpost_stix::marking::tlp_of(&body)
                .unwrap_or(Tlp::Green)
                .tlp2_name()
                .to_string(),
            confidence: body["confidence"]
                .as_i64()
                .map(|c| c.to_string())
                .unwrap_or_default(),
        };
        let collections = writable(console.store.collections(&signed.caller).await?);
        form_page(page, form, collections, Vec::new(), StatusCode::OK)
    };
    respond(lang, result.await)
}

/// `POST /intel/indicators/check`: the live pattern check, for htmx (signed-in users only:
/// the session extractor refuses others).
pub(crate) async fn check(_: Signed, lang: Lang, Form(form): Form<IndicatorForm>) -> Response {
    let check = check_pattern(&form.pattern, lang);
    respond(lang, render(&PatternFragment { check }))
}

/// `POST /intel/indicators`: creates an indicator, or a new version of one being edited.
pub(crate) async fn save(
    State(console): State<Arc<Console>>,
    signed: Signed,
    lang: Lang,
    headers: HeaderMap,
    Form(form): Form<IndicatorForm>,
) -> Response {
    let page = Page::new(&headers, &signed, Key::NewIndicator, "/intel");
    let result = async {
        may_write(&signed.caller)?;
        let (object, errors) = indicator(&console, &signed.caller, &form).await?;
        if !errors.is_empty() {
            let collections = writable(console.store.collections(&signed.caller).await?);
            return form_page(
                page,
                form,
                collections,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
        let id = object.id.clone();
        let status = console
            .store
            .add_objects(&signed.caller, &form.collection, vec![object], Vec::new())
            .await?;
        if status.success_count == 0 {
            return Err(WebError::Invalid("the indicator was not stored".into()));
        }
        Ok(see_other(&format!(
            "/intel/objects/{}/{id}",
            form.collection
        )))
    };
    respond(lang, result.await)
}

/// The indicator the form describes, or what is wrong with it.
async fn indicator(
    console: &Console,
    caller: &Caller,
    form: &IndicatorForm,
) -> Result<(NewObject, Vec<String>), WebError> {
    let mut errors = Vec::new();
    let now = Timestamp::now();
    let stamp = Timestamp::from_unix_micros(now.unix_micros() - now.unix_micros() % 1000);
    let (id, created) = if form.id.is_empty() {
        (
            format!("indicator--{}", uuid::Uuid::new_v4()),
            stamp.to_string(),
        )
    } else {
        let read = ReadQuery {
            ids: vec![form.id.clone()],
            limit: 1,
            ..ReadQuery::default()
        };
        let stored = console.store.read(caller, &form.collection, &read).await?;
        let old: Value = stored
            .objects
            .first()
            .and_then(|o| serde_json::from_str(&o.body).ok())
            .ok_or(WebError::NotFound)?;
        (
            form.id.clone(),
            old["created"].as_str().unwrap_or("").to_string(),
        )
    };
    let tlp = Tlp::from_name(&form.tlp).unwrap_or(Tlp::Green);
    let mut body = json!({"type": "indicator", "spec_version": "2.1", "id": id,
        "created": created, "modified": stamp.to_string(), "name": form.name.trim(),
        "pattern": form.pattern.trim(), "pattern_type": "stix", "valid_from": stamp.to_string(),
        "object_marking_refs": [tlp.marking_id()]});
    if !form.description.trim().is_empty() {
        body["description"] = json!(form.description.trim());
    }
    if !form.confidence.trim().is_empty() {
        match form.confidence.trim().parse::<u8>() {
            Ok(c) if c <= 100 => body["confidence"] = json!(c),
            _ => errors.push(format!("confidence: {:?} is not 0–100", form.confidence)),
        }
    }
    if form.name.trim().is_empty() {
        errors.push("name: an indicator needs a name analysts will recognise".into());
    }
    let validator = Validator::new().with_pattern_syntax(SyntaxChecker);
    errors.extend(validator.validate(&body).iter().map(ToString::to_string));
    let object = NewObject {
        id,
        object_type: "indicator".into(),
        version: Some(stamp.unix_micros()),
        spec_version: "2.1".into(),
        tlp: Some(tlp),
        recipients: Vec::new(),
        body: body.to_string(),
    };
    Ok((object, errors))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_pattern_is_shown_with_its_column() {
        let check = check_pattern("[ipv4-addr:value = '10.0.0.1' AND]", Lang::En);
        assert!(check.shown && !check.ok);
        assert!(check.message.starts_with("Column "), "{}", check.message);
        let caret_line = check.caret.lines().nth(1).unwrap();
        let column: usize = check.message["Column ".len()..]
            .split(':')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(caret_line.len(), column, "the caret sits under the column");
        assert!(check_pattern("[domain-name:value = 'evil.vn']", Lang::Vi).ok);
        assert!(!check_pattern("  ", Lang::En).shown);
    }
}
