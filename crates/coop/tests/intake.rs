//! Two hubs' stores (SQLite files), the push between them done by hand: what one hub publishes
//! in the requests collection, the other takes in — and what it must not take in.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::sync::Arc;
use watchpost_coop::chain::Case;
use watchpost_coop::hub::{self, COLLECTION};
use watchpost_coop::relay::RelayError;
use watchpost_coop::request::{Identifier, Request, RequestType};
use watchpost_coop::state::{Event, State};
use watchpost_store::{
    Caller, NewObject, NewOrg, NewPeer, Query, Role, SqlStore, Store, VersionFilter,
};

async fn hub(dir: &tempfile::TempDir, name: &str, peers: &[&str]) -> Arc<SqlStore> {
    let url = format!(
        "sqlite://{}",
        dir.path().join(format!("{name}.db")).display()
    );
    let store = Arc::new(SqlStore::open(&url).await.unwrap());
    for org in ["vncert", "laocert", "camcert"] {
        let new = NewOrg {
            name: org.into(),
            ..Default::default()
        };
        store.add_org(new).await.unwrap();
    }
    hub::open_collection(store.as_ref(), &[]).await.unwrap();
    for peer in peers {
        let new = NewPeer {
            name: peer,
            url: "http://127.0.0.1:9/taxii2/api/",
            token: "t",
            public_key: None,
            push: &[COLLECTION.to_string()],
        };
        store.add_peer(new).await.unwrap();
        hub::open_collection(store.as_ref(), &[peer]).await.unwrap();
    }
    store
}

async fn org_id(store: &SqlStore, name: &str) -> String {
    let orgs = store.orgs().await.unwrap();
    orgs.into_iter().find(|o| o.name == name).unwrap().id
}

/// What `from` stored in the requests collection for `peer`, pushed into `to` as `peer`'s
/// hub would: read as the peer, written as the sending hub's organisation there.
async fn push(from: &SqlStore, to: &SqlStore, peer: &str, sender: &str) {
    let reader = Caller {
        user: "push".into(),
        org: org_id(from, peer).await,
        role: Role::Peer,
    };
    let query = Query {
        versions: VersionFilter::all(),
        limit: 1000,
        ..Query::default()
    };
    let page = from.read(&reader, COLLECTION, &query).await.unwrap();
    let writer = Caller {
        user: "peer".into(),
        org: org_id(to, sender).await,
        role: Role::Peer,
    };
    let objects = page
        .objects
        .iter()
        .map(|o| NewObject {
            id: o.id.clone(),
            object_type: o.id.split("--").next().unwrap().into(),
            version: Some(o.version),
            spec_version: "2.1".into(),
            tlp: None,
            recipients: Vec::new(),
            body: o.body.clone(),
        })
        .collect();
    to.add_objects(&writer, COLLECTION, objects, Vec::new())
        .await
        .unwrap();
}

fn request(to: &str) -> Request {
    Request {
        id: Request::new_id(),
        request_type: RequestType::Disclosure,
        requesting_authority: "A05".into(),
        case_reference: "VN-7".into(),
        legal_basis: "art. 44".into(),
        identifiers: vec![Identifier::Email {
            value: "x@example.la".into(),
        }],
        data_holder: None,
        urgency: Default::default(),
        confidentiality: Default::default(),
        deadline: None,
        attachments: Vec::new(),
        from_org: "vncert".into(),
        to_org: to.into(),
    }
}

async fn send(store: &SqlStore, request: Request) -> String {
    let id = request.id.clone();
    let mut case = Case::create(request, "2026-11-24T01:00:00.000Z", "vncert/duty");
    case.apply(Event::Send, "2026-11-24T01:00:01.000Z", "vncert/duty")
        .unwrap();
    hub::persist(store, &case, 0).await.unwrap();
    assert!(hub::publish(store, &case).await.unwrap().is_some());
    id
}

#[tokio::test]
async fn a_request_is_taken_in_once_and_only_by_its_recipients_hub() {
    let dir = tempfile::tempdir().unwrap();
    let vn = hub(&dir, "vn", &["laocert", "camcert"]).await;
    // Laos's hub exchanges with Vietnam's and Cambodia's.
    let la = hub(&dir, "la", &["vncert", "camcert"]).await;
    let id = send(vn.as_ref(), request("laocert")).await;

    push(vn.as_ref(), la.as_ref(), "laocert", "vncert").await;
    let done = hub::intake(la.as_ref()).await.unwrap();
    assert_eq!(done.updated, std::slice::from_ref(&id));
    assert!(done.refused.is_empty(), "{:?}", done.refused);
    let case = hub::load(la.as_ref(), &id).await.unwrap().unwrap();
    assert_eq!(case.state, State::Received);
    // Read again, nothing is copied twice.
    push(vn.as_ref(), la.as_ref(), "laocert", "vncert").await;
    let again = hub::intake(la.as_ref()).await.unwrap();
    assert!(again.updated.is_empty());
    assert_eq!(
        hub::load(la.as_ref(), &id)
            .await
            .unwrap()
            .unwrap()
            .records
            .len(),
        3
    );

    // Laos's receipt, pushed back, reaches Vietnam's chain.
    push(la.as_ref(), vn.as_ref(), "vncert", "laocert").await;
    hub::intake(vn.as_ref()).await.unwrap();
    let case = hub::load(vn.as_ref(), &id).await.unwrap().unwrap();
    assert_eq!(case.state, State::Received);

    // Laos's record of the request is changed behind its hub's back: a new version from
    // Vietnam is refused for that request, and does not hold up another one.
    let file = dir.path().join("la.db");
    let sql =
        format!("UPDATE request_events SET actor = 'x' WHERE request_id = '{id}' AND seq = 2");
    let edited = std::process::Command::new("sqlite3")
        .arg(&file)
        .arg(sql)
        .status()
        .unwrap();
    assert!(edited.success());
    let mut case = hub::load(vn.as_ref(), &id).await.unwrap().unwrap();
    let head = case.records.len();
    let note = watchpost_coop::chain::Entry::Note {
        text: "still needed".into(),
        via: None,
    };
    case.push(note, "2026-11-24T02:00:00.000Z", "vncert/duty")
        .unwrap();
    hub::persist(vn.as_ref(), &case, head).await.unwrap();
    hub::publish(vn.as_ref(), &case).await.unwrap();
    let other = send(vn.as_ref(), request("laocert")).await;
    push(vn.as_ref(), la.as_ref(), "laocert", "vncert").await;
    let done = hub::intake(la.as_ref()).await.unwrap();
    assert_eq!(done.updated, std::slice::from_ref(&other));
    assert!(
        matches!(&done.refused[..], [(_, rid, RelayError::Local(_))] if *rid == id),
        "{:?}",
        done.refused
    );

    // A request Vietnam addressed to Cambodia, pushed to Laos (by a faulty or hostile hub):
    // Cambodia answers on its own hub, so Laos's is no party to it and stores nothing of it.
    let kh_id = send(vn.as_ref(), request("camcert")).await;
    push(vn.as_ref(), la.as_ref(), "camcert", "vncert").await;
    let done = hub::intake(la.as_ref()).await.unwrap();
    assert!(done.updated.is_empty());
    assert!(
        matches!(&done.refused[..], [(_, rid, RelayError::NotOurs { .. })] if *rid == kh_id),
        "{:?}",
        done.refused
    );
    assert!(hub::load(la.as_ref(), &kh_id).await.unwrap().is_none());
}
