//! A hub's requests in its store: cases written and read back ([`persist`], [`load`]), sent to
//! the other focal point's hub when it is a peer ([`publish`]) and taken in from it
//! ([`intake`]).
//!
//! A request to an organisation that is a peer travels in the requests collection
//! ([`COLLECTION`]) as TLP:RED addressed to its two organisations, which is the one kind of RED
//! object the store lets cross to a peer (`watchpost_store::access::addressed`). Federation's
//! pusher carries it, signed, like any push; the receiving hub's [`intake`] copies the events
//! into its own chain and records the receipt itself.

use crate::chain::{Case, Record, ReplayError};
use crate::relay::{self, RelayError};
use crate::state::{Event, State};
use std::collections::BTreeMap;
use watchpost_stix::marking::Tlp;
use watchpost_stix::Timestamp;
use watchpost_store::{
    Caller, NewCollection, NewObject, Org, Peer, Query, RequestAttachment, RequestRow, Role, Store,
    StoreError,
};

/// The requests collection: the same id on every hub.
pub const COLLECTION: &str = "5e0c24f7-a2d3-4f6b-9c1e-24f724f70001";

/// Objects read from a peer per page.
const PAGE: usize = 100;

/// Why a hub could not keep, send or take in a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HubError {
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored chain does not replay.
    #[error("request {id} cannot be acted on: {source}")]
    Replay {
        /// The request.
        id: String,
        /// Why.
        source: ReplayError,
    },
    /// An event for an organisation that records its events on its own hub.
    #[error("{0} records its requests on its own hub (it is a peer of this one): act there, and the event reaches this hub through federation")]
    Remote(String),
    /// A request names an organisation this hub does not know.
    #[error("organisation {0} was not found: add it with `watchpost org add` first")]
    UnknownOrg(String),
}

/// Stores the records of `case` from index `from` on: the first with the request, the others
/// each after the head before it, so that a concurrent writer makes this one fail (stale).
pub async fn persist(store: &dyn Store, case: &Case, from: usize) -> Result<(), HubError> {
    for (i, record) in case.records.iter().enumerate().skip(from) {
        if i == 0 {
            let r = &case.request;
            let row = RequestRow {
                id: r.id.clone(),
                from_org: r.from_org.clone(),
                to_org: r.to_org.clone(),
                kind: r.request_type.as_str().to_string(),
                state: case.state.as_str().to_string(),
                deadline: r.deadline.as_ref().map(|d| d.as_str().to_string()),
                body: serde_json::to_string(r).unwrap_or_default(),
                created: 0,
                updated: 0,
            };
            store.add_request(row, record.to_store()).await?;
        } else {
            store
                .append_request_event(
                    &case.request.id,
                    &record.prev_hash,
                    record.to_store(),
                    case.state.as_str(),
                )
                .await?;
        }
    }
    Ok(())
}

/// A request as the hub holds it (no access rule: for the hub's own processes).
pub async fn load(store: &dyn Store, id: &str) -> Result<Option<Case>, HubError> {
    let Some((_, rows)) = store.request_for_hub(id).await? else {
        return Ok(None);
    };
    let records = rows.iter().map(Record::from_store).collect();
    Case::replay(records)
        .map(Some)
        .map_err(|source| HubError::Replay {
            id: id.to_string(),
            source,
        })
}

/// The peer that speaks for the request's other organisation, and this hub's organisation,
/// when one of the two is a peer.
pub async fn counterpart(store: &dyn Store, case: &Case) -> Result<Option<(Peer, Org)>, HubError> {
    let r = &case.request;
    let peers = store.peers().await?;
    let Some(peer) = peers
        .into_iter()
        .find(|p| p.name == r.from_org || p.name == r.to_org)
    else {
        return Ok(None);
    };
    let local_name = if peer.name == r.from_org {
        &r.to_org
    } else {
        &r.from_org
    };
    let local = store
        .orgs()
        .await?
        .into_iter()
        .find(|o| &o.name == local_name)
        .ok_or_else(|| HubError::UnknownOrg(local_name.clone()))?;
    Ok(Some((peer, local)))
}

/// Records what `org` does on `case` (`change` applies the event or adds the note): `org` must
/// be this hub's, the new record is appended after the head the case was read at, and the new
/// state is published to the other organisation's hub when it is a peer's (its name returned).
pub async fn record<F>(
    store: &dyn Store,
    case: &mut Case,
    org: &str,
    change: F,
) -> Result<Option<String>, HubError>
where
    F: FnOnce(&mut Case) -> Result<(), ReplayError>,
{
    check_local(store, org).await?;
    let head = case.records.len();
    change(case).map_err(|source| HubError::Replay {
        id: case.request.id.clone(),
        source,
    })?;
    persist(store, case, head).await?;
    publish(store, case).await
}

/// Refuses to record an event for an organisation whose focal point has its own hub (a
/// peer): its events are written there, and reach this hub through federation.
pub async fn check_local(store: &dyn Store, org: &str) -> Result<(), HubError> {
    if store.peers().await?.iter().any(|p| p.name == org) {
        return Err(HubError::Remote(org.to_string()));
    }
    Ok(())
}

/// Makes the requests collection (once) and lets these organisations write to it.
pub async fn open_collection(store: &dyn Store, writers: &[&str]) -> Result<(), HubError> {
    let new = NewCollection {
        id: Some(COLLECTION.to_string()),
        title: "24/7 requests".into(),
        description: Some(
            "Requests between focal points and their hubs (TLP:RED for the two organisations)"
                .into(),
        ),
        readers: None,
        writers: Vec::new(),
        default_tlp: Tlp::Red,
        sharing_group: None,
    };
    match store.add_collection(new).await {
        Ok(_) | Err(StoreError::Conflict(_)) => {}
        Err(e) => return Err(e.into()),
    }
    for org in writers {
        store.grant(COLLECTION, org, true, true).await?;
    }
    Ok(())
}

/// Sends the request's new state to the other organisation's hub, when it is a peer: stores a
/// new version in the requests collection for the pusher. Returns the peer's name.
pub async fn publish(store: &dyn Store, case: &Case) -> Result<Option<String>, HubError> {
    let Some((peer, local)) = counterpart(store, case).await? else {
        return Ok(None);
    };
    open_collection(store, &[&local.name, &peer.name]).await?;
    let caller = Caller {
        user: format!("{}/hub", local.name),
        org: local.id.clone(),
        role: Role::Analyst,
    };
    let payloads = payloads(store, case, &caller, &local.name).await?;
    let now = Timestamp::now();
    let recipients = vec![local.id.clone(), peer.org.clone()];
    let object = relay::to_object(case, &now.to_string(), &recipients, &payloads);
    let new = NewObject {
        id: case.request.id.clone(),
        object_type: crate::stix::OBJECT_TYPE.into(),
        version: Some(now.unix_micros()),
        spec_version: "2.1".into(),
        tlp: Some(Tlp::Red),
        recipients,
        body: object.to_string(),
    };
    store
        .add_objects(&caller, COLLECTION, vec![definition(), new], Vec::new())
        .await?;
    Ok(Some(peer.name))
}

/// The files go with the version that sends the request; the other hub keeps them.
async fn payloads(
    store: &dyn Store,
    case: &Case,
    caller: &Caller,
    local: &str,
) -> Result<Vec<(crate::request::Attachment, Vec<u8>)>, HubError> {
    let mut out = Vec::new();
    if case.state != State::Sent || local != case.request.from_org {
        return Ok(out);
    }
    for a in &case.request.attachments {
        let file = store
            .request_attachment(caller, &case.request.id, &a.sha256)
            .await?;
        if let Some(f) = file {
            out.push((a.clone(), f.content));
        }
    }
    Ok(out)
}

/// The extension definition, stored with every version (once): a tool that receives the
/// collection can read what an `x-watchpost-request` is. It is CLEAR, so it crosses to any
/// peer.
fn definition() -> NewObject {
    let definition = crate::stix::extension_definition();
    NewObject {
        id: crate::stix::EXTENSION_ID.into(),
        object_type: "extension-definition".into(),
        version: definition["modified"]
            .as_str()
            .and_then(|t| Timestamp::parse(t).ok())
            .map(|t| t.unix_micros()),
        spec_version: "2.1".into(),
        tlp: Some(Tlp::Clear),
        recipients: Vec::new(),
        body: definition.to_string(),
    }
}

/// What one [`intake`] did.
#[derive(Debug, Default)]
pub struct Intake {
    /// Requests whose records grew, by id.
    pub updated: Vec<String>,
    /// Versions refused, with the peer and why (they are not read again).
    pub refused: Vec<(String, String, RelayError)>,
}

/// Takes in what every peer has published in the requests collection since last time.
pub async fn intake(store: &dyn Store) -> Result<Intake, HubError> {
    let mut out = Intake::default();
    for peer in store.peers().await? {
        intake_from(store, &peer, &mut out).await?;
    }
    Ok(out)
}

async fn intake_from(store: &dyn Store, peer: &Peer, out: &mut Intake) -> Result<(), HubError> {
    // Read as the peer's organisation, which owns what its hub pushed here.
    let caller = Caller {
        user: format!("{}/hub", peer.name),
        org: peer.org.clone(),
        role: Role::Reader,
    };
    let mut after = peer.requests_read;
    loop {
        let query = Query {
            added_after: Some(after),
            limit: PAGE,
            versions: watchpost_store::VersionFilter::all(),
            ..Query::default()
        };
        let page = match store.read(&caller, COLLECTION, &query).await {
            Ok(page) => page,
            Err(StoreError::NotFound(_)) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let Some(position) = page.objects.last().map(|o| o.date_added).or(page.next) else {
            return Ok(());
        };
        // The newest version of each request is enough: each carries the whole chain.
        let mut newest: BTreeMap<&str, &str> = BTreeMap::new();
        let requests = page
            .objects
            .iter()
            .filter(|o| o.owner == peer.org && o.id.starts_with(crate::stix::OBJECT_TYPE));
        for o in requests {
            newest.insert(o.id.as_str(), o.body.as_str());
        }
        for (id, body) in newest {
            match take_in(store, peer, body).await {
                Ok(true) => out.updated.push(id.to_string()),
                Ok(false) => {}
                Err(Refusal::Relay(e)) => out.refused.push((peer.name.clone(), id.into(), e)),
                // A store failure (a concurrent writer too): read it again next time.
                Err(Refusal::Hub(e)) => return Err(e),
            }
        }
        store.record_request_intake(peer.id, position).await?;
        after = position;
    }
}

enum Refusal {
    Relay(RelayError),
    Hub(HubError),
}

impl From<HubError> for Refusal {
    fn from(e: HubError) -> Refusal {
        match e {
            HubError::Store(StoreError::NotFound(what)) => {
                Refusal::Relay(RelayError::Unreadable(format!("{what} is not on this hub")))
            }
            // One request's broken record must not hold up the rest of what the peer sent.
            HubError::Replay { source, .. } => {
                Refusal::Relay(RelayError::Local(source.to_string()))
            }
            e => Refusal::Hub(e),
        }
    }
}

/// Copies a peer's new events of one request; records the receipt when the request has just
/// arrived for an organisation of this hub, and sends that back.
async fn take_in(store: &dyn Store, peer: &Peer, body: &str) -> Result<bool, Refusal> {
    let object: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| Refusal::Relay(RelayError::Unreadable(e.to_string())))?;
    let incoming = relay::parse(&object).map_err(Refusal::Relay)?;
    let local = load(store, &incoming.request.id).await?;
    let (mut case, from) = relay::merge(local, &incoming, &peer.name).map_err(Refusal::Relay)?;
    if from == case.records.len() {
        return Ok(false);
    }
    // A request between the peer and another peer is none of this hub's business.
    let r = &case.request;
    let ours = if r.from_org == peer.name {
        &r.to_org
    } else {
        &r.from_org
    };
    if check_local(store, ours).await.is_err() {
        return Err(Refusal::Relay(RelayError::NotOurs {
            from: r.from_org.clone(),
            to: r.to_org.clone(),
            other: ours.clone(),
        }));
    }
    persist(store, &case, from).await?;
    for (a, content) in &incoming.payloads {
        let file = RequestAttachment {
            sha256: a.sha256.clone(),
            name: a.name.clone(),
            size: i64::try_from(a.size).unwrap_or(i64::MAX),
            content: content.clone(),
        };
        match store.add_request_attachment(&case.request.id, file).await {
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(HubError::from(e).into()),
        }
    }
    if case.state == State::Sent && case.request.from_org == peer.name {
        let head = case.records.len();
        let actor = format!("{}/hub", case.request.to_org);
        let at = Timestamp::now().to_string();
        case.apply(Event::Receive, &at, &actor)
            .map_err(|e| Refusal::Relay(e.into()))?;
        persist(store, &case, head).await?;
        publish(store, &case).await?;
    }
    Ok(true)
}
