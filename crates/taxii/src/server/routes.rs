//! The TAXII 2.1 endpoints (§4 and §5). Each handler checks the Accept header, identifies the
//! caller, and hands the request to the store with the caller attached.

use super::error::TaxiiError;
use super::filters::{self, next_token};
use super::{auth, ingest, Server, API_ROOT};
use crate::media::{accepts_taxii, is_taxii_content, STIX, TAXII};
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::fmt::Write;
use std::sync::Arc;
use watchpost_store::{timestamp_text, Caller, Page, VersionFilter};

type Reply = Result<Response, TaxiiError>;

/// Content negotiation, then authentication: what every endpoint does first.
async fn begin(server: &Server, headers: &HeaderMap) -> Result<Caller, TaxiiError> {
    if !accepts_taxii(headers) {
        return Err(TaxiiError::new(
            StatusCode::NOT_ACCEPTABLE,
            format!("this server answers only in {TAXII}; send Accept: {TAXII}"),
        ));
    }
    auth::caller(server, headers).await
}

/// A TAXII response; with the `X-TAXII-Date-Added-First/Last` headers when it lists objects.
fn reply(status: StatusCode, body: String, page: Option<&Page>) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(TAXII));
    if let Some(page) = page {
        let (Some(first), Some(last)) = (page.objects.first(), page.objects.last()) else {
            return response;
        };
        for (name, at) in [
            ("x-taxii-date-added-first", first.date_added),
            ("x-taxii-date-added-last", last.date_added),
        ] {
            if let Ok(v) = HeaderValue::from_str(&timestamp_text(at)) {
                headers.insert(name, v);
            }
        }
    }
    response
}

fn ok_json(value: Value) -> Reply {
    Ok(reply(StatusCode::OK, value.to_string(), None))
}

pub(super) async fn discovery(State(s): State<Arc<Server>>, headers: HeaderMap) -> Reply {
    begin(&s, &headers).await?;
    let mut body = json!({
        "title": s.config.title, "description": s.config.description,
        "default": API_ROOT, "api_roots": [API_ROOT],
    });
    if let Some(contact) = &s.config.contact {
        body["contact"] = json!(contact);
    }
    ok_json(body)
}

pub(super) async fn api_root(State(s): State<Arc<Server>>, headers: HeaderMap) -> Reply {
    begin(&s, &headers).await?;
    ok_json(json!({
        "title": s.config.title, "description": s.config.description,
        "versions": [TAXII], "max_content_length": s.config.max_content_length,
    }))
}

pub(super) async fn status(
    State(s): State<Arc<Server>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Reply {
    let caller = begin(&s, &headers).await?;
    let status = s.store.status(&caller, &id).await?.ok_or_else(|| {
        TaxiiError::not_found(format!("status {id} was not found for your organisation"))
    })?;
    ok_json(json!(status))
}

fn collection_json(c: &watchpost_store::CollectionView) -> Value {
    let mut v = json!({
        "id": c.id, "title": c.title, "can_read": c.can_read, "can_write": c.can_write,
        "media_types": [STIX],
    });
    if let Some(d) = &c.description {
        v["description"] = json!(d);
    }
    v
}

pub(super) async fn collections(State(s): State<Arc<Server>>, headers: HeaderMap) -> Reply {
    let caller = begin(&s, &headers).await?;
    let list = s.store.collections(&caller).await?;
    if list.is_empty() {
        return ok_json(json!({}));
    }
    ok_json(json!({ "collections": list.iter().map(collection_json).collect::<Vec<_>>() }))
}

pub(super) async fn collection_info(
    State(s): State<Arc<Server>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Reply {
    let caller = begin(&s, &headers).await?;
    let c = s
        .store
        .collection(&caller, &id)
        .await?
        .ok_or_else(|| TaxiiError::not_found(format!("collection {id} was not found")))?;
    ok_json(collection_json(&c))
}

/// Appends `"more":…,"next":…` and opens the list named `list`.
fn open_list(out: &mut String, page: &Page, list: &str) {
    let _ = write!(out, "{{\"more\":{}", page.next.is_some());
    if let Some(next) = page.next {
        let _ = write!(out, ",\"next\":\"{}\"", next_token(next));
    }
    if !page.objects.is_empty() {
        let _ = write!(out, ",\"{list}\":[");
    }
}

fn close_list(out: &mut String, page: &Page) {
    out.push_str(if page.objects.is_empty() { "}" } else { "]}" });
}

/// The envelope of a page: the stored JSON of each object, copied as is.
fn envelope(page: &Page) -> String {
    let size: usize = page.objects.iter().map(|o| o.body.len() + 1).sum();
    let mut out = String::with_capacity(size + 64);
    open_list(&mut out, page, "objects");
    for (i, o) in page.objects.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&o.body);
    }
    close_list(&mut out, page);
    out
}

pub(super) async fn objects(
    State(s): State<Arc<Server>>,
    Path(collection): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Reply {
    let caller = begin(&s, &headers).await?;
    let query = filters::parse(raw.as_deref(), VersionFilter::last(), s.config.pages)?;
    let page = s.store.read(&caller, &collection, &query).await?;
    let body = envelope(&page);
    let signature = match (s.signing_key, caller.role) {
        (Some(secret), watchpost_store::Role::Peer) => {
            Some(crate::signing::sign(&secret, body.as_bytes()))
        }
        _ => None,
    };
    let mut response = reply(StatusCode::OK, body, Some(&page));
    if let Some(v) = signature.and_then(|v| HeaderValue::from_str(&v).ok()) {
        response.headers_mut().insert(crate::signing::HEADER, v);
    }
    Ok(response)
}

pub(super) async fn add_objects(
    State(s): State<Arc<Server>>,
    Path(collection): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Reply {
    let caller = begin(&s, &headers).await?;
    if !is_taxii_content(&headers) {
        return Err(TaxiiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("POST an envelope with Content-Type: {TAXII}"),
        ));
    }
    // Permission before parsing: a caller who may not write learns so without sending work.
    match s.store.collection(&caller, &collection).await? {
        None => {
            return Err(TaxiiError::not_found(format!(
                "collection {collection} was not found"
            )))
        }
        Some(v) if !v.can_write => {
            return Err(TaxiiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "user {} may not add objects to collection {collection}",
                    caller.user
                ),
            ))
        }
        Some(_) => {}
    }
    let bytes = read_body(body, s.config.max_content_length).await?;
    check_signature(&s, &caller, &headers, &bytes).await?;
    let server = Arc::clone(&s);
    let batch = tokio::task::spawn_blocking(move || {
        ingest::read(
            &bytes,
            &server.validator,
            server.config.max_envelope_objects,
        )
    })
    .await
    .map_err(|e| {
        TaxiiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("validation stopped: {e}"),
        )
    })??;
    let status = s
        .store
        .add_objects(&caller, &collection, batch.objects, batch.failures)
        .await?;
    Ok(reply(StatusCode::ACCEPTED, json!(status).to_string(), None))
}

/// Bodies past the limit are still read (up to this many bytes) so the client, which is
/// usually still sending, receives the 413 instead of a reset connection.
const DRAIN_LIMIT: usize = 256 << 20;

async fn read_body(mut body: Body, max: usize) -> Result<Vec<u8>, TaxiiError> {
    let (mut bytes, mut total) = (Vec::new(), 0usize);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            TaxiiError::bad_request(format!("the request body could not be read: {e}"))
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total = total.saturating_add(data.len());
        if total <= max {
            bytes.extend_from_slice(&data);
        } else {
            bytes = Vec::new();
            if total > DRAIN_LIMIT {
                break;
            }
        }
    }
    if total > max {
        return Err(TaxiiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the request body is larger than this server's max_content_length of {max} \
                 bytes; split the envelope"
            ),
        ));
    }
    Ok(bytes)
}

/// A page of one object's versions; 404 when the caller sees none.
async fn object_page(
    s: &Server,
    caller: &Caller,
    collection: &str,
    object: &str,
    raw: Option<&str>,
    versions: VersionFilter,
    with_body: bool,
) -> Result<Page, TaxiiError> {
    let mut query = filters::parse(raw, versions, s.config.pages)?;
    query.ids = vec![object.to_string()];
    query.with_body = with_body;
    let page = s.store.read(caller, collection, &query).await?;
    if page.objects.is_empty() && page.next.is_none() && query.after.is_none() {
        return Err(TaxiiError::not_found(format!(
            "object {object} was not found in collection {collection}"
        )));
    }
    Ok(page)
}

pub(super) async fn object(
    State(s): State<Arc<Server>>,
    Path((collection, object)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Reply {
    let caller = begin(&s, &headers).await?;
    let page = object_page(
        &s,
        &caller,
        &collection,
        &object,
        raw.as_deref(),
        VersionFilter::last(),
        true,
    )
    .await?;
    Ok(reply(StatusCode::OK, envelope(&page), Some(&page)))
}

pub(super) async fn delete_object(
    State(s): State<Arc<Server>>,
    Path((collection, object)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Reply {
    let caller = begin(&s, &headers).await?;
    let query = filters::parse(raw.as_deref(), VersionFilter::all(), s.config.pages)?;
    s.store
        .delete_object(
            &caller,
            &collection,
            &object,
            &query.versions,
            &query.spec_versions,
        )
        .await?;
    Ok(reply(StatusCode::OK, String::new(), None))
}

pub(super) async fn versions(
    State(s): State<Arc<Server>>,
    Path((collection, object)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Reply {
    let caller = begin(&s, &headers).await?;
    let page = object_page(
        &s,
        &caller,
        &collection,
        &object,
        raw.as_deref(),
        VersionFilter::all(),
        false,
    )
    .await?;
    let mut out = String::with_capacity(page.objects.len() * 32 + 64);
    open_list(&mut out, &page, "versions");
    for (i, o) in page.objects.iter().enumerate() {
        let sep = if i > 0 { "," } else { "" };
        let _ = write!(out, "{sep}\"{}\"", timestamp_text(o.version));
    }
    close_list(&mut out, &page);
    Ok(reply(StatusCode::OK, out, Some(&page)))
}

pub(super) async fn manifest(
    State(s): State<Arc<Server>>,
    Path(collection): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Reply {
    let caller = begin(&s, &headers).await?;
    let mut query = filters::parse(raw.as_deref(), VersionFilter::last(), s.config.pages)?;
    query.with_body = false;
    let page = s.store.read(&caller, &collection, &query).await?;
    let mut out = String::with_capacity(page.objects.len() * 160 + 64);
    open_list(&mut out, &page, "objects");
    for (i, o) in page.objects.iter().enumerate() {
        let entry = json!({
            "id": o.id, "date_added": timestamp_text(o.date_added),
            "version": timestamp_text(o.version), "media_type": STIX,
        });
        let sep = if i > 0 { "," } else { "" };
        let _ = write!(out, "{sep}{entry}");
    }
    close_list(&mut out, &page);
    Ok(reply(StatusCode::OK, out, Some(&page)))
}

pub(super) async fn not_found(uri: Uri) -> TaxiiError {
    TaxiiError::not_found(format!(
        "there is no TAXII resource at {}; discovery is at /taxii2/ and the API root at {API_ROOT}",
        uri.path()
    ))
}

pub(super) async fn method_not_allowed(method: Method, uri: Uri) -> TaxiiError {
    TaxiiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not supported on {}", uri.path()),
    )
}

/// A peer hub whose public key this hub holds must sign what it pushes; an unsigned or
/// tampered envelope is refused, and logged, before anything in it is read.
async fn check_signature(
    s: &Server,
    caller: &watchpost_store::Caller,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), TaxiiError> {
    if caller.role != watchpost_store::Role::Peer {
        return Ok(());
    }
    let peers = s.store.peers().await?;
    let Some(key) = peers
        .iter()
        .find(|p| p.org == caller.org)
        .and_then(|p| p.public_key.as_deref())
    else {
        return Ok(());
    };
    let header = headers
        .get(crate::signing::HEADER)
        .and_then(|v| v.to_str().ok());
    crate::signing::verify(key, body, header).map_err(|e| {
        tracing::warn!(
            user = caller.user,
            "refused an envelope from a peer hub: {e}"
        );
        TaxiiError::new(
            StatusCode::FORBIDDEN,
            format!("{e}; the envelope was refused"),
        )
    })
}
