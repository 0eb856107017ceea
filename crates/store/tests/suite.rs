//! The one test suite both stores must pass: every case runs against a SQLite file and against
//! a real PostgreSQL server (`WATCHPOST_TEST_POSTGRES`, a URL of a server where the tests may
//! create databases; `scripts/test` starts one on 127.0.0.1).
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;
use watchpost_stix::marking::Tlp;
use watchpost_store::{
    Caller, Channel, DeliveryStatus, FeedKind, LoginAttempt, NewCollection, NewDelivery, NewFeed,
    NewObject, NewOrg, NewSession, NewUser, NewWarning, Query, RequestAttachment, RequestEvent,
    RequestRow, Role, SearchQuery, SqlStore, StatusDetail, Store, StoreError, Tally, TrendQuery,
    VersionFilter, WarningFilter, WarningStatus,
};

/// A store under test and what keeps its database alive.
struct Db {
    store: Arc<SqlStore>,
    url: String,
    _dir: Option<tempfile::TempDir>,
}

async fn sqlite() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("kb.db").display());
    Db {
        store: Arc::new(SqlStore::open(&url).await.unwrap()),
        url,
        _dir: Some(dir),
    }
}

async fn postgres() -> Db {
    let base = std::env::var("WATCHPOST_TEST_POSTGRES").expect(
        "WATCHPOST_TEST_POSTGRES must name a PostgreSQL server for the store suite: \
         run ./scripts/test, or eval \"$(scripts/postgres start)\" first",
    );
    let name = format!("wp_{}", uuid::Uuid::new_v4().simple());
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&base).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let (prefix, _) = base.rsplit_once('/').unwrap();
    let url = format!("{prefix}/{name}");
    Db {
        store: Arc::new(SqlStore::open(&url).await.unwrap()),
        url,
        _dir: None,
    }
}

/// Runs each case once per backend.
macro_rules! suite {
    ($($case:ident),* $(,)?) => {
        mod on_sqlite { $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { super::$case(super::sqlite().await).await }
        )* }
        mod on_postgres { $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { super::$case(super::postgres().await).await }
        )* }
    };
}

suite!(
    directory_orgs_users_tokens,
    collection_permissions,
    date_added_strictly_increases_and_pages_never_skip_or_repeat,
    versions_first_last_all_and_exact,
    tlp_and_sharing_groups_decide_every_read,
    deleting_versions_reflags_and_respects_visibility,
    statuses_belong_to_their_organisation,
    audit_log_is_append_only,
    hidden_rows_cost_bounded_scans,
    filters_are_bound_never_spliced,
    two_stores_on_one_database_see_each_others_objects,
    directory_entries_are_replaced_per_organisation,
    current_objects_of_a_type_across_collections,
    warnings_are_deduplicated_within_their_window,
    a_claimed_delivery_waits_for_its_lease_and_a_sent_one_is_never_claimed,
    failed_attempts_retry_then_give_up,
    acknowledging_cancels_pending_deliveries,
    escalation_enqueues_the_next_level_exactly_once,
    warnings_are_listed_with_filters,
    misp_feeds_remember_each_event_stored,
    trends_count_only_what_the_caller_may_read,
    search_finds_only_what_the_caller_may_read,
    administrators_see_tokens_and_permissions,
    peer_hubs_receive_only_what_may_leave_the_hub,
    console_sessions_live_until_they_expire_or_end,
    login_failures_count_per_user_since_success_and_per_address,
    users_see_only_their_organisations_warnings,
    warnings_are_assigned_within_their_organisation_and_closed_with_a_comment,
    requests_are_seen_only_by_their_two_organisations,
    requests_append_events_only_after_their_chain_head,
    a_grant_adds_to_what_an_organisation_may_do,
    request_reminders_are_recorded_once,
);

const A: &str = "cert-a";
const B: &str = "cert-b";
const C: &str = "cert-c";

/// Three organisations with one analyst each; returns their callers in order.
async fn three_orgs(store: &SqlStore) -> Vec<Caller> {
    let mut callers = Vec::new();
    for name in [A, B, C] {
        let org = store
            .add_org(NewOrg {
                name: name.into(),
                sector: Some("government-national".into()),
                country: Some("VN".into()),
            })
            .await
            .unwrap();
        callers.push(Caller {
            user: format!("{name}-analyst"),
            org: org.id,
            role: Role::Analyst,
        });
    }
    callers
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

async fn collection(store: &SqlStore, readers: Option<&[&str]>, group: Option<&str>) -> String {
    store
        .add_collection(NewCollection {
            id: None,
            title: "Indicators".into(),
            description: None,
            readers: readers.map(names),
            writers: names(&[A, B, C]),
            default_tlp: Tlp::Green,
            sharing_group: group.map(str::to_string),
        })
        .await
        .unwrap()
}

/// An indicator version as the TAXII layer would hand it over.
fn indicator(n: u32, modified: &str, tlp: Option<Tlp>, recipients: &[&str]) -> NewObject {
    let id = format!("indicator--{:08x}-0000-4000-8000-000000000000", n);
    let body = json!({"type": "indicator", "spec_version": "2.1", "id": id,
        "created": "2024-01-01T00:00:00.000Z", "modified": modified,
        "pattern": format!("[ipv4-addr:value = '10.0.0.{}']", n % 250),
        "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z"});
    NewObject {
        id,
        object_type: "indicator".into(),
        version: Some(
            watchpost_stix::Timestamp::parse(modified)
                .unwrap()
                .unix_micros(),
        ),
        spec_version: "2.1".into(),
        tlp,
        recipients: recipients.iter().map(|r| r.to_string()).collect(),
        body: body.to_string(),
    }
}

const V1: &str = "2024-01-01T00:00:00.000Z";
const V2: &str = "2024-02-01T00:00:00.000Z";
const V3: &str = "2024-03-01T00:00:00.000Z";

fn ids(page: &watchpost_store::Page) -> Vec<String> {
    page.objects.iter().map(|o| o.id.clone()).collect()
}

async fn directory_orgs_users_tokens(db: Db) {
    let store = &db.store;
    let org = store
        .add_org(NewOrg {
            name: "vncert".into(),
            sector: Some("government-national".into()),
            country: Some("VN".into()),
        })
        .await
        .unwrap();
    // The identity object is a valid STIX 2.1 identity.
    let identity: serde_json::Value = serde_json::from_str(&org.identity).unwrap();
    assert_eq!(identity["id"], org.id.as_str());
    assert_eq!(identity["identity_class"], "organization");
    assert!(watchpost_stix::Validator::new()
        .validate(&identity)
        .is_empty());
    let again = store
        .add_org(NewOrg {
            name: "vncert".into(),
            ..Default::default()
        })
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let bad = store
        .add_org(NewOrg {
            name: "x".into(),
            country: Some("Viet Nam".into()),
            ..Default::default()
        })
        .await;
    assert!(matches!(bad, Err(StoreError::Invalid(_))), "{bad:?}");

    let user = |name: &str, org: &str| NewUser {
        username: name.into(),
        org_name: org.into(),
        role: Role::Analyst,
        password: "correct horse battery".into(),
    };
    store.add_user(user("lan", "vncert")).await.unwrap();
    let unknown_org = store.add_user(user("minh", "nowhere")).await;
    assert!(
        matches!(unknown_org, Err(StoreError::NotFound(_))),
        "{unknown_org:?}"
    );
    let dup = store.add_user(user("lan", "vncert")).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");

    let caller = store
        .login("lan", "correct horse battery")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (caller.org.as_str(), caller.role),
        (org.id.as_str(), Role::Analyst)
    );
    assert!(store
        .login("lan", "wrong horse battery")
        .await
        .unwrap()
        .is_none());
    assert!(store
        .login("nobody", "correct horse battery")
        .await
        .unwrap()
        .is_none());

    let token = store.create_token("lan").await.unwrap();
    assert_eq!(
        store.caller_for_token(&token).await.unwrap(),
        Some(caller.clone())
    );
    assert!(store.caller_for_token("wp_guess").await.unwrap().is_none());
    assert!(matches!(
        store.create_token("nobody").await,
        Err(StoreError::NotFound(_))
    ));

    // Only digests are at rest: neither the token nor the password appears in the database.
    let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
    let hashes: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM tokens")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(hashes.len(), 1);
    assert_ne!(hashes[0], token);
    let pw: String = sqlx::query_scalar("SELECT password_hash FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(pw.starts_with("$argon2id$") && !pw.contains("correct horse"));
    // Creating the token was audited.
    let log = store.audit_log(0, 10).await.unwrap();
    assert!(log
        .iter()
        .any(|e| e.action == "token create" && e.actor_user == "lan"));
}

async fn collection_permissions(db: Db) {
    let store = &db.store;
    let [a, b, c] = <[Caller; 3]>::try_from(three_orgs(store).await).unwrap();
    let id = store
        .add_collection(NewCollection {
            id: Some("91a7b528-80eb-42ed-a74d-c6fbd5a26116".into()),
            title: "Shared".into(),
            description: Some("A and B".into()),
            readers: Some(names(&[A, B])),
            writers: names(&[A]),
            default_tlp: Tlp::Amber,
            sharing_group: None,
        })
        .await
        .unwrap();
    assert_eq!(id, "91a7b528-80eb-42ed-a74d-c6fbd5a26116");
    let open = collection(store, None, None).await;

    let view = store.collection(&a, &id).await.unwrap().unwrap();
    assert!(view.can_read && view.can_write && view.default_tlp == Tlp::Amber);
    let view = store.collection(&b, &id).await.unwrap().unwrap();
    assert!(view.can_read && !view.can_write);
    // C may neither read nor write: the collection does not exist for it.
    assert!(store.collection(&c, &id).await.unwrap().is_none());
    assert_eq!(store.collections(&c).await.unwrap().len(), 1);
    assert_eq!(store.collections(&a).await.unwrap().len(), 2);
    assert!(store.collections(&c).await.unwrap()[0].id == open);

    let write = |who: &Caller| {
        let who = who.clone();
        let id = id.clone();
        let store = store.clone();
        async move {
            store
                .add_objects(&who, &id, vec![indicator(1, V1, None, &[])], vec![])
                .await
        }
    };
    assert!(matches!(write(&b).await, Err(StoreError::Forbidden(_))));
    assert!(matches!(write(&c).await, Err(StoreError::NotFound(_))));
    // A reader-role user of a writing organisation may not write either.
    let reader = Caller {
        role: Role::Reader,
        ..a.clone()
    };
    assert!(matches!(
        write(&reader).await,
        Err(StoreError::Forbidden(_))
    ));
    assert_eq!(write(&a).await.unwrap().success_count, 1);
    let q = Query::default();
    assert!(matches!(
        store.read(&c, &id, &q).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store
            .read(&a, "00000000-0000-4000-8000-000000000000", &q)
            .await,
        Err(StoreError::NotFound(_))
    ));
    let bad = NewCollection {
        id: Some("not-a-uuid".into()),
        title: "x".into(),
        description: None,
        readers: None,
        writers: vec![],
        default_tlp: Tlp::Green,
        sharing_group: None,
    };
    assert!(matches!(
        store.add_collection(bad).await,
        Err(StoreError::Invalid(_))
    ));
}

async fn date_added_strictly_increases_and_pages_never_skip_or_repeat(db: Db) {
    let store = &db.store;
    let callers = three_orgs(store).await;
    let id = collection(store, None, None).await;
    // Four writers add 25 batches of 40 concurrently while a reader pages through.
    let mut writers = Vec::new();
    for w in 0..4u32 {
        let (store, id, who) = (store.clone(), id.clone(), callers[w as usize % 3].clone());
        writers.push(tokio::spawn(async move {
            for batch in 0..25u32 {
                let objects =
                    (0..40).map(|i| indicator(w * 10_000 + batch * 40 + i, V1, None, &[]));
                store
                    .add_objects(&who, &id, objects.collect(), vec![])
                    .await
                    .unwrap();
            }
        }));
    }
    let mut seen = Vec::new();
    let mut query = Query {
        limit: 37,
        ..Query::default()
    };
    loop {
        let page = store.read(&callers[1], &id, &query).await.unwrap();
        seen.extend(page.objects.iter().map(|o| (o.date_added, o.id.clone())));
        let done = writers.iter().all(|w| w.is_finished());
        query.after = page.next.or(seen.last().map(|s| s.0));
        if page.next.is_none() {
            if done {
                break;
            }
            tokio::task::yield_now().await;
        }
    }
    for w in writers {
        w.await.unwrap();
    }
    // Writers may have finished after the last page was read: page to the end once more.
    loop {
        let page = store.read(&callers[1], &id, &query).await.unwrap();
        seen.extend(page.objects.iter().map(|o| (o.date_added, o.id.clone())));
        query.after = page.next.or(seen.last().map(|s| s.0));
        if page.next.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 4000, "every object exactly once");
    assert!(
        seen.windows(2).all(|w| w[0].0 < w[1].0),
        "date_added strictly increasing"
    );
    let unique: BTreeSet<_> = seen.iter().map(|s| &s.1).collect();
    assert_eq!(unique.len(), 4000);
    // added_after is exclusive.
    let mid = seen[1999].0;
    let page = store
        .read(
            &callers[0],
            &id,
            &Query {
                added_after: Some(mid),
                limit: 5000,
                ..Query::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.objects.len(), 2000);
    assert_eq!(page.objects[0].date_added, seen[2000].0);
    assert!(page.next.is_none());
}

async fn versions_first_last_all_and_exact(db: Db) {
    let store = &db.store;
    let callers = three_orgs(store).await;
    let a = &callers[0];
    let id = collection(store, None, None).await;
    // V2 first, then V1 (older, arriving late), then V3 and a duplicate of V2.
    store
        .add_objects(a, &id, vec![indicator(7, V2, None, &[])], vec![])
        .await
        .unwrap();
    store
        .add_objects(
            a,
            &id,
            vec![indicator(7, V1, None, &[]), indicator(8, V1, None, &[])],
            vec![],
        )
        .await
        .unwrap();
    let status = store
        .add_objects(
            a,
            &id,
            vec![indicator(7, V3, None, &[]), indicator(7, V2, None, &[])],
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(status.success_count, 2);
    assert_eq!(
        status.successes[1].message.as_deref(),
        Some("this version was already stored")
    );
    let versions_of = |v: VersionFilter| Query {
        ids: vec![indicator(7, V1, None, &[]).id],
        versions: v,
        ..Query::default()
    };
    let micros = |t: &str| watchpost_stix::Timestamp::parse(t).unwrap().unix_micros();
    let read = |q: Query| {
        let store = store.clone();
        let (a, id) = (a.clone(), id.clone());
        async move {
            let page = store.read(&a, &id, &q).await.unwrap();
            page.objects.iter().map(|o| o.version).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        read(versions_of(VersionFilter::last())).await,
        vec![micros(V3)]
    );
    assert_eq!(
        read(versions_of(VersionFilter {
            first: true,
            ..Default::default()
        }))
        .await,
        vec![micros(V1)]
    );
    // In date_added order: V2, V1, V3.
    assert_eq!(
        read(versions_of(VersionFilter::all())).await,
        vec![micros(V2), micros(V1), micros(V3)]
    );
    let exact = VersionFilter {
        at: vec![micros(V2)],
        first: true,
        ..Default::default()
    };
    assert_eq!(read(versions_of(exact)).await, vec![micros(V2), micros(V1)]);
    // Default query: the latest version of each object.
    let page = store.read(a, &id, &Query::default()).await.unwrap();
    assert_eq!(page.objects.len(), 2);
    assert_eq!(
        read(Query {
            types: vec!["malware".into()],
            ..Query::default()
        })
        .await,
        Vec::<i64>::new()
    );
    assert_eq!(
        read(Query {
            spec_versions: vec!["2.0".into()],
            ..Query::default()
        })
        .await,
        Vec::<i64>::new()
    );
    assert_eq!(
        read(Query {
            spec_versions: vec!["2.1".into()],
            ..Query::default()
        })
        .await
        .len(),
        2
    );
    // A manifest read carries no bodies.
    let manifest = store
        .read(
            a,
            &id,
            &Query {
                with_body: false,
                ..Query::default()
            },
        )
        .await
        .unwrap();
    assert!(manifest.objects.iter().all(|o| o.body.is_empty()));
    let full = store.read(a, &id, &Query::default()).await.unwrap();
    let body: serde_json::Value = serde_json::from_str(&full.objects[1].body).unwrap();
    assert_eq!(body["modified"], V3);
}

async fn tlp_and_sharing_groups_decide_every_read(db: Db) {
    let store = &db.store;
    let callers = three_orgs(store).await;
    let [a, b, c] = <[Caller; 3]>::try_from(callers).unwrap();
    store
        .add_sharing_group("a-and-b", &names(&[A, B]))
        .await
        .unwrap();
    let id = collection(store, None, Some("a-and-b")).await;
    let objects = vec![
        indicator(1, V1, Some(Tlp::Green), &[]),
        indicator(2, V1, Some(Tlp::Amber), &[]),
        indicator(3, V1, Some(Tlp::AmberStrict), &[]),
        indicator(4, V1, Some(Tlp::Red), &[&c.org]),
        indicator(5, V1, None, &[]), // collection default: GREEN
        indicator(6, V1, Some(Tlp::Red), &[]),
    ];
    store.add_objects(&a, &id, objects, vec![]).await.unwrap();
    let visible = |who: Caller, with_body: bool| {
        let store = store.clone();
        let id = id.clone();
        async move {
            let q = Query {
                with_body,
                versions: VersionFilter::all(),
                ..Query::default()
            };
            let page = store.read(&who, &id, &q).await.unwrap();
            ids(&page)
                .iter()
                .map(|i| i[11..19].parse::<u32>().unwrap())
                .collect::<Vec<_>>()
        }
    };
    for with_body in [true, false] {
        assert_eq!(
            visible(a.clone(), with_body).await,
            vec![1, 2, 3, 4, 5, 6],
            "the owner sees all"
        );
        assert_eq!(
            visible(b.clone(), with_body).await,
            vec![1, 2, 3, 5],
            "B is in the group"
        );
        assert_eq!(
            visible(c.clone(), with_body).await,
            vec![1, 4, 5],
            "C: GREEN and its RED"
        );
    }
    // Exact-id reads of hidden objects come back empty too.
    let hidden = Query {
        ids: vec![indicator(2, V1, None, &[]).id],
        ..Query::default()
    };
    assert!(store
        .read(&c, &id, &hidden)
        .await
        .unwrap()
        .objects
        .is_empty());
    // Reads of AMBER+ by non-owners were audited; the owner's and GREEN reads were not.
    let log = store.audit_log(0, 1000).await.unwrap();
    let reads: Vec<_> = log.iter().filter(|e| e.action == "read").collect();
    assert!(reads.iter().all(|e| e.actor_org != a.org));
    assert!(reads.iter().all(|e| e.tlp >= Some(Tlp::Amber)));
    let by_b = reads.iter().filter(|e| e.actor_org == b.org).count();
    let by_c = reads.iter().filter(|e| e.actor_org == c.org).count();
    assert_eq!(
        (by_b, by_c),
        (4, 2),
        "two AMBER+ objects to B, one RED to C, twice each"
    );
    assert!(reads.iter().any(|e| e.actor_org == c.org
        && e.tlp == Some(Tlp::Red)
        && e.object_id.as_deref() == Some(indicator(4, V1, None, &[]).id.as_str())));
}

async fn deleting_versions_reflags_and_respects_visibility(db: Db) {
    let store = &db.store;
    let [a, b, _c] = <[Caller; 3]>::try_from(three_orgs(store).await).unwrap();
    let id = collection(store, None, Some(everyone(store).await)).await;
    let objects = vec![
        indicator(1, V1, None, &[]),
        indicator(1, V2, None, &[]),
        indicator(1, V3, None, &[]),
        indicator(2, V1, Some(Tlp::Red), &[]),
    ];
    store.add_objects(&a, &id, objects, vec![]).await.unwrap();
    let one = indicator(1, V1, None, &[]).id;
    let last = VersionFilter::last();
    assert_eq!(
        store
            .delete_object(&b, &id, &one, &last, &[])
            .await
            .unwrap(),
        1
    );
    let q = Query {
        ids: vec![one.clone()],
        ..Query::default()
    };
    let page = store.read(&b, &id, &q).await.unwrap();
    let v2 = watchpost_stix::Timestamp::parse(V2).unwrap().unix_micros();
    assert_eq!(
        page.objects.iter().map(|o| o.version).collect::<Vec<_>>(),
        vec![v2],
        "V2 is now last"
    );
    // B cannot see A's RED object, so cannot delete it either.
    let red = indicator(2, V1, None, &[]).id;
    let err = store
        .delete_object(&b, &id, &red, &VersionFilter::all(), &[])
        .await;
    assert!(matches!(err, Err(StoreError::NotFound(_))), "{err:?}");
    assert_eq!(
        store
            .delete_object(&a, &id, &one, &VersionFilter::all(), &[])
            .await
            .unwrap(),
        2
    );
    assert!(store.read(&a, &id, &q).await.unwrap().objects.is_empty());
    let log = store.audit_log(0, 100).await.unwrap();
    assert_eq!(log.iter().filter(|e| e.action == "delete").count(), 3);
}

/// A sharing group of the three organisations.
async fn everyone(store: &SqlStore) -> &'static str {
    store
        .add_sharing_group("everyone", &names(&[A, B, C]))
        .await
        .unwrap();
    "everyone"
}

async fn statuses_belong_to_their_organisation(db: Db) {
    let store = &db.store;
    let [a, b, _] = <[Caller; 3]>::try_from(three_orgs(store).await).unwrap();
    let id = collection(store, None, None).await;
    let failure = StatusDetail {
        id: "indicator--bad".into(),
        version: V1.into(),
        message: Some("pattern: expected ']'".into()),
    };
    let status = store
        .add_objects(
            &a,
            &id,
            vec![indicator(1, V1, None, &[])],
            vec![failure.clone()],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            status.total_count,
            status.success_count,
            status.failure_count
        ),
        (2, 1, 1)
    );
    assert_eq!(status.successes[0].version, V1);
    let again = store.status(&a, &status.id).await.unwrap().unwrap();
    assert_eq!(again, status);
    assert_eq!(again.failures, vec![failure]);
    assert!(store.status(&b, &status.id).await.unwrap().is_none());
    assert!(store.status(&a, "no-such-status").await.unwrap().is_none());
}

async fn audit_log_is_append_only(db: Db) {
    let store = &db.store;
    three_orgs(store).await;
    store
        .add_user(NewUser {
            username: "u1".into(),
            org_name: A.into(),
            role: Role::Admin,
            password: "password-1".into(),
        })
        .await
        .unwrap();
    store.create_token("u1").await.unwrap();
    let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
    for sql in ["UPDATE audit SET action = 'nothing'", "DELETE FROM audit"] {
        let err = sqlx::query(sql).execute(&pool).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(store.audit_log(0, 10).await.unwrap().len(), 1);
}

async fn hidden_rows_cost_bounded_scans(db: Db) {
    let store = &db.store;
    let [a, b, _] = <[Caller; 3]>::try_from(three_orgs(store).await).unwrap();
    let id = collection(store, None, None).await;
    for batch in 0..5u32 {
        let objects = (0..5000).map(|i| indicator(batch * 5000 + i, V1, Some(Tlp::Red), &[]));
        store
            .add_objects(&a, &id, objects.collect(), vec![])
            .await
            .unwrap();
    }
    store
        .add_objects(&a, &id, vec![indicator(999_999, V1, None, &[])], vec![])
        .await
        .unwrap();
    // B sees one object at the very end: it gets there through short pages, never a long scan.
    let mut query = Query {
        limit: 10,
        ..Query::default()
    };
    let (mut pages, mut found) = (0, Vec::new());
    loop {
        let page = store.read(&b, &id, &query).await.unwrap();
        pages += 1;
        found.extend(ids(&page));
        match page.next {
            Some(n) => query.after = Some(n),
            None => break,
        }
    }
    assert_eq!(found, vec![indicator(999_999, V1, None, &[]).id]);
    assert_eq!(pages, 3, "10,000 rows scanned per request at most");
}

async fn filters_are_bound_never_spliced(db: Db) {
    let store = &db.store;
    let [a, ..] = <[Caller; 3]>::try_from(three_orgs(store).await).unwrap();
    let id = collection(store, None, None).await;
    store
        .add_objects(&a, &id, vec![indicator(1, V1, None, &[])], vec![])
        .await
        .unwrap();
    let hostile = [
        "' OR '1'='1",
        "indicator'; DROP TABLE objects; --",
        "%",
        "_",
        "\\",
        "\"",
        "indicator--*",
    ];
    for h in hostile {
        let q = Query {
            ids: vec![h.into()],
            types: vec![h.into()],
            spec_versions: vec![h.into()],
            ..Query::default()
        };
        assert!(
            store.read(&a, &id, &q).await.unwrap().objects.is_empty(),
            "{h}"
        );
        let q = Query {
            types: vec![h.into()],
            ..Query::default()
        };
        assert!(
            store.read(&a, &id, &q).await.unwrap().objects.is_empty(),
            "{h}"
        );
    }
    assert_eq!(
        store
            .read(&a, &id, &Query::default())
            .await
            .unwrap()
            .objects
            .len(),
        1
    );
}

/// Two processes on one database (`watchpost serve` and `watchpost import`): what one adds or
/// deletes, the other finds by id, counts as a known version, or may add again.
async fn two_stores_on_one_database_see_each_others_objects(db: Db) {
    let first = &db.store;
    let [a, ..] = <[Caller; 3]>::try_from(three_orgs(first).await).unwrap();
    let id = collection(first, None, None).await;
    let second = SqlStore::open(&db.url).await.unwrap();
    first
        .add_objects(&a, &id, vec![indicator(1, V1, None, &[])], vec![])
        .await
        .unwrap();
    let by_id = |n: u32| Query {
        ids: vec![indicator(n, V1, None, &[]).id],
        versions: VersionFilter::all(),
        ..Query::default()
    };
    // Each store has read once, so both have caught up with the table.
    assert_eq!(
        first.read(&a, &id, &by_id(1)).await.unwrap().objects.len(),
        1
    );
    assert_eq!(
        second.read(&a, &id, &by_id(1)).await.unwrap().objects.len(),
        1
    );
    // The second adds a new object and a new version of the first one.
    second
        .add_objects(
            &a,
            &id,
            vec![indicator(2, V1, None, &[]), indicator(1, V2, None, &[])],
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        first.read(&a, &id, &by_id(2)).await.unwrap().objects.len(),
        1
    );
    assert_eq!(
        first.read(&a, &id, &by_id(1)).await.unwrap().objects.len(),
        2
    );
    // The first knows V2 is stored, and that V3 is now the last.
    let status = first
        .add_objects(
            &a,
            &id,
            vec![indicator(1, V2, None, &[]), indicator(1, V3, None, &[])],
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        status.successes[0].message.as_deref(),
        Some("this version was already stored")
    );
    assert_eq!(status.successes[1].message, None);
    let last = first
        .read(
            &a,
            &id,
            &Query {
                versions: VersionFilter::last(),
                ..by_id(1)
            },
        )
        .await
        .unwrap();
    let v3 = watchpost_stix::Timestamp::parse(V3).unwrap().unix_micros();
    assert_eq!(
        last.objects.iter().map(|o| o.version).collect::<Vec<_>>(),
        vec![v3]
    );
    // A version deleted by the second may be added again through the first.
    second
        .delete_object(
            &a,
            &id,
            &indicator(2, V1, None, &[]).id,
            &VersionFilter::all(),
            &[],
        )
        .await
        .unwrap();
    assert!(first
        .read(&a, &id, &by_id(2))
        .await
        .unwrap()
        .objects
        .is_empty());
    let again = first
        .add_objects(&a, &id, vec![indicator(2, V1, None, &[])], vec![])
        .await
        .unwrap();
    assert_eq!(
        again.successes[0].message, None,
        "stored anew, not taken for a duplicate"
    );
    assert_eq!(
        second.read(&a, &id, &by_id(2)).await.unwrap().objects.len(),
        1
    );
}

async fn directory_entries_are_replaced_per_organisation(db: Db) {
    let store = &db.store;
    three_orgs(store).await;
    store.set_directory_entry(A, "{\"v\": 1}").await.unwrap();
    store.set_directory_entry(B, "{\"v\": 2}").await.unwrap();
    store.set_directory_entry(A, "{\"v\": 3}").await.unwrap();
    let entries = store.directory_entries().await.unwrap();
    assert_eq!(
        entries,
        vec![
            (A.to_string(), "{\"v\": 3}".to_string()),
            (B.to_string(), "{\"v\": 2}".to_string())
        ]
    );
    let unknown = store.set_directory_entry("nobody", "{}").await;
    assert!(
        matches!(unknown, Err(StoreError::NotFound(_))),
        "{unknown:?}"
    );
}

async fn current_objects_of_a_type_across_collections(db: Db) {
    let store = &db.store;
    let [a, ..] = <[Caller; 3]>::try_from(three_orgs(store).await).unwrap();
    let one = collection(store, None, None).await;
    let two = collection(store, None, None).await;
    let empty = store.objects_changed("indicator").await.unwrap();
    store
        .add_objects(
            &a,
            &one,
            vec![
                indicator(1, V1, Some(Tlp::Red), &[]),
                indicator(1, V2, Some(Tlp::Red), &[]),
            ],
            vec![],
        )
        .await
        .unwrap();
    let added = store.objects_changed("indicator").await.unwrap();
    assert_ne!(added, empty, "an add changes the token");
    assert_eq!(
        store.objects_changed("indicator").await.unwrap(),
        added,
        "nothing else does"
    );
    store
        .add_objects(&a, &two, vec![indicator(2, V1, None, &[])], vec![])
        .await
        .unwrap();
    let second = store.objects_changed("indicator").await.unwrap();
    assert_ne!(second, added);
    let mut found = store.current_objects_of_type("indicator").await.unwrap();
    found.sort();
    assert_eq!(
        found.len(),
        2,
        "the latest version of each, RED included: {found:?}"
    );
    let latest: serde_json::Value =
        serde_json::from_str(&found.iter().find(|f| f.0 == one).unwrap().1).unwrap();
    assert_eq!(latest["modified"], V2);
    assert!(store
        .current_objects_of_type("malware")
        .await
        .unwrap()
        .is_empty());
    let id =
        serde_json::from_str::<serde_json::Value>(&found.iter().find(|f| f.0 == two).unwrap().1)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
    store
        .delete_object(&a, &two, &id, &VersionFilter::all(), &[])
        .await
        .unwrap();
    assert_ne!(
        store.objects_changed("indicator").await.unwrap(),
        second,
        "a delete changes it too"
    );
}

const SECOND: i64 = 1_000_000;
const T0: i64 = 1_700_000_000 * SECOND;

fn to(channel: Channel, target: &str, who: &str) -> NewDelivery {
    NewDelivery {
        channel,
        target: target.into(),
        focal_point: who.into(),
        language: "vi".into(),
    }
}

/// A warning for indicator `n` in `org`, seen at `seen`, deduplicated for an hour, with a
/// webhook and an e-mail delivery at level 0, escalating after ten minutes.
fn new_warning(n: u32, org: &str, seen: i64) -> NewWarning {
    NewWarning {
        indicator_id: format!("indicator--{n:08x}-0000-4000-8000-000000000000"),
        org: org.into(),
        severity: "high".into(),
        seen,
        now: seen,
        dedup_window: 3600 * SECOND,
        escalate_at: Some(seen + 600 * SECOND),
        detail: json!({"name": "C2 server", "observed": "10.0.0.1"}).to_string(),
        deliveries: vec![
            to(Channel::Webhook, "https://soc.example/hook", "SOC"),
            to(Channel::Email, "soc@example.vn", "SOC"),
        ],
    }
}

async fn warnings_are_deduplicated_within_their_window(db: Db) {
    let store = &db.store;
    let first = store.raise_warning(new_warning(1, A, T0)).await.unwrap();
    assert!(first.created);
    assert_eq!(first.warning.count, 1);
    assert_eq!(first.warning.dedup_until, T0 + 3600 * SECOND);
    // Seen again within the hour: counted, nothing new enqueued.
    let again = store
        .raise_warning(new_warning(1, A, T0 + 1800 * SECOND))
        .await
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.warning.id, first.warning.id);
    assert_eq!(
        (
            again.warning.count,
            again.warning.first_seen,
            again.warning.last_seen
        ),
        (2, T0, T0 + 1800 * SECOND)
    );
    let (_, deliveries) = store.warning(&first.warning.id).await.unwrap().unwrap();
    assert_eq!(deliveries.len(), 2, "the duplicate enqueued nothing");
    // Another organisation, or another indicator, is another warning.
    assert!(
        store
            .raise_warning(new_warning(1, B, T0))
            .await
            .unwrap()
            .created
    );
    assert!(
        store
            .raise_warning(new_warning(2, A, T0))
            .await
            .unwrap()
            .created
    );
    // After the window, a new warning with its own deliveries.
    let later = store
        .raise_warning(new_warning(1, A, T0 + 3601 * SECOND))
        .await
        .unwrap();
    assert!(later.created);
    assert_ne!(later.warning.id, first.warning.id);
    let (_, deliveries) = store.warning(&later.warning.id).await.unwrap().unwrap();
    assert_eq!(deliveries.len(), 2);
    // Concurrent raises of one (indicator, organisation) make one warning.
    let raises = (0..8).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .raise_warning(new_warning(3, C, T0 + i * SECOND))
                .await
                .unwrap()
                .created
        })
    });
    let mut created = 0;
    for r in raises {
        created += usize::from(r.await.unwrap());
    }
    assert_eq!(created, 1);
    let of_c = store
        .warnings(&WarningFilter {
            org: Some(C.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!((of_c.len(), of_c[0].count), (1, 8));
}

async fn a_claimed_delivery_waits_for_its_lease_and_a_sent_one_is_never_claimed(db: Db) {
    let store = &db.store;
    let raised = store.raise_warning(new_warning(1, A, T0)).await.unwrap();
    // Not due before it was enqueued.
    assert!(store
        .claim_deliveries(T0 - 1, 30 * SECOND, 10)
        .await
        .unwrap()
        .is_empty());
    let claimed = store.claim_deliveries(T0, 30 * SECOND, 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    assert!(claimed
        .iter()
        .all(|d| d.warning_id == raised.warning.id && d.lease_until == Some(T0 + 30 * SECOND)));
    // A second courier finds nothing while the lease runs.
    assert!(store
        .claim_deliveries(T0 + 29 * SECOND, 30 * SECOND, 10)
        .await
        .unwrap()
        .is_empty());
    let (webhook, email) = if claimed[0].channel == Channel::Webhook {
        (&claimed[0], &claimed[1])
    } else {
        (&claimed[1], &claimed[0])
    };
    assert!(store.delivery_sent(&webhook.id, T0 + SECOND).await.unwrap());
    assert!(
        !store
            .delivery_sent(&webhook.id, T0 + 2 * SECOND)
            .await
            .unwrap(),
        "sent once only"
    );
    // After the lease, only the unsent delivery is claimed again (the first courier died).
    let again = store
        .claim_deliveries(T0 + 31 * SECOND, 30 * SECOND, 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, email.id);
    assert!(store
        .delivery_sent(&email.id, T0 + 32 * SECOND)
        .await
        .unwrap());
    assert!(store
        .claim_deliveries(T0 + 3600 * SECOND, 30 * SECOND, 10)
        .await
        .unwrap()
        .is_empty());
    let (_, all) = store.warning(&raised.warning.id).await.unwrap().unwrap();
    assert!(all.iter().all(|d| d.status == DeliveryStatus::Sent));
    let sent_at: Vec<_> = all.iter().map(|d| d.sent_at).collect();
    assert!(sent_at.contains(&Some(T0 + SECOND)) && sent_at.contains(&Some(T0 + 32 * SECOND)));
    // Many couriers claiming at once never share a delivery.
    for n in 10..20 {
        store.raise_warning(new_warning(n, B, T0)).await.unwrap();
    }
    let claims = (0..4).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .claim_deliveries(T0 + 40 * SECOND, 30 * SECOND, 3)
                .await
                .unwrap()
        })
    });
    let mut ids = Vec::new();
    for c in claims {
        ids.extend(c.await.unwrap().into_iter().map(|d| d.id));
    }
    let unique: BTreeSet<_> = ids.iter().collect();
    assert_eq!((ids.len(), unique.len()), (12, 12));
}

async fn failed_attempts_retry_then_give_up(db: Db) {
    let store = &db.store;
    let raised = store.raise_warning(new_warning(1, A, T0)).await.unwrap();
    let claimed = store.claim_deliveries(T0, 30 * SECOND, 1).await.unwrap();
    let id = &claimed[0].id;
    assert!(store
        .delivery_failed(id, "HTTP 500", Some(T0 + 2 * SECOND))
        .await
        .unwrap());
    // The retry is due at its time, lease or not.
    let early = store
        .claim_deliveries(T0 + SECOND, 30 * SECOND, 10)
        .await
        .unwrap();
    assert!(early.iter().all(|d| &d.id != id));
    let retry = store
        .claim_deliveries(T0 + 2 * SECOND, 30 * SECOND, 10)
        .await
        .unwrap();
    let retried = retry.iter().find(|d| &d.id == id).unwrap();
    assert_eq!(
        (retried.attempts, retried.last_error.as_deref()),
        (1, Some("HTTP 500"))
    );
    assert!(store.delivery_failed(id, "HTTP 400", None).await.unwrap());
    assert!(!store.delivery_sent(id, T0 + 3 * SECOND).await.unwrap());
    let (_, all) = store.warning(&raised.warning.id).await.unwrap().unwrap();
    let gave_up = all.iter().find(|d| &d.id == id).unwrap();
    assert_eq!(
        (
            gave_up.status,
            gave_up.attempts,
            gave_up.last_error.as_deref()
        ),
        (DeliveryStatus::Failed, 2, Some("HTTP 400"))
    );
}

async fn acknowledging_cancels_pending_deliveries(db: Db) {
    let store = &db.store;
    let raised = store.raise_warning(new_warning(1, A, T0)).await.unwrap();
    let id = &raised.warning.id;
    let claimed = store.claim_deliveries(T0, 30 * SECOND, 1).await.unwrap();
    assert!(store.delivery_sent(&claimed[0].id, T0).await.unwrap());
    let acked = store
        .acknowledge_warning(id, "SOC", T0 + 60 * SECOND)
        .await
        .unwrap();
    assert_eq!(
        (
            acked.status,
            acked.ack_by.as_deref(),
            acked.ack_at,
            acked.escalate_at
        ),
        (
            WarningStatus::Acknowledged,
            Some("SOC"),
            Some(T0 + 60 * SECOND),
            None
        )
    );
    let (_, all) = store.warning(id).await.unwrap().unwrap();
    let mut statuses: Vec<_> = all.iter().map(|d| d.status.as_str()).collect();
    statuses.sort();
    assert_eq!(statuses, ["cancelled", "sent"], "the sent one stays sent");
    assert!(store
        .claim_deliveries(T0 + 3600 * SECOND, 30 * SECOND, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .due_escalations(T0 + 3600 * SECOND, 10)
        .await
        .unwrap()
        .is_empty());
    // The first acknowledgement stands.
    let twice = store
        .acknowledge_warning(id, "CISO", T0 + 90 * SECOND)
        .await
        .unwrap();
    assert_eq!(twice.ack_by.as_deref(), Some("SOC"));
    let unknown = store.acknowledge_warning("nope", "SOC", T0).await;
    assert!(
        matches!(unknown, Err(StoreError::NotFound(_))),
        "{unknown:?}"
    );
}

async fn escalation_enqueues_the_next_level_exactly_once(db: Db) {
    let store = &db.store;
    let raised = store.raise_warning(new_warning(1, A, T0)).await.unwrap();
    let id = raised.warning.id.clone();
    assert!(store
        .due_escalations(T0 + 599 * SECOND, 10)
        .await
        .unwrap()
        .is_empty());
    let due = store.due_escalations(T0 + 600 * SECOND, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!((due[0].id.as_str(), due[0].level), (id.as_str(), 0));
    // Two couriers on two connections pools (as two hubs would be) escalate at once.
    let other = Arc::new(SqlStore::open(&db.url).await.unwrap());
    let next = [to(Channel::Email, "ciso@example.vn", "CISO")];
    let at = Some(T0 + 1200 * SECOND);
    let stores = [store.clone(), other.clone(), store.clone(), other];
    let tries = stores.into_iter().map(|s| {
        let (id, next) = (id.clone(), next.clone());
        tokio::spawn(async move {
            s.escalate_warning(&id, 0, &next, at, T0 + 600 * SECOND)
                .await
                .unwrap()
        })
    });
    let mut won = 0;
    for t in tries {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1, "exactly one caller escalates");
    let (warning, all) = store.warning(&id).await.unwrap().unwrap();
    assert_eq!((warning.level, warning.escalate_at), (1, at));
    let level1: Vec<_> = all.iter().filter(|d| d.level == 1).collect();
    assert_eq!(level1.len(), 1);
    assert_eq!(
        (level1[0].target.as_str(), level1[0].status),
        ("ciso@example.vn", DeliveryStatus::Pending)
    );
    // A stale caller (still at level 0) changes nothing.
    assert!(!store
        .escalate_warning(&id, 0, &next, at, T0 + 700 * SECOND)
        .await
        .unwrap());
    // The last level: no further escalation time.
    assert!(store
        .escalate_warning(&id, 1, &[], None, T0 + 1200 * SECOND)
        .await
        .unwrap());
    assert!(store
        .due_escalations(T0 + 99_999 * SECOND, 10)
        .await
        .unwrap()
        .is_empty());
}

async fn warnings_are_listed_with_filters(db: Db) {
    let store = &db.store;
    let mut w = new_warning(1, A, T0);
    w.severity = "critical".into();
    let a = store.raise_warning(w).await.unwrap().warning;
    let b = store
        .raise_warning(new_warning(2, B, T0 + 10 * SECOND))
        .await
        .unwrap()
        .warning;
    let c = store
        .raise_warning(new_warning(3, B, T0 + 20 * SECOND))
        .await
        .unwrap()
        .warning;
    store.acknowledge_warning(&c.id, "SOC", T0).await.unwrap();
    let list = |filter: WarningFilter| async move {
        store
            .warnings(&filter)
            .await
            .unwrap()
            .into_iter()
            .map(|w| w.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        list(WarningFilter::default()).await,
        [c.id.as_str(), &b.id, &a.id],
        "newest first"
    );
    let by_org = WarningFilter {
        org: Some(B.into()),
        ..Default::default()
    };
    assert_eq!(list(by_org).await, [c.id.as_str(), &b.id]);
    let open = WarningFilter {
        status: Some(WarningStatus::Open),
        ..Default::default()
    };
    assert_eq!(list(open).await, [b.id.as_str(), &a.id]);
    let critical = WarningFilter {
        severity: Some("critical".into()),
        ..Default::default()
    };
    assert_eq!(list(critical).await, [a.id.as_str()]);
    let since = WarningFilter {
        since: Some(T0 + 10 * SECOND),
        limit: Some(1),
        ..Default::default()
    };
    assert_eq!(list(since).await, [c.id.as_str()]);
    // A filter value is bound, never spliced into the SQL.
    let odd = WarningFilter {
        org: Some("x' OR '1'='1".into()),
        ..Default::default()
    };
    assert!(list(odd).await.is_empty());
    // The inbox's order: most severe first, newest first within a severity, closed left out.
    let inbox = WarningFilter {
        worst_first: true,
        ..Default::default()
    };
    let ranked = store.warnings(&inbox).await.unwrap();
    let rank = |s: &str| {
        ["critical", "high", "medium", "low"]
            .iter()
            .position(|x| *x == s)
    };
    assert!(ranked
        .windows(2)
        .all(|w| (rank(&w[0].severity), std::cmp::Reverse(w[0].created))
            <= (rank(&w[1].severity), std::cmp::Reverse(w[1].created))));
    assert!(ranked.iter().all(|w| w.status != WarningStatus::Closed));
    assert!(!ranked.is_empty());
    assert!(store.warning("nope").await.unwrap().is_none());
}

async fn misp_feeds_remember_each_event_stored(db: Db) {
    let store = &db.store;
    three_orgs(store).await;
    let local = collection(store, None, None).await;
    let feed = |kind, url: &str| NewFeed {
        kind,
        api_root: url.into(),
        remote: String::new(),
        collection: local.clone(),
        org_name: A.into(),
        auth: None,
        interval_secs: 60,
    };
    let misp = store
        .add_feed(feed(FeedKind::Misp, "http://127.0.0.1:9/feed"))
        .await
        .unwrap();
    assert_eq!(misp.kind, FeedKind::Misp);
    assert_eq!(misp.api_root, "http://127.0.0.1:9/feed/");
    let again = store
        .add_feed(feed(FeedKind::Misp, "http://127.0.0.1:9/feed/"))
        .await
        .unwrap_err();
    assert!(matches!(again, StoreError::Conflict(_)), "{again}");
    // A TAXII feed of another URL lives beside it, and keeps its kind.
    store
        .add_feed(feed(FeedKind::Taxii, "http://127.0.0.1:9/taxii2/api/"))
        .await
        .unwrap();
    let kinds: Vec<FeedKind> = store
        .feeds()
        .await
        .unwrap()
        .iter()
        .map(|f| f.kind)
        .collect();
    assert_eq!(kinds, [FeedKind::Misp, FeedKind::Taxii]);

    assert!(store.feed_events(misp.id).await.unwrap().is_empty());
    let event = "5e6f7a8b-0000-4000-8000-000000000001";
    store
        .record_feed_event(misp.id, event, "1700000000")
        .await
        .unwrap();
    store
        .record_feed_event(
            misp.id,
            "5e6f7a8b-0000-4000-8000-000000000002",
            "1700000001",
        )
        .await
        .unwrap();
    // A newer version of the event replaces the timestamp rather than adding a row.
    store
        .record_feed_event(misp.id, event, "1700009999")
        .await
        .unwrap();
    let mut seen = store.feed_events(misp.id).await.unwrap();
    seen.sort();
    assert_eq!(
        seen,
        [
            (event.to_string(), "1700009999".to_string()),
            (
                "5e6f7a8b-0000-4000-8000-000000000002".to_string(),
                "1700000001".to_string()
            ),
        ]
    );
    assert!(store.feed_events(misp.id + 1).await.unwrap().is_empty());
}

const DAY: i64 = 86_400 * SECOND;
/// A day of the trend tests: 2023-11-09.
const D: i64 = 19_670;

/// A STIX object of the trend tests, its version taken from `modified`.
fn sdo(body: serde_json::Value, tlp: Option<Tlp>) -> NewObject {
    let version = body["modified"]
        .as_str()
        .map(|m| watchpost_stix::Timestamp::parse(m).unwrap().unix_micros());
    NewObject {
        id: body["id"].as_str().unwrap().into(),
        object_type: body["type"].as_str().unwrap().into(),
        version,
        spec_version: "2.1".into(),
        tlp,
        recipients: Vec::new(),
        body: body.to_string(),
    }
}

fn stamp(micros: i64) -> String {
    watchpost_stix::Timestamp::from_unix_micros(micros).to_string()
}

fn trend_sighting(
    n: u32,
    indicator: u32,
    org: &str,
    day: i64,
    count: i64,
    rev: i64,
) -> serde_json::Value {
    json!({"type": "sighting", "spec_version": "2.1",
        "id": format!("sighting--{n:08x}-0000-4000-8000-000000000000"),
        "created": stamp(T0), "modified": stamp(T0 + rev * SECOND),
        "sighting_of_ref": format!("indicator--{indicator:08x}-0000-4000-8000-000000000000"),
        "where_sighted_refs": [org], "count": count,
        "first_seen": stamp(day * DAY + 3600 * SECOND), "last_seen": stamp(day * DAY + 7200 * SECOND)})
}

fn labels(tallies: &[Tally]) -> Vec<(String, i64)> {
    tallies.iter().map(|t| (t.label.clone(), t.count)).collect()
}

async fn trends_count_only_what_the_caller_may_read(db: Db) {
    let store = &db.store;
    let mut callers = Vec::new();
    for (name, sector) in [(A, "energy"), (B, "financial-services"), (C, "government")] {
        let org = store
            .add_org(NewOrg {
                name: name.into(),
                sector: Some(sector.into()),
                country: Some("VN".into()),
            })
            .await
            .unwrap();
        callers.push(Caller {
            user: format!("{name}-analyst"),
            org: org.id,
            role: Role::Analyst,
        });
    }
    let (a, b, c) = (&callers[0], &callers[1], &callers[2]);
    let open = collection(store, None, None).await;
    let a_only = collection(store, Some(&[A]), None).await;
    let ind = |n: u32, name: &str| {
        json!({"type": "indicator", "spec_version": "2.1",
        "id": format!("indicator--{n:08x}-0000-4000-8000-000000000000"), "name": name,
        "created": V1, "modified": V1, "pattern": "[ipv4-addr:value = '203.0.113.1']",
        "pattern_type": "stix", "valid_from": V1})
    };
    let rel = |n: u32, from: u32, to: &str| {
        json!({"type": "relationship", "spec_version": "2.1",
        "id": format!("relationship--{n:08x}-0000-4000-8000-000000000000"),
        "created": V1, "modified": V1, "relationship_type": "indicates",
        "source_ref": format!("indicator--{from:08x}-0000-4000-8000-000000000000"), "target_ref": to})
    };
    let plugx = "malware--00000001-0000-4000-8000-000000000000";
    let phishing = "attack-pattern--00000001-0000-4000-8000-000000000000";
    let lotus = "intrusion-set--00000001-0000-4000-8000-000000000000";
    let green = vec![
        sdo(ind(1, "C2 one"), None),
        sdo(ind(2, "C2 two"), None),
        sdo(ind(3, "Beacon three"), None),
        sdo(
            json!({"type": "malware", "spec_version": "2.1", "id": plugx, "name": "PlugX",
            "is_family": true, "created": V1, "modified": V1}),
            None,
        ),
        sdo(
            json!({"type": "attack-pattern", "spec_version": "2.1", "id": phishing, "name": "Phishing",
            "created": V1, "modified": V1, "external_references": [
                {"source_name": "mitre-attack", "external_id": "T1566"}]}),
            None,
        ),
        sdo(rel(1, 1, plugx), None),
        sdo(rel(2, 1, phishing), None),
        sdo(trend_sighting(1, 1, &a.org, D, 3, 0), None),
        sdo(trend_sighting(2, 1, &b.org, D + 1, 2, 0), None),
        sdo(trend_sighting(4, 3, &a.org, D - 30, 1, 0), None),
    ];
    store.add_objects(a, &open, green, vec![]).await.unwrap();
    // B's own AMBER intelligence: an intrusion set, its link, and a sighting.
    let amber = vec![
        sdo(
            json!({"type": "intrusion-set", "spec_version": "2.1", "id": lotus, "name": "OceanLotus",
            "created": V1, "modified": V1}),
            Some(Tlp::Amber),
        ),
        sdo(rel(3, 2, lotus), Some(Tlp::Amber)),
        sdo(trend_sighting(3, 2, &b.org, D + 8, 5, 0), Some(Tlp::Amber)),
    ];
    store.add_objects(b, &open, amber, vec![]).await.unwrap();
    // A GREEN sighting in a collection only A reads.
    store
        .add_objects(
            a,
            &a_only,
            vec![sdo(trend_sighting(5, 3, &a.org, D + 9, 4, 0), None)],
            vec![],
        )
        .await
        .unwrap();
    for (n, org, day) in [(1, A, D + 2), (2, B, D + 3), (2, B, D + 20)] {
        let mut w = new_warning(n, org, day * DAY);
        w.now = day * DAY;
        store.raise_warning(w).await.unwrap();
    }

    let query = TrendQuery {
        from_day: D,
        to_day: D + 14,
        bucket_days: 7,
        top: 10,
    };
    let seen = |t: &watchpost_store::Trends| -> Vec<(i64, i64, i64, i64, i64)> {
        t.buckets
            .iter()
            .map(|b| {
                (
                    b.start_day,
                    b.sightings,
                    b.warnings,
                    b.new_indicators,
                    b.recurring_indicators,
                )
            })
            .collect()
    };
    let for_a = store.trends(a, &query).await.unwrap();
    // Week 1: I1 at A (3) and B (2), new; week 2: I3 in A's own collection (4), seen 30 days
    // before, so recurring. B's AMBER sighting is not A's to count.
    assert_eq!(seen(&for_a), [(D, 5, 1, 1, 0), (D + 7, 4, 0, 0, 1)]);
    assert_eq!(
        labels(&for_a.by_sector),
        [
            ("energy".to_string(), 7),
            ("financial-services".to_string(), 2)
        ]
    );
    assert_eq!(
        labels(&for_a.by_org),
        [(A.to_string(), 7), (B.to_string(), 2)]
    );
    assert_eq!(labels(&for_a.by_malware), [("PlugX".to_string(), 5)]);
    assert_eq!(
        labels(&for_a.by_technique),
        [("T1566 Phishing".to_string(), 5)]
    );
    assert!(for_a.by_actor.is_empty(), "{:?}", for_a.by_actor);
    assert_eq!(
        labels(&for_a.top_indicators),
        [("C2 one".to_string(), 5), ("Beacon three".to_string(), 4)]
    );
    assert_eq!(for_a.by_malware[0].id.as_deref(), Some(plugx));

    let for_b = store.trends(b, &query).await.unwrap();
    assert_eq!(seen(&for_b), [(D, 5, 1, 1, 0), (D + 7, 5, 0, 1, 0)]);
    assert_eq!(labels(&for_b.by_actor), [("OceanLotus".to_string(), 5)]);
    let for_c = store.trends(c, &query).await.unwrap();
    assert_eq!(seen(&for_c), [(D, 5, 0, 1, 0), (D + 7, 0, 0, 0, 0)]);
    let admin = Caller {
        role: Role::Admin,
        ..a.clone()
    };
    let all = store.trends(&admin, &query).await.unwrap();
    assert_eq!((all.buckets[0].warnings, all.buckets[1].warnings), (2, 0));

    // A new version of a sighting replaces its count; a revoked link stops counting; a deleted
    // sighting is forgotten.
    store
        .add_objects(
            b,
            &open,
            vec![sdo(trend_sighting(2, 1, &b.org, D + 1, 6, 60), None)],
            vec![],
        )
        .await
        .unwrap();
    let mut revoked = rel(1, 1, plugx);
    revoked["modified"] = json!(V2);
    revoked["revoked"] = json!(true);
    store
        .add_objects(a, &open, vec![sdo(revoked, None)], vec![])
        .await
        .unwrap();
    let after = store.trends(a, &query).await.unwrap();
    assert_eq!(after.buckets[0].sightings, 9);
    assert!(after.by_malware.is_empty(), "{:?}", after.by_malware);
    store
        .delete_object(
            a,
            &open,
            "sighting--00000001-0000-4000-8000-000000000000",
            &VersionFilter::all(),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        store.trends(a, &query).await.unwrap().buckets[0].sightings,
        6
    );
}

async fn search_finds_only_what_the_caller_may_read(db: Db) {
    let store = &db.store;
    let callers = three_orgs(store).await;
    let (a, b, c) = (&callers[0], &callers[1], &callers[2]);
    store
        .add_sharing_group("ab", &names(&[A, B]))
        .await
        .unwrap();
    let open = collection(store, None, Some("ab")).await;
    let obj = |body: serde_json::Value, tlp: Option<Tlp>, recipients: &[&str]| NewObject {
        recipients: recipients.iter().map(|r| r.to_string()).collect(),
        ..sdo(body, tlp)
    };
    let lure = "indicator--00000001-0000-4000-8000-000000000000";
    let plugx = "malware--00000001-0000-4000-8000-000000000000";
    let red = "indicator--00000002-0000-4000-8000-000000000000";
    let gone = "intrusion-set--00000001-0000-4000-8000-000000000000";
    let ind = |id: &str, name: &str, modified: &str| {
        json!({"type": "indicator",
        "spec_version": "2.1", "id": id, "name": name, "created": V1, "modified": modified,
        "pattern": "[domain-name:value = 'evil-c2.vn']", "pattern_type": "stix", "valid_from": V1})
    };
    store
        .add_objects(
            a,
            &open,
            vec![
                obj(ind(lure, "Máy chủ C2 của OceanLotus", V1), None, &[]),
                obj(
                    json!({"type": "malware", "spec_version": "2.1", "id": plugx, "name": "PlugX",
                    "is_family": true, "created": V1, "modified": V1,
                    "description": "Nhắm vào ngành điện lực"}),
                    Some(Tlp::Amber),
                    &[],
                ),
                obj(ind(red, "Nguồn tin mật", V1), Some(Tlp::Red), &[&c.org]),
                obj(
                    json!({"type": "intrusion-set", "spec_version": "2.1", "id": gone,
                    "name": "Old OceanLotus cluster", "created": V1, "modified": V1,
                    "revoked": true}),
                    None,
                    &[],
                ),
            ],
            vec![],
        )
        .await
        .unwrap();
    let find = |caller: &Caller, text: &str| {
        let query = SearchQuery {
            text: text.into(),
            limit: 50,
            ..SearchQuery::default()
        };
        let caller = caller.clone();
        async move {
            let mut ids: Vec<String> = store
                .search(&caller, &query)
                .await
                .unwrap()
                .into_iter()
                .map(|h| h.id)
                .collect();
            ids.sort();
            ids
        }
    };
    // Words are found without their diacritics, in names, descriptions and patterns.
    assert_eq!(find(b, "oceanlotus").await, [lure]);
    assert_eq!(find(c, "may chu c2").await, [lure]);
    // The owner finds its own RED indicator too.
    assert_eq!(find(a, "evil-c2.vn").await, [lure, red]);
    assert_eq!(find(b, "evil-c2.vn").await, [lure]);
    // AMBER reaches the sharing group only, RED its recipients only.
    assert_eq!(find(b, "điện lực").await, [plugx]);
    assert!(find(c, "dien luc").await.is_empty());
    assert_eq!(find(c, "nguon tin mat").await, [red]);
    assert!(find(b, "nguon tin mat").await.is_empty());
    if db.url.starts_with("sqlite") {
        // The last word may be the start of one.
        assert_eq!(find(b, "ocean").await, [lure]);
    }
    // B's read of the AMBER object is audited like any read.
    let audit = store.audit_log(0, 100).await.unwrap();
    assert!(
        audit.iter().any(|e| e.action == "read"
            && e.object_id.as_deref() == Some(plugx)
            && e.actor_org == b.org),
        "{audit:?}"
    );

    // Filters; the revoked object only when asked for.
    let query = |q: SearchQuery| async move { store.search(a, &q).await.unwrap() };
    let all = query(SearchQuery {
        limit: 50,
        ..SearchQuery::default()
    })
    .await;
    assert_eq!(all.len(), 3, "{all:?}");
    let with_revoked = query(SearchQuery {
        limit: 50,
        include_revoked: true,
        ..SearchQuery::default()
    })
    .await;
    assert_eq!(with_revoked.len(), 4);
    let amber = query(SearchQuery {
        limit: 50,
        tlp: Some(Tlp::Amber),
        ..SearchQuery::default()
    })
    .await;
    assert_eq!(
        amber.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(),
        [plugx]
    );
    let indicators = query(SearchQuery {
        limit: 50,
        types: vec!["indicator".into()],
        ..SearchQuery::default()
    })
    .await;
    assert_eq!(indicators.len(), 2);
    let later = watchpost_stix::Timestamp::parse(V2).unwrap().unix_micros();
    assert!(query(SearchQuery {
        limit: 50,
        modified_after: Some(later),
        ..SearchQuery::default()
    })
    .await
    .is_empty());

    // What points at an object is found by its id.
    let rel = json!({"type": "relationship", "spec_version": "2.1",
        "id": "relationship--00000009-0000-4000-8000-000000000000", "created": V1, "modified": V1,
        "relationship_type": "indicates", "source_ref": lure, "target_ref": plugx});
    store
        .add_objects(a, &open, vec![sdo(rel, None)], vec![])
        .await
        .unwrap();
    assert_eq!(
        find(c, plugx).await,
        ["relationship--00000009-0000-4000-8000-000000000000"]
    );

    // A new version is found by its new name only; a deleted object is not found.
    store
        .add_objects(
            a,
            &open,
            vec![sdo(ind(lure, "Tên miền lừa đảo", V2), None)],
            vec![],
        )
        .await
        .unwrap();
    assert!(find(b, "oceanlotus").await.is_empty());
    assert_eq!(find(b, "lua dao").await, [lure]);
    store
        .delete_object(a, &open, lure, &VersionFilter::all(), &[])
        .await
        .unwrap();
    assert!(find(b, "lua dao").await.is_empty());
}
/// The three organisations of [`three_orgs`] with a user each: a reader of A, an analyst of B
/// and an admin of C; returns their callers.
async fn three_orgs_with_users(store: &SqlStore) -> Vec<Caller> {
    three_orgs(store).await;
    let mut callers = Vec::new();
    for (org, role) in [(A, Role::Reader), (B, Role::Analyst), (C, Role::Admin)] {
        let username = format!("{org}-{}", role.as_str());
        store
            .add_user(NewUser {
                username: username.clone(),
                org_name: org.into(),
                role,
                password: "correct horse".into(),
            })
            .await
            .unwrap();
        callers.push(
            store
                .login(&username, "correct horse")
                .await
                .unwrap()
                .unwrap(),
        );
    }
    callers
}

async fn console_sessions_live_until_they_expire_or_end(db: Db) {
    let store = &db.store;
    let users = three_orgs_with_users(store).await;
    let session = |digest: &str, expires: i64| NewSession {
        id_digest: digest.into(),
        username: users[0].user.clone(),
        csrf: format!("csrf-{digest}"),
        created: T0,
        expires,
    };
    store
        .create_session(session("d1", T0 + 60 * SECOND))
        .await
        .unwrap();
    store
        .create_session(session("d2", T0 + 60 * SECOND))
        .await
        .unwrap();
    let live = store.session("d1", T0 + SECOND).await.unwrap().unwrap();
    assert_eq!(
        (live.caller, live.csrf.as_str()),
        (users[0].clone(), "csrf-d1")
    );
    assert!(
        store
            .session("d1", T0 + 60 * SECOND)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    assert!(store.session("nope", T0).await.unwrap().is_none());
    store.end_session("d2").await.unwrap();
    assert!(
        store.session("d2", T0 + SECOND).await.unwrap().is_none(),
        "ended"
    );
    // A digest is bound, never spliced into the SQL.
    assert!(store.session("d1' OR '1'='1", T0).await.unwrap().is_none());
}

async fn login_failures_count_per_user_since_success_and_per_address(db: Db) {
    let store = &db.store;
    let attempt = |user: &str, ip: &str, at: i64, succeeded: bool| LoginAttempt {
        username: user.into(),
        ip: ip.into(),
        at,
        succeeded,
    };
    for n in 0..3 {
        let a = attempt("ana", "10.0.0.1", T0 + n * SECOND, false);
        store.record_login_attempt(a).await.unwrap();
    }
    let f = store.login_failures("ana", "10.0.0.1", T0).await.unwrap();
    assert_eq!((f.by_user, f.by_ip), (3, 3));
    let later = store
        .login_failures("ana", "10.0.0.1", T0 + 2 * SECOND)
        .await
        .unwrap();
    assert_eq!(
        (later.by_user, later.by_ip),
        (1, 1),
        "only those since the instant"
    );
    store
        .record_login_attempt(attempt("ana", "10.0.0.1", T0 + 10 * SECOND, true))
        .await
        .unwrap();
    store
        .record_login_attempt(attempt("bob", "10.0.0.1", T0 + 11 * SECOND, false))
        .await
        .unwrap();
    let f = store.login_failures("ana", "10.0.0.1", T0).await.unwrap();
    assert_eq!(
        (f.by_user, f.by_ip),
        (0, 4),
        "a success clears the user's count, not the address's"
    );
    let other = store.login_failures("bob", "10.0.0.2", T0).await.unwrap();
    assert_eq!((other.by_user, other.by_ip), (1, 0));
}

async fn users_see_only_their_organisations_warnings(db: Db) {
    let store = &db.store;
    let users = three_orgs_with_users(store).await;
    let (reader_a, analyst_b, admin_c) = (&users[0], &users[1], &users[2]);
    let a = store
        .raise_warning(new_warning(1, A, T0))
        .await
        .unwrap()
        .warning;
    let b = store
        .raise_warning(new_warning(2, B, T0 + SECOND))
        .await
        .unwrap()
        .warning;
    let ids =
        |list: Vec<watchpost_store::Warning>| list.into_iter().map(|w| w.id).collect::<Vec<_>>();
    let all = WarningFilter::default();
    assert_eq!(
        ids(store.visible_warnings(reader_a, &all).await.unwrap()),
        [a.id.as_str()]
    );
    assert_eq!(
        ids(store.visible_warnings(analyst_b, &all).await.unwrap()),
        [b.id.as_str()]
    );
    assert_eq!(
        ids(store.visible_warnings(admin_c, &all).await.unwrap()),
        [b.id.clone(), a.id.clone()],
        "an admin sees every organisation's"
    );
    // Asking for another organisation's warnings by name gives nothing.
    let of_b = WarningFilter {
        org: Some(B.into()),
        ..Default::default()
    };
    assert!(store
        .visible_warnings(reader_a, &of_b)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .visible_warning(reader_a, &b.id)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .visible_warning(reader_a, &a.id)
        .await
        .unwrap()
        .is_some());
    assert!(store
        .visible_warning(admin_c, &b.id)
        .await
        .unwrap()
        .is_some());
    // A caller whose organisation the store does not know sees nothing.
    let stranger = Caller {
        org: "identity--00000000-0000-4000-8000-000000000000".into(),
        ..reader_a.clone()
    };
    assert!(store
        .visible_warnings(&stranger, &all)
        .await
        .unwrap()
        .is_empty());
}

async fn warnings_are_assigned_within_their_organisation_and_closed_with_a_comment(db: Db) {
    let store = &db.store;
    let users = three_orgs_with_users(store).await;
    let raised = store
        .raise_warning(new_warning(1, B, T0))
        .await
        .unwrap()
        .warning;
    let id = &raised.id;
    let assigned = store
        .assign_warning(id, &users[1].user, "cert-c-admin", T0 + SECOND)
        .await
        .unwrap();
    assert_eq!(assigned.assigned_to.as_deref(), Some("cert-b-analyst"));
    let outsider = store
        .assign_warning(id, &users[0].user, "cert-c-admin", T0)
        .await;
    assert!(
        matches!(outsider, Err(StoreError::Invalid(_))),
        "{outsider:?}"
    );
    let silent = store.close_warning(id, "cert-b-analyst", "  ", T0).await;
    assert!(matches!(silent, Err(StoreError::Invalid(_))), "{silent:?}");
    let closed = store
        .close_warning(
            id,
            "cert-b-analyst",
            "blocked at the firewall",
            T0 + 2 * SECOND,
        )
        .await
        .unwrap();
    assert_eq!(
        (
            closed.status,
            closed.closed_by.as_deref(),
            closed.closed_at,
            closed.escalate_at
        ),
        (
            WarningStatus::Closed,
            Some("cert-b-analyst"),
            Some(T0 + 2 * SECOND),
            None
        )
    );
    let (_, deliveries) = store.warning(id).await.unwrap().unwrap();
    assert!(
        deliveries
            .iter()
            .all(|d| d.status == DeliveryStatus::Cancelled),
        "closing cancels pending deliveries like acknowledging does"
    );
    assert!(store
        .claim_deliveries(T0 + 3600 * SECOND, SECOND, 10)
        .await
        .unwrap()
        .is_empty());
    let again = store
        .close_warning(id, "cert-c-admin", "again", T0 + 3 * SECOND)
        .await
        .unwrap();
    assert_eq!(
        again.closed_by.as_deref(),
        Some("cert-b-analyst"),
        "the first closing stands"
    );
    let (_, notes) = store.visible_warning(&users[1], id).await.unwrap().unwrap();
    let notes: Vec<_> = notes
        .iter()
        .map(|n| (n.action.as_str(), n.text.as_str()))
        .collect();
    assert_eq!(
        notes,
        [
            ("assigned", "cert-b-analyst"),
            ("closed", "blocked at the firewall")
        ]
    );
    assert_eq!(
        store.org_users(B).await.unwrap(),
        ["cert-b-analyst"],
        "the users an analyst of B can assign to"
    );
    let acked = store
        .acknowledge_warning(id, "SOC", T0 + 4 * SECOND)
        .await
        .unwrap();
    assert_eq!(
        acked.status,
        WarningStatus::Closed,
        "a closed warning stays closed"
    );
}

async fn administrators_see_tokens_and_permissions(db: Db) {
    let store = &db.store;
    three_orgs(store).await;
    store
        .add_sharing_group("ab", &names(&[A, B]))
        .await
        .unwrap();
    let open = collection(store, None, Some("ab")).await;
    let only_a = collection(store, Some(&[A]), None).await;
    for (user, org) in [("u-a", A), ("u-b", B)] {
        store
            .add_user(NewUser {
                username: user.into(),
                org_name: org.into(),
                role: Role::Analyst,
                password: "password-1".into(),
            })
            .await
            .unwrap();
    }
    let secret = store.create_token("u-b").await.unwrap();
    store.create_token("u-a").await.unwrap();
    let tokens = store.tokens().await.unwrap();
    let owners: Vec<(&str, &str)> = tokens
        .iter()
        .map(|t| (t.username.as_str(), t.org.as_str()))
        .collect();
    assert_eq!(owners, [("u-b", B), ("u-a", A)]);
    assert!(tokens.iter().all(|t| t.created > 0));
    assert!(
        !format!("{tokens:?}").contains(&secret),
        "the token itself is never shown"
    );

    let all = store.permissions().await.unwrap();
    let of = |id: &str| all.iter().find(|p| p.collection == id).unwrap().clone();
    let open = of(&open);
    assert!(open.read_all);
    assert_eq!(open.sharing_group.as_deref(), Some("ab"));
    assert_eq!(open.default_tlp, Tlp::Green);
    let only_a = of(&only_a);
    assert!(!only_a.read_all);
    let a_grant = only_a.grants.iter().find(|g| g.0 == A).unwrap();
    assert!(a_grant.1, "A reads its collection");
    let c_grant = only_a.grants.iter().find(|g| g.0 == C).unwrap();
    assert_eq!(
        (c_grant.1, c_grant.2),
        (false, true),
        "C writes without reading"
    );
}

async fn peer_hubs_receive_only_what_may_leave_the_hub(db: Db) {
    let store = &db.store;
    let callers = three_orgs(store).await;
    store
        .add_sharing_group("ab", &names(&[A, B]))
        .await
        .unwrap();
    let open = collection(store, None, Some("ab")).await;
    let objects = vec![
        indicator(1, V1, Some(Tlp::Green), &[]),
        indicator(2, V1, Some(Tlp::Amber), &[]),
        indicator(3, V1, Some(Tlp::AmberStrict), &[]),
        indicator(4, V1, Some(Tlp::Red), &[&callers[1].org]),
    ];
    store
        .add_objects(&callers[0], &open, objects, vec![])
        .await
        .unwrap();
    let read = |caller: Caller| {
        let open = open.clone();
        async move {
            let page = store.read(&caller, &open, &Query::default()).await.unwrap();
            let mut got: Vec<u32> = page
                .objects
                .iter()
                .map(|o| {
                    let (_, uuid) = o.id.split_once("--").unwrap();
                    u32::from_str_radix(&uuid[..8], 16).unwrap()
                })
                .collect();
            got.sort();
            got
        }
    };
    let as_peer = |c: &Caller| Caller {
        role: Role::Peer,
        ..c.clone()
    };
    // Members: B is in the group and a recipient of the RED one.
    assert_eq!(read(callers[1].clone()).await, [1, 2, 3, 4]);
    // The same organisations' hubs as peers: AMBER+STRICT and RED never leave.
    assert_eq!(read(as_peer(&callers[1])).await, [1, 2]);
    assert_eq!(read(as_peer(&callers[2])).await, [1]);
    // Even the owner's organisation, reading through federation, gets nothing it may not
    // re-share.
    assert_eq!(read(as_peer(&callers[0])).await, [1, 2]);
    // The one RED exception: a 24/7 request crosses to the hub of an organisation it is
    // addressed to, and to no other.
    let mut request = indicator(6, V1, Some(Tlp::Red), &[&callers[1].org]);
    request.id = "x-watchpost-request--00000006-0000-4000-8000-000000000000".into();
    request.object_type = "x-watchpost-request".into();
    store
        .add_objects(&callers[0], &open, vec![request], vec![])
        .await
        .unwrap();
    assert_eq!(read(as_peer(&callers[1])).await, [1, 2, 6]);
    assert_eq!(read(as_peer(&callers[2])).await, [1]);
    // Search follows the same rules.
    let query = SearchQuery {
        text: "10.0.0.1".into(),
        limit: 10,
        ..SearchQuery::default()
    };
    let hits = store.search(&as_peer(&callers[2]), &query).await.unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    // A peer may push where its organisation may write.
    let pushed = store
        .add_objects(
            &as_peer(&callers[2]),
            &open,
            vec![indicator(5, V1, None, &[])],
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(pushed.success_count, 1);
    assert_eq!(Role::parse("peer"), Some(Role::Peer));
    assert!(
        Role::Peer < Role::Reader,
        "no console check lets a peer through"
    );

    // The hub's signing key is made once; a peer keeps its key and where pushing got to, which
    // only moves forward.
    let key = store.signing_key().await.unwrap();
    assert_eq!(store.signing_key().await.unwrap(), key);
    let push = [open.clone()];
    let new = watchpost_store::NewPeer {
        name: "cert-d",
        url: "http://127.0.0.1:9/taxii2/api",
        token: "wp_token",
        public_key: Some("cHVibGlj"),
        push: &push,
    };
    let peer = store.add_peer(new).await.unwrap();
    assert_eq!(peer.url, "http://127.0.0.1:9/taxii2/api/");
    assert_eq!(peer.public_key.as_deref(), Some("cHVibGlj"));
    assert_eq!(peer.pushes[0].last_added, 0);
    store.record_push(peer.id, &open, Ok(123)).await.unwrap();
    store.record_push(peer.id, &open, Ok(100)).await.unwrap();
    store
        .record_push(peer.id, &open, Err(("unreachable".into(), 999)))
        .await
        .unwrap();
    let state = store.peers().await.unwrap()[0].pushes[0].clone();
    assert_eq!(
        (state.last_added, state.failures, state.next_attempt),
        (123, 1, 999)
    );
    assert_eq!(state.last_error.as_deref(), Some("unreachable"));
    store.record_push(peer.id, &open, Ok(130)).await.unwrap();
    let state = store.peers().await.unwrap()[0].pushes[0].clone();
    assert_eq!((state.last_added, state.failures), (130, 0));
    // How far requests were taken in from it moves forward only too.
    assert_eq!(peer.requests_read, 0);
    store.record_request_intake(peer.id, 50).await.unwrap();
    store.record_request_intake(peer.id, 40).await.unwrap();
    assert_eq!(store.peers().await.unwrap()[0].requests_read, 50);
}

async fn a_grant_adds_to_what_an_organisation_may_do(db: Db) {
    let store = &db.store;
    let [a, b, _] = <[Caller; 3]>::try_from(three_orgs(store).await).unwrap();
    let id = store
        .add_collection(NewCollection {
            id: None,
            title: "A's".into(),
            description: None,
            readers: Some(names(&[A])),
            writers: names(&[A]),
            default_tlp: Tlp::Green,
            sharing_group: None,
        })
        .await
        .unwrap();
    let write = |c: Caller| {
        let id = id.clone();
        async move {
            store
                .add_objects(&c, &id, vec![indicator(1, V1, None, &[])], vec![])
                .await
        }
    };
    assert!(
        matches!(
            write(b.clone()).await,
            Err(StoreError::Forbidden(_) | StoreError::NotFound(_))
        ),
        "B may not write yet"
    );
    store.grant(&id, B, true, true).await.unwrap();
    assert_eq!(write(b.clone()).await.unwrap().success_count, 1);
    // Granting read only later takes nothing away.
    store.grant(&id, B, true, false).await.unwrap();
    assert_eq!(write(b).await.unwrap().success_count, 1);
    store.grant(&id, A, false, false).await.unwrap();
    assert_eq!(write(a).await.unwrap().success_count, 1);
    assert!(matches!(
        store
            .grant("00000000-0000-4000-8000-000000000000", B, true, true)
            .await,
        Err(StoreError::NotFound(_))
    ));
}

fn request_row(id: &str) -> RequestRow {
    RequestRow {
        id: id.into(),
        from_org: A.into(),
        to_org: B.into(),
        kind: "preservation".into(),
        state: "draft".into(),
        deadline: Some("2026-11-24T10:00:00+07:00".into()),
        body: json!({"case_reference": "VN-1"}).to_string(),
        created: 0,
        updated: 0,
    }
}

fn request_event(seq: i64, prev_hash: &str, hash: &str) -> RequestEvent {
    RequestEvent {
        seq,
        at: "2026-11-23T03:00:00.000Z".into(),
        actor: "cert-a/duty".into(),
        kind: if seq == 1 { "created" } else { "transition" }.into(),
        body: json!({"seq": seq}).to_string(),
        prev_hash: prev_hash.into(),
        hash: hash.into(),
    }
}

async fn requests_are_seen_only_by_their_two_organisations(db: Db) {
    let s = &db.store;
    let callers = three_orgs(s).await;
    let id = "x-watchpost-request--6f1b1c2e-4d1a-4b8e-9d7a-0b6c4c2f1a11";
    s.add_request(request_row(id), request_event(1, "0", "h1"))
        .await
        .unwrap();
    s.add_request_attachment(
        id,
        RequestAttachment {
            sha256: "abc".into(),
            name: "order.pdf".into(),
            size: 4,
            content: b"%PDF".to_vec(),
        },
    )
    .await
    .unwrap();
    for caller in &callers[..2] {
        let list = s.visible_requests(caller).await.unwrap();
        assert_eq!(list.len(), 1, "{}", caller.user);
        assert_eq!(
            list[0].deadline.as_deref(),
            Some("2026-11-24T10:00:00+07:00")
        );
        let (row, events) = s.visible_request(caller, id).await.unwrap().unwrap();
        assert_eq!(row.state, "draft");
        assert_eq!(events, vec![request_event(1, "0", "h1")]);
        let file = s
            .request_attachment(caller, id, "abc")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(file.content, b"%PDF");
    }
    // A third organisation sees nothing, even as an administrator.
    let mut third = callers[2].clone();
    assert!(s.visible_requests(&third).await.unwrap().is_empty());
    assert!(s.visible_request(&third, id).await.unwrap().is_none());
    assert!(s
        .request_attachment(&third, id, "abc")
        .await
        .unwrap()
        .is_none());
    third.role = Role::Admin;
    assert!(s.visible_requests(&third).await.unwrap().is_empty());
    assert!(s.visible_request(&third, id).await.unwrap().is_none());
    // A request to an unknown organisation is refused.
    let mut stray = request_row("x-watchpost-request--00000000-0000-4000-8000-000000000000");
    stray.to_org = "nobody".into();
    assert!(matches!(
        s.add_request(stray, request_event(1, "0", "h1")).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn requests_append_events_only_after_their_chain_head(db: Db) {
    let s = &db.store;
    let callers = three_orgs(s).await;
    let id = "x-watchpost-request--6f1b1c2e-4d1a-4b8e-9d7a-0b6c4c2f1a12";
    s.add_request(request_row(id), request_event(1, "0", "h1"))
        .await
        .unwrap();
    s.append_request_event(id, "h1", request_event(2, "h1", "h2"), "sent")
        .await
        .unwrap();
    // A writer that read the head before event 2 cannot fork the chain.
    let stale = s
        .append_request_event(id, "h1", request_event(2, "h1", "h2b"), "received")
        .await;
    assert!(matches!(stale, Err(StoreError::Stale(_))), "{stale:?}");
    // Two writers racing on the same head: exactly one wins.
    let (x, y) = tokio::join!(
        s.append_request_event(id, "h2", request_event(3, "h2", "h3x"), "received"),
        s.append_request_event(id, "h2", request_event(3, "h2", "h3y"), "received"),
    );
    assert!(x.is_ok() != y.is_ok(), "{x:?} {y:?}");
    let (row, events) = s.visible_request(&callers[1], id).await.unwrap().unwrap();
    assert_eq!(row.state, "received");
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert!(matches!(
        s.append_request_event(
            "x-watchpost-request--none",
            "h1",
            request_event(2, "h1", "h"),
            "sent"
        )
        .await,
        Err(StoreError::NotFound(_))
    ));
}

async fn request_reminders_are_recorded_once(db: Db) {
    let s = &db.store;
    three_orgs(s).await;
    let id = "x-watchpost-request--6f1b1c2e-4d1a-4b8e-9d7a-0b6c4c2f1a11";
    let draft = "x-watchpost-request--00000000-4d1a-4b8e-9d7a-0b6c4c2f1a11";
    s.add_request(request_row(draft), request_event(1, "0", "h1"))
        .await
        .unwrap();
    let sent = RequestRow {
        state: "sent".into(),
        ..request_row(id)
    };
    s.add_request(sent, request_event(1, "0", "h1"))
        .await
        .unwrap();
    let open = s.open_requests_for_hub().await.unwrap();
    assert_eq!(open.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), [id]);
    let reminder = |warning: &str| watchpost_store::RequestReminder {
        request_id: id.into(),
        kind: "acknowledgement".into(),
        org: B.into(),
        warning_id: warning.into(),
        raised: 7,
    };
    let warning = s
        .raise_warning(new_warning(1, B, T0))
        .await
        .unwrap()
        .warning;
    s.record_request_reminder(reminder(&warning.id))
        .await
        .unwrap();
    s.record_request_reminder(reminder("w2")).await.unwrap();
    assert_eq!(
        s.request_reminders().await.unwrap(),
        [reminder(&warning.id)]
    );
    // Open until someone acknowledges its warning.
    assert_eq!(
        s.open_request_reminders().await.unwrap(),
        [reminder(&warning.id)]
    );
    s.acknowledge_warning(&warning.id, "desk", T0 + 1)
        .await
        .unwrap();
    assert!(s.open_request_reminders().await.unwrap().is_empty());
}
