//! The TAXII client polling one hub into another over real HTTP on 127.0.0.1.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use serde_json::json;
use std::sync::Arc;
use watchpost_pattern::SyntaxChecker;
use watchpost_stix::marking::Tlp;
use watchpost_stix::Validator;
use watchpost_store::{
    Caller, NewCollection, NewFeed, NewObject, NewOrg, NewUser, Query, Role, SqlStore, Store,
};
use watchpost_taxii::client::Poller;
use watchpost_taxii::{Config, Server};

const REMOTE: &str = "6e1f1c3a-8a7e-4d53-9a43-3f7a1b2c4d5e";

async fn store(dir: &tempfile::TempDir, name: &str) -> Arc<SqlStore> {
    let url = format!("sqlite://{}", dir.path().join(name).display());
    let store = Arc::new(SqlStore::open(&url).await.unwrap());
    store
        .add_org(NewOrg {
            name: "cert".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    store
}

fn collection(id: &str) -> NewCollection {
    NewCollection {
        id: Some(id.into()),
        title: "feed".into(),
        description: None,
        readers: None,
        writers: vec!["cert".into()],
        default_tlp: Tlp::Green,
        sharing_group: None,
    }
}

fn indicator(n: u32) -> NewObject {
    let id = format!("indicator--{n:08x}-3333-4333-8333-333333333333");
    let body = json!({"type": "indicator", "spec_version": "2.1", "id": id,
        "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z",
        "pattern": format!("[ipv4-addr:value = '203.0.113.{}']", n % 250), "pattern_type": "stix",
        "valid_from": "2025-01-01T00:00:00Z"});
    NewObject {
        id,
        object_type: "indicator".into(),
        version: Some(1_735_689_600_000_000),
        spec_version: "2.1".into(),
        tlp: None,
        recipients: vec![],
        body: body.to_string(),
    }
}

/// The remote hub of a test: `count` indicators in [`REMOTE`], served over HTTP on 127.0.0.1
/// (signing what peer accounts read when `signing` is given), and an account of `role` to
/// read it with. Returns the store, its API root, the account's token and a writer.
async fn remote_hub(
    dir: &tempfile::TempDir,
    role: Role,
    count: u32,
    signing: Option<[u8; 32]>,
) -> (Arc<SqlStore>, String, String, Caller) {
    let remote = store(dir, "remote.db").await;
    remote
        .add_user(NewUser {
            username: "partner".into(),
            org_name: "cert".into(),
            role,
            password: "partner-password".into(),
        })
        .await
        .unwrap();
    let token = remote.create_token("partner").await.unwrap();
    remote.add_collection(collection(REMOTE)).await.unwrap();
    let writer = Caller {
        user: "w".into(),
        org: remote.orgs().await.unwrap()[0].id.clone(),
        role: Role::Analyst,
    };
    remote
        .add_objects(&writer, REMOTE, (0..count).map(indicator).collect(), vec![])
        .await
        .unwrap();
    let (store, validator, config) = (remote.clone(), Validator::new(), Config::default());
    let server = match signing {
        Some(secret) => Server::with_signing_key(store, validator, config, secret),
        None => Server::new(store, validator, config),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api_root = format!("http://{}/taxii2/api/", listener.local_addr().unwrap());
    let router = server.router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (remote, api_root, token, writer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_resumes_from_the_last_date_added() {
    let dir = tempfile::tempdir().unwrap();
    // The remote hub: 2,500 indicators, served over HTTP with a bearer token.
    let (remote, api_root, token, writer) = remote_hub(&dir, Role::Analyst, 2500, None).await;

    // The local hub polls it.
    let local = store(&dir, "local.db").await;
    let local_id = local
        .add_collection(collection("0d9b9c62-7c55-4b0e-9a4c-6d7f0e1a2b3c"))
        .await
        .unwrap();
    let feed = NewFeed {
        kind: watchpost_store::FeedKind::Taxii,
        api_root: api_root.clone(),
        remote: REMOTE.into(),
        collection: local_id.clone(),
        org_name: "cert".into(),
        auth: Some(format!("Bearer {token}")),
        interval_secs: 60,
    };
    let feed = local.add_feed(feed).await.unwrap();
    let poller = Poller::new(
        local.clone(),
        Validator::new().with_pattern_syntax(SyntaxChecker),
    );
    let first = poller.poll(&feed).await.unwrap();
    assert_eq!((first.pages, first.received, first.stored), (3, 2500, 2500));
    let reader = Caller {
        user: "r".into(),
        org: local.orgs().await.unwrap()[0].id.clone(),
        role: Role::Reader,
    };
    let count = |q: Query| {
        let (local, reader, id) = (local.clone(), reader.clone(), local_id.clone());
        async move { local.read(&reader, &id, &q).await.unwrap().objects.len() }
    };
    assert_eq!(
        count(Query {
            limit: 10_000,
            ..Query::default()
        })
        .await,
        2500
    );

    // Nothing new: one empty page. Then 10 more: only those 10 come.
    let feed = local.feeds().await.unwrap().remove(0);
    assert!(feed.last_added.is_some() && feed.last_error.is_none());
    let idle = poller.poll(&feed).await.unwrap();
    assert_eq!((idle.pages, idle.received), (1, 0));
    remote
        .add_objects(
            &writer,
            REMOTE,
            (5000..5010).map(indicator).collect(),
            vec![],
        )
        .await
        .unwrap();
    let feed = local.feeds().await.unwrap().remove(0);
    let more = poller.poll(&feed).await.unwrap();
    assert_eq!((more.received, more.stored), (10, 10));
    assert_eq!(
        count(Query {
            limit: 10_000,
            ..Query::default()
        })
        .await,
        2510
    );

    // A failing remote: the error is recorded and the position kept.
    let before = local.feeds().await.unwrap().remove(0);
    let broken = watchpost_store::Feed {
        remote: "00000000-0000-4000-8000-000000000000".into(),
        ..before.clone()
    };
    let err = poller.poll(&broken).await.unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");
    let after = local.feeds().await.unwrap().remove(0);
    assert_eq!(after.last_added, before.last_added);
    assert!(after.last_error.unwrap().contains("404"));
    let wrong_token = watchpost_store::Feed {
        auth: Some("Bearer wp_wrong".into()),
        ..before
    };
    assert!(poller
        .poll(&wrong_token)
        .await
        .unwrap_err()
        .to_string()
        .contains("401"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_pulled_from_a_peer_hub_must_carry_its_signature() {
    let dir = tempfile::tempdir().unwrap();
    // The peer hub signs the pages its peer accounts read with its key.
    let secret = [5u8; 32];
    let (remote, api_root, token, writer) = remote_hub(&dir, Role::Peer, 5, Some(secret)).await;

    // This hub holds the peer's key (what `peer add --key` records) and pulls from it.
    let local = store(&dir, "local.db").await;
    local.add_collection(collection(REMOTE)).await.unwrap();
    let hold = |key: [u8; 32]| {
        let (local, url, token) = (local.clone(), api_root.clone(), token.clone());
        async move {
            let key = watchpost_taxii::signing::public_key(&key);
            let new = watchpost_store::NewPeer {
                name: "cert",
                url: &url,
                token: &token,
                public_key: Some(&key),
                push: &[],
            };
            local.add_peer(new).await.unwrap()
        }
    };
    let peer = hold(secret).await;
    let feed = NewFeed {
        kind: watchpost_store::FeedKind::Taxii,
        api_root: peer.url.clone(),
        remote: REMOTE.into(),
        collection: REMOTE.into(),
        org_name: "cert".into(),
        auth: Some(format!("Bearer {token}")),
        interval_secs: 60,
    };
    let feed = local.add_feed(feed).await.unwrap();
    let poller = Poller::new(local.clone(), Validator::new());
    assert_eq!(poller.poll(&feed).await.unwrap().stored, 5);

    // Held to another key, the same hub's pages are refused and nothing of them is stored.
    remote
        .add_objects(&writer, REMOTE, (10..13).map(indicator).collect(), vec![])
        .await
        .unwrap();
    hold([6u8; 32]).await;
    let feed = local.feeds().await.unwrap().remove(0);
    let e = poller.poll(&feed).await.unwrap_err();
    assert!(e.to_string().contains("does not match the envelope"), "{e}");
    let reader = Caller {
        user: "r".into(),
        org: local.orgs().await.unwrap()[0].id.clone(),
        role: Role::Reader,
    };
    let stored = local
        .read(&reader, REMOTE, &Query::default())
        .await
        .unwrap();
    assert_eq!(stored.objects.len(), 5);
    let feed = local.feeds().await.unwrap().remove(0);
    assert!(feed.last_error.unwrap().contains("was refused"));
}
