//! The warning lifecycle on real components: a SQLite store, a webhook receiver and the
//! acknowledgement routes on 127.0.0.1 (axum), and a real SMTP server (Python's aiosmtpd, from
//! the environment `scripts/test` prepares: `WATCHPOST_PYTHON`).
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use watchpost_store::{DeliveryStatus, NewOrg, NewUser, Role, SqlStore, Store, WarningStatus};
use watchpost_warn::{
    ack, Config, Courier, DirectoryEntry, FocalPoint, Language, RaiseRequest, Round, SmtpConfig,
    StartTls, Warnings,
};

const SECOND: i64 = 1_000_000;
const T0: i64 = 1_700_000_000 * SECOND;
const SECRET: &str = "test secret, long enough to sign";

/// One request the webhook receiver got.
#[derive(Clone, Debug)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

/// A webhook receiver on 127.0.0.1 that answers with the scripted statuses (then 200).
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<u16>>>,
}

async fn receiver() -> Receiver {
    let got = Arc::new(Mutex::new(Vec::new()));
    let script = Arc::new(Mutex::new(VecDeque::new()));
    let (g, s) = (got.clone(), script.clone());
    let app = axum::Router::new().route(
        "/{hook}",
        axum::routing::post(
            move |axum::extract::Path(hook): axum::extract::Path<String>,
                  headers: HeaderMap,
                  body: Bytes| {
                let (g, s) = (g.clone(), s.clone());
                async move {
                    g.lock().unwrap().push(Received {
                        path: hook,
                        headers,
                        body,
                    });
                    let status = s.lock().unwrap().pop_front().unwrap_or(200);
                    StatusCode::from_u16(status).unwrap()
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver { url, got, script }
}

impl Receiver {
    fn requests(&self, hook: &str) -> Vec<Received> {
        let got = self.got.lock().unwrap();
        got.iter().filter(|r| r.path == hook).cloned().collect()
    }
}

fn hook_point(name: &str, url: String, order: u32) -> FocalPoint {
    FocalPoint {
        name: name.into(),
        webhook: Some(url),
        order,
        ..Default::default()
    }
}

fn mail_point(name: &str, email: &str, language: Language) -> FocalPoint {
    FocalPoint {
        name: name.into(),
        email: Some(email.into()),
        language,
        ..Default::default()
    }
}

/// A hub: a SQLite store with the directory's organisations and entries.
struct Hub {
    store: Arc<dyn Store>,
    warnings: Warnings,
    config: Config,
    _dir: tempfile::TempDir,
}

async fn hub(directory: Vec<DirectoryEntry>, config: Config) -> Hub {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hub.db").display());
    let store: Arc<dyn Store> = Arc::new(SqlStore::open(&url).await.unwrap());
    for e in &directory {
        store
            .add_org(NewOrg {
                name: e.org.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        store
            .set_directory_entry(&e.org, &serde_json::to_string(e).unwrap())
            .await
            .unwrap();
    }
    let warnings = Warnings::new(store.clone(), directory, config.clone());
    Hub {
        store,
        warnings,
        config,
        _dir: dir,
    }
}

fn config() -> Config {
    Config {
        secret: SECRET.into(),
        ack_base_url: "https://hub.example".into(),
        ..Config::default()
    }
}

fn entry(org: &str, national: bool, critical: bool, points: Vec<FocalPoint>) -> DirectoryEntry {
    let mut e = DirectoryEntry {
        org: org.into(),
        national,
        focal_points: points,
        ..Default::default()
    };
    e.constituency.critical = critical;
    e
}

fn indicator(n: u32) -> Value {
    json!({"type": "indicator", "spec_version": "2.1",
        "id": format!("indicator--{n:08x}-0000-4000-8000-000000000000"),
        "name": "Máy chủ điều khiển (C2) của mã độc", "confidence": 75,
        "pattern": "[ipv4-addr:value = '203.0.113.9']", "pattern_type": "stix",
        "kill_chain_phases": [{"kill_chain_name": "lockheed-martin-cyber-kill-chain",
            "phase_name": "command-and-control"}]})
}

impl Hub {
    async fn raise(&self, n: u32, org: &str, seen: i64) -> watchpost_store::Raised {
        let indicator = indicator(n);
        self.warnings
            .raise(RaiseRequest {
                indicator: &indicator,
                org,
                observation: "14.160.32.9 → 203.0.113.9:443",
                seen,
                now: seen,
            })
            .await
            .unwrap()
    }

    fn courier(&self) -> Courier {
        Courier::new(self.store.clone(), self.config.clone()).unwrap()
    }
}

fn hmac_hex(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn header<'a>(r: &'a Received, name: &str) -> &'a str {
    r.headers.get(name).unwrap().to_str().unwrap()
}

#[tokio::test]
async fn webhook_is_signed_retried_after_a_500_and_sent_once() {
    let rx = receiver().await;
    let hub = hub(
        vec![entry(
            "vn-energy",
            false,
            true,
            vec![hook_point("SOC", format!("{}/soc", rx.url), 1)],
        )],
        config(),
    )
    .await;
    let raised = hub.raise(1, "vn-energy", T0).await;
    assert!(raised.created);
    assert_eq!(
        raised.warning.severity, "critical",
        "high confidence, C2 phase, critical infrastructure"
    );
    rx.script.lock().unwrap().push_back(500);
    let courier = hub.courier();
    assert_eq!(
        courier.tick(T0).await.unwrap(),
        Round {
            retried: 1,
            ..Round::default()
        }
    );
    // The backoff (1 s) has not passed: nothing is sent.
    assert_eq!(
        courier.tick(T0 + SECOND / 2).await.unwrap(),
        Round::default()
    );
    assert_eq!(rx.requests("soc").len(), 1);
    assert_eq!(courier.tick(T0 + SECOND).await.unwrap().sent, 1);
    // Sent once: later rounds send nothing more.
    courier.tick(T0 + 3600 * SECOND).await.unwrap();
    let got = rx.requests("soc");
    assert_eq!(got.len(), 2, "one failed attempt, one success");
    let (_, deliveries) = hub
        .store
        .warning(&raised.warning.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(
        (deliveries[0].status, deliveries[0].attempts),
        (DeliveryStatus::Sent, 1)
    );
    for r in &got {
        assert_eq!(
            header(r, "x-watchpost-signature"),
            format!("sha256={}", hmac_hex(&r.body))
        );
        assert_eq!(
            header(r, "x-watchpost-delivery"),
            deliveries[0].id,
            "same key on retry"
        );
        assert_eq!(header(r, "x-watchpost-event"), "warning");
    }
    let body: Value = serde_json::from_slice(&got[1].body).unwrap();
    assert_eq!(body["warning_id"], raised.warning.id.as_str());
    assert_eq!(body["severity"], "critical");
    assert_eq!(body["org"], "vn-energy");
    assert_eq!(
        body["indicator"]["name"],
        "Máy chủ điều khiển (C2) của mã độc"
    );
    assert_eq!(body["observation"], "14.160.32.9 → 203.0.113.9:443");
    assert_eq!(body["count"], 1);
    let ack_url = body["ack_url"].as_str().unwrap();
    assert!(ack_url.starts_with(&format!(
        "https://hub.example/warnings/{}/ack?by=SOC&sig=",
        raised.warning.id
    )));
    // A second sighting within the window is counted, not sent again.
    let again = hub.raise(1, "vn-energy", T0 + 60 * SECOND).await;
    assert!(!again.created);
    assert_eq!(again.warning.count, 2);
    assert_eq!(
        courier.tick(T0 + 7200 * SECOND).await.unwrap(),
        Round::default()
    );
}

#[tokio::test]
async fn webhook_refused_with_400_is_not_retried() {
    let rx = receiver().await;
    let hub = hub(
        vec![entry(
            "bank",
            false,
            false,
            vec![hook_point("SOC", format!("{}/bank", rx.url), 1)],
        )],
        config(),
    )
    .await;
    let raised = hub.raise(1, "bank", T0).await;
    rx.script.lock().unwrap().push_back(400);
    let courier = hub.courier();
    assert_eq!(courier.tick(T0).await.unwrap().failed, 1);
    courier.tick(T0 + 3600 * SECOND).await.unwrap();
    assert_eq!(rx.requests("bank").len(), 1);
    let (_, d) = hub
        .store
        .warning(&raised.warning.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d[0].status, DeliveryStatus::Failed);
    assert!(d[0].last_error.as_deref().unwrap().contains("HTTP 400"));
}

/// aiosmtpd on a free port of 127.0.0.1, writing what it receives to a JSON-lines file.
struct SmtpSink {
    port: u16,
    out: std::path::PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn smtp_sink() -> SmtpSink {
    let python = std::env::var("WATCHPOST_PYTHON").expect(
        "WATCHPOST_PYTHON must name a Python with aiosmtpd for the e-mail tests: run \
         ./scripts/test, or set it to .venv/bin/python",
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mail.jsonl");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/smtp_sink.py");
    let mut child = Command::new(python)
        .args([script, &port.to_string(), out.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready", "the SMTP sink did not start");
    SmtpSink {
        port,
        out,
        child,
        _dir: dir,
    }
}

impl SmtpSink {
    fn messages(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

#[tokio::test]
async fn email_reaches_a_real_smtp_server_in_each_focal_points_language() {
    let sink = smtp_sink();
    let mut config = config();
    config.smtp = Some(SmtpConfig {
        host: "127.0.0.1".into(),
        port: sink.port,
        starttls: StartTls::Off,
        username: None,
        password: None,
        from: "Watchpost <warnings@vncert.example>".into(),
        timeout_secs: 10,
    });
    let hub = hub(
        vec![entry(
            "vn-energy",
            false,
            false,
            vec![
                mail_point("Trực ban SOC", "soc@energy.example.vn", Language::Vi),
                mail_point("Vendor desk", "desk@vendor.example", Language::En),
            ],
        )],
        config,
    )
    .await;
    let raised = hub.raise(1, "vn-energy", T0).await;
    assert_eq!(
        raised.warning.severity, "critical",
        "75 → high, C2 → critical"
    );
    assert_eq!(hub.courier().tick(T0).await.unwrap().sent, 2);
    let (_, deliveries) = hub
        .store
        .warning(&raised.warning.id)
        .await
        .unwrap()
        .unwrap();
    let mut messages = sink.messages();
    messages.sort_by_key(|m| m["to"][0].as_str().unwrap().to_string());
    assert_eq!(messages.len(), 2, "{messages:?}");
    let (desk, soc) = (&messages[0], &messages[1]);
    assert_eq!(soc["to"][0], "soc@energy.example.vn");
    assert_eq!(soc["from"], "warnings@vncert.example");
    assert_eq!(
        soc["subject"],
        "[Watchpost] Cảnh báo mức nghiêm trọng: Máy chủ điều khiển (C2) của mã độc"
    );
    let body = soc["body"].as_str().unwrap();
    assert!(body.starts_with("Kính gửi Trực ban SOC,"), "{body}");
    assert!(
        body.contains("Quan sát:        14.160.32.9 → 203.0.113.9:443"),
        "{body}"
    );
    let soc_delivery = deliveries
        .iter()
        .find(|d| d.target == "soc@energy.example.vn")
        .unwrap();
    assert_eq!(
        soc["message_id"],
        format!("<{}@watchpost.warning>", soc_delivery.id)
    );
    let link = ack::ack_url(
        "https://hub.example",
        SECRET.as_bytes(),
        &raised.warning.id,
        "Trực ban SOC",
    );
    assert!(body.contains(&link), "the signed link: {body}");
    assert_eq!(
        desk["subject"],
        "[Watchpost] Critical warning: Máy chủ điều khiển (C2) của mã độc"
    );
    assert!(desk["body"]
        .as_str()
        .unwrap()
        .starts_with("Dear Vendor desk,"));
    assert!(deliveries.iter().all(|d| d.status == DeliveryStatus::Sent));
}

#[tokio::test]
async fn escalation_reaches_the_next_level_then_the_national_cert_unless_acknowledged() {
    let rx = receiver().await;
    let hook = |name: &str, order| hook_point(name, format!("{}/{name}", rx.url), order);
    let hub = hub(
        vec![
            entry("vncert", true, false, vec![hook("duty", 1)]),
            entry(
                "bank",
                false,
                false,
                vec![hook("soc", 1), hook("noc", 1), hook("ciso", 2)],
            ),
        ],
        config(),
    )
    .await;
    let escalating = hub.raise(1, "bank", T0).await.warning;
    let acked = hub.raise(2, "bank", T0).await.warning;
    let (one, two) = (hub.courier(), hub.courier());
    assert_eq!(
        one.tick(T0).await.unwrap().sent,
        4,
        "soc and noc, two warnings"
    );
    assert_eq!(rx.requests("ciso").len(), 0);
    hub.store
        .acknowledge_warning(&acked.id, "soc", T0 + 60 * SECOND)
        .await
        .unwrap();
    // Half an hour later (the default), two couriers at once: one escalation, level 1.
    let after = T0 + 1800 * SECOND;
    let (a, b) = tokio::join!(one.tick(after), two.tick(after));
    assert_eq!(a.unwrap().escalated + b.unwrap().escalated, 1);
    one.tick(after).await.unwrap();
    let ciso = rx.requests("ciso");
    assert_eq!(ciso.len(), 1, "only the unacknowledged warning escalates");
    let body: Value = serde_json::from_slice(&ciso[0].body).unwrap();
    assert_eq!(
        (body["warning_id"].as_str(), body["level"].as_i64()),
        (Some(escalating.id.as_str()), Some(1))
    );
    // Then the national CERT, and the chain ends there.
    let later = after + 1800 * SECOND;
    assert_eq!(one.tick(later).await.unwrap().escalated, 1);
    one.tick(later).await.unwrap();
    assert_eq!(rx.requests("duty").len(), 1);
    let (w, _) = hub.store.warning(&escalating.id).await.unwrap().unwrap();
    assert_eq!((w.level, w.escalate_at), (2, None));
    assert_eq!(
        one.tick(later + 99_999 * SECOND).await.unwrap(),
        Round::default()
    );
}

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

#[tokio::test]
async fn acknowledgement_by_signed_link_and_by_api() {
    let hub = hub(
        vec![
            entry(
                "bank",
                false,
                false,
                vec![mail_point("SOC", "soc@bank.example", Language::En)],
            ),
            entry("rail", false, false, vec![]),
        ],
        config(),
    )
    .await;
    let base = serve(ack::router(hub.store.clone(), SECRET.as_bytes())).await;
    let http = reqwest::Client::new();
    let w = hub.raise(1, "bank", T0).await.warning;
    let link = ack::ack_url(&base, SECRET.as_bytes(), &w.id, "SOC");

    // Opening the link changes nothing: it shows a confirmation form.
    let page = http.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<form method=\"post\"") && html.contains("Acknowledge as SOC"),
        "{html}"
    );
    let (open, _) = hub.store.warning(&w.id).await.unwrap().unwrap();
    assert_eq!(open.status, WarningStatus::Open);

    // A forged or altered link is refused, GET and POST alike.
    let forged = link.replace("by=SOC", "by=Mallory");
    for response in [
        http.get(&forged).send().await.unwrap(),
        http.post(&forged).send().await.unwrap(),
    ] {
        assert_eq!(response.status(), 403);
        assert!(response
            .text()
            .await
            .unwrap()
            .contains("signature does not match"));
    }
    let other = hub.raise(2, "bank", T0).await.warning;
    let wrong_warning = link.replace(&w.id, &other.id);
    assert_eq!(
        http.post(&wrong_warning).send().await.unwrap().status(),
        403
    );

    // The button acknowledges and cancels what was still to be sent.
    let done = http.post(&link).send().await.unwrap();
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("acknowledged by SOC"));
    let (acked, deliveries) = hub.store.warning(&w.id).await.unwrap().unwrap();
    assert_eq!(
        (acked.status, acked.ack_by.as_deref()),
        (WarningStatus::Acknowledged, Some("SOC"))
    );
    assert!(deliveries
        .iter()
        .all(|d| d.status == DeliveryStatus::Cancelled));

    // The API: a user of the organisation, not one of another.
    for (user, org, role) in [
        ("lan", "bank", Role::Reader),
        ("minh", "rail", Role::Analyst),
    ] {
        hub.store
            .add_user(NewUser {
                username: user.into(),
                org_name: org.into(),
                role,
                password: "correct horse battery".into(),
            })
            .await
            .unwrap();
    }
    let api = format!("{base}/api/warnings/{}/ack", other.id);
    assert_eq!(http.post(&api).send().await.unwrap().status(), 401);
    let stranger = hub.store.create_token("minh").await.unwrap();
    let refused = http.post(&api).bearer_auth(&stranger).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    assert!(refused.text().await.unwrap().contains("only users of bank"));
    let member = hub.store.create_token("lan").await.unwrap();
    let ok = http.post(&api).bearer_auth(&member).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    let body: Value = ok.json().await.unwrap();
    assert_eq!(
        (body["status"].as_str(), body["ack_by"].as_str()),
        (Some("acknowledged"), Some("lan"))
    );
    let missing = format!("{base}/api/warnings/nope/ack");
    assert_eq!(
        http.post(&missing)
            .bearer_auth(&member)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}
