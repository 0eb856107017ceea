//! The warnings inbox: the open and acknowledged warnings the user may see, most severe first
//! and then newest, with what to do about them (acknowledge, assign, close).
//!
//! Which warnings a user sees is the store's decision
//! ([`Store::visible_warnings`](watchpost_store::Store::visible_warnings) and
//! [`Store::visible_warning`](watchpost_store::Store::visible_warning)): every page, fragment
//! and action here goes through them, so none can show or touch another organisation's
//! warning. What a user may do is [`may_handle`]'s.

use crate::error::{respond, WebError};
use crate::i18n::{Key, Lang};
use crate::page::{render, Page};
use crate::session::{now, Signed};
use crate::zone::Zone;
use crate::Console;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;
use watchpost_store::{Caller, Role, Warning, WarningFilter, WarningStatus};
use watchpost_warn::warning::Detail;

/// The most warnings one page lists; more would not be read anyway, and the most severe
/// come first. 200 rows keep the page (and its refresh every 10 s) under 50 ms with 10,000
/// warnings stored (500 took 60 ms at worst; see docs/benchmarks.md).
const PAGE_SIZE: usize = 200;

/// A warning as the inbox shows it: every value already text, escaped by the template.
pub struct Row {
    id: String,
    severity: &'static str,
    severity_label: &'static str,
    status: &'static str,
    status_label: &'static str,
    indicator: String,
    pattern: String,
    evidence: String,
    asset: String,
    org: String,
    first_seen: String,
    last_seen: String,
    count: i64,
    ack_by: String,
    assigned_to: String,
    /// The users of the warning's organisation, and whether it is assigned to each.
    assignees: Vec<(String, bool)>,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    page: Page,
    rows: Vec<Row>,
    can_act: bool,
}

#[derive(Template)]
#[template(path = "inbox_rows.html")]
struct InboxRows {
    page: Page,
    rows: Vec<Row>,
    can_act: bool,
}

/// Whether a user may acknowledge, assign and close warnings: analysts and admins; readers
/// only read.
pub fn may_handle(caller: &Caller) -> bool {
    caller.role >= Role::Analyst
}

/// `GET /`: the inbox.
pub(crate) async fn page(
    State(console): State<Arc<Console>>,
    signed: Signed,
    lang: Lang,
    headers: HeaderMap,
) -> Response {
    let page = Page::new(&headers, &signed, Key::Warnings, "/");
    let result = async {
        let rows = rows_for(&console, &signed.caller, lang, page.zone).await?;
        render(&InboxPage {
            can_act: may_handle(&signed.caller),
            page,
            rows,
        })
    };
    respond(lang, result.await)
}

/// `GET /console/inbox`: the inbox's table alone, which the page polls every 10 seconds.
pub(crate) async fn rows(
    State(console): State<Arc<Console>>,
    signed: Signed,
    lang: Lang,
    headers: HeaderMap,
) -> Response {
    respond(lang, fragment(&console, &signed, &headers).await)
}

async fn fragment(
    console: &Console,
    signed: &Signed,
    headers: &HeaderMap,
) -> Result<Response, WebError> {
    let page = Page::new(headers, signed, Key::Warnings, "/");
    let rows = rows_for(console, &signed.caller, page.lang, page.zone).await?;
    render(&InboxRows {
        can_act: may_handle(&signed.caller),
        page,
        rows,
    })
}

async fn rows_for(
    console: &Console,
    caller: &Caller,
    lang: Lang,
    zone: Zone,
) -> Result<Vec<Row>, WebError> {
    let inbox = WarningFilter {
        worst_first: true,
        limit: Some(PAGE_SIZE),
        ..WarningFilter::default()
    };
    let warnings: Vec<Warning> = console.store.visible_warnings(caller, &inbox).await?;
    let mut users: HashMap<String, Vec<String>> = HashMap::new();
    let mut rows = Vec::with_capacity(warnings.len());
    for w in warnings {
        if !users.contains_key(&w.org) {
            let members = console.store.org_users(&w.org).await?;
            users.insert(w.org.clone(), members);
        }
        let members = users.get(&w.org).map(Vec::as_slice).unwrap_or_default();
        rows.push(row(w, members, lang, zone));
    }
    Ok(rows)
}

fn row(w: Warning, members: &[String], lang: Lang, zone: Zone) -> Row {
    let detail = Detail::of(&w);
    let (severity, severity_key) = match w.severity.as_str() {
        "critical" => ("critical", Some(Key::SeverityCritical)),
        "high" => ("high", Some(Key::SeverityHigh)),
        "medium" => ("medium", Some(Key::SeverityMedium)),
        "low" => ("low", Some(Key::SeverityLow)),
        _ => ("unknown", None),
    };
    let (status, status_key) = match w.status {
        WarningStatus::Open => ("open", Key::StatusOpen),
        WarningStatus::Acknowledged => ("acknowledged", Key::StatusAcknowledged),
        WarningStatus::Closed => ("closed", Key::StatusClosed),
    };
    let assigned_to = w.assigned_to.unwrap_or_default();
    Row {
        severity,
        severity_label: severity_key.map_or("?", |k| lang.t(k)),
        status,
        status_label: lang.t(status_key),
        asset: asset(&detail),
        indicator: if detail.indicator_name.is_empty() {
            w.indicator_id.clone()
        } else {
            detail.indicator_name
        },
        pattern: detail.pattern,
        evidence: detail.observation,
        org: w.org,
        first_seen: zone.format(w.first_seen),
        last_seen: zone.format(w.last_seen),
        count: w.count,
        ack_by: w.ack_by.unwrap_or_default(),
        assignees: members
            .iter()
            .map(|m| (m.clone(), *m == assigned_to))
            .collect(),
        assigned_to,
        id: w.id,
    }
}

/// The organisation's side of a sighting: of the values observed (`KIND at TIME: v1, v2, port
/// N (SOURCE, line L)`, as the watch summarises an event), those the indicator's pattern does
/// not name. The pattern names the threat; what is left is the address or host it met.
fn asset(detail: &Detail) -> String {
    let Some((_, rest)) = detail.observation.split_once(": ") else {
        return String::new();
    };
    let values = rest.rsplit_once(" (").map_or(rest, |(values, _)| values);
    values
        .split(", ")
        .filter(|v| !v.is_empty() && !v.starts_with("port ") && !detail.pattern.contains(*v))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The assignment form.
#[derive(Deserialize)]
pub(crate) struct Assignment {
    assignee: String,
}

/// The closing form.
#[derive(Deserialize)]
pub(crate) struct Closing {
    comment: String,
}

/// What an action does once the warning is known to be the user's to handle.
enum Action {
    Acknowledge,
    Assign(String),
    Close(String),
}

/// `POST /console/warnings/{id}/acknowledge`: the same store call as the acknowledgement
/// links and API of `watchpost-warn`, so its deliveries are cancelled the same way.
pub(crate) async fn acknowledge(
    State(console): State<Arc<Console>>,
    signed: Signed,
    lang: Lang,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let result = act(&console, &signed, &headers, &id, Action::Acknowledge).await;
    respond(lang, result)
}

/// `POST /console/warnings/{id}/assign`.
pub(crate) async fn assign(
    State(console): State<Arc<Console>>,
    signed: Signed,
    lang: Lang,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<Assignment>,
) -> Response {
    let result = act(
        &console,
        &signed,
        &headers,
        &id,
        Action::Assign(form.assignee),
    )
    .await;
    respond(lang, result)
}

/// `POST /console/warnings/{id}/close`.
pub(crate) async fn close(
    State(console): State<Arc<Console>>,
    signed: Signed,
    lang: Lang,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<Closing>,
) -> Response {
    let result = act(
        &console,
        &signed,
        &headers,
        &id,
        Action::Close(form.comment),
    )
    .await;
    respond(lang, result)
}

async fn act(
    console: &Console,
    signed: &Signed,
    headers: &HeaderMap,
    id: &str,
    action: Action,
) -> Result<Response, WebError> {
    let caller = &signed.caller;
    if !may_handle(caller) {
        return Err(WebError::Forbidden);
    }
    // A warning the user may not see is one that does not exist, as far as they can tell.
    if console.store.visible_warning(caller, id).await?.is_none() {
        return Err(WebError::NotFound);
    }
    let store = &console.store;
    match action {
        Action::Acknowledge => store.acknowledge_warning(id, &caller.user, now()).await?,
        Action::Assign(to) => store.assign_warning(id, &to, &caller.user, now()).await?,
        Action::Close(comment) => {
            store
                .close_warning(id, &caller.user, &comment, now())
                .await?
        }
    };
    tracing::info!(message = "A warning was handled in the console.", warning = id, user = %caller.user);
    // htmx swaps the refreshed table in; a browser without it goes back to the inbox.
    if headers.contains_key("hx-request") {
        fragment(console, signed, headers).await
    } else {
        Ok((StatusCode::SEE_OTHER, [(LOCATION, "/")]).into_response())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(observation: &str, pattern: &str, expected: &str) {
        let detail = Detail {
            indicator_name: String::new(),
            pattern: pattern.into(),
            observation: observation.into(),
        };
        assert_eq!(asset(&detail), expected);
    }

    #[test]
    fn the_asset_is_what_the_pattern_does_not_name() {
        check(
            "network-traffic at 2024-01-01T00:00:00Z: 10.1.2.3, 203.0.113.5, port 443 (eve.json, line 4)",
            "[ipv4-addr:value = '203.0.113.5']",
            "10.1.2.3",
        );
        check(
            "dns at 2024-01-01T00:00:00Z: 10.1.2.3, evil.example (eve.json, line 9)",
            "[domain-name:value = 'evil.example']",
            "10.1.2.3",
        );
        check("", "[x]", "");
    }
}
