//! Administration (`/admin`, administrators only): the users of each organisation and their
//! API tokens, the collections and who may read and write them, the feeds and their last
//! poll, and the audit log (`/admin/audit`, paged by sequence number).
//!
//! Users, tokens and collections are created with the `watchpost` command (`user add`, `token
//! create`, `collection add`); this page shows the hub's state, so that a duty officer can see
//! at a glance that a feed has stopped or who read what.

use crate::error::{respond, WebError};
use crate::i18n::{Key, Lang};
use crate::intel::tlp_badge;
use crate::page::{render, Page};
use crate::session::Signed;
use crate::Console;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use std::sync::Arc;
use watchpost_store::{AuditEntry, FeedKind, Permissions, Role};

/// Audit entries per page.
const AUDIT_PAGE: usize = 200;

/// An organisation and its users.
pub struct OrgUsers {
    /// The organisation.
    pub org: String,
    /// Its sector.
    pub sector: String,
    /// Its users' names.
    pub users: Vec<String>,
}

/// A feed as the page lists it.
pub struct FeedRow {
    /// Its number.
    pub id: i64,
    /// TAXII or MISP.
    pub kind: &'static str,
    /// Where it is polled from.
    pub source: String,
    /// The local collection.
    pub collection: String,
    /// Seconds between polls.
    pub every: i64,
    /// When it was last polled, in the user's zone.
    pub last_polled: String,
    /// Its last error, if any.
    pub error: String,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    page: Page,
    orgs: Vec<OrgUsers>,
    collections: Vec<(Permissions, &'static str, &'static str)>,
    tokens: Vec<(String, String, String)>,
    feeds: Vec<FeedRow>,
}

/// An audit entry as the log page shows it.
pub struct AuditRow {
    /// Its sequence number.
    pub seq: i64,
    /// When, in the user's zone.
    pub at: String,
    /// Who (user and organisation).
    pub actor: String,
    /// What.
    pub action: String,
    /// On what: collection, object, version.
    pub target: String,
    /// Its marking, when it is an object's.
    pub tlp: Option<(&'static str, &'static str)>,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    page: Page,
    rows: Vec<AuditRow>,
    next: Option<i64>,
}

fn admin_only(signed: &Signed) -> Result<(), WebError> {
    if signed.caller.role == Role::Admin {
        Ok(())
    } else {
        Err(WebError::Forbidden)
    }
}

/// `GET /admin`.
pub(crate) async fn page(
    State(console): State<Arc<Console>>,
    signed: Signed,
    lang: Lang,
    headers: HeaderMap,
) -> Response {
    let page = Page::new(&headers, &signed, Key::Administration, "/admin");
    let result = async {
        admin_only(&signed)?;
        let mut orgs = Vec::new();
        for org in console.store.orgs().await? {
            orgs.push(OrgUsers {
                users: console.store.org_users(&org.name).await?,
                sector: org.sector.unwrap_or_default(),
                org: org.name,
            });
        }
        let collections = console
            .store
            .permissions()
            .await?
            .into_iter()
            .map(|c| {
                let (class, label) = tlp_badge(c.default_tlp);
                (c, class, label)
            })
            .collect();
        let tokens = console
            .store
            .tokens()
            .await?
            .into_iter()
            .map(|t| (t.username, t.org, page.zone.format(t.created)))
            .collect();
        let feeds = console
            .store
            .feeds()
            .await?
            .into_iter()
            .map(|f| FeedRow {
                id: f.id,
                kind: match f.kind {
                    FeedKind::Taxii => "TAXII 2.1",
                    FeedKind::Misp => "MISP",
                },
                source: match f.kind {
                    FeedKind::Taxii => format!("{}collections/{}", f.api_root, f.remote),
                    FeedKind::Misp => format!("{}manifest.json", f.api_root),
                },
                collection: f.collection,
                every: f.interval_secs,
                last_polled: f
                    .last_polled
                    .map(|t| page.zone.format(t))
                    .unwrap_or_else(|| lang.t(Key::Never).to_string()),
                error: f.last_error.unwrap_or_default(),
            })
            .collect();
        render(&AdminPage {
            orgs,
            collections,
            tokens,
            feeds,
            page,
        })
    };
    respond(lang, result.await)
}

/// `?after=` of the audit log.
#[derive(Deserialize)]
pub(crate) struct AfterParam {
    #[serde(default)]
    after: i64,
}

/// `GET /admin/audit`.
pub(crate) async fn audit(
    State(console): State<Arc<Console>>,
    signed: Signed,
    lang: Lang,
    headers: HeaderMap,
    Query(param): Query<AfterParam>,
) -> Response {
    let page = Page::new(&headers, &signed, Key::AuditLog, "/admin");
    let result = async {
        admin_only(&signed)?;
        let entries = console.store.audit_log(param.after, AUDIT_PAGE).await?;
        let next = (entries.len() == AUDIT_PAGE)
            .then(|| entries.last().map(|e| e.seq))
            .flatten();
        let rows = entries
            .into_iter()
            .map(|e: AuditEntry| AuditRow {
                seq: e.seq,
                at: page.zone.format(e.at),
                actor: format!("{} ({})", e.actor_user, e.actor_org),
                action: e.action,
                target: [e.collection, e.object_id]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" · "),
                tlp: e.tlp.map(tlp_badge),
            })
            .collect();
        render(&AuditPage { page, rows, next })
    };
    respond(lang, result.await)
}
