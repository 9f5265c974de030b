//! Secrets stay secret (issue 13): a weak signing key is refused at start (decisions F24), and no
//! bearer token — access or reset — reaches a log line, at any level.

#[path = "common/fake.rs"]
mod fake;
#[path = "common/server.rs"]
mod server;
#[path = "common/tcp.rs"]
mod tcp;

use serde_json::Value;
use server::Server;
use std::time::{Duration, Instant};

#[test]
fn a_short_secret_key_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(server::BIN)
        .arg("--database")
        .arg(dir.path().join("x.db"))
        .env("SECRET_KEY", "x")
        .env("ROCKET_PORT", "0")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("SECRET_KEY is 1 bytes long"), "{stderr}");
}

#[test]
fn no_token_reaches_the_log_at_any_level() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &["--engine-interval", "0"],
        &[("RUST_LOG", "trace")],
    );
    tcp::register(&server.addr, "alice@example.com", "alice");
    let login = r#"{"email": "alice@example.com", "password": "Azerty123!"}"#;
    let reply = tcp::request(&server.addr, "POST", "/api/auth/login", &[], Some(login)).unwrap();
    let access = serde_json::from_str::<Value>(&reply.body).unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let bearer = format!("Bearer {access}");
    for path in ["/api/user/genre", "/api/movie?page=1", "/api/nothing"] {
        tcp::request(
            &server.addr,
            "GET",
            path,
            &[("Authorization", &bearer)],
            None,
        )
        .unwrap();
    }
    let reply = tcp::request(
        &server.addr,
        "GET",
        "/socket.io/?EIO=4&transport=polling",
        &[("token", &access)],
        None,
    )
    .unwrap();
    assert_eq!(reply.status, 200);

    tcp::request(
        &server.addr,
        "POST",
        "/api/auth/forget",
        &[],
        Some(r#"{"email": "alice@example.com"}"#),
    )
    .unwrap();
    // The reset mail's file, once the worker wrote it.
    let folder = dir.path().join("live.db.mail");
    let deadline = Instant::now() + Duration::from_secs(20);
    let reset = loop {
        let found = std::fs::read_dir(&folder).ok().and_then(|entries| {
            entries
                .filter_map(|e| {
                    let path = e.ok()?.path();
                    (path.extension()? == "eml").then_some(())?;
                    std::fs::read_to_string(path).ok()
                })
                .find_map(|mail| {
                    Some(
                        mail.split("/app/reset/")
                            .nth(1)?
                            .split_whitespace()
                            .next()?
                            .to_owned(),
                    )
                })
        });
        if let Some(token) = found {
            break token;
        }
        assert!(
            Instant::now() < deadline,
            "no reset mail in {}",
            folder.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let body = format!(r#"{{"reset_password_token": "{reset}", "password": "NewPass1!"}}"#);
    let reply = tcp::request(&server.addr, "POST", "/api/auth/reset", &[], Some(&body)).unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    // A page link with the token in its path, as the mail's (served or not, it is not logged).
    tcp::request(
        &server.addr,
        "GET",
        &format!("/app/reset/{reset}"),
        &[("Accept", "text/html")],
        None,
    )
    .unwrap();

    std::thread::sleep(Duration::from_millis(500));
    let mut lines = Vec::new();
    while let Ok(line) = server.log.recv_timeout(Duration::from_millis(300)) {
        lines.push(line);
    }
    assert!(
        lines.iter().any(|l| l.contains(" DEBUG ")),
        "the log is written at debug level and more: {lines:?}"
    );
    // Whole tokens, and their signatures alone.
    let signature = |t: &str| t.rsplit('.').next().unwrap().to_owned();
    for secret in [
        access.clone(),
        reset.clone(),
        signature(&access),
        signature(&reset),
    ] {
        let leaks: Vec<&String> = lines.iter().filter(|l| l.contains(&secret)).collect();
        assert!(leaks.is_empty(), "a token in the log: {leaks:?}");
    }
}

#[test]
fn a_route_miss_is_not_a_warning() {
    // Rocket notes each guard that forwards a request to the next route: at info (the default),
    // nothing of it is written.
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--engine-interval", "0"], &[]);
    for _ in 0..3 {
        // `/api/health` is tried by the media routes first (`/api/<medium>`), which forward.
        tcp::request(&server.addr, "POST", "/api/health", &[], Some("{}")).unwrap();
        tcp::request(&server.addr, "GET", "/api/nothing-here", &[], None).unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    let mut lines = Vec::new();
    while let Ok(line) = server.log.recv_timeout(Duration::from_millis(300)) {
        lines.push(line);
    }
    let noise: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("forwarding") || l.contains("No matching routes"))
        .collect();
    assert!(noise.is_empty(), "{noise:?}");
}

/// Linking and importing at trace level: provider credentials, tokens and the link's state never
/// reach the log (the TMDB key travels in query strings, Spotify's in Basic headers).
#[test]
fn no_provider_secret_reaches_the_log() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let fake = fake::Fake::start();
    fake.mount(
        Mock::given(method("POST"))
            .and(path("/api/token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "access_token": "provider-access-7c1e", "refresh_token": "provider-refresh-93ad"
            }))),
    );
    for route in [
        "/v1/me/player/recently-played",
        "/v1/me/top/tracks",
        "/v1/me/playlists",
    ] {
        fake.mount(Mock::given(method("GET")).and(path(route)).respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"items": []})),
        ));
    }
    fake.mount(
        Mock::given(method("GET"))
            .and(path("/3/authentication/token/new"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"success": true, "request_token": "tmdb-request-5b2f"}),
            )),
    );
    let dir = tempfile::tempdir().unwrap();
    let uri = fake.uri();
    let server = Server::start(
        dir.path(),
        &["--engine-interval", "0"],
        &[
            ("RUST_LOG", "trace"),
            ("SPOTIFY_CLIENT_ID", "client-id-4e4e"),
            ("SPOTIFY_CLIENT_SECRET", "client-secret-d00d"),
            ("SPOTIFY_ACCOUNTS_URL", &uri),
            ("SPOTIFY_API_URL", &uri),
            ("TMDB_CLIENT_TOKEN", "tmdb-key-a11a"),
            ("TMDB_API_URL", &uri),
        ],
    );
    let access = tcp::register(&server.addr, "bob@example.com", "bobby");
    let bearer = format!("Bearer {access}");
    let auth = [("Authorization", bearer.as_str())];
    let reply = tcp::request(&server.addr, "GET", "/api/external/tmdb", &auth, None).unwrap();
    assert_eq!(reply.status, 201, "{}", reply.body);
    let reply = tcp::request(&server.addr, "GET", "/api/external/spotify", &auth, None).unwrap();
    let url = serde_json::from_str::<Value>(&reply.body).unwrap()["spotify_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let state = url.split("state=").nth(1).unwrap().to_owned();
    let body = format!(r#"{{"state": "{state}", "code": "provider-code-6f6f"}}"#);
    let reply = tcp::request(
        &server.addr,
        "POST",
        "/api/external/spotify/callback",
        &auth,
        Some(&body),
    )
    .unwrap();
    assert_eq!(reply.status, 201, "{}", reply.body);

    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !lines
        .iter()
        .any(|l: &String| l.contains("Spotify import for user"))
    {
        assert!(
            Instant::now() < deadline,
            "the import did not finish: {lines:?}"
        );
        if let Ok(line) = server.log.recv_timeout(Duration::from_millis(200)) {
            lines.push(line);
        }
    }
    while let Ok(line) = server.log.recv_timeout(Duration::from_millis(300)) {
        lines.push(line);
    }
    assert!(
        lines.iter().any(|l| l.contains(" TRACE ")),
        "written at trace level"
    );
    let basic = "Y2xpZW50LWlkLTRlNGU6Y2xpZW50LXNlY3JldC1kMDBk"; // base64 of id:secret
    for secret in [
        "client-secret-d00d",
        basic,
        "tmdb-key-a11a",
        "tmdb-request-5b2f",
        "provider-access-7c1e",
        "provider-refresh-93ad",
        "provider-code-6f6f",
        state.rsplit('.').next().unwrap(),
    ] {
        let leaks: Vec<&String> = lines.iter().filter(|l| l.contains(secret)).collect();
        assert!(leaks.is_empty(), "{secret} in the log: {leaks:?}");
    }
}
