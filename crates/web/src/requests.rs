//! 24/7 requests (`/requests`): those the user's organisation sent or received, and each one's
//! timeline (`/requests/{id}`) — every record of its audit chain, with whether the chain still
//! verifies — and its files (`/requests/{id}/attachments/{sha256}`).
//!
//! The store shows a request only to its two organisations; to anyone else it does not exist,
//! so the page answers 404 as for an unknown id, never 403.

use crate::error::{respond, WebError};
use crate::i18n::{Key, Lang};
use crate::page::{render, Page};
use crate::session::Signed;
use crate::zone::Zone;
use crate::Console;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use std::sync::Arc;
use watchpost_coop::chain::{self, Entry, Record};
use watchpost_coop::hub;
use watchpost_coop::relay;
use watchpost_coop::request::Request;
use watchpost_coop::state::{self, Event};
use watchpost_stix::Timestamp;
use watchpost_store::{Caller, Role};

/// A request as the list shows it.
pub struct Row {
    /// Its id.
    pub id: String,
    /// Its type.
    pub kind: String,
    /// Where it stands.
    pub state: String,
    /// The requesting organisation.
    pub from: String,
    /// The receiving organisation.
    pub to: String,
    /// The requested deadline, as written.
    pub deadline: String,
    /// Its last change, in the user's zone.
    pub updated: String,
}

#[derive(Template)]
#[template(path = "requests.html")]
struct ListPage {
    page: Page,
    rows: Vec<Row>,
}

/// One record of the timeline.
pub struct Step {
    /// Its place in the chain.
    pub seq: u64,
    /// When, in the user's zone.
    pub at: String,
    /// Who (`org/user`).
    pub actor: String,
    /// What happened, in words.
    pub what: String,
    /// More about it (a reason, an expiry, a file name, a note).
    pub detail: String,
    /// Whether the event happened on the other organisation's hub.
    pub copied: bool,
    /// The start of its hash.
    pub hash: String,
}

#[derive(Template)]
#[template(path = "request.html")]
struct DetailPage {
    page: Page,
    request: Request,
    state: String,
    preserved_until: Option<String>,
    refusal: Option<String>,
    identifiers: Vec<String>,
    steps: Vec<Step>,
    /// `None` when the chain verifies, else why not.
    broken: Option<String>,
    /// What the user may do now: (form name, label).
    actions: Vec<(&'static str, &'static str)>,
}

/// `GET /requests`.
pub(crate) async fn list(
    State(console): State<Arc<Console>>,
    signed: Signed,
    lang: Lang,
    headers: HeaderMap,
) -> Response {
    let page = Page::new(&headers, &signed, Key::Requests, "/requests");
    let result = async {
        let zone = page.zone;
        let rows = console
            .store
            .visible_requests(&signed.caller)
            .await?
            .into_iter()
            .map(|r| Row {
                id: r.id,
                kind: r.kind,
                state: r.state,
                from: r.from_org,
                to: r.to_org,
                deadline: r.deadline.unwrap_or_default(),
                updated: zone.format(r.updated),
            })
            .collect();
        render(&ListPage { page, rows })
    };
    respond(lang, result.await)
}

/// `GET /requests/{id}`.
pub(crate) async fn detail(
    State(console): State<Arc<Console>>,
    signed: Signed,
    lang: Lang,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let page = Page::new(&headers, &signed, Key::Requests, "/requests");
    let result = async {
        let (_, rows) = console
            .store
            .visible_request(&signed.caller, &id)
            .await?
            .ok_or(WebError::NotFound)?;
        let records: Vec<Record> = rows.iter().map(Record::from_store).collect();
        let broken = chain::verify(&records).err().map(|e| e.to_string());
        // A chain that does not verify is still shown, record by record, as stored.
        let case = chain::Case::replay(records.clone()).ok();
        let request = match &case {
            Some(c) => c.request.clone(),
            None => first_request(&records).ok_or(WebError::NotFound)?,
        };
        let steps = records
            .iter()
            .map(|r| step(r, page.zone, page.lang))
            .collect();
        let org = org_name(&console, &signed.caller).await?;
        let actions = case.as_ref().map_or_else(Vec::new, |c| {
            actions_for(c, &org, signed.caller.role)
                .into_iter()
                .map(|name| (name, action_label(name, page.lang)))
                .collect()
        });
        render(&DetailPage {
            identifiers: request
                .identifiers
                .iter()
                .map(ToString::to_string)
                .collect(),
            state: case
                .as_ref()
                .map_or_else(String::new, |c| c.state.to_string()),
            preserved_until: case
                .as_ref()
                .and_then(|c| c.preserved_until.as_ref().map(ToString::to_string)),
            refusal: case.as_ref().and_then(|c| c.refusal.clone()),
            request,
            steps,
            broken,
            actions,
            page,
        })
    };
    respond(lang, result.await)
}

/// The events the console records, by their form name: each party's answers to the other.
/// Sending happens on the command line, the receipt is the hub's, and an extension needs a
/// date; those are not offered here.
const ACTIONS: [&str; 6] = [
    "acknowledge",
    "start",
    "fulfil",
    "fulfil-partially",
    "refuse",
    "close",
];

fn event_named(name: &str, reason: &str) -> Option<Event> {
    Some(match name {
        "acknowledge" => Event::Acknowledge,
        "start" => Event::Start,
        "fulfil" => Event::Fulfil,
        "fulfil-partially" => Event::FulfilPartially,
        "refuse" => Event::Refuse {
            reason: reason.trim().to_string(),
        },
        "close" => Event::Close,
        _ => return None,
    })
}

/// The actions `org` may take on `case` now: its side's events that are legal from the state.
fn actions_for(case: &chain::Case, org: &str, role: Role) -> Vec<&'static str> {
    if role < Role::Analyst {
        return Vec::new();
    }
    ACTIONS
        .into_iter()
        .filter(|name| {
            let Some(event) = event_named(name, "a reason") else {
                return false;
            };
            let party = if relay::by_requester(&event) {
                &case.request.from_org
            } else {
                &case.request.to_org
            };
            party == org && state::apply(case.request.request_type, case.state, &event).is_ok()
        })
        .collect()
}

/// The form of an action: which event, and the reason of a refusal.
#[derive(Deserialize)]
pub(crate) struct ActionForm {
    event: String,
    #[serde(default)]
    reason: String,
}

/// `POST /requests/{id}/events`: an analyst of the organisation whose turn it is records an
/// event (acknowledge, start, answer, close). It goes on the chain and, when the other
/// organisation is a peer's, to that hub.
pub(crate) async fn act(
    State(console): State<Arc<Console>>,
    signed: Signed,
    lang: Lang,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Response {
    let result = async {
        let caller = &signed.caller;
        let (_, rows) = console
            .store
            .visible_request(caller, &id)
            .await?
            .ok_or(WebError::NotFound)?;
        let records = rows.iter().map(Record::from_store).collect();
        let invalid = |e: &dyn std::fmt::Display| WebError::Invalid(e.to_string());
        let mut case = chain::Case::replay(records).map_err(|e| invalid(&e))?;
        let org = org_name(&console, caller).await?;
        if !actions_for(&case, &org, caller.role).contains(&form.event.as_str()) {
            return Err(WebError::Forbidden);
        }
        let event = event_named(&form.event, &form.reason).ok_or(WebError::Forbidden)?;
        let actor = format!("{org}/{}", caller.user);
        let at = Timestamp::now().to_string();
        hub::record(console.store.as_ref(), &mut case, &org, |c| {
            c.apply(event, &at, &actor).map(drop)
        })
        .await
        .map_err(|e| invalid(&e))?;
        let back = format!("/requests/{id}");
        Ok((StatusCode::SEE_OTHER, [(LOCATION, back)]).into_response())
    };
    respond(lang, result.await)
}

async fn org_name(console: &Console, caller: &Caller) -> Result<String, WebError> {
    console
        .store
        .orgs()
        .await?
        .into_iter()
        .find(|o| o.id == caller.org)
        .map(|o| o.name)
        .ok_or(WebError::Forbidden)
}

/// `GET /requests/{id}/attachments/{sha256}`: the file, to the two organisations only.
pub(crate) async fn attachment(
    State(console): State<Arc<Console>>,
    signed: Signed,
    lang: Lang,
    Path((id, sha256)): Path<(String, String)>,
) -> Response {
    let result = async {
        let file = console
            .store
            .request_attachment(&signed.caller, &id, &sha256)
            .await?
            .ok_or(WebError::NotFound)?;
        // The name is the requester's: keep only what cannot break the header.
        let name: String = file
            .name
            .chars()
            .filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\' || *c == ' ')
            .collect();
        let disposition = format!("attachment; filename=\"{name}\"");
        Ok((
            [
                (CONTENT_TYPE, "application/octet-stream".to_string()),
                (CONTENT_DISPOSITION, disposition),
            ],
            file.content,
        )
            .into_response())
    };
    respond(lang, result.await)
}

fn first_request(records: &[Record]) -> Option<Request> {
    match records.first()?.entry().ok()? {
        Entry::Created(r) => Some(r),
        _ => None,
    }
}

fn step(r: &Record, zone: Zone, lang: Lang) -> Step {
    let at =
        Timestamp::parse(&r.at).map_or_else(|_| r.at.clone(), |t| zone.format(t.unix_micros()));
    let entry = r.entry().ok();
    let (what, detail) = match &entry {
        Some(e) => describe(e, lang),
        None => (r.kind.clone(), r.body.to_string()),
    };
    Step {
        seq: r.seq,
        at,
        actor: r.actor.clone(),
        what,
        detail,
        copied: entry.as_ref().is_some_and(|e| e.via().is_some()),
        hash: r.hash.chars().take(16).collect(),
    }
}

fn action_label(name: &str, lang: Lang) -> &'static str {
    lang.t(match name {
        "acknowledge" => Key::Acknowledge,
        "start" => Key::StartWork,
        "fulfil" => Key::AnswerFulfilled,
        "fulfil-partially" => Key::AnswerPartially,
        "refuse" => Key::AnswerRefused,
        _ => Key::CloseRequest,
    })
}

fn describe(entry: &Entry, lang: Lang) -> (String, String) {
    let t = |k: Key| lang.t(k).to_string();
    match entry {
        Entry::Created(r) => (t(Key::EvCreated), r.case_reference.clone()),
        Entry::Transition { event, .. } | Entry::Extension { event, .. } => match event {
            Event::Send => (t(Key::EvSent), String::new()),
            Event::Receive => (t(Key::EvReceived), String::new()),
            Event::Acknowledge => (t(Key::EvAcknowledged), String::new()),
            Event::Start => (t(Key::EvStarted), String::new()),
            Event::Fulfil => (t(Key::EvFulfilled), String::new()),
            Event::FulfilPartially => (t(Key::EvPartiallyFulfilled), String::new()),
            Event::Refuse { reason } => (t(Key::EvRefused), reason.clone()),
            Event::Close => (t(Key::EvClosed), String::new()),
            Event::Extend { until } => (t(Key::EvExtended), until.to_string()),
        },
        Entry::Attachment(a) => (t(Key::EvAttachment), a.name.clone()),
        Entry::Note { text, .. } => (t(Key::EvNote), text.clone()),
    }
}
