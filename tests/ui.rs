//! A built front end served by the binary (`--ui-dir`): files with their types and caching, the
//! single-page fallback for deep links, nothing outside the folder, the API and Engine.IO untouched,
//! links in mails pointing at the server's own pages — and, end to end in Debian's headless Chromium
//! (Playwright), a small front end of ours that logs in over `/api` and launches a sandbox
//! recommendation over `/socket.io` with socket.io-client 3.1.1, as the reference's does.

#[path = "common/node.rs"]
mod node;
#[path = "common/server.rs"]
mod server;
#[path = "common/tcp.rs"]
mod tcp;

use serde_json::Value;
use server::Server;
use std::path::{Path, PathBuf};

const HASHED_SCRIPT: &str = "app.5e1f0c2a9b.js";

/// The test front end (tests/ui) with the Socket.IO client the real one bundles, as a build folder.
fn built_front_end(dir: &Path) -> PathBuf {
    let ui = dir.join("ui");
    std::fs::create_dir_all(ui.join("vendor")).unwrap();
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/ui");
    for file in ["index.html", HASHED_SCRIPT] {
        std::fs::copy(source.join(file), ui.join(file)).unwrap();
    }
    let client = node::js_dir().join("node_modules/socket.io-client/dist/socket.io.min.js");
    assert!(
        client.is_file(),
        "run scripts/test-setup (npm ci in tests/js)"
    );
    std::fs::copy(client, ui.join("vendor/socket.io-client.js")).unwrap();
    ui
}

fn seeded_with_ui(dir: &Path, ui: &Path) -> Server {
    server::run_ok(
        &dir.join("live.db"),
        &[
            "seed",
            "--contents",
            "300",
            "--users",
            "3",
            "--interactions",
            "200",
        ],
        "",
    );
    let ui = ui.to_str().unwrap();
    Server::start(dir, &["--engine-interval", "0", "--ui-dir", ui], &[])
}

fn get(server: &Server, path: &str, accept: &str) -> tcp::HttpReply {
    tcp::request(&server.addr, "GET", path, &[("Accept", accept)], None).unwrap()
}

const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

#[test]
fn the_folder_is_served_with_deep_links_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let ui = built_front_end(dir.path());
    std::fs::write(dir.path().join("outside.txt"), "secret").unwrap();
    std::os::unix::fs::symlink(dir.path().join("outside.txt"), ui.join("escape.txt")).unwrap();
    let server = seeded_with_ui(dir.path(), &ui);
    let index = std::fs::read_to_string(ui.join("index.html")).unwrap();

    for path in [
        "/",
        "/recofinement/app/login",
        "/app/reset/some-token",
        "/login/",
    ] {
        let page = get(&server, path, BROWSER_ACCEPT);
        assert_eq!(page.status, 200, "{path}");
        assert_eq!(page.body, index, "{path}");
        assert!(
            page.header("content-type")
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        assert_eq!(page.header("cache-control"), Some("no-cache"), "{path}");
    }
    let script = get(&server, &format!("/{HASHED_SCRIPT}"), "*/*");
    assert_eq!(script.status, 200);
    assert!(
        script
            .header("content-type")
            .unwrap()
            .contains("javascript")
    );
    assert_eq!(
        script.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    let vendor = get(&server, "/vendor/socket.io-client.js", "*/*");
    assert_eq!(vendor.status, 200);
    assert_eq!(
        vendor.header("cache-control"),
        Some("no-cache"),
        "no hash in its name"
    );

    // A missing asset is a 404, not a page; nothing outside the folder is reachable.
    let not_found = r#"{"status": false, "message": "Resource not found"}"#;
    for path in [
        "/missing.js",
        "/escape.txt",
        "/../outside.txt",
        "/%2e%2e/outside.txt",
        "/vendor/../../outside.txt",
    ] {
        let reply = get(&server, path, "*/*");
        assert_eq!(reply.status, 404, "{path}: {}", reply.body);
        assert!(!reply.body.contains("secret"), "{path}");
    }
    let escaped = get(&server, "/escape.txt", BROWSER_ACCEPT);
    assert_eq!(
        escaped.body, index,
        "a link out of the folder is a page URL like any other"
    );

    // The API and Engine.IO keep their answers, HTML accepted or not.
    let api = get(&server, "/api/nothing-here", BROWSER_ACCEPT);
    assert_eq!((api.status, api.body.trim()), (404, not_found));
    let health = get(&server, "/api/health", BROWSER_ACCEPT);
    assert_eq!(health.status, 200);
    assert!(health.body.contains("\"status\": true"));
    let docs = get(&server, "/api/", BROWSER_ACCEPT);
    assert!(docs.body.contains("swagger-ui-bundle.js"));
    let engine_io = get(
        &server,
        "/socket.io/?EIO=4&transport=polling",
        BROWSER_ACCEPT,
    );
    assert!(
        engine_io.body.starts_with("0{\"sid\""),
        "{}",
        engine_io.body
    );
    // Other methods on page URLs are unknown URLs, as without a front end.
    let post = tcp::request(
        &server.addr,
        "POST",
        "/recofinement/app/login",
        &[],
        Some("{}"),
    )
    .unwrap();
    assert_eq!((post.status, post.body.trim()), (404, not_found));
}

fn last_reset_mail(server: &Server) -> String {
    rusqlite::Connection::open(&server.database)
        .unwrap()
        .query_row(
            "SELECT body FROM mail_outbox WHERE kind = 'password_reset' ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn mails_link_to_the_servers_own_pages() {
    let dir = tempfile::tempdir().unwrap();
    let ui = built_front_end(dir.path());
    let server = seeded_with_ui(dir.path(), &ui);
    let reply = tcp::request(
        &server.addr,
        "POST",
        "/api/auth/forget",
        &[],
        Some(r#"{"email": "user1@example.com"}"#),
    )
    .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = last_reset_mail(&server);
    let link = format!("http://{}/app/reset/", server.addr);
    assert!(body.contains(&link), "{link} in {body}");
    let page = get(
        &server,
        &format!("/app/reset/{}", "x".repeat(20)),
        BROWSER_ACCEPT,
    );
    assert_eq!(page.status, 200, "the link opens the front end");

    // An explicit front-end URL still wins.
    drop(server);
    let ui_arg = ui.to_str().unwrap();
    let server = Server::start(
        dir.path(),
        &[
            "--engine-interval",
            "0",
            "--ui-dir",
            ui_arg,
            "--front-url",
            "https://reco.example.org/",
        ],
        &[],
    );
    tcp::request(
        &server.addr,
        "POST",
        "/api/auth/forget",
        &[],
        Some(r#"{"email": "user1@example.com"}"#),
    )
    .unwrap();
    let body = last_reset_mail(&server);
    assert!(
        body.contains("https://reco.example.org/app/reset/"),
        "{body}"
    );
}

#[test]
fn a_ui_dir_without_a_built_front_end_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let output = std::process::Command::new(server::BIN)
        .arg("--database")
        .arg(dir.path().join("x.db"))
        .arg("--ui-dir")
        .arg(&empty)
        .env("ROCKET_PORT", "0")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no index.html"), "{stderr}");
}

#[test]
fn a_browser_logs_in_and_launches_a_sandbox_recommendation_over_socket_io() {
    let dir = tempfile::tempdir().unwrap();
    let ui = built_front_end(dir.path());
    let server = seeded_with_ui(dir.path(), &ui);
    let output = node::node()
        .arg("browser.js")
        .arg(server.url("/recofinement/app/login"))
        .arg("admin@example.com")
        .arg("Demo1234!")
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {stdout} {}", String::from_utf8_lossy(&output.stderr)));
    assert_eq!(report["error"], Value::Null, "{report}");
    assert_eq!(report["deepLinkStatus"], 200, "{report}");
    assert_eq!(report["title"], "RecoFinement test front end");
    assert_eq!(
        report["answer"], "200, Recommendation complete for this profile!",
        "{report}"
    );
    assert_eq!(report["location"], "/recofinement/dashboard/sandbox");
    assert_eq!(report["failedRequests"], serde_json::json!([]), "{report}");
    assert_eq!(report["consoleErrors"], serde_json::json!([]), "{report}");
    let seen: Vec<&str> = report["seen"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        seen,
        [
            "Connected",
            "Room successfully joined",
            "Room joined",
            "200, Recommendation complete for this profile!"
        ],
        "{report}"
    );
    let conn = rusqlite::Connection::open(&server.database).unwrap();
    let results: i64 = conn
        .query_row(
            "SELECT count(*) FROM recommendation_launched_result r
             JOIN recommendation_launched_for_profile_event e ON e.id = r.event_id
             JOIN profile p ON p.profile_id = e.profile_id WHERE p.profilename = 'browser'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(results > 0, "the launch wrote its results");
}

#[test]
fn the_swagger_ui_works_under_its_content_security_policy() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--engine-interval", "0"], &[]);
    tcp::register(&server.addr, "docs@example.com", "reader");
    let doc: Value = serde_json::from_str(
        &tcp::request(&server.addr, "GET", "/api/swagger.json", &[], None)
            .unwrap()
            .body,
    )
    .unwrap();
    let output = node::node()
        .arg("swagger.js")
        .arg(server.url("/api/"))
        .arg("docs@example.com")
        .arg("Azerty123!")
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {stdout} {}", String::from_utf8_lossy(&output.stderr)));
    assert_eq!(report["error"], Value::Null, "{report}");
    assert!(
        report["csp"]
            .as_str()
            .is_some_and(|csp| csp.contains("script-src 'self'")),
        "{report}"
    );
    assert_eq!(report["consoleErrors"], serde_json::json!([]), "{report}");
    // Every tag and every operation of the document is on the page.
    let tags: std::collections::BTreeSet<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let shown: std::collections::BTreeSet<&str> = report["tags"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(shown, tags, "{report}");
    let mut operations = 0;
    for (_, item) in doc["paths"].as_object().unwrap() {
        for (_, op) in item.as_object().unwrap() {
            operations += 1;
            let id = op["operationId"].as_str().unwrap();
            let tag = op["tags"][0].as_str().unwrap();
            let element = format!("operations-{tag}-{id}");
            assert!(
                report["operationIds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e == element.as_str()),
                "{element} not rendered"
            );
        }
    }
    assert_eq!(
        report["operations"].as_u64().unwrap(),
        operations,
        "{report}"
    );
    // Try it out: login, authorize with its token, then a popular list that needs it.
    assert_eq!(
        report["login"],
        serde_json::json!({"status": 200, "token": true}),
        "{report}"
    );
    assert_eq!(report["popular"]["status"], 200, "{report}");
    assert_eq!(
        report["popular"]["message"], "Most popular movie data sent",
        "{report}"
    );
}
