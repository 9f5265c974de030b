//! The Socket.IO namespace `/recommend` (api-reference.md 2.12, decisions F12, F18), against the
//! spawned binary over TCP, with the web front end's own client library (socket.io-client 3.1.1 run by
//! Node.js): both transports, every refusal, rooms, the launch, and a session kept alive by pings.

#[path = "common/node.rs"]
mod node;
#[path = "common/server.rs"]
mod server;
#[path = "common/tcp.rs"]
mod tcp;

use node::SocketClient;
use recofinement::auth::jwt::JwtKeys;
use serde_json::{Value, json};
use server::Server;
use std::path::Path;
use std::time::Duration;

const POLLING_THEN_WEBSOCKET: &[&str] = &["polling", "websocket"];
const WEBSOCKET: &[&str] = &["websocket"];
const DEMO_PASSWORD: &str = "Demo1234!";

/// A seeded database (admin@example.com is an admin, user1@example.com is not), served.
fn seeded_server(dir: &Path, args: &[&str]) -> Server {
    let database = dir.join("live.db");
    server::run_ok(
        &database,
        &[
            "seed",
            "--contents",
            "300",
            "--users",
            "5",
            "--interactions",
            "400",
        ],
        "",
    );
    Server::start(dir, &[&["--engine-interval", "0"], args].concat(), &[])
}

fn login(server: &Server, email: &str) -> String {
    let body = json!({"email": email, "password": DEMO_PASSWORD}).to_string();
    let reply = tcp::request(&server.addr, "POST", "/api/auth/login", &[], Some(&body)).unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body: Value = serde_json::from_str(&reply.body).unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

fn http(server: &Server, method: &str, path: &str, token: &str, body: Option<Value>) -> Value {
    let auth = format!("Bearer {token}");
    let body = body.map(|b| b.to_string());
    let reply = tcp::request(
        &server.addr,
        method,
        path,
        &[("Authorization", &auth)],
        body.as_deref(),
    )
    .unwrap();
    assert!(
        reply.status < 300,
        "{method} {path}: {} {}",
        reply.status,
        reply.body
    );
    serde_json::from_str(&reply.body).unwrap_or(Value::Null)
}

fn create_profile(server: &Server, token: &str, name: &str) -> String {
    let created = http(
        server,
        "POST",
        "/api/profile",
        token,
        Some(json!({"profilename": name})),
    );
    created["profile"]["uuid"].as_str().unwrap().to_owned()
}

fn uuid_of(token: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice::<Value>(&bytes).unwrap()["identity"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn keys(server: &Server) -> JwtKeys {
    let mut name = server.database.clone().into_os_string();
    name.push(".secret");
    JwtKeys::new(std::fs::read_to_string(name).unwrap().trim().as_bytes())
}

fn join_reply(uuid: &str) -> Value {
    json!({"on": "join", "action": "join", "message": "Room successfully joined",
           "user_uuid": uuid, "room": format!("user{uuid}")})
}

#[test]
fn the_front_ends_client_connects_by_polling_upgrades_and_follows_its_room() {
    let dir = tempfile::tempdir().unwrap();
    let server = seeded_server(dir.path(), &[]);
    let token = login(&server, "admin@example.com");
    let uuid = uuid_of(&token);

    // As the front end: the token in the polling requests' header, then the upgrade.
    let mut first = SocketClient::connect(&server.addr, Some(&token), POLLING_THEN_WEBSOCKET);
    first.expect_connected();
    first.expect_upgrade_from("polling");
    first.emit("join", json!([]));
    assert_eq!(first.expect_response(), join_reply(&uuid));

    // A second session of the same user joins: the room (both) hears it.
    let mut second = SocketClient::connect(&server.addr, Some(&token), POLLING_THEN_WEBSOCKET);
    second.expect_connected();
    second.emit("join", json!([]));
    assert_eq!(second.expect_response(), join_reply(&uuid));
    assert_eq!(first.expect_response(), join_reply(&uuid));

    // The leaver does not get its own leave; the one still in the room does.
    first.emit("leave", json!([]));
    let leave = json!({"on": "leave", "action": "leave", "message": "Room successfully leaved",
                       "user_uuid": uuid, "room": format!("user{uuid}")});
    assert_eq!(second.expect_response(), leave);
    assert_eq!(
        first.quiet_for(Duration::from_millis(500)),
        Vec::<Value>::new()
    );

    // Out of the room, the first no longer hears the second's joins; a join with a payload does
    // nothing (the reference's handler takes none).
    second.emit("join", json!([]));
    assert_eq!(second.expect_response(), join_reply(&uuid));
    first.emit("join", json!([{"room": "other"}]));
    assert_eq!(
        first.quiet_for(Duration::from_millis(500)),
        Vec::<Value>::new()
    );
    assert_eq!(
        second.quiet_for(Duration::from_millis(100)),
        Vec::<Value>::new()
    );
}

#[test]
fn a_websocket_only_client_gets_the_same_answers() {
    let dir = tempfile::tempdir().unwrap();
    let server = seeded_server(dir.path(), &[]);
    let token = login(&server, "admin@example.com");
    let mut client = SocketClient::connect(&server.addr, Some(&token), WEBSOCKET);
    assert_eq!(client.expect_connected(), "websocket");
    client.emit("join", json!([]));
    assert_eq!(client.expect_response(), join_reply(&uuid_of(&token)));
}

#[test]
fn every_refusal_has_the_references_text() {
    let dir = tempfile::tempdir().unwrap();
    let server = seeded_server(dir.path(), &[]);
    let admin = login(&server, "admin@example.com");
    let keys = keys(&server);
    let permissions = vec!["access_sandbox".to_owned()];
    let expired = keys.issue(&uuid_of(&admin), &permissions, -60).unwrap();
    let stranger = keys
        .issue("6d43749e-d519-45dc-bdb8-4e9c3f9bcb69", &permissions, 600)
        .unwrap();
    let revoked = login(&server, "admin@example.com");
    http(&server, "POST", "/api/auth/logout", &revoked, None);
    let forged = {
        let other = JwtKeys::new(b"another secret, not the server's one");
        other.issue(&uuid_of(&admin), &permissions, 600).unwrap()
    };
    let cases: Vec<(Option<String>, &str)> = vec![
        (None, "Token not found !"),
        (Some("not a token".into()), "Unauthorized!"),
        (Some(forged), "Unauthorized!"),
        (Some(expired), "Unauthorized!"),
        (Some(revoked), "Unauthorized!"),
        (Some(stranger), "User not found!"),
        (
            Some(login(&server, "user1@example.com")),
            "Permission missing!",
        ),
    ];
    for transports in [POLLING_THEN_WEBSOCKET, WEBSOCKET] {
        for (token, message) in &cases {
            let client = SocketClient::connect(&server.addr, token.as_deref(), transports);
            let event = client.expect_next();
            assert_eq!(
                event,
                json!({"event": "connect_error", "message": message, "data": null}),
                "{transports:?} {token:?}"
            );
        }
    }
}

#[test]
fn each_event_checks_the_token_again() {
    let dir = tempfile::tempdir().unwrap();
    let server = seeded_server(dir.path(), &[]);
    let token = login(&server, "admin@example.com");
    let profile = create_profile(&server, &token, "sandbox");
    let mut client = SocketClient::connect(&server.addr, Some(&token), POLLING_THEN_WEBSOCKET);
    client.expect_connected();
    client.emit("join", json!([]));
    client.expect_response();

    // Logged out: the connection stays, but no event is served any more (F12, F18).
    http(&server, "POST", "/api/auth/logout", &token, None);
    client.emit("join", json!([]));
    client.emit("recommend", json!([{"profile_uuid": profile}]));
    assert_eq!(
        client.quiet_for(Duration::from_millis(800)),
        Vec::<Value>::new()
    );
    let launches = count(
        &server,
        "SELECT count(*) FROM recommendation_launched_for_profile_event",
    );
    assert_eq!(launches, 0, "a refused launch records nothing");
}

fn count(server: &Server, sql: &str) -> i64 {
    rusqlite::Connection::open(&server.database)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

#[test]
fn recommend_launches_the_sandbox_and_answers_the_room() {
    let dir = tempfile::tempdir().unwrap();
    let server = seeded_server(dir.path(), &[]);
    let token = login(&server, "admin@example.com");
    let uuid = uuid_of(&token);
    let room = format!("user{uuid}");
    let profile = create_profile(&server, &token, "sandbox");
    let genre = http(&server, "GET", "/api/movie/genres", &token, None)["content"][0]["genre_id"]
        .as_i64()
        .unwrap();
    http(
        &server,
        "PUT",
        &format!("/api/profile/{profile}/genre/{genre}"),
        &token,
        None,
    );

    // Someone else's profile (F18): found by nobody but its owner.
    server::run_ok(
        &server.database,
        &[
            "user",
            "create",
            "--email",
            "other@example.com",
            "--username",
            "other",
            "--admin",
        ],
        "Other1234!\n",
    );
    let other = {
        let body = json!({"email": "other@example.com", "password": "Other1234!"}).to_string();
        let reply =
            tcp::request(&server.addr, "POST", "/api/auth/login", &[], Some(&body)).unwrap();
        serde_json::from_str::<Value>(&reply.body).unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let foreign = create_profile(&server, &other, "theirs");

    let mut client = SocketClient::connect(&server.addr, Some(&token), POLLING_THEN_WEBSOCKET);
    client.expect_connected();
    let mut listener = SocketClient::connect(&server.addr, Some(&token), WEBSOCKET);
    listener.expect_connected();
    listener.emit("join", json!([]));
    assert_eq!(listener.expect_response(), join_reply(&uuid));

    let room_joined = json!({"on": "recommend", "action": "join", "message": "Room joined",
                             "user_uuid": uuid, "room": room});
    for (payload, message) in [
        (
            json!({}),
            "Error 400, data must contain 'profile_uuid' attr!",
        ),
        (
            json!("text"),
            "Error 400, data must contain 'profile_uuid' attr!",
        ),
        (
            json!({"profile_uuid": "not-a-uuid"}),
            "Error 400, 'profile_uuid' not valid uuid4!",
        ),
        (
            json!({"profile_uuid": 42}),
            "Error 400, 'profile_uuid' not valid uuid4!",
        ),
    ] {
        client.emit("recommend", json!([payload]));
        assert_eq!(
            client.expect_response(),
            json!({"on": "recommend", "message": message})
        );
    }
    assert_eq!(
        listener.quiet_for(Duration::from_millis(300)),
        Vec::<Value>::new(),
        "to the sender only"
    );

    client.emit("recommend", json!([{"profile_uuid": foreign}]));
    assert_eq!(client.expect_response(), room_joined);
    assert_eq!(listener.expect_response(), room_joined);
    assert_eq!(
        client.expect_response(),
        json!({"on": "recommend", "message": "Error 404, Profile not found!"})
    );
    assert_eq!(
        listener.quiet_for(Duration::from_millis(300)),
        Vec::<Value>::new()
    );

    // Its own profile, written without hyphens and in capitals (any UUID syntax, as the reference).
    let written = profile.replace('-', "").to_uppercase();
    client.emit("recommend", json!([{"profile_uuid": written}]));
    let done = json!({"on": "recommend", "action": "recommend",
                      "message": "200, Recommendation complete for this profile!",
                      "profile": {"uuid": profile, "profilename": "sandbox"}});
    assert_eq!(client.expect_response(), room_joined);
    assert_eq!(client.expect_response(), done);
    assert_eq!(listener.expect_response(), room_joined);
    assert_eq!(listener.expect_response(), done);

    // The same launch as the HTTP route: the snapshot with the liked genre, and the results.
    let launch = count(
        &server,
        "SELECT max(id) FROM recommendation_launched_for_profile_event",
    );
    assert_eq!(
        count(
            &server,
            &format!(
                "SELECT count(*) FROM recommendation_launched_liked_genre WHERE event_id = {launch} AND genre_id = {genre}"
            )
        ),
        1
    );
    let results = count(
        &server,
        &format!("SELECT count(*) FROM recommendation_launched_result WHERE event_id = {launch}"),
    );
    assert!(results > 0, "the engine's results are written");
    let history = http(
        &server,
        "GET",
        &format!("/api/profile/{profile}/history"),
        &token,
        None,
    );
    assert_eq!(history["content"][0]["id"], launch);
    assert_eq!(
        count(
            &server,
            "SELECT count(*) FROM recommendation_launched_for_profile_event"
        ),
        1,
        "refused and foreign launches record nothing"
    );
}

#[test]
fn a_session_stays_up_past_two_ping_intervals() {
    let dir = tempfile::tempdir().unwrap();
    let server = seeded_server(
        dir.path(),
        &[
            "--socketio-ping-interval",
            "1",
            "--socketio-ping-timeout",
            "2",
        ],
    );
    let token = login(&server, "admin@example.com");
    for transports in [POLLING_THEN_WEBSOCKET, WEBSOCKET] {
        let mut client = SocketClient::connect(&server.addr, Some(&token), transports);
        client.expect_connected();
        // Three ping intervals: the client answers every ping; nothing else happens.
        assert_eq!(
            client.quiet_for(Duration::from_millis(3_500)),
            Vec::<Value>::new()
        );
        client.emit("join", json!([]));
        assert_eq!(client.expect_response(), join_reply(&uuid_of(&token)));
    }
}

#[test]
fn engine_io_cors_echoes_the_origin_and_allows_the_token_header() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--engine-interval", "0"], &[]);
    let origin = ("Origin", "http://localhost:4200");
    let preflight = tcp::request(
        &server.addr,
        "OPTIONS",
        "/socket.io/?EIO=4&transport=polling&t=N1",
        &[
            origin,
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "token"),
        ],
        None,
    )
    .unwrap();
    assert!(preflight.status < 300, "{}", preflight.status);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("http://localhost:4200")
    );
    assert_eq!(
        preflight.header("access-control-allow-credentials"),
        Some("true")
    );
    assert!(
        preflight
            .header("access-control-allow-headers")
            .is_some_and(|h| h.to_ascii_lowercase().contains("token")),
        "{:?}",
        preflight.headers
    );
    let open = tcp::request(
        &server.addr,
        "GET",
        "/socket.io/?EIO=4&transport=polling&t=N2",
        &[origin],
        None,
    )
    .unwrap();
    assert_eq!(open.status, 200);
    assert!(open.body.starts_with("0{\"sid\":"), "{}", open.body);
    assert_eq!(
        open.header("access-control-allow-origin"),
        Some("http://localhost:4200")
    );
    assert_eq!(
        open.header("access-control-allow-credentials"),
        Some("true")
    );
    // Engine.IO's own errors for what is not one of its requests.
    let unknown = tcp::request(
        &server.addr,
        "GET",
        "/socket.io/?EIO=4&transport=carrier-pigeon",
        &[],
        None,
    )
    .unwrap();
    assert_eq!(unknown.status, 400, "{}", unknown.body);
    let lost = tcp::request(
        &server.addr,
        "GET",
        "/socket.io/?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAA",
        &[],
        None,
    )
    .unwrap();
    assert_eq!(lost.status, 400, "{}", lost.body);
}
