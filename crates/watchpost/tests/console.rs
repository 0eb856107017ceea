//! The analyst console (issue 8) against the real hub: `watchpost demo` on 127.0.0.1 with its
//! three CERTs and their warnings. HTTP-level security checks (CSRF, session fixation,
//! lockout, organisation isolation, escaping) use reqwest; the walk-through uses a real
//! headless Chromium through chromedriver and saves the screenshots in `docs/screenshots/`.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use watchpost_store::{NewWarning, SqlStore, Store};

const BIN: &str = env!("CARGO_BIN_EXE_watchpost");
const PASSWORD: &str = "watchpost-demo";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// A demo hub in a directory of its own, killed when dropped.
struct Hub {
    child: Child,
    base: String,
    db: String,
    _dir: tempfile::TempDir,
}

impl Hub {
    fn start() -> Hub {
        Hub::start_with(|_, _| {})
    }

    /// A demo hub whose database `prepare` may change (db URL, directory) before it serves.
    fn start_with(prepare: impl FnOnce(&str, &std::path::Path)) -> Hub {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}", dir.path().join("demo.db").display());
        let seeded = Command::new(BIN)
            .args(["demo", "--no-serve", "--db", &db, "--data"])
            .arg(repo().join("demo"))
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            seeded.status.success(),
            "{}",
            String::from_utf8_lossy(&seeded.stderr)
        );
        prepare(&db, dir.path());
        let mut child = Command::new(BIN)
            .args(["demo", "--listen", "127.0.0.1:0", "--db", &db, "--data"])
            .arg(repo().join("demo"))
            .current_dir(dir.path())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("the demo hub exited before it listened")
                .unwrap();
            if let Some(rest) = line.strip_prefix("TAXII 2.1 discovery: ") {
                break rest.trim_end_matches("/taxii2/").to_string();
            }
        };
        // Keep reading its output so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Hub {
            child,
            base,
            db,
            _dir: dir,
        }
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser without JavaScript: it keeps cookies by hand, so the test sees every one.
struct Agent {
    http: reqwest::Client,
    base: String,
    cookies: BTreeMap<String, String>,
}

struct Reply {
    status: u16,
    location: String,
    body: String,
}

impl Agent {
    fn new(hub: &Hub) -> Agent {
        Agent {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: hub.base.clone(),
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Reply {
        let response = request
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        for value in response.headers().get_all("set-cookie") {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.into(), value.into());
            }
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        Reply {
            status,
            location,
            body: response.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Reply {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Reply {
        let request = self.http.post(format!("{}{path}", self.base)).form(form);
        self.send(request).await
    }

    /// Signs in through the form, as a browser would.
    async fn sign_in(&mut self, user: &str, password: &str) -> Reply {
        let form = self.get("/login").await;
        let token = hidden_csrf(&form.body);
        self.post(
            "/login",
            &[("csrf", &token), ("username", user), ("password", password)],
        )
        .await
    }

    async fn csrf(&mut self) -> String {
        hidden_csrf(&self.get("/").await.body)
    }
}

fn hidden_csrf(page: &str) -> String {
    let start = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    page[start..][..page[start..].find('"').unwrap()].to_string()
}

/// The inbox's rows as (warning id, organisation).
fn rows(page: &str) -> Vec<(String, String)> {
    page.split("<tr id=\"w-")
        .skip(1)
        .map(|row| {
            let id = row[..row.find('"').unwrap()].to_string();
            // The organisation is the cell after the asset.
            let after_asset = &row[row.find("class=\"asset\">").unwrap()..];
            let cell = &after_asset[after_asset.find("<td>").unwrap() + 4..];
            (id, cell[..cell.find("</td>").unwrap()].to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_without_the_csrf_token_is_refused() {
    let hub = Hub::start();
    let mut admin = Agent::new(&hub);
    // Without a session, pages lead to the sign-in page, and htmx is told to go there.
    assert_eq!(admin.get("/").await.location, "/login");
    let poll = admin
        .http
        .get(format!("{}/console/inbox", hub.base))
        .header("hx-request", "true");
    let poll = poll.send().await.unwrap();
    assert_eq!(poll.status(), 401);
    assert_eq!(poll.headers()["hx-redirect"], "/login");
    // Sign-in itself needs the form's token.
    let forged = admin
        .post("/login", &[("username", "demo"), ("password", PASSWORD)])
        .await;
    assert_eq!(forged.status, 403, "a sign-in without the form's token");
    assert_eq!(admin.sign_in("demo", PASSWORD).await.status, 303);
    let inbox = admin.get("/").await;
    let (id, _) = rows(&inbox.body).remove(0);
    let ack = format!("/console/warnings/{id}/acknowledge");
    assert_eq!(admin.post(&ack, &[]).await.status, 403, "no token");
    assert_eq!(
        admin.post(&ack, &[("csrf", "guess")]).await.status,
        403,
        "a wrong token"
    );
    let logout = admin.post("/logout", &[]).await;
    assert_eq!(logout.status, 403, "sign-out is a POST like any other");
    assert!(admin
        .get("/")
        .await
        .body
        .contains(&format!("w-{id}\" class=\"warning\" data-status=\"open\"")));
    let token = admin.csrf().await;
    let done = admin.post(&ack, &[("csrf", &token)]).await;
    assert_eq!((done.status, done.location.as_str()), (303, "/"));
    assert!(admin.get("/").await.body.contains(&format!(
        "w-{id}\" class=\"warning\" data-status=\"acknowledged\""
    )));
    // The header htmx sends is as good as the field.
    let close = admin
        .http
        .post(format!("{}/console/warnings/{id}/close", hub.base))
        .header("x-csrf-token", &token)
        .header("hx-request", "true")
        .form(&[("comment", "handled")]);
    let closed = admin.send(close).await;
    // Times are in Hanoi time unless the user picks another zone.
    assert!(admin
        .get("/")
        .await
        .body
        .contains("Asia/Ho_Chi_Minh (UTC+07:00)"));
    assert_eq!(admin.get("/zone?to=UTC&back=/").await.location, "/");
    assert!(admin.get("/").await.body.contains("UTC (UTC+00:00)"));
    assert_eq!(closed.status, 200, "htmx gets the table back");
    assert!(
        !closed.body.contains(&id),
        "a closed warning leaves the inbox"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_issues_a_new_session_id() {
    let hub = Hub::start();
    let mut victim = Agent::new(&hub);
    // A session id planted before sign-in (session fixation) is not the one that signs in.
    victim
        .cookies
        .insert("wp_session".into(), "planted-by-an-attacker".into());
    assert_eq!(victim.sign_in("lao-analyst", PASSWORD).await.status, 303);
    let first = victim.cookies["wp_session"].clone();
    assert_ne!(first, "planted-by-an-attacker");
    assert!(first.len() >= 43, "256 bits, base64url");
    // Signing in again, the old session is discarded and a new id issued.
    let mut old = Agent::new(&hub);
    old.cookies.insert("wp_session".into(), first.clone());
    assert_eq!(old.get("/").await.status, 200);
    assert_eq!(victim.sign_in("lao-analyst", PASSWORD).await.status, 303);
    let second = victim.cookies["wp_session"].clone();
    assert_ne!(first, second);
    assert_eq!(
        old.get("/").await.location,
        "/login",
        "the old id no longer works"
    );
    assert_eq!(victim.get("/").await.status, 200);
    // Signing out ends the session in the store, not only in the browser.
    let mut copy = Agent::new(&hub);
    copy.cookies.insert("wp_session".into(), second);
    let token = victim.csrf().await;
    assert_eq!(
        victim.post("/logout", &[("csrf", &token)]).await.location,
        "/login"
    );
    assert_eq!(copy.get("/").await.location, "/login");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sixth_wrong_password_is_refused_even_when_right() {
    let hub = Hub::start();
    let mut guesser = Agent::new(&hub);
    for n in 1..=5 {
        let reply = guesser.sign_in("lao-analyst", &format!("guess-{n}")).await;
        assert_eq!(reply.status, 401, "attempt {n}");
        assert!(reply.body.contains("Wrong user name or password."));
    }
    let right = guesser.sign_in("lao-analyst", PASSWORD).await;
    assert_eq!(
        right.status, 429,
        "locked out, even with the right password"
    );
    assert!(
        right.body.contains("Try again in 15 minutes."),
        "{}",
        right.body
    );
    assert!(!guesser.cookies.contains_key("wp_session"));
    // In Vietnamese, too.
    guesser.cookies.insert("wp_lang".into(), "vi".into());
    let vi = guesser.sign_in("lao-analyst", PASSWORD).await;
    assert!(vi.body.contains("Hãy thử lại sau 15 phút."), "{}", vi.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_see_only_their_organisations_warnings_in_every_page_and_fragment() {
    let hub = Hub::start();
    let mut admin = Agent::new(&hub);
    admin.sign_in("demo", PASSWORD).await;
    let all = rows(&admin.get("/").await.body);
    let orgs: std::collections::BTreeSet<_> = all.iter().map(|(_, o)| o.as_str()).collect();
    assert!(
        orgs.len() >= 3,
        "the admin sees every organisation's warnings: {orgs:?}"
    );
    for (user, org) in [("cam-reader", "camcert"), ("lao-analyst", "laocert")] {
        let mut agent = Agent::new(&hub);
        assert_eq!(agent.sign_in(user, PASSWORD).await.status, 303);
        let theirs: Vec<_> = all.iter().filter(|(_, o)| o == org).collect();
        assert!(!theirs.is_empty(), "{org} has demo warnings");
        for path in ["/", "/console/inbox"] {
            let page = agent.get(path).await.body;
            assert_eq!(rows(&page).len(), theirs.len(), "{user} on {path}");
            for (id, other) in all.iter().filter(|(_, o)| o != org) {
                assert!(
                    !page.contains(id.as_str()),
                    "{user} sees {other}'s {id} on {path}"
                );
                assert!(
                    !page.contains(&format!("<td>{other}</td>")),
                    "{user} on {path}"
                );
            }
        }
        // Nor can they act on another organisation's warning: it does not exist for them.
        let token = agent.csrf().await;
        let (foreign, _) = all.iter().find(|(_, o)| o != org).unwrap();
        for action in ["acknowledge", "assign", "close"] {
            let path = format!("/console/warnings/{foreign}/{action}");
            let form = [
                ("csrf", token.as_str()),
                ("assignee", user),
                ("comment", "x"),
            ];
            let reply = agent.post(&path, &form).await;
            let expected = if user == "cam-reader" { 403 } else { 404 };
            assert_eq!(reply.status, expected, "{user} {action}s {foreign}");
        }
    }
    // A reader reads but does not handle: no buttons, and a POST is refused.
    let mut reader = Agent::new(&hub);
    reader.sign_in("cam-reader", PASSWORD).await;
    let page = reader.get("/").await.body;
    assert!(
        !page.contains("/acknowledge\""),
        "no acknowledge button for a reader"
    );
    let (own, _) = rows(&page).remove(0);
    let token = hidden_csrf(&page);
    let reply = reader
        .post(
            &format!("/console/warnings/{own}/acknowledge"),
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(reply.status, 403);
    assert!(admin
        .get("/")
        .await
        .body
        .contains(&format!("w-{own}\" class=\"warning\" data-status=\"open\"")));
    // The foreign warnings are untouched.
    let after = rows(&admin.get("/").await.body);
    assert_eq!(after.len(), all.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_indicator_named_like_a_script_renders_as_text() {
    let hub = Hub::start();
    let store = SqlStore::open(&hub.db).await.unwrap();
    let now = watchpost_stix::Timestamp::now().unix_micros();
    let detail = serde_json::json!({
        "indicator_name": "<script>alert(1)</script>",
        "pattern": "[url:value = '\"><img src=x onerror=alert(2)>']",
        "observation": "http at now: 10.0.0.1, <b>bold</b> (eve.json, line 1)",
    });
    store
        .raise_warning(NewWarning {
            indicator_id: "indicator--00000000-0000-4000-8000-000000000001".into(),
            org: "laocert".into(),
            severity: "critical".into(),
            seen: now,
            now,
            dedup_window: 0,
            escalate_at: None,
            detail: detail.to_string(),
            deliveries: Vec::new(),
        })
        .await
        .unwrap();
    store.close().await;
    let mut analyst = Agent::new(&hub);
    analyst.sign_in("lao-analyst", PASSWORD).await;
    for path in ["/", "/console/inbox"] {
        let page = analyst.get(path).await.body;
        assert!(
            page.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
                || page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{page}"
        );
        assert!(!page.contains("<script>alert"), "{path}");
        assert!(!page.contains("<img src=x"), "{path}");
        assert!(!page.contains("<b>bold"), "{path}");
    }
    // The assets are served from the binary, htmx with a long cache.
    let htmx = analyst
        .http
        .get(format!("{}/static/htmx.min.js", hub.base))
        .send()
        .await
        .unwrap();
    assert_eq!(htmx.status(), 200);
    let cache = htmx.headers()["cache-control"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cache.contains("max-age=31536000"), "{cache}");
    assert!(htmx.text().await.unwrap().contains("htmx"));
}

// --- the browser --------------------------------------------------------------------------

/// chromedriver on a free loopback port, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Driver {
        let binary = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {binary} ({e}): the console's browser test needs Chromium and \
                     chromedriver (Debian: apt-get install chromium chromium-driver; \
                     ./scripts/test installs them)"
                )
            });
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "chromedriver did not listen"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn screenshot(name: &str, png: &[u8]) {
    let dir = repo().join("docs/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(dir.join(name), png).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_real_browser() {
    use fantoccini::{ClientBuilder, Locator};
    let hub = Hub::start();
    let driver = Driver::start();
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900",
                     "--lang=en-GB"],
        }),
    );
    let _ = rustls::crypto::ring::default_provider().install_default();
    let browser = ClientBuilder::rustls()
        .unwrap()
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("chromedriver starts a headless Chromium");
    let wait = Duration::from_secs(20);

    browser.goto(&format!("{}/", hub.base)).await.unwrap();
    assert!(browser
        .current_url()
        .await
        .unwrap()
        .path()
        .ends_with("/login"));
    screenshot("console-login.png", &browser.screenshot().await.unwrap());

    browser
        .find(Locator::Css("input[name=username]"))
        .await
        .unwrap()
        .send_keys("demo")
        .await
        .unwrap();
    browser
        .find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    browser
        .find(Locator::Css("form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .at_most(wait)
        .for_element(Locator::Css("table.warnings"))
        .await
        .unwrap();
    let heading = browser
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(heading, "Open warnings");
    let rows = browser.find_all(Locator::Css("tr.warning")).await.unwrap();
    assert_eq!(
        rows.len(),
        4,
        "the demo raises four warnings, and the admin sees them all"
    );
    let page = browser.source().await.unwrap();
    for name in [
        "C2 server of Demo Loader",
        "Payload URL",
        "Domain contacted by Demo Loader",
    ] {
        assert!(page.contains(name), "{name}");
    }
    screenshot("console-inbox.png", &browser.screenshot().await.unwrap());

    // Acknowledge the first (most severe) warning; htmx swaps the table in place.
    let first = &rows[0];
    let id = first.attr("id").await.unwrap().unwrap();
    first
        .find(Locator::Css("button.ack"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let acknowledged = format!("tr#{id}[data-status=acknowledged]");
    browser
        .wait()
        .at_most(wait)
        .for_element(Locator::Css(&acknowledged))
        .await
        .unwrap();
    let status = browser
        .find(Locator::Css(&format!("tr#{id} .status")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(status, "Acknowledged");

    // Switch to Vietnamese.
    browser
        .find(Locator::Css("a.lang"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .at_most(wait)
        .for_element(Locator::XPath("//h1[text()='Cảnh báo đang mở']"))
        .await
        .unwrap();
    let page = browser.source().await.unwrap();
    for text in ["Đăng xuất", "Xác nhận", "Tổ chức", "Đã xác nhận", "Mức độ"] {
        assert!(page.contains(text), "{text} in the Vietnamese inbox");
    }
    assert_eq!(
        browser
            .find(Locator::Css("html"))
            .await
            .unwrap()
            .attr("lang")
            .await
            .unwrap()
            .as_deref(),
        Some("vi")
    );
    screenshot("console-inbox-vi.png", &browser.screenshot().await.unwrap());

    // The risk-trend dashboard, in Vietnamese: the demo's sightings as SVG bars.
    browser
        .goto(&format!("{}/dashboard", hub.base))
        .await
        .unwrap();
    browser
        .wait()
        .at_most(wait)
        .for_element(Locator::XPath("//h1[text()='Xu hướng rủi ro']"))
        .await
        .unwrap();
    let bars = browser
        .find_all(Locator::Css("#chart-activity svg rect[data-value]"))
        .await
        .unwrap();
    let mut drawn = 0;
    for bar in bars {
        let value = bar.attr("data-value").await.unwrap().unwrap_or_default();
        drawn += value.parse::<i64>().unwrap();
    }
    assert_eq!(drawn, 8, "4 sightings and 4 warnings today");
    let malware = browser
        .find(Locator::Css("#chart-malware svg"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(malware.contains("Demo Loader"), "{malware}");
    screenshot(
        "console-dashboard-vi.png",
        &browser.screenshot().await.unwrap(),
    );
    browser.goto(&format!("{}/report", hub.base)).await.unwrap();
    let figure = browser
        .find(Locator::Css("#figure-sightings"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(figure, "4");
    screenshot(
        "console-report-vi.png",
        &browser.screenshot().await.unwrap(),
    );
    // Intelligence: an indicator with a bad pattern shows the engine's error and column as it
    // is typed; mended, it is saved and its page shown.
    browser
        .goto(&format!("{}/intel/indicators/new", hub.base))
        .await
        .unwrap();
    browser
        .find(Locator::Css("input[name=name]"))
        .await
        .unwrap()
        .send_keys("Máy chủ C2 mới")
        .await
        .unwrap();
    let pattern = browser
        .find(Locator::Css("textarea[name=pattern]"))
        .await
        .unwrap();
    pattern
        .send_keys("[ipv4-addr:value = '203.0.113.77' AND]")
        .await
        .unwrap();
    let error = browser
        .wait()
        .at_most(wait)
        .for_element(Locator::Css("#pattern-check .check-error"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(error.contains("Cột 38"), "{error}");
    screenshot(
        "console-indicator-error-vi.png",
        &browser.screenshot().await.unwrap(),
    );
    pattern.clear().await.unwrap();
    pattern
        .send_keys("[ipv4-addr:value = '203.0.113.77']")
        .await
        .unwrap();
    browser
        .wait()
        .at_most(wait)
        .for_element(Locator::Css("#pattern-check .check-ok"))
        .await
        .unwrap();
    browser
        .find(Locator::Css("form.indicator button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .at_most(wait)
        .for_element(Locator::XPath("//h1[text()='Máy chủ C2 mới']"))
        .await
        .unwrap();
    browser
        .goto(&format!("{}/intel?q=may+chu+c2", hub.base))
        .await
        .unwrap();
    let found = browser
        .find(Locator::Css("#hits a"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(found, "Máy chủ C2 mới");
    screenshot("console-intel-vi.png", &browser.screenshot().await.unwrap());

    // The demo's 24/7 request and its timeline.
    browser
        .goto(&format!("{}/requests", hub.base))
        .await
        .unwrap();
    browser
        .find(Locator::Css("#requests a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .at_most(wait)
        .for_element(Locator::Css("#timeline"))
        .await
        .unwrap();
    let chain = browser.find(Locator::Css("#chain")).await.unwrap();
    assert_eq!(
        chain.attr("data-verifies").await.unwrap().as_deref(),
        Some("true")
    );
    screenshot(
        "console-request-vi.png",
        &browser.screenshot().await.unwrap(),
    );
    browser.goto(&format!("{}/", hub.base)).await.unwrap();

    // The polled fragment keeps the language and the acknowledgement.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let status = browser
        .find(Locator::Css(&format!("tr#{id} .status")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(status, "Đã xác nhận");
    browser.close().await.unwrap();
}

/// A CSV's data rows.
fn csv_rows(body: &str) -> Vec<String> {
    body.lines().skip(1).map(str::to_string).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_counts_only_what_each_organisation_may_read() {
    // A new version of the demo's malware, named like a script and a spreadsheet formula.
    let evil = "=HYPERLINK(\"http://evil.example\")<script>alert(1)</script>";
    let hub = Hub::start_with(|db, dir| {
        let file = dir.join("renamed.json");
        let malware = serde_json::json!({"type": "malware", "spec_version": "2.1",
            "id": "malware--1a8fe811-1c4a-4fdf-8e1d-0fee93bb4039",
            "created": "2025-11-20T08:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
            "name": evil, "is_family": true,
            "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]});
        std::fs::write(&file, malware.to_string()).unwrap();
        let out = Command::new(BIN)
            .args(["import"])
            .arg(&file)
            .args([
                "--collection",
                "5b0f3a4c-6f0e-4d3e-8a55-0c5c7a1b9e11",
                "--org",
                "vncert",
            ])
            .args(["--db", db])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    // The demo's AMBER indicators (partner feed, sharing group of VNCERT and LaoCERT).
    let amber = [
        "Payload URL",
        "Scanning range seen against the energy sector",
    ];

    let mut admin = Agent::new(&hub);
    admin.sign_in("demo", "watchpost-demo").await;
    let all = csv_rows(&admin.get("/dashboard/indicators.csv").await.body);
    assert_eq!(all.len(), 4, "{all:?}");
    assert!(
        amber.iter().all(|a| all.iter().any(|r| r.starts_with(a))),
        "{all:?}"
    );

    let mut reader = Agent::new(&hub);
    reader.sign_in("cam-reader", "watchpost-demo").await;
    let seen = csv_rows(&reader.get("/dashboard/indicators.csv").await.body);
    let names: Vec<&str> = seen.iter().map(|r| r.split(',').next().unwrap()).collect();
    assert_eq!(
        names,
        [
            "C2 server of Demo Loader",
            "Domain contacted by Demo Loader"
        ],
        "only the GREEN indicators' sightings"
    );
    for path in ["/dashboard", "/dashboard?span=52w", "/report"] {
        let page = reader.get(path).await;
        assert_eq!(page.status, 200, "{path}");
        for name in amber {
            assert!(
                !page.body.contains(name),
                "{name} shown to cam-reader on {path}"
            );
        }
        assert!(!page.body.contains("<script>alert"), "{path}");
        assert!(
            page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path}"
        );
    }
    let activity = csv_rows(&reader.get("/dashboard/activity.csv?span=30d").await.body);
    let today = activity.last().unwrap();
    // Two GREEN sightings, and camcert's own warning (its indicator stays hidden).
    assert!(today.ends_with(",2,1,2,0"), "{today}");

    // The malware's name arrives in CSV as text, not as a formula.
    let malware = reader.get("/dashboard/malware.csv").await.body;
    assert!(malware.contains("\"'=HYPERLINK("), "{malware}");
    assert_eq!(reader.get("/dashboard/nothing.csv").await.status, 404);
    // Signed out, nothing.
    let mut stranger = Agent::new(&hub);
    let reply = stranger.get("/dashboard/indicators.csv").await;
    assert!(
        reply.status == 303 || reply.status == 401,
        "{}",
        reply.status
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intelligence_follows_the_read_rules_and_checks_what_is_written() {
    let hub = Hub::start();
    let amber = "Payload URL";
    let mut lao = Agent::new(&hub);
    lao.sign_in("lao-analyst", "watchpost-demo").await;
    let mut cam = Agent::new(&hub);
    cam.sign_in("cam-reader", "watchpost-demo").await;
    // The partner feed's AMBER indicator: found by its sharing group, not by others.
    assert!(lao
        .get("/intel/results?q=payload")
        .await
        .body
        .contains(amber));
    let hidden = cam.get("/intel?q=payload").await;
    assert_eq!(hidden.status, 200);
    assert!(
        !hidden.body.contains(amber),
        "cam-reader found an AMBER indicator"
    );
    // Nor by its page, when its address is known.
    let link = {
        let page = lao.get("/intel/results?q=payload").await.body;
        let start = page.find("/intel/objects/").unwrap();
        page[start..start + page[start..].find('"').unwrap()].to_string()
    };
    let shown = lao.get(&link).await;
    assert_eq!(shown.status, 200);
    // Each version says who stored it here (the demo's partner feed is VNCERT's import).
    assert!(
        shown.body.contains("<td class=\"source\">vncert</td>"),
        "{}",
        shown.body
    );
    let direct = cam.get(&link).await;
    assert_eq!(direct.status, 404, "cam-reader opened {link}");
    assert!(!direct.body.contains(amber));

    // A reader may not write; an analyst's bad pattern is refused with its column.
    let token = cam.csrf().await;
    let refused = cam
        .post(
            "/intel/indicators",
            &[
                ("csrf", &token),
                ("name", "x"),
                ("pattern", "[ipv4-addr:value = '1.2.3.4']"),
            ],
        )
        .await;
    assert_eq!(refused.status, 403);
    let form = lao.get("/intel/indicators/new").await.body;
    let token = hidden_csrf(&form);
    let collection = {
        let start = form.find("<select name=\"collection\">").unwrap();
        let option = &form[start..];
        let v = option.find("value=\"").unwrap() + 7;
        option[v..v + option[v..].find('"').unwrap()].to_string()
    };
    let bad = lao
        .post(
            "/intel/indicators",
            &[
                ("csrf", &token),
                ("collection", &collection),
                ("name", "<script>alert(1)</script>"),
                ("pattern", "[ipv4-addr:value = '1.2.3.4' AND]"),
                ("tlp", "green"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("pattern: column 33:"), "{}", bad.body);
    assert!(shows_as_text(&bad.body, "<script>alert(1)</script>"));
    let without_token = lao
        .post(
            "/intel/indicators",
            &[
                ("collection", &collection),
                ("name", "n"),
                ("pattern", "[ipv4-addr:value = '1.2.3.4']"),
            ],
        )
        .await;
    assert_eq!(without_token.status, 403);
    let good = lao
        .post(
            "/intel/indicators",
            &[
                ("csrf", &token),
                ("collection", &collection),
                ("name", "<script>alert(1)</script>"),
                ("pattern", "[ipv4-addr:value = '1.2.3.4']"),
                ("tlp", "green"),
                ("confidence", "70"),
            ],
        )
        .await;
    assert_eq!(good.status, 303, "{}", good.body);
    let page = lao.get(&good.location).await;
    assert_eq!(page.status, 200);
    assert!(shows_as_text(&page.body, "<script>alert(1)</script>"));
    // Its new version, edited: the page lists both versions.
    let edit = lao
        .get(&format!(
            "{}/edit",
            good.location
                .replace("/intel/objects/", "/intel/indicators/")
        ))
        .await;
    assert_eq!(edit.status, 200);
    let id = good.location.rsplit('/').next().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let saved = lao
        .post(
            "/intel/indicators",
            &[
                ("csrf", &token),
                ("collection", &collection),
                ("id", &id),
                ("name", "Renamed"),
                ("pattern", "[ipv4-addr:value = '1.2.3.5']"),
                ("tlp", "green"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303);
    let page = lao.get(&saved.location).await.body;
    assert!(page.contains("<h1>Renamed</h1>"));
    assert_eq!(page.matches("<tr><td>20").count(), 2, "two versions listed");
}

/// Whether `page` shows `text` escaped (either way askama or the charts write it) and never
/// as markup.
/// A form's fields as `Agent::post` takes them.
fn fields<'a>(owned: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    owned.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn shows_as_text(page: &str, text: &str) -> bool {
    let named = text.replace('<', "&lt;").replace('>', "&gt;");
    let numeric = text.replace('<', "&#60;").replace('>', "&#62;");
    !page.contains(text) && (page.contains(&named) || page.contains(&numeric))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_directory_and_administration_pages() {
    let hub = Hub::start();
    let mut reader = Agent::new(&hub);
    reader.sign_in("cam-reader", "watchpost-demo").await;
    let directory = reader.get("/directory").await;
    assert_eq!(directory.status, 200);
    for org in ["vncert", "vn-energy", "laocert", "camcert"] {
        assert!(
            directory.body.contains(&format!("id=\"org-{org}\"")),
            "{org}"
        );
    }
    assert!(
        directory.body.contains("Energy SOC"),
        "focal points are listed"
    );
    assert!(
        !directory.body.contains("/directory/import"),
        "readers are not offered import"
    );
    let export: serde_json::Value =
        serde_json::from_str(&reader.get("/directory/export.json").await.body).unwrap();
    assert_eq!(export.as_array().unwrap().len(), 4);
    assert_eq!(reader.get("/admin").await.status, 403);
    assert_eq!(reader.get("/admin/audit").await.status, 403);
    let token = reader.csrf().await;
    let csv = "org,country,prefixes,contact,email,language\nvn-bank,VN,14.161.0.0/24,SOC,soc@bank.example,vi\n";
    let refused = reader
        .post("/directory/import", &[("csrf", &token), ("text", csv)])
        .await;
    assert_eq!(refused.status, 403);

    let mut admin = Agent::new(&hub);
    admin.sign_in("demo", "watchpost-demo").await;
    let token = admin.csrf().await;
    let mixed = format!("{csv}vn-rail,VN,14.162.0.0/24,SOC,soc@rail.example,fr\n");
    let imported = admin
        .post("/directory/import", &[("csrf", &token), ("text", &mixed)])
        .await;
    assert_eq!(imported.status, 422, "a bad row is reported");
    assert!(
        imported.body.contains("1 entries imported"),
        "{}",
        imported.body
    );
    assert!(imported.body.contains("line 3, column language"));
    assert!(imported.body.contains("id=\"org-vn-bank\""));
    let page = admin.get("/admin").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("vn-bank") && page.body.contains("lao-analyst"));
    assert!(page.body.contains("id=\"tokens\"") && page.body.contains("id=\"permissions\""));
    assert!(
        page.body.contains("sharing group: mekong"),
        "the partner feed's group"
    );
    let audit = admin.get("/admin/audit").await;
    assert_eq!(audit.status, 200);
    assert!(audit
        .body
        .contains("<table class=\"warnings\" id=\"audit\">"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_shows_its_timeline_to_its_two_organisations_only() {
    let mut id = String::new();
    let order = b"preservation order no. 42".to_vec();
    let hub = Hub::start_with(|db, dir| {
        let file = dir.join("order.txt");
        std::fs::write(&file, &order).unwrap();
        let run = |args: &[&str]| {
            let out = Command::new(BIN)
                .args(args)
                .args(["--db", db])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let sent = run(&[
            "request",
            "new",
            "--type",
            "preservation",
            "--from",
            "vncert",
            "--to",
            "laocert",
            "--case",
            "VN-2026-0042",
            "--legal-basis",
            "art. 42",
            "--ip",
            "203.0.113.5:443@2026-11-23T10:00:00+07:00",
            "--attach",
            file.to_str().unwrap(),
        ]);
        id = sent.split('\t').next().unwrap().to_string();
    });
    let page_of = |id: &str| format!("/requests/{id}");
    let mut vn = Agent::new(&hub);
    vn.sign_in("demo", "watchpost-demo").await;
    let list = vn.get("/requests").await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains(&id) && list.body.contains("data-state=\"received\""));
    // Only the receiving organisation acknowledges.
    assert!(!vn
        .get(&page_of(&id))
        .await
        .body
        .contains("id=\"do-acknowledge\""));
    let token = vn.csrf().await;
    let act = format!("{}/events", page_of(&id));
    let ack = |token: &str| [("csrf", token.to_string()), ("event", "acknowledge".into())];
    assert_eq!(vn.post(&act, &fields(&ack(&token))).await.status, 403);

    let mut la = Agent::new(&hub);
    la.sign_in("lao-analyst", "watchpost-demo").await;
    assert!(la
        .get(&page_of(&id))
        .await
        .body
        .contains("id=\"do-acknowledge\""));
    let token = la.csrf().await;
    let acked = la.post(&act, &fields(&ack(&token))).await;
    assert_eq!(
        (acked.status, acked.location.as_str()),
        (303, page_of(&id).as_str())
    );
    let page = la.get(&page_of(&id)).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("data-verifies=\"true\""),
        "{}",
        page.body
    );
    let events: Vec<&str> = page
        .body
        .split("<tr class=\"step\">")
        .skip(1)
        .map(|row| {
            row.split("<strong>")
                .nth(1)
                .unwrap()
                .split("</strong>")
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(
        events,
        [
            "request written",
            "sent",
            "received by the recipient&#39;s hub",
            "acknowledged by the recipient"
        ]
    );
    assert!(
        page.body
            .contains("ip 203.0.113.5:443@2026-11-23T10:00:00+07:00"),
        "identifiers are shown as typed"
    );
    let sha = {
        let at = page.body.find("/attachments/").unwrap() + "/attachments/".len();
        page.body[at..at + 64].to_string()
    };
    let file = la
        .http
        .get(format!("{}{}/attachments/{sha}", hub.base, page_of(&id)))
        .header("cookie", la.cookie_header())
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    assert_eq!(file.bytes().await.unwrap().to_vec(), order);

    // Laos refuses, with its reason; only then may Vietnam close it.
    assert!(!vn.get(&page_of(&id)).await.body.contains("id=\"do-close\""));
    let refusal = vec![
        ("csrf", token.clone()),
        ("event", "refuse".to_string()),
        ("reason", "no data held for this port".to_string()),
    ];
    assert_eq!(la.post(&act, &fields(&refusal)).await.status, 303);
    let page = vn.get(&page_of(&id)).await;
    assert!(page.body.contains("no data held for this port"));
    let vn_token = vn.csrf().await;
    let close = vec![("csrf", vn_token), ("event", "close".to_string())];
    assert_eq!(vn.post(&act, &fields(&close)).await.status, 303);
    let page = la.get(&page_of(&id)).await;
    assert!(page.body.contains("closed by the requester"));
    assert!(
        !page.body.contains("id=\"request-actions\""),
        "nothing left to do"
    );

    // A third organisation: no row, and the same 404 as for an unknown request.
    let mut kh = Agent::new(&hub);
    kh.sign_in("cam-reader", "watchpost-demo").await;
    assert!(!kh.get("/requests").await.body.contains(&id));
    assert_eq!(kh.get(&page_of(&id)).await.status, 404);
    let token = kh.csrf().await;
    assert_eq!(kh.post(&act, &fields(&ack(&token))).await.status, 404);
    let unknown = "x-watchpost-request--00000000-0000-4000-8000-000000000000";
    assert_eq!(kh.get(&page_of(unknown)).await.status, 404);
    let path = format!("{}/attachments/{sha}", page_of(&id));
    assert_eq!(kh.get(&path).await.status, 404);

    // One stored row changed: the page says the trail no longer verifies, naming the event.
    let file = hub.db.trim_start_matches("sqlite://");
    let changed = Command::new("sqlite3")
        .args([
            file,
            "UPDATE request_events SET actor = 'someone' WHERE seq = 2",
        ])
        .status()
        .unwrap();
    assert!(changed.success());
    let page = la.get(&page_of(&id)).await;
    assert!(page.body.contains("data-verifies=\"false\""));
    assert!(
        page.body.contains("event 2 (transition) was changed"),
        "{}",
        page.body
    );
}
