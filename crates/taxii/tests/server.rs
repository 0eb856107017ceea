//! The TAXII 2.1 server over real HTTP on 127.0.0.1 and a real SQLite file: what three
//! organisations see through every endpoint, and how malformed requests are answered.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;
use watchpost_pattern::SyntaxChecker;
use watchpost_stix::Validator;
use watchpost_store::{NewCollection, NewOrg, NewUser, Role, SqlStore, Store};
use watchpost_taxii::media::TAXII;
use watchpost_taxii::{Config, Server};

const COLLECTION: &str = "3b4e1b6e-1c61-4a7b-9d2e-6a3d8d1e0c01";
const PRIVATE: &str = "7c9d3a10-5e0f-4f43-8a6b-1d2b3c4d5e6f";
const PASSWORD: &str = "a long enough password";

struct Hub {
    base: String,
    http: reqwest::Client,
    /// Bearer tokens of the analysts of A, B and C.
    tokens: Vec<String>,
    orgs: Vec<String>,
    _dir: tempfile::TempDir,
}

/// Three organisations; A and B form the sharing group of a collection all three read and
/// write; a second collection only A may use.
async fn hub() -> Hub {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hub.db").display());
    let store = Arc::new(SqlStore::open(&url).await.unwrap());
    let (mut tokens, mut orgs) = (Vec::new(), Vec::new());
    for name in ["a", "b", "c"] {
        let org = store
            .add_org(NewOrg {
                name: name.into(),
                ..Default::default()
            })
            .await
            .unwrap();
        orgs.push(org.id);
        let user = NewUser {
            username: format!("{name}-analyst"),
            org_name: name.into(),
            role: Role::Analyst,
            password: PASSWORD.into(),
        };
        store.add_user(user).await.unwrap();
        tokens.push(
            store
                .create_token(&format!("{name}-analyst"))
                .await
                .unwrap(),
        );
    }
    store
        .add_sharing_group("ab", &["a".into(), "b".into()])
        .await
        .unwrap();
    for (id, readers, group) in [
        (COLLECTION, None, Some("ab")),
        (PRIVATE, Some(vec!["a".to_string()]), None),
    ] {
        let writers = readers
            .clone()
            .unwrap_or(vec!["a".into(), "b".into(), "c".into()]);
        let collection = NewCollection {
            id: Some(id.into()),
            title: format!("collection {id}"),
            description: None,
            readers,
            writers,
            default_tlp: watchpost_stix::marking::Tlp::Green,
            sharing_group: group.map(str::to_string),
        };
        store.add_collection(collection).await.unwrap();
    }
    let server = Server::new(
        store,
        Validator::new().with_pattern_syntax(SyntaxChecker),
        Config::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = server.router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Hub {
        base,
        http: reqwest::Client::new(),
        tokens,
        orgs,
        _dir: dir,
    }
}

struct Reply {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text))
    }

    /// Asserts this is a TAXII error resource with `status` whose description mentions `needle`.
    fn assert_error(&self, status: u16, needle: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert_eq!(self.headers["content-type"], TAXII);
        let e = self.json();
        assert_eq!(e["http_status"], status.to_string());
        assert!(e["title"].as_str().is_some_and(|t| !t.is_empty()));
        let description = e["description"].as_str().unwrap();
        assert!(
            description.contains(needle),
            "{description:?} lacks {needle:?}"
        );
    }
}

impl Hub {
    async fn send(&self, who: usize, method: Method, path: &str, body: Option<String>) -> Reply {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.tokens[who])
            .header("accept", TAXII);
        if let Some(body) = body {
            req = req.header("content-type", TAXII).body(body);
        }
        let resp = req.send().await.unwrap();
        Reply {
            status: resp.status(),
            headers: resp.headers().clone(),
            text: resp.text().await.unwrap(),
        }
    }

    async fn get(&self, who: usize, path: &str) -> Reply {
        self.send(who, Method::GET, path, None).await
    }

    async fn post(&self, who: usize, collection: &str, objects: &[Value]) -> Reply {
        let body = json!({ "objects": objects }).to_string();
        self.send(
            who,
            Method::POST,
            &format!("/taxii2/api/collections/{collection}/objects/"),
            Some(body),
        )
        .await
    }
}

fn indicator(n: u32, marking: Option<&str>, recipients: &[&str]) -> Value {
    let mut v = json!({
        "type": "indicator", "spec_version": "2.1",
        "id": format!("indicator--{n:08x}-1111-4111-8111-111111111111"),
        "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z",
        "pattern": format!("[domain-name:value = 'host{n}.example.net']"),
        "pattern_type": "stix", "valid_from": "2025-01-01T00:00:00Z",
    });
    if let Some(m) = marking {
        v["object_marking_refs"] = json!([m]);
    }
    if !recipients.is_empty() {
        v["x_watchpost_recipients"] = json!(recipients);
    }
    v
}

const GREEN: &str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
const AMBER: &str = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
const AMBER_STRICT: &str = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003";
const RED: &str = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amber_and_red_never_reach_an_organisation_outside_the_audience() {
    let hub = hub().await;
    let objects = vec![
        indicator(1, Some(GREEN), &[]),
        indicator(2, Some(AMBER), &[]),
        indicator(3, Some(AMBER_STRICT), &[]),
        indicator(4, Some(RED), &[&hub.orgs[2]]),
        indicator(5, None, &[]),
        indicator(6, Some(RED), &[]),
    ];
    let status = hub.post(0, COLLECTION, &objects).await;
    assert_eq!(status.status, StatusCode::ACCEPTED, "{}", status.text);
    let status_id = status.json()["id"].as_str().unwrap().to_string();
    let ids: Vec<String> = objects.iter().map(id_of).collect();
    // Who sees what: A (owner) everything; B the group's AMBER; C its RED.
    let audiences = [
        (0, vec![0, 1, 2, 3, 4, 5]),
        (1, vec![0, 1, 2, 4]),
        (2, vec![0, 3, 4]),
    ];
    let c = format!("/taxii2/api/collections/{COLLECTION}");
    for (who, visible) in audiences {
        let hidden: Vec<&String> = (0..6)
            .filter(|i| !visible.contains(i))
            .map(|i| &ids[i])
            .collect();
        let expected: Vec<&String> = visible.iter().map(|&i| &ids[i]).collect();
        for path in [
            format!("{c}/objects/"),
            format!("{c}/manifest/"),
            format!("{c}/objects/?match[version]=all"),
        ] {
            let reply = hub.get(who, &path).await;
            assert_eq!(reply.status, 200, "{path}: {}", reply.text);
            let listed: Vec<String> = reply.json()["objects"]
                .as_array()
                .unwrap()
                .iter()
                .map(id_of)
                .collect();
            assert_eq!(
                listed.iter().collect::<Vec<_>>(),
                expected,
                "org {who} on {path}"
            );
            for h in &hidden {
                assert!(
                    !reply.text.contains(h.as_str()),
                    "org {who} learnt of {h} through {path}"
                );
            }
        }
        for (i, id) in ids.iter().enumerate() {
            let object = hub.get(who, &format!("{c}/objects/{id}/")).await;
            let versions = hub.get(who, &format!("{c}/objects/{id}/versions/")).await;
            if visible.contains(&i) {
                assert_eq!(object.json()["objects"][0]["id"], id.as_str());
                assert_eq!(versions.json()["versions"][0], "2025-01-01T00:00:00.000Z");
            } else {
                object.assert_error(404, "was not found");
                versions.assert_error(404, "was not found");
                // Nor can it delete what it cannot see.
                hub.send(who, Method::DELETE, &format!("{c}/objects/{id}/"), None)
                    .await
                    .assert_error(404, "was not found");
            }
        }
        let status = hub
            .get(who, &format!("/taxii2/api/status/{status_id}/"))
            .await;
        if who == 0 {
            assert_eq!(status.json()["success_count"], 6);
        } else {
            status.assert_error(404, "status");
        }
    }
    // The private collection does not exist for B and C, through any endpoint.
    let p = format!("/taxii2/api/collections/{PRIVATE}");
    assert_eq!(
        hub.post(0, PRIVATE, &[indicator(9, Some(GREEN), &[])])
            .await
            .status,
        202
    );
    for who in [1, 2] {
        for path in [
            format!("{p}/"),
            format!("{p}/objects/"),
            format!("{p}/manifest/"),
            format!("{p}/objects/{}/", id_of(&indicator(9, None, &[]))),
            format!("{p}/objects/{}/versions/", id_of(&indicator(9, None, &[]))),
        ] {
            hub.get(who, &path).await.assert_error(404, "not found");
        }
        hub.post(who, PRIVATE, &[indicator(10, None, &[])])
            .await
            .assert_error(404, "not found");
        let list = hub.get(who, "/taxii2/api/collections/").await.json();
        assert_eq!(list["collections"].as_array().unwrap().len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_next_and_date_added_headers() {
    let hub = hub().await;
    let objects: Vec<Value> = (0..25).map(|n| indicator(n, None, &[])).collect();
    hub.post(1, COLLECTION, &objects).await;
    let c = format!("/taxii2/api/collections/{COLLECTION}");
    let (mut seen, mut next) = (Vec::new(), None::<String>);
    loop {
        let path = match &next {
            Some(n) => format!("{c}/manifest/?limit=10&next={n}"),
            None => format!("{c}/manifest/?limit=10"),
        };
        let reply = hub.get(0, &path).await;
        let body = reply.json();
        let entries = body["objects"].as_array().unwrap();
        assert_eq!(
            reply.headers["x-taxii-date-added-first"],
            entries[0]["date_added"].as_str().unwrap()
        );
        assert_eq!(
            reply.headers["x-taxii-date-added-last"],
            entries.last().unwrap()["date_added"].as_str().unwrap()
        );
        seen.extend(entries.iter().map(id_of));
        next = body["next"].as_str().map(str::to_string);
        assert_eq!(body["more"], next.is_some());
        if next.is_none() {
            break;
        }
    }
    assert_eq!(seen, objects.iter().map(id_of).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_error_resources() {
    let hub = hub().await;
    let c = format!("/taxii2/api/collections/{COLLECTION}");
    let objects_path = format!("{c}/objects/");
    let post_raw = |content_type: &str, body: Vec<u8>| {
        hub.http
            .post(format!("{}{objects_path}", hub.base))
            .bearer_auth(&hub.tokens[0])
            .header("accept", TAXII)
            .header("content-type", content_type)
            .body(body)
    };
    let reply = |r: reqwest::Response| async move {
        Reply {
            status: r.status(),
            headers: r.headers().clone(),
            text: r.text().await.unwrap(),
        }
    };
    reply(
        post_raw(TAXII, b"{\"objects\": [".to_vec())
            .send()
            .await
            .unwrap(),
    )
    .await
    .assert_error(400, "not a TAXII envelope");
    reply(
        post_raw(TAXII, b"{\"objects\": 7}".to_vec())
            .send()
            .await
            .unwrap(),
    )
    .await
    .assert_error(400, "not a TAXII envelope");
    reply(
        post_raw("application/json", b"{}".to_vec())
            .send()
            .await
            .unwrap(),
    )
    .await
    .assert_error(415, "Content-Type");
    // 50 MB: over max_content_length.
    let big = format!(
        "{{\"objects\": [{{\"type\": \"note\", \"content\": \"{}\"}}]}}",
        "x".repeat(50 << 20)
    );
    reply(post_raw(TAXII, big.into_bytes()).send().await.unwrap())
        .await
        .assert_error(413, "max_content_length");
    // 100,000 objects: over the per-envelope limit.
    let many = format!(
        "{{\"objects\": [{}]}}",
        vec!["{\"type\":\"x\"}"; 100_000].join(",")
    );
    reply(post_raw(TAXII, many.into_bytes()).send().await.unwrap())
        .await
        .assert_error(413, "at most 10000");
    // Bad objects inside a good envelope are failures in the status, next to the good ones.
    let mut bad = indicator(1, None, &[]);
    bad["pattern"] = json!("[domain-name:value = 'x'");
    let status = hub
        .post(
            0,
            COLLECTION,
            &[indicator(2, None, &[]), bad, json!({"type": "indicator"})],
        )
        .await;
    assert_eq!(status.status, 202);
    let s = status.json();
    assert_eq!(
        (s["success_count"].as_u64(), s["failure_count"].as_u64()),
        (Some(1), Some(2))
    );
    assert!(
        s["failures"][0]["message"]
            .as_str()
            .unwrap()
            .contains("pattern"),
        "{s}"
    );
    assert_eq!(s["failures"][1]["id"], "objects[2]");

    let wrong_accept = hub
        .http
        .get(format!("{}{c}/", hub.base))
        .bearer_auth(&hub.tokens[0])
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    reply(wrong_accept).await.assert_error(406, "Accept");
    for (path, needle) in [
        (format!("{c}/objects/?next=abc"), "next"),
        (format!("{c}/objects/?limit=0"), "limit"),
        (format!("{c}/objects/?added_after=yesterday"), "added_after"),
        (
            format!("{c}/objects/?match[version]=1'%20OR%201=1"),
            "match[version]",
        ),
    ] {
        hub.get(0, &path).await.assert_error(400, needle);
    }
    hub.get(
        0,
        "/taxii2/api/collections/00000000-0000-4000-8000-000000000000/objects/",
    )
    .await
    .assert_error(404, "not found");
    hub.get(0, "/taxii2/api/collections/x'%20OR%20'1'='1/objects/")
        .await
        .assert_error(404, "not found");
    hub.get(0, "/taxii2/nothing/here/")
        .await
        .assert_error(404, "no TAXII resource");
    hub.send(0, Method::PUT, &objects_path, Some("{}".into()))
        .await
        .assert_error(405, "PUT");
    // SQL metacharacters in filters match nothing and break nothing.
    for hostile in [
        "'%20OR%20'1'='1",
        "%27;DROP%20TABLE%20objects;--",
        "%25",
        "_",
    ] {
        for key in ["match[id]", "match[type]", "match[spec_version]"] {
            let r = hub.get(0, &format!("{objects_path}?{key}={hostile}")).await;
            assert_eq!(r.status, 200, "{key}={hostile}: {}", r.text);
            assert!(r.json().get("objects").is_none());
        }
    }
    assert_eq!(
        hub.get(0, &objects_path).await.json()["objects"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication_basic_bearer_and_refusals() {
    let hub = hub().await;
    let url = format!("{}/taxii2/", hub.base);
    let send = |req: reqwest::RequestBuilder| async move {
        let r = req.header("accept", TAXII).send().await.unwrap();
        Reply {
            status: r.status(),
            headers: r.headers().clone(),
            text: r.text().await.unwrap(),
        }
    };
    let ok = send(hub.http.get(&url).basic_auth("b-analyst", Some(PASSWORD))).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()["api_roots"][0], "/taxii2/api/");
    let none = send(hub.http.get(&url)).await;
    none.assert_error(401, "Basic");
    assert!(none.headers["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("Basic"));
    send(hub.http.get(&url).basic_auth("b-analyst", Some("wrong")))
        .await
        .assert_error(401, "wrong");
    send(hub.http.get(&url).bearer_auth("wp_notatoken"))
        .await
        .assert_error(401, "unknown");
    send(hub.http.get(&url).header("authorization", "Digest abc"))
        .await
        .assert_error(401, "Basic or Bearer");
    send(hub.http.get(&url).header("authorization", "Basic !!!"))
        .await
        .assert_error(401, "base64");
    let root = hub.get(2, "/taxii2/api/").await.json();
    assert_eq!(root["versions"][0], TAXII);
    assert!(root["max_content_length"].as_u64().unwrap() >= 1 << 20);
}
