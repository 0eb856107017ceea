//! Early warning end to end, with real parts: the hub process (`watchpost serve` watching
//! Suricata and Zeek files), a real SMTP server (aiosmtpd) and a real HTTP webhook receiver,
//! all on 127.0.0.1. Three organisations each receive exactly their warnings, in their
//! language; the hub is killed with SIGKILL while deliveries are pending and, restarted,
//! delivers each of them exactly once; an unacknowledged warning escalates, an acknowledged
//! one does not.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_watchpost");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The webhook receiver: it records what it accepts (answered 200), and can hold the first
/// request without answering until told to refuse it, to have the hub die mid-delivery.
#[derive(Clone, Default)]
struct Hooks(Arc<Mutex<HookState>>);

#[derive(Default)]
struct HookState {
    accepted: Vec<(String, String, Value)>,
    hold_first: bool,
    holding: bool,
    released: bool,
}

async fn hook(
    State(hooks): State<Hooks>,
    UrlPath(org): UrlPath<String>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let hold = {
        let mut s = hooks.0.lock().unwrap();
        let hold = s.hold_first && !s.holding;
        s.holding |= hold;
        hold
    };
    if hold {
        while !hooks.0.lock().unwrap().released {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The hub died while we held it: this request was never accepted.
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let delivery = headers
        .get("x-watchpost-delivery")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    hooks.0.lock().unwrap().accepted.push((org, delivery, body));
    StatusCode::OK
}

fn start_receiver(hooks: Hooks) -> (u16, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new()
        .route("/hook/{org}", axum::routing::post(hook))
        .with_state(hooks);
    rt.spawn(async move { axum::serve(listener, app).await });
    (port, rt)
}

/// aiosmtpd, writing each message it receives as a JSON line.
struct Smtp {
    child: Child,
    out: PathBuf,
}

impl Smtp {
    fn start(port: u16, out: PathBuf) -> Smtp {
        let python = std::env::var("WATCHPOST_PYTHON").unwrap_or_else(|_| "python3".into());
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../warn/tests/data/smtp_sink.py"
        );
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
        assert_eq!(
            line.trim(),
            "ready",
            "the SMTP server did not start (is aiosmtpd installed?)"
        );
        Smtp { child, out }
    }

    fn messages(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn to(&self, address: &str) -> Vec<Value> {
        self.messages()
            .into_iter()
            .filter(|m| m["to"].as_array().unwrap().iter().any(|t| t == address))
            .collect()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Hub(Child);

impl Hub {
    fn start(dir: &Path, db: &str, port: u16, watch: bool) -> Hub {
        let mut cmd = Command::new(BIN);
        cmd.args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--db",
            db,
        ])
        .args(["--warn-config", dir.join("warn.json").to_str().unwrap()])
        .args(["--quarantine", dir.join("q.jsonl").to_str().unwrap()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped());
        if watch {
            cmd.args(["--eve", dir.join("eve.json").to_str().unwrap()])
                .args(["--zeek", dir.join("dns.log").to_str().unwrap()])
                .args(["--sightings-collection", SIGHTINGS, "--org", "ncert"]);
        }
        let mut child = cmd.spawn().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert!(line.contains("TAXII 2.1 discovery"), "{line}");
        // Keep reading, so the hub never writes into a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        Hub(child)
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const INTEL: &str = "0b5e7b7e-2222-4222-8222-000000000001";
const SIGHTINGS: &str = "0b5e7b7e-2222-4222-8222-000000000002";

fn indicator(n: u32, name: &str, pattern: &str) -> Value {
    json!({
        "type": "indicator", "spec_version": "2.1",
        "id": format!("indicator--0000000{n}-6666-4666-8666-666666666666"),
        "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z",
        "name": name, "pattern": pattern, "pattern_type": "stix",
        "valid_from": "2025-01-01T00:00:00Z", "confidence": 80,
        "kill_chain_phases": [{"kill_chain_name": "lockheed-martin-cyber-kill-chain", "phase_name": "command-and-control"}]
    })
}

fn point(
    name: &str,
    email: Option<&str>,
    webhook: Option<String>,
    language: &str,
    order: u32,
) -> Value {
    json!({"name": name, "email": email, "webhook": webhook, "always_on": true, "language": language, "order": order})
}

/// The directory, the indicators, the telemetry (hits planted for three organisations) and
/// the hub's warning settings.
fn prepare(dir: &Path, db: &str, hook_port: u16, smtp_port: u16, hub_port: u16) {
    let cli = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .args(["--db", db])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let hook = |org: &str| Some(format!("http://127.0.0.1:{hook_port}/hook/{org}"));
    let directory = json!([
        {"org": "ncert", "national": true,
         "focal_points": [point("NCERT duty", Some("duty@ncert.test"), None, "en", 1)],
         "constituency": {"prefixes": ["198.18.0.0/15"], "country": "VN"}},
        {"org": "energy", "focal_points": [
            point("Energy SOC", Some("soc@energy.test"), hook("energy"), "vi", 1),
            point("Energy CISO", Some("ciso@energy.test"), None, "vi", 2)],
         "constituency": {"prefixes": ["10.1.0.0/16"], "critical": true, "sector": "energy", "country": "VN"}},
        {"org": "bank", "focal_points": [
            point("Bank SOC", Some("soc@bank.test"), None, "en", 1),
            point("Bank CISO", Some("ciso@bank.test"), None, "en", 2)],
         "constituency": {"prefixes": ["10.2.0.0/16"], "sector": "financial-services", "country": "VN"}},
        {"org": "telco", "focal_points": [point("Telco NOC", None, hook("telco"), "vi", 1)],
         "constituency": {"prefixes": ["10.3.0.0/16"], "domains": ["telco.test"], "sector": "telecommunications", "country": "VN"}}
    ]);
    std::fs::write(dir.join("directory.json"), directory.to_string()).unwrap();
    cli(&[
        "org",
        "import",
        dir.join("directory.json").to_str().unwrap(),
    ]);
    cli(&[
        "collection",
        "add",
        "Indicators",
        "--id",
        INTEL,
        "--write",
        "ncert",
    ]);
    cli(&[
        "collection",
        "add",
        "Sightings",
        "--id",
        SIGHTINGS,
        "--write",
        "ncert",
    ]);
    let objects = [
        indicator(1, "Energy C2 address", "[ipv4-addr:value = '198.51.100.7']"),
        indicator(
            2,
            "Energy C2 domain",
            "[domain-name:value = 'update.evil-energy.example']",
        ),
        indicator(
            3,
            "Bank phishing domain",
            "[domain-name:value = 'login.bank-phish.example']",
        ),
        indicator(4, "Telco scanner", "[ipv4-addr:value = '203.0.113.66']"),
    ];
    let bundle = json!({"type": "bundle", "id": "bundle--6f1c0d7e-3c4a-4b8e-9a55-6a7b8c9d0e11", "objects": objects});
    std::fs::write(dir.join("intel.json"), bundle.to_string()).unwrap();
    cli(&[
        "import",
        dir.join("intel.json").to_str().unwrap(),
        "--collection",
        INTEL,
        "--org",
        "ncert",
    ]);
    let eve: String = [
        json!({"timestamp": "2025-03-01T10:00:00.000000+0000", "event_type": "flow", "src_ip": "10.1.0.5", "src_port": 50000, "dest_ip": "198.51.100.7", "dest_port": 443, "proto": "TCP"}),
        json!({"timestamp": "2025-03-01T10:00:01.000000+0000", "event_type": "flow", "src_ip": "10.1.0.6", "src_port": 50001, "dest_ip": "192.0.2.10", "dest_port": 443, "proto": "TCP"}),
        json!({"timestamp": "2025-03-01T10:00:02.000000+0000", "event_type": "dns", "src_ip": "10.1.0.5", "dest_ip": "10.1.0.53", "dns": {"type": "query", "rrname": "update.evil-energy.example", "rrtype": "A"}}),
        json!({"timestamp": "2025-03-01T10:00:03.000000+0000", "event_type": "flow", "src_ip": "203.0.113.66", "src_port": 4444, "dest_ip": "10.3.0.8", "dest_port": 22, "proto": "TCP"}),
        json!({"timestamp": "2025-03-01T10:00:04.000000+0000", "event_type": "flow", "src_ip": "203.0.113.66", "src_port": 4445, "dest_ip": "10.3.0.9", "dest_port": 22, "proto": "TCP"}),
    ]
    .iter()
    .map(|l| format!("{l}\n"))
    .collect();
    std::fs::write(dir.join("eve.json"), eve).unwrap();
    let zeek = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n\
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\tquery\tqtype_name\trcode_name\tanswers\n\
#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tcount\tstring\tstring\tstring\tvector[string]\n\
1740823205.000000\tC1\t10.2.0.9\t53001\t10.2.0.53\t53\tudp\t1\tlogin.bank-phish.example\tA\tNOERROR\t203.0.113.99\n\
1740823206.000000\tC2\t10.2.0.10\t53002\t10.2.0.53\t53\tudp\t2\twww.example.org\tA\tNOERROR\t192.0.2.1\n";
    std::fs::write(dir.join("dns.log"), zeek).unwrap();
    let warn = json!({
        "secret": "an end-to-end test secret of more than 32 characters",
        "ack_base_url": format!("http://127.0.0.1:{hub_port}"),
        "dedup_window_secs": 3600,
        "escalate_after_secs": 25,
        "delivery": {"tick_ms": 100, "lease_secs": 2, "backoff_base_secs": 1, "max_attempts": 20},
        "smtp": {"host": "127.0.0.1", "port": smtp_port, "starttls": "off", "from": "watchpost@ncert.test"}
    });
    std::fs::write(dir.join("warn.json"), warn.to_string()).unwrap();
}

fn warnings(db: &str) -> Vec<Value> {
    let out = Command::new(BIN)
        .args(["warnings", "list", "--json", "--db", db])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn deliveries(db: &str, id: &str) -> Vec<Value> {
    let out = Command::new(BIN)
        .args(["warnings", "show", id, "--json", "--db", db])
        .output()
        .unwrap();
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    shown["deliveries"].as_array().unwrap().clone()
}

/// Indicator ids by organisation, as warnings name them.
fn by_org(list: &[Value]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for w in list {
        out.entry(w["org"].as_str().unwrap().into())
            .or_default()
            .push(w["indicator_id"].as_str().unwrap().into());
    }
    out.values_mut().for_each(|v| v.sort());
    out
}

#[test]
fn warnings_reach_each_organisation_once_in_its_language_through_a_crash_and_escalate() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("hub.db").display());
    let hooks = Hooks::default();
    hooks.0.lock().unwrap().hold_first = true;
    let (hook_port, _receiver) = start_receiver(hooks.clone());
    let smtp_port = free_port();
    let smtp = Smtp::start(smtp_port, dir.path().join("mail.jsonl"));
    let hub_port = free_port();
    prepare(dir.path(), &db, hook_port, smtp_port, hub_port);

    // The hub watches the files, raises warnings, and starts delivering; it dies (SIGKILL)
    // while the receiver holds the first webhook.
    let mut hub = Hub::start(dir.path(), &db, hub_port, true);
    wait_for("the first webhook", Duration::from_secs(60), || {
        hooks.0.lock().unwrap().holding.then_some(())
    });
    // The e-mails go out beside the held webhook; the crash comes once the hub has recorded
    // them, so the one delivery in flight is the webhook (an e-mail killed between the SMTP
    // server's 250 and its record would be sent again, with the same Message-ID).
    wait_for(
        "the three first e-mails recorded as sent",
        Duration::from_secs(30),
        || {
            let recorded = warnings(&db)
                .iter()
                .flat_map(|w| deliveries(&db, w["id"].as_str().unwrap()))
                .filter(|d| d["channel"] == "email" && d["status"] == "sent")
                .count();
            (recorded == 3).then_some(())
        },
    );
    hub.0.kill().unwrap();
    hub.0.wait().unwrap();
    hooks.0.lock().unwrap().released = true;

    let raised = warnings(&db);
    let ind = |n: u32| format!("indicator--0000000{n}-6666-4666-8666-666666666666");
    let expected: BTreeMap<String, Vec<String>> = [
        ("bank".to_string(), vec![ind(3)]),
        ("energy".to_string(), vec![ind(1), ind(2)]),
        ("telco".to_string(), vec![ind(4)]),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        by_org(&raised),
        expected,
        "one warning per (indicator, organisation)"
    );
    let telco = raised.iter().find(|w| w["org"] == "telco").unwrap();
    assert_eq!(
        telco["count"], 2,
        "the second telco hit counted into the same warning"
    );
    let energy = raised.iter().find(|w| w["org"] == "energy").unwrap();
    assert_eq!(
        energy["severity"], "critical",
        "high confidence, C2 phase, critical infrastructure"
    );
    let pending = raised
        .iter()
        .flat_map(|w| deliveries(&db, w["id"].as_str().unwrap()))
        .filter(|d| d["status"] == "pending")
        .count();
    assert!(pending > 0, "the hub was killed with deliveries pending");

    // Restarted, the hub delivers every pending warning exactly once.
    let _hub = Hub::start(dir.path(), &db, hub_port, false);
    let level_one = |h: &Hooks| h.0.lock().unwrap().accepted.len();
    wait_for(
        "three webhooks and three e-mails",
        Duration::from_secs(60),
        || (level_one(&hooks) >= 3 && smtp.messages().len() >= 3).then_some(()),
    );
    let accepted = hooks.0.lock().unwrap().accepted.clone();
    let mut ids: Vec<&str> = accepted.iter().map(|(_, d, _)| d.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        ids.len(),
        accepted.len(),
        "a webhook delivery accepted twice: {accepted:?}"
    );
    let mut hooked: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (org, _, body) in &accepted {
        assert_eq!(
            body["org"],
            org.as_str(),
            "a warning sent to another organisation's hook"
        );
        hooked
            .entry(org.clone())
            .or_default()
            .push(body["indicator"]["id"].as_str().unwrap().into());
    }
    hooked.values_mut().for_each(|v| v.sort());
    assert_eq!(hooked.get("energy"), expected.get("energy"));
    assert_eq!(hooked.get("telco"), expected.get("telco"));
    assert_eq!(hooked.len(), 2);

    let energy_mail = smtp.to("soc@energy.test");
    assert_eq!(energy_mail.len(), 2, "{energy_mail:?}");
    for m in &energy_mail {
        assert!(m["subject"].as_str().unwrap().contains("Cảnh báo"), "{m}");
        assert!(
            m["body"].as_str().unwrap().contains("Kính gửi Energy SOC"),
            "{m}"
        );
    }
    let bank_mail = smtp.to("soc@bank.test");
    assert_eq!(bank_mail.len(), 1, "{bank_mail:?}");
    assert!(
        bank_mail[0]["subject"]
            .as_str()
            .unwrap()
            .contains("warning"),
        "{}",
        bank_mail[0]
    );
    assert!(bank_mail[0]["body"]
        .as_str()
        .unwrap()
        .contains("Dear Bank SOC"));
    let message_ids: Vec<String> = smtp
        .messages()
        .iter()
        .map(|m| m["message_id"].as_str().unwrap().to_string())
        .collect();
    let mut unique = message_ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), message_ids.len(), "an e-mail sent twice");

    // Energy acknowledges through the signed link in its webhook (well within the 25 s before
    // escalation, even on a loaded machine); the bank does not.
    for (org, _, body) in &accepted {
        if org == "energy" {
            let link = body["ack_url"].as_str().unwrap();
            assert!(post(link), "acknowledging through {link}");
        }
    }
    let bank_ciso = wait_for("the bank's escalation", Duration::from_secs(60), || {
        let mail = smtp.to("ciso@bank.test");
        (!mail.is_empty()).then_some(mail)
    });
    assert_eq!(bank_ciso.len(), 1);
    assert!(bank_ciso[0]["subject"]
        .as_str()
        .unwrap()
        .contains("Bank phishing domain"));
    assert!(
        smtp.to("ciso@energy.test").is_empty(),
        "an acknowledged warning escalated"
    );
    let after = warnings(&db);
    for w in after.iter().filter(|w| w["org"] == "energy") {
        assert_eq!(w["status"], "acknowledged", "{w}");
    }
    let bank = after.iter().find(|w| w["org"] == "bank").unwrap();
    assert_eq!(bank["level"], 1, "{bank}");
}

/// POSTs to a URL without curl: a plain HTTP/1.1 request on loopback.
fn post(url: &str) -> bool {
    use std::io::{Read, Write};
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(
        s,
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    response.starts_with("HTTP/1.1 2")
}
