//! Limits on repeated attempts (decisions F22), against the spawned server over TCP (the client's
//! address is the socket's): failed logins per account and per address, reset requests per address;
//! successes never count.

#[path = "common/server.rs"]
mod server;
#[path = "common/tcp.rs"]
mod tcp;

use serde_json::{Value, json};
use server::Server;

const PASSWORD: &str = "Azerty123!";

fn register(server: &Server, email: &str, username: &str) {
    let body = json!({"email": email, "username": username, "password": PASSWORD}).to_string();
    let reply = tcp::request(&server.addr, "POST", "/api/auth/register", &[], Some(&body)).unwrap();
    assert_eq!(reply.status, 201, "{}", reply.body);
}

fn login(server: &Server, email: &str, password: &str, headers: &[(&str, &str)]) -> tcp::HttpReply {
    let body = json!({"email": email, "password": password}).to_string();
    tcp::request(
        &server.addr,
        "POST",
        "/api/auth/login",
        headers,
        Some(&body),
    )
    .unwrap()
}

fn too_many(reply: &tcp::HttpReply) {
    assert_eq!(reply.status, 429, "{}", reply.body);
    assert_eq!(
        serde_json::from_str::<Value>(&reply.body).unwrap(),
        json!({"status": false, "message": "Too many attempts, try again later."})
    );
    let wait: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!(wait >= 1, "Retry-After: {wait}");
}

#[test]
fn failed_logins_per_account_lock_it_even_for_the_right_password() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &[
            "--engine-interval",
            "0",
            "--login-failures-per-account",
            "3",
            "--throttle-window",
            "60",
        ],
        &[],
    );
    register(&server, "alice@example.com", "alice");
    register(&server, "bob@example.com", "bobby");
    for _ in 0..3 {
        assert_eq!(
            login(&server, "alice@example.com", "Wrong1234!", &[]).status,
            401
        );
    }
    let refused = login(&server, "alice@example.com", PASSWORD, &[]);
    too_many(&refused);
    let wait: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!(
        wait <= 20,
        "one failure more is allowed every window / 3: {wait}"
    );
    // The address is the same, but another account is not locked.
    assert_eq!(login(&server, "bob@example.com", PASSWORD, &[]).status, 200);
    // The address of the e-mail is the account, whatever its case.
    too_many(&login(&server, "ALICE@example.com", PASSWORD, &[]));
}

#[test]
fn failed_logins_per_address_and_no_trust_in_a_client_header() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &[
            "--engine-interval",
            "0",
            "--login-failures-per-account",
            "0",
            "--login-failures-per-address",
            "4",
            "--throttle-window",
            "60",
        ],
        &[],
    );
    register(&server, "alice@example.com", "alice");
    // A busy front end: many successful logins and registrations from one address never count.
    for n in 0..12 {
        assert_eq!(
            login(&server, "alice@example.com", PASSWORD, &[]).status,
            200
        );
        register(
            &server,
            &format!("user{n}@example.com"),
            &format!("user{n}"),
        );
    }
    // Failures on several accounts, each claiming another address: they are one client.
    for n in 0..4 {
        let claimed = format!("10.0.0.{n}");
        let reply = login(
            &server,
            &format!("user{n}@example.com"),
            "Wrong1234!",
            &[("X-Real-IP", &claimed)],
        );
        assert_eq!(reply.status, 401, "{}", reply.body);
    }
    too_many(&login(&server, "alice@example.com", PASSWORD, &[]));
}

#[test]
fn reset_requests_per_address_answer_the_same_and_send_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &[
            "--engine-interval",
            "0",
            "--reset-requests-per-address",
            "2",
            "--throttle-window",
            "600",
        ],
        &[],
    );
    register(&server, "alice@example.com", "alice");
    let body = r#"{"email": "alice@example.com"}"#;
    let answers: Vec<(u16, String)> = (0..5)
        .map(|_| {
            let reply =
                tcp::request(&server.addr, "POST", "/api/auth/forget", &[], Some(body)).unwrap();
            (reply.status, reply.body)
        })
        .collect();
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    assert_eq!(answers[0].0, 200);
    let queued: i64 = rusqlite::Connection::open(&server.database)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM mail_outbox WHERE kind = 'password_reset'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(queued, 2, "two mails, then nothing");
}
