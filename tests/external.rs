//! Linked accounts (api-reference.md 2.7, 5.7; decisions F25): the routes and the imports, against
//! fake Spotify, TMDB and Google services on loopback (wiremock), reached through the same base-URL
//! settings an operator would set.

mod common;
#[path = "common/fake.rs"]
mod fake;

use common::{PASSWORD, TestApp, User};
use fake::Fake;
use recofinement::config::Settings;
use rusqlite::Connection;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wiremock::matchers::{
    body_string_contains, header, method, path, query_param, query_param_is_missing,
};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

const REDIRECT: &str = "http://localhost:4200/recofinement/app/user/profile";
const REDIRECT_FORM: &str = "http%3A%2F%2Flocalhost%3A4200%2Frecofinement%2Fapp%2Fuser%2Fprofile";
/// `base64("spotify-client:spotify-secret")`
const SPOTIFY_BASIC: &str = "Basic c3BvdGlmeS1jbGllbnQ6c3BvdGlmeS1zZWNyZXQ=";
const SPOTIFY_ACCESS: &str = "spotify-access-0f9e8d7c6b5a";
const SPOTIFY_REFRESH: &str = "spotify-refresh-1a2b3c4d5e6f";
const SPOTIFY_FRESH: &str = "spotify-fresh-9z8y7x6w5v";

/// All three providers configured against `fake`; the Google client-secrets file goes in `dir`.
fn configure(settings: &mut Settings, fake: &Fake, dir: &std::path::Path) {
    let p = &mut settings.providers;
    p.spotify_client_id = Some("spotify-client".into());
    p.spotify_client_secret = Some("spotify-secret".into());
    p.spotify_accounts_url = fake.uri();
    p.spotify_api_url = fake.uri();
    p.tmdb_client_token = Some("tmdb-key".into());
    p.tmdb_api_url = fake.uri();
    p.tmdb_auth_url = format!("{}/site", fake.uri());
    p.google_books_api_url = fake.uri();
    p.provider_timeout = 2;
    let secrets = dir.join("google.json");
    std::fs::write(
        &secrets,
        json!({"web": {
            "client_id": "google-client",
            "client_secret": "google-secret",
            "auth_uri": format!("{}/o/oauth2/auth", fake.uri()),
            "token_uri": format!("{}/token", fake.uri()),
        }})
        .to_string(),
    )
    .expect("secrets file");
    p.google_oauth_file = Some(secrets);
}

struct World {
    fake: Fake,
    app: TestApp,
    _dir: tempfile::TempDir,
}

fn world() -> World {
    world_with(|_| {})
}

fn world_with(more: impl FnOnce(&mut Settings)) -> World {
    let fake = Fake::start();
    let dir = tempfile::tempdir().expect("dir");
    let app = TestApp::with_settings(|s| {
        configure(s, &fake, dir.path());
        more(s);
    });
    World {
        fake,
        app,
        _dir: dir,
    }
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).expect(sql)
}

fn events(conn: &Connection) -> i64 {
    count(
        conn,
        "SELECT (SELECT COUNT(*) FROM track_added_event) + (SELECT COUNT(*) FROM movie_added_event)
              + (SELECT COUNT(*) FROM serie_added_event) + (SELECT COUNT(*) FROM book_added_event)
              + (SELECT COUNT(*) FROM meta_added_event) + (SELECT COUNT(*) FROM changed_event)",
    )
}

/// Waits until the user's service has `runs` finished imports; returns the last one's
/// (outcome, contents added, interactions changed).
fn finished_import(app: &TestApp, service: &str, runs: i64) -> (String, i64, i64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let conn = app.db();
        let done = count(
            &conn,
            &format!(
                "SELECT COUNT(*) FROM external_import WHERE service_name = '{service}' AND finished_at IS NOT NULL"
            ),
        );
        if done >= runs {
            return conn
                .query_row(
                    "SELECT outcome, contents_added, interactions_changed FROM external_import
                     WHERE service_name = ?1 AND finished_at IS NOT NULL ORDER BY import_id DESC LIMIT 1",
                    [service],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .expect("run");
        }
        assert!(
            Instant::now() < deadline,
            "{service}: {done} of {runs} imports finished"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn link_rows(app: &TestApp, service: &str) -> i64 {
    count(
        &app.db(),
        &format!("SELECT COUNT(*) FROM external_service WHERE service_name = '{service}'"),
    )
}

/// The `state` query value of an authorization URL.
fn state_of(url: &str) -> String {
    url.split(['?', '&'])
        .find_map(|pair| pair.strip_prefix("state="))
        .expect("state in url")
        .to_owned()
}

fn login(app: &TestApp, user: &User) {
    let reply = app.login(&user.email, PASSWORD);
    assert_eq!(reply.status.code, 200, "{}", reply.text);
}

// ---- Spotify ----------------------------------------------------------------------------------------

fn spotify_track(id: &str, title: &str) -> Value {
    json!({
        "id": id, "name": title,
        "artists": [{"name": "Ada"}, {"name": "Bob"}],
        "album": {"name": format!("{title} (album)"), "release_date": "1999-05-01",
                  "images": [{"url": format!("https://img.example/{id}.jpg")}, {"url": "https://img.example/small.jpg"}]}
    })
}

fn mount_spotify_tokens(fake: &Fake) {
    fake.mount(
        Mock::given(method("POST"))
            .and(path("/api/token"))
            .and(header("authorization", SPOTIFY_BASIC))
            .and(body_string_contains("grant_type=authorization_code"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": SPOTIFY_ACCESS, "token_type": "Bearer", "expires_in": 3600,
                "refresh_token": SPOTIFY_REFRESH, "scope": "user-top-read"
            }))),
    );
    fake.mount(
        Mock::given(method("POST"))
            .and(path("/api/token"))
            .and(header("authorization", SPOTIFY_BASIC))
            .and(body_string_contains("grant_type=refresh_token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": SPOTIFY_FRESH, "token_type": "Bearer", "expires_in": 3600
            }))),
    );
}

/// Recently played (T1 twice, T2), top (T2, T3), one playlist of two pages (T4 and a local file,
/// then T5).
fn mount_spotify_library(fake: &Fake) {
    let bearer = format!("Bearer {SPOTIFY_FRESH}");
    let api = |route: &str| {
        Mock::given(method("GET"))
            .and(path(route.to_owned()))
            .and(header("authorization", bearer.as_str()))
    };
    fake.mount(api("/v1/me/player/recently-played").respond_with(
        ResponseTemplate::new(200).set_body_json(json!({"items": [
            {"track": spotify_track("T1", "One"), "played_at": "2026-11-30T10:00:00.000Z"},
            {"track": spotify_track("T1", "One"), "played_at": "2026-11-30T11:00:00.000Z"},
            {"track": spotify_track("T2", "Two"), "played_at": "2026-11-30T09:00:00Z"},
        ], "next": null})),
    ));
    fake.mount(api("/v1/me/top/tracks").respond_with(ResponseTemplate::new(200).set_body_json(
        json!({"items": [spotify_track("T2", "Two"), spotify_track("T3", "Three")], "next": null}),
    )));
    fake.mount(
        api("/v1/me/playlists").respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"items": [{"id": "PL1", "name": "Mine"}], "next": null})),
        ),
    );
    fake.mount(
        api("/v1/playlists/PL1/tracks")
            .and(query_param_is_missing("offset"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "items": [{"track": spotify_track("T4", "Four")}, {"track": {"id": null, "name": "local file"}}, {"track": null}],
                "next": "https://api.spotify.com/v1/playlists/PL1/tracks?offset=50&limit=50"
            }))),
    );
    fake.mount(
        api("/v1/playlists/PL1/tracks")
            .and(query_param("offset", "50"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "items": [{"track": spotify_track("T5", "Five")}], "next": null
            }))),
    );
}

/// Links Spotify through the routes (authorization URL, then callback); returns the user.
fn link_spotify(w: &World, email: &str) -> User {
    let user = w.app.register(email, "listener");
    let reply = w.app.get("/api/external/spotify", &user.token);
    assert_eq!(reply.status.code, 201, "{}", reply.text);
    let url = reply.json()["spotify_url"]
        .as_str()
        .expect("url")
        .to_owned();
    let reply = w.app.request(
        "POST",
        "/api/external/spotify/callback",
        Some(&user.token),
        Some(&json!({"state": state_of(&url), "code": "the-code"})),
    );
    reply.expect(
        201,
        json!({"status": true, "message": "Spotify tokens stored"}),
    );
    user
}

#[test]
fn spotify_authorization_url_is_the_references() {
    let w = world();
    let user = w.app.register("a@example.com", "alice");
    let reply = w.app.get("/api/external/spotify", &user.token);
    assert_eq!(reply.status.code, 201);
    let body = reply.json();
    assert_eq!(body["message"], "Spotify oauth url sent");
    let url = body["spotify_url"].as_str().unwrap();
    let state = state_of(url);
    assert_eq!(
        url,
        format!(
            "{}/authorize?client_id=spotify-client&scope=user-library-read+user-top-read+playlist-read-private+user-read-recently-played&redirect_uri={REDIRECT_FORM}&response_type=code&state={state}",
            w.fake.uri()
        )
    );
    // The state is bound to its flow: it is no bearer token.
    let reply = w.app.get("/api/user/export", &state);
    assert_eq!(reply.status.code, 422, "{}", reply.text);
    assert_eq!(
        reply.json(),
        json!({"msg": "Only access tokens are allowed"})
    );
}

#[test]
fn spotify_link_exchanges_the_code_as_the_reference_and_imports_the_library() {
    let w = world();
    mount_spotify_tokens(&w.fake);
    mount_spotify_library(&w.fake);
    // T3 is in the catalogue already (written by another tool): matched by spotify_id, not added.
    w.app
        .db()
        .execute_batch(
            "INSERT INTO content (rating_count, popularity_score) VALUES (0, 0);
             INSERT INTO track (content_id, title, spotify_id) VALUES (last_insert_rowid(), 'Three (known)', 'T3');",
        )
        .unwrap();
    let before = events(&w.app.db());
    let user = link_spotify(&w, "l@example.com");

    let exchange = &w.fake.requests_to("/api/token")[0];
    assert_eq!(
        String::from_utf8_lossy(&exchange.body),
        format!("grant_type=authorization_code&code=the-code&redirect_uri={REDIRECT_FORM}")
    );
    assert_eq!(exchange.headers["authorization"], SPOTIFY_BASIC);
    assert_eq!(
        exchange.headers["content-type"],
        "application/x-www-form-urlencoded"
    );

    assert_eq!(
        finished_import(&w.app, "Spotify", 1),
        ("imported".into(), 4, 5)
    );
    let refresh = &w.fake.requests_to("/api/token")[1];
    assert_eq!(
        String::from_utf8_lossy(&refresh.body),
        format!("grant_type=refresh_token&refresh_token={SPOTIFY_REFRESH}")
    );
    let conn = w.app.db();
    let track: (String, String, i64, String, String) = conn
        .query_row(
            "SELECT title, artist_name, year, release, covert_art_url FROM track WHERE spotify_id = 'T1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!(
        track,
        (
            "One".into(),
            "Ada & Bob".into(),
            1999,
            "One (album)".into(),
            "https://img.example/T1.jpg".into()
        )
    );
    assert_eq!(
        count(&conn, "SELECT COUNT(*) FROM track WHERE spotify_id = 'T3'"),
        1
    );
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM track_added_event WHERE occured_by IS NOT NULL"
        ),
        4
    );
    let meta = |id: &str| -> (i64, i64, Option<String>) {
        conn.query_row(
            "SELECT m.count, m.review_see_count, m.last_count_increment FROM meta_user_content m
             JOIN track t USING (content_id) JOIN \"user\" u USING (user_id)
             WHERE t.spotify_id = ?1 AND u.uuid = ?2",
            [id, user.uuid.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
    };
    assert_eq!(meta("T1"), (2, 0, Some("2026-11-30 11:00:00".into())));
    assert_eq!(meta("T2"), (1, 0, Some("2026-11-30 09:00:00".into())));
    assert_eq!(meta("T3").0, 1);
    assert_eq!(meta("T4").1, 1);
    assert_eq!(meta("T5").1, 1);
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM meta_added_event"), 5);
    let after_first = events(&conn);
    assert!(after_first > before);

    // A second import (after a login) finds everything in place: nothing added, nothing counted twice.
    login(&w.app, &user);
    assert_eq!(
        finished_import(&w.app, "Spotify", 2),
        ("imported".into(), 0, 0)
    );
    assert_eq!(events(&w.app.db()), after_first);
    assert_eq!(meta("T1").0, 2);
    // The played list (the reference's own route) shows the imported plays.
    let history = w.app.get("/api/track/history", &user.token);
    assert_eq!(history.status.code, 200, "{}", history.text);
}

#[test]
fn spotify_tokens_are_not_in_the_database_file_in_clear() {
    let w = world();
    mount_spotify_tokens(&w.fake);
    mount_spotify_library(&w.fake);
    let user = link_spotify(&w, "s@example.com");
    finished_import(&w.app, "Spotify", 1);
    let stored: (String, String) = w
        .app
        .db()
        .query_row(
            "SELECT access_token, refresh_token FROM external_service",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(
        stored.0.starts_with("rfv1:") && stored.1.starts_with("rfv1:"),
        "{stored:?}"
    );
    let mut bytes = std::fs::read(&w.app.db_path).unwrap();
    let mut wal = w.app.db_path.clone().into_os_string();
    wal.push("-wal");
    bytes.extend(std::fs::read(wal).unwrap_or_default());
    for secret in [SPOTIFY_ACCESS, SPOTIFY_REFRESH, SPOTIFY_FRESH] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} is in the database file"
        );
    }
    // The export lists the link, without tokens (as the reference).
    let export = w.app.get("/api/user/export", &user.token);
    assert_eq!(export.status.code, 200, "{}", export.text);
    assert!(export.text.contains("\"Spotify\""), "{}", export.text);
    for secret in [SPOTIFY_ACCESS, SPOTIFY_REFRESH, SPOTIFY_FRESH, "rfv1:"] {
        assert!(!export.text.contains(secret));
    }
}

#[test]
fn spotify_callback_checks_in_the_references_order() {
    let w = world();
    mount_spotify_tokens(&w.fake);
    mount_spotify_library(&w.fake);
    let app = &w.app;
    let alice = app.register("alice@example.com", "alice");
    let bob = app.register("bob@example.com", "bobby");
    let url = app.get("/api/external/spotify", &alice.token).json()["spotify_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let alices_state = state_of(&url);
    let callback = |token: &str, body: Value| {
        app.request(
            "POST",
            "/api/external/spotify/callback",
            Some(token),
            Some(&body),
        )
    };

    // Layer A before the token.
    let reply = app.request(
        "POST",
        "/api/external/spotify/callback",
        None,
        Some(&json!({"code": 5})),
    );
    assert_eq!(reply.status.code, 400);
    assert_eq!(reply.json()["message"], "Input payload validation failed");
    let reply = app.request(
        "POST",
        "/api/external/spotify/callback",
        None,
        Some(&json!({})),
    );
    assert_eq!(reply.status.code, 401);
    // Cancelled at Spotify.
    callback(
        &alice.token,
        json!({"error": "access_denied", "state": alices_state}),
    )
    .expect(
        200,
        json!({"status": false, "message": "Spotify oauth canceled"}),
    );
    // Missing state or code: the reference's 500.
    assert_eq!(
        callback(&alice.token, json!({"code": "c"})).status.code,
        500
    );
    assert_eq!(
        callback(&alice.token, json!({"state": alices_state}))
            .status
            .code,
        500
    );
    // An undecodable state.
    let reply = callback(&alice.token, json!({"state": "nonsense", "code": "c"}));
    assert_eq!(reply.status.code, 422);
    assert_eq!(reply.json(), json!({"msg": "Not enough segments"}));
    // Another user's state, an access token, another service's state: CSRF.
    let csrf = json!({"status": false, "message": "CSRF invalid!"});
    callback(&bob.token, json!({"state": alices_state, "code": "c"})).expect(404, csrf.clone());
    callback(&alice.token, json!({"state": alice.token, "code": "c"})).expect(404, csrf.clone());
    let gbooks = app.get("/api/external/gbooks", &alice.token).json()["gbooks_url"]
        .as_str()
        .unwrap()
        .to_owned();
    callback(
        &alice.token,
        json!({"state": state_of(&gbooks), "code": "c"}),
    )
    .expect(404, csrf);
    assert!(
        w.fake.requests_to("/api/token").is_empty(),
        "no exchange before the checks pass"
    );
    // A deleted caller.
    let ghost = app.token_for("00000000-0000-4000-8000-000000000000", &[]);
    let ghost_state = {
        let keys = recofinement::auth::jwt::JwtKeys::new(&app.secret);
        keys.issue_state("00000000-0000-4000-8000-000000000000", "Spotify")
            .unwrap()
    };
    callback(&ghost, json!({"state": ghost_state, "code": "c"}))
        .expect(404, json!({"status": false, "message": "User not found!"}));

    // Linked, then linked again.
    callback(&alice.token, json!({"state": alices_state, "code": "c"})).expect(
        201,
        json!({"status": true, "message": "Spotify tokens stored"}),
    );
    callback(&alice.token, json!({"state": alices_state, "code": "c"})).expect(
        400,
        json!({"status": false, "message": "Validation errors", "errors": ["Spotify Oauth is already done."]}),
    );
    app.get("/api/external/spotify", &alice.token).expect(
        201,
        json!({"status": true, "message": "Spotify is already linked", "spotify_url": "linked"}),
    );
    assert_eq!(link_rows(app, "Spotify"), 1);
    finished_import(app, "Spotify", 1);
}

#[test]
fn provider_down_at_the_callback_answers_the_handled_500_and_links_nothing() {
    let w = world();
    w.fake.mount(
        Mock::given(method("POST"))
            .and(path("/api/token"))
            .respond_with(ResponseTemplate::new(503)),
    );
    let user = w.app.register("d@example.com", "down");
    let url = w.app.get("/api/external/spotify", &user.token).json()["spotify_url"]
        .as_str()
        .unwrap()
        .to_owned();
    w.app
        .request(
            "POST",
            "/api/external/spotify/callback",
            Some(&user.token),
            Some(&json!({"state": state_of(&url), "code": "c"})),
        )
        .expect(
            500,
            json!({"status": false, "message": "Something went wrong during the process!"}),
        );
    assert_eq!(w.fake.requests_to("/api/token").len(), 3, "retried on 5xx");
    assert_eq!(link_rows(&w.app, "Spotify"), 0);

    // An answer without tokens: the same.
    let w = world();
    w.fake.mount(
        Mock::given(method("POST"))
            .and(path("/api/token"))
            .respond_with(
                ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant"})),
            ),
    );
    let user = w.app.register("e@example.com", "badly");
    let url = w.app.get("/api/external/spotify", &user.token).json()["spotify_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = w.app.request(
        "POST",
        "/api/external/spotify/callback",
        Some(&user.token),
        Some(&json!({"state": state_of(&url), "code": "c"})),
    );
    assert_eq!(reply.status.code, 500);
    assert_eq!(link_rows(&w.app, "Spotify"), 0);
}

#[test]
fn providers_without_settings_say_so() {
    let app = TestApp::new();
    let user = app.register("n@example.com", "nobody");
    for (segment, name, key) in [
        ("spotify", "Spotify", "spotify_url"),
        ("tmdb", "TMDB", "tmdb_url"),
        ("gbooks", "GBooks", "gbooks_url"),
    ] {
        app.get(&format!("/api/external/{segment}"), &user.token).expect(
            201,
            json!({"status": true, "message": format!("{name} is not configured on this server"), key: ""}),
        );
        let body = match segment {
            "tmdb" => json!({"request_token": "r"}),
            _ => json!({"state": app.token_for(&user.uuid, &[]), "code": "c"}),
        };
        app.request(
            "POST",
            &format!("/api/external/{segment}/callback"),
            Some(&user.token),
            Some(&body),
        )
        .expect(
            400,
            json!({"status": false, "message": "Validation errors", "errors": [format!("{name} is not configured on this server.")]}),
        );
    }
    // Unknown services and callers.
    assert_eq!(
        app.get("/api/external/myspace", &user.token).status.code,
        404
    );
    let ghost = app.token_for("00000000-0000-4000-8000-000000000000", &[]);
    app.get("/api/external/spotify", &ghost)
        .expect(404, json!({"status": false, "message": "User not found!"}));
    assert_eq!(
        app.request("GET", "/api/external/spotify", None, None)
            .status
            .code,
        401
    );
}

#[test]
fn unlinking_deletes_the_link_and_keeps_what_was_imported() {
    let w = world();
    mount_spotify_tokens(&w.fake);
    mount_spotify_library(&w.fake);
    let user = link_spotify(&w, "u@example.com");
    finished_import(&w.app, "Spotify", 1);
    let reply = w
        .app
        .request("DELETE", "/api/external/spotify", Some(&user.token), None);
    assert_eq!(reply.status.code, 204, "{}", reply.text);
    assert_eq!(link_rows(&w.app, "Spotify"), 0);
    assert_eq!(count(&w.app.db(), "SELECT COUNT(*) FROM track"), 5);
    w.app
        .request("DELETE", "/api/external/spotify", Some(&user.token), None)
        .expect(
            404,
            json!({"status": false, "message": "Spotify is not linked"}),
        );
    // Linking again works.
    let url = w.app.get("/api/external/spotify", &user.token).json()["spotify_url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(url.contains("state="));
}

/// A link row as another instance would have left it, for import tests that skip the callback.
fn linked_user(w: &World, email: &str, service: &str, access: &str, refresh: Option<&str>) -> User {
    let user = w.app.register(email, "linked");
    w.app
        .db()
        .execute(
            "INSERT INTO external_service (user_id, service_name, access_token, refresh_token)
             SELECT user_id, ?2, ?3, ?4 FROM \"user\" WHERE uuid = ?1",
            rusqlite::params![user.uuid, service, access, refresh],
        )
        .unwrap();
    user
}

#[test]
fn a_refused_refresh_token_deletes_the_link() {
    let w = world();
    w.fake.mount(
        Mock::given(method("POST"))
            .and(path("/api/token"))
            .respond_with(ResponseTemplate::new(400).set_body_json(
                json!({"error": "invalid_grant", "error_description": "Refresh token revoked"}),
            )),
    );
    let user = linked_user(
        &w,
        "r@example.com",
        "Spotify",
        "old",
        Some("revoked-refresh"),
    );
    login(&w.app, &user);
    assert_eq!(finished_import(&w.app, "Spotify", 1).0, "revoked");
    assert_eq!(link_rows(&w.app, "Spotify"), 0);
}

/// Answers 429 (Retry-After: 1) first, then the page; remembers when each request came.
struct SlowDown {
    seen: Arc<Mutex<Vec<Instant>>>,
    page: Value,
}

impl Respond for SlowDown {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let mut seen = self.seen.lock().unwrap();
        seen.push(Instant::now());
        if seen.len() == 1 {
            ResponseTemplate::new(429).insert_header("Retry-After", "1")
        } else {
            ResponseTemplate::new(200).set_body_json(self.page.clone())
        }
    }
}

#[test]
fn a_429_is_retried_after_the_time_the_provider_asks() {
    let w = world();
    mount_spotify_tokens(&w.fake);
    let seen = Arc::new(Mutex::new(Vec::new()));
    w.fake.mount(
        Mock::given(method("GET"))
            .and(path("/v1/me/player/recently-played"))
            .respond_with(SlowDown {
                seen: seen.clone(),
                page: json!({"items": [{"track": spotify_track("R1", "Retried"), "played_at": "2026-11-01T00:00:00Z"}]}),
            }),
    );
    for route in ["/v1/me/top/tracks", "/v1/me/playlists"] {
        w.fake.mount(
            Mock::given(method("GET"))
                .and(path(route))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": []}))),
        );
    }
    let user = linked_user(&w, "t@example.com", "Spotify", "a", Some("r"));
    login(&w.app, &user);
    assert_eq!(
        finished_import(&w.app, "Spotify", 1),
        ("imported".into(), 1, 1)
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert!(
        seen[1] - seen[0] >= Duration::from_millis(950),
        "{:?}",
        seen[1] - seen[0]
    );
}

#[test]
fn a_timeout_or_a_malformed_answer_ends_the_import_cleanly() {
    let w = world_with(|s| s.providers.provider_timeout = 1);
    mount_spotify_tokens(&w.fake);
    w.fake.mount(
        Mock::given(method("GET"))
            .and(path("/v1/me/player/recently-played"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"items": []}))
                    .set_delay(Duration::from_secs(3)),
            ),
    );
    let user = linked_user(&w, "slow@example.com", "Spotify", "a", Some("r"));
    login(&w.app, &user);
    let (outcome, added, changed) = finished_import(&w.app, "Spotify", 1);
    assert!(
        outcome.starts_with("failed:") && outcome.contains("timed out"),
        "{outcome}"
    );
    assert_eq!((added, changed), (0, 0));
    assert_eq!(
        link_rows(&w.app, "Spotify"),
        1,
        "a slow provider does not unlink"
    );

    let w = world();
    mount_spotify_tokens(&w.fake);
    w.fake.mount(
        Mock::given(method("GET"))
            .and(path("/v1/me/player/recently-played"))
            .respond_with(ResponseTemplate::new(200).set_body_string("<html>surprise</html>")),
    );
    let user = linked_user(&w, "odd@example.com", "Spotify", "a", Some("r"));
    login(&w.app, &user);
    let (outcome, _, _) = finished_import(&w.app, "Spotify", 1);
    assert!(outcome.contains("not JSON"), "{outcome}");
    assert_eq!(link_rows(&w.app, "Spotify"), 1);
    // The server goes on serving.
    assert_eq!(w.app.get("/api/track", &user.token).status.code, 200);
}

#[test]
fn a_login_does_not_wait_for_its_imports() {
    let w = world_with(|s| s.providers.provider_timeout = 30);
    w.fake.mount(
        Mock::given(method("POST"))
            .and(path("/api/token"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"access_token": "x"}))
                    .set_delay(Duration::from_secs(20)),
            ),
    );
    let user = linked_user(&w, "w@example.com", "Spotify", "a", Some("r"));
    login(&w.app, &user);
    // The run has started, and is still waiting for Spotify, while the login has answered.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let conn = w.app.db();
        let runs = count(&conn, "SELECT COUNT(*) FROM external_import");
        if runs == 1 {
            assert_eq!(
                count(
                    &conn,
                    "SELECT COUNT(*) FROM external_import WHERE finished_at IS NULL"
                ),
                1
            );
            break;
        }
        assert!(Instant::now() < deadline, "no import started");
        std::thread::sleep(Duration::from_millis(20));
    }
    // One run per user and service at a time: a second login starts no second one.
    login(&w.app, &user);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        count(&w.app.db(), "SELECT COUNT(*) FROM external_import"),
        1
    );
}

// ---- TMDB -------------------------------------------------------------------------------------------

fn tmdb_get(route: &str) -> wiremock::MockBuilder {
    Mock::given(method("GET"))
        .and(path(route.to_owned()))
        .and(query_param("api_key", "tmdb-key"))
}

fn tmdb_list(w: &World, route: &str, pages: &[Value]) {
    for (i, results) in pages.iter().enumerate() {
        w.fake.mount(
            tmdb_get(route)
                .and(query_param("session_id", "tmdb-session"))
                .and(query_param("page", (i + 1).to_string()))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "page": i + 1, "results": results, "total_pages": pages.len(), "total_results": 9
                }))),
        );
    }
}

#[test]
fn tmdb_link_and_import() {
    let w = world();
    w.fake
        .mount(
            tmdb_get("/3/authentication/token/new").respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"success": true, "request_token": "RQ1"})),
            ),
        );
    w.fake.mount(
        Mock::given(method("POST"))
            .and(path("/3/authentication/session/new"))
            .and(query_param("api_key", "tmdb-key"))
            .and(body_string_contains("request_token=RQ1"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"success": true, "session_id": "tmdb-session"})),
            ),
    );
    w.fake.mount(
        tmdb_get("/3/account")
            .and(query_param("session_id", "tmdb-session"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"id": 42, "username": "cinephile"})),
            ),
    );
    w.fake.mount(tmdb_get("/3/genre/movie/list").respond_with(
        ResponseTemplate::new(200).set_body_json(json!({"genres": [{"id": 18, "name": "Drama"}]})),
    ));
    w.fake.mount(
        tmdb_get("/3/genre/tv/list").respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"genres": [{"id": 99, "name": "Documentary"}]})),
        ),
    );
    let movie = |id: i64, title: &str| {
        json!({"id": id, "title": title, "release_date": "2001-02-03", "original_language": "en",
               "overview": format!("About {title}"), "poster_path": "/p.jpg", "genre_ids": [18]})
    };
    let mut rated = movie(1, "Rated One");
    rated["rating"] = json!(8.0);
    let mut known = movie(2, "Known Two");
    known["rating"] = json!(3.0);
    tmdb_list(
        &w,
        "/3/account/42/rated/movies",
        &[json!([rated]), json!([known])],
    );
    tmdb_list(
        &w,
        "/3/account/42/favorite/movies",
        &[json!([movie(1, "Rated One")])],
    );
    tmdb_list(
        &w,
        "/3/account/42/watchlist/movies",
        &[json!([movie(3, "Wanted Three")])],
    );
    tmdb_list(
        &w,
        "/3/account/42/rated/tv",
        &[
            json!([{"id": 7, "name": "A Serie", "first_air_date": "2010-01-01", "rating": 10.0, "genre_ids": [99]}]),
        ],
    );
    tmdb_list(&w, "/3/account/42/favorite/tv", &[json!([])]);
    tmdb_list(&w, "/3/account/42/watchlist/tv", &[json!([])]);
    for (id, imdb) in [
        (1, json!("tt0000001")),
        (2, json!("tt0000002")),
        (3, Value::Null),
    ] {
        w.fake
            .mount(tmdb_get(&format!("/3/movie/{id}")).respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"id": id, "imdb_id": imdb})),
            ));
    }
    {
        let conn = w.app.db();
        conn.execute_batch(
            "INSERT INTO genre (name, count, content_type) VALUES ('Drama', 0, 'MOVIE');
             INSERT INTO content (rating_count, popularity_score) VALUES (0, 0);
             INSERT INTO movie (content_id, title, imdbid) VALUES (last_insert_rowid(), 'Known Two', 'tt0000002');",
        )
        .unwrap();
    }

    let user = w.app.register("m@example.com", "cinephile");
    let reply = w.app.get("/api/external/tmdb", &user.token);
    reply.expect(
        201,
        json!({"status": true, "message": "TMDB oauth url sent",
               "tmdb_url": format!("{}/site/authenticate/RQ1?redirect_to={REDIRECT}", w.fake.uri())}),
    );
    let callback = |body: Value| {
        w.app.request(
            "POST",
            "/api/external/tmdb/callback",
            Some(&user.token),
            Some(&body),
        )
    };
    callback(json!({"request_token": "RQ1", "denied": "true"})).expect(
        200,
        json!({"status": false, "message": "Authorization denied"}),
    );
    assert_eq!(callback(json!({"approved": "true"})).status.code, 500);
    callback(json!({"request_token": "RQ1", "approved": "true"}))
        .expect(201, json!({"status": true, "message": "TMDB token stored"}));
    callback(json!({"request_token": "RQ1", "approved": "true"})).expect(
        400,
        json!({"status": false, "message": "Validation errors", "errors": ["tmdb Oauth is already done."]}),
    );

    assert_eq!(
        finished_import(&w.app, "TMDB", 1),
        ("imported".into(), 3, 4)
    );
    let conn = w.app.db();
    let (title, year, tmdbid, cover, genres): (String, String, String, String, i64) = conn
        .query_row(
            "SELECT title, year, tmdbid, cover, (SELECT COUNT(*) FROM content_genres g WHERE g.content_id = movie.content_id)
             FROM movie WHERE imdbid = 'tt0000001'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!(
        (
            title.as_str(),
            year.as_str(),
            tmdbid.as_str(),
            cover.as_str(),
            genres
        ),
        (
            "Rated One",
            "2001",
            "1",
            "https://image.tmdb.org/t/p/w500/p.jpg",
            1
        )
    );
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM movie WHERE imdbid = 'tt0000002'"
        ),
        1
    );
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM movie WHERE tmdbid = '3' AND imdbid IS NULL"
        ),
        1
    );
    let meta = |sql_where: &str| -> (Option<i64>, i64, i64) {
        conn.query_row(
            &format!(
                "SELECT m.rating, m.count, m.review_see_count FROM meta_user_content m
                 JOIN content c USING (content_id) LEFT JOIN movie USING (content_id) LEFT JOIN serie s USING (content_id)
                 WHERE {sql_where}"
            ),
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
    };
    assert_eq!(meta("movie.imdbid = 'tt0000001'"), (Some(4), 1, 0));
    assert_eq!(meta("movie.imdbid = 'tt0000002'"), (Some(2), 0, 0));
    assert_eq!(meta("movie.tmdbid = '3'"), (None, 0, 1));
    assert_eq!(
        meta("s.title = 'A Serie' AND s.start_year = 2010"),
        (Some(5), 0, 0)
    );
    // Ratings reach the contents' averages, as through the API.
    assert_eq!(
        count(
            &conn,
            "SELECT rating_count FROM content JOIN movie USING (content_id) WHERE imdbid = 'tt0000002'"
        ),
        1
    );

    let before = events(&conn);
    login(&w.app, &user);
    assert_eq!(
        finished_import(&w.app, "TMDB", 2),
        ("imported".into(), 0, 0)
    );
    assert_eq!(events(&w.app.db()), before);
}

#[test]
fn a_refused_tmdb_session_deletes_the_link_but_a_refused_api_key_does_not() {
    let w = world();
    w.fake.mount(
        tmdb_get("/3/account")
            .and(query_param("session_id", "dead"))
            .respond_with(ResponseTemplate::new(401).set_body_json(json!({"success": false, "status_code": 3, "status_message": "Authentication failed"}))),
    );
    w.fake.mount(
        tmdb_get("/3/account")
            .and(query_param("session_id", "alive"))
            .respond_with(ResponseTemplate::new(401).set_body_json(
                json!({"success": false, "status_code": 7, "status_message": "Invalid API key"}),
            )),
    );
    let dead = linked_user(&w, "dead@example.com", "TMDB", "dead", None);
    login(&w.app, &dead);
    assert_eq!(finished_import(&w.app, "TMDB", 1).0, "revoked");
    assert_eq!(link_rows(&w.app, "TMDB"), 0);
    let alive = linked_user(&w, "alive@example.com", "TMDB", "alive", None);
    login(&w.app, &alive);
    assert!(finished_import(&w.app, "TMDB", 2).0.contains("API key"));
    assert_eq!(link_rows(&w.app, "TMDB"), 1);
}

#[test]
fn tmdb_without_a_request_token_gives_an_empty_url() {
    let w = world();
    w.fake
        .mount(tmdb_get("/3/authentication/token/new").respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"success": false, "status_code": 7})),
        ));
    let user = w.app.register("x@example.com", "xavier");
    w.app.get("/api/external/tmdb", &user.token).expect(
        201,
        json!({"status": true, "message": "TMDB oauth url sent", "tmdb_url": ""}),
    );
}

// ---- Google Books -----------------------------------------------------------------------------------

fn volume(isbn13: Option<&str>, title: &str, user_info: Value) -> Value {
    let mut ids = vec![json!({"type": "ISBN_10", "identifier": "0000000000"})];
    if let Some(isbn) = isbn13 {
        ids.push(json!({"type": "ISBN_13", "identifier": isbn}));
    }
    json!({"id": title, "volumeInfo": {
        "title": title, "authors": ["Ann", "Ben"], "publisher": "Pub", "publishedDate": "1987-06",
        "industryIdentifiers": ids,
        "imageLinks": {"smallThumbnail": "https://b.example/s.jpg", "thumbnail": "https://b.example/t.jpg"}
    }, "userInfo": user_info})
}

#[test]
fn google_books_link_and_import() {
    let w = world();
    let user = w.app.register("g@example.com", "reader");
    let reply = w.app.get("/api/external/gbooks", &user.token);
    assert_eq!(reply.status.code, 201, "{}", reply.text);
    assert_eq!(reply.json()["message"], "GBooks oauth url sent");
    let url = reply.json()["gbooks_url"].as_str().unwrap().to_owned();
    let state = state_of(&url);
    assert_eq!(
        url,
        format!(
            "{}/o/oauth2/auth?response_type=code&client_id=google-client&redirect_uri={REDIRECT_FORM}&scope=https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fbooks&state={state}&access_type=offline&include_granted_scopes=true",
            w.fake.uri()
        )
    );
    w.fake.mount(
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(body_string_contains("grant_type=authorization_code"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "g-access", "refresh_token": "g-refresh", "expires_in": 3599}))),
    );
    w.fake.mount(
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(body_string_contains("grant_type=refresh_token"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"access_token": "g-fresh", "expires_in": 3599})),
            ),
    );
    let books = |route: &str| {
        Mock::given(method("GET"))
            .and(path(route.to_owned()))
            .and(header("authorization", "Bearer g-fresh"))
    };
    w.fake
        .mount(books("/books/v1/mylibrary/bookshelves").respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"items": [
                {"id": 0, "title": "Favorites", "volumeCount": 2},
                {"id": 2, "title": "To read", "volumeCount": 3},
                {"id": 5, "title": "Reviewed", "volumeCount": 1},
                {"id": 4, "title": "Have read", "volumeCount": 0},
            ]})),
        ));
    w.fake.mount(
        books("/books/v1/mylibrary/bookshelves/0/volumes").respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"totalItems": 2, "items": [
                volume(Some("9780000000011"), "Bought", json!({"isPurchased": true})),
                volume(None, "No ISBN-13", json!({})),
            ]})),
        ),
    );
    w.fake.mount(books("/books/v1/mylibrary/bookshelves/5/volumes").respond_with(
        ResponseTemplate::new(200).set_body_json(json!({"totalItems": 1, "items": [
            volume(Some("9780000000028"), "Reviewed one", json!({"review": {"rating": "FOUR"}})),
        ]})),
    ));
    w.fake.mount(
        books("/books/v1/mylibrary/bookshelves/2/volumes")
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"totalItems": 0})))
            .expect(0),
    );

    let callback = |body: Value| {
        w.app.request(
            "POST",
            "/api/external/gbooks/callback",
            Some(&user.token),
            Some(&body),
        )
    };
    assert_eq!(callback(json!({"code": "c"})).status.code, 500);
    callback(json!({"state": state, "error": "access_denied"})).expect(
        200,
        json!({"status": false, "message": "Authorization canceled by user"}),
    );
    callback(
        json!({"state": state, "code": "g-code", "scope": "https://www.googleapis.com/auth/books"}),
    )
    .expect(
        201,
        json!({"status": true, "message": "GBooks token stored"}),
    );
    let exchange = &w.fake.requests_to("/token")[0];
    assert_eq!(
        String::from_utf8_lossy(&exchange.body),
        format!(
            "grant_type=authorization_code&code=g-code&redirect_uri={REDIRECT_FORM}&client_id=google-client&client_secret=google-secret"
        )
    );

    assert_eq!(
        finished_import(&w.app, "GBooks", 1),
        ("imported".into(), 2, 2)
    );
    let conn = w.app.db();
    let book: (String, String, i64, String, String) = conn
        .query_row(
            "SELECT title, author, year_of_publication, publisher, image_url_s FROM book WHERE isbn = '9780000000011'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!(
        book,
        (
            "Bought".into(),
            "Ann, Ben".into(),
            1987,
            "Pub".into(),
            "https://b.example/s.jpg".into()
        )
    );
    let meta = |isbn: &str| -> (Option<i64>, i64, i64) {
        conn.query_row(
            "SELECT m.rating, m.count, m.review_see_count FROM meta_user_content m JOIN book USING (content_id) WHERE isbn = ?1",
            [isbn],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
    };
    assert_eq!(meta("9780000000011"), (None, 1, 1));
    assert_eq!(meta("9780000000028"), (Some(4), 0, 1));
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM book_added_event"), 2);
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM book"), 2);
    // Reviewed first.
    let shelves: Vec<String> = w
        .fake
        .requests()
        .iter()
        .map(|r| r.url.path().to_owned())
        .filter(|p| p.ends_with("/volumes"))
        .collect();
    assert_eq!(
        shelves,
        [
            "/books/v1/mylibrary/bookshelves/5/volumes",
            "/books/v1/mylibrary/bookshelves/0/volumes"
        ]
    );
}

#[test]
fn a_revoked_google_grant_deletes_the_link() {
    let w = world();
    w.fake.mount(
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(
                ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant"})),
            ),
    );
    let user = linked_user(&w, "gr@example.com", "GBooks", "a", Some("r"));
    login(&w.app, &user);
    assert_eq!(finished_import(&w.app, "GBooks", 1).0, "revoked");
    assert_eq!(link_rows(&w.app, "GBooks"), 0);
}
