//! Storage faults (decisions F27), against the spawned binary: a full store answers 503 "Storage
//! unavailable" and turns the health check 503, both recover by themselves once there is space; a
//! read-only database at start gets a message that says so.

#[path = "common/server.rs"]
mod server;
#[path = "common/tcp.rs"]
mod tcp;

use serde_json::{Value, json};
use server::Server;
use std::path::Path;

fn register(server: &Server, n: usize) -> tcp::HttpReply {
    let body = json!({"email": format!("user{n}@example.com"), "username": format!("user{n}"), "password": "Azerty123!"});
    tcp::request(
        &server.addr,
        "POST",
        "/api/auth/register",
        &[],
        Some(&body.to_string()),
    )
    .unwrap()
}

fn health(server: &Server) -> tcp::HttpReply {
    tcp::request(&server.addr, "GET", "/api/health", &[], None).unwrap()
}

/// Fills the database with a table of our own until it reaches `bytes` (SQLite's own limit, as the
/// server's `--max-database-mb` sets it): not one page is left.
fn fill(db: &Path, bytes: usize) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch("CREATE TABLE IF NOT EXISTS test_filler (data BLOB)")
        .unwrap();
    let page: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .unwrap();
    let _: i64 = conn
        .query_row(
            &format!("PRAGMA max_page_count = {}", bytes as i64 / page),
            [],
            |r| r.get(0),
        )
        .unwrap();
    for size in [16_000, 1_000, 100] {
        while conn
            .execute(
                &format!("INSERT INTO test_filler VALUES (zeroblob({size}))"),
                [],
            )
            .is_ok()
        {}
    }
}

#[test]
fn a_full_store_answers_503_and_recovers_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    server::run_ok(&db, &["migrate"], "");
    // A 2 MB limit, and the store filled up to it.
    fill(&db, 2 * 1024 * 1024);
    let server = Server::start(
        dir.path(),
        &["--engine-interval", "0", "--max-database-mb", "2"],
        &[],
    );
    assert_eq!(health(&server).status, 200);

    let full = (0..300)
        .map(|n| register(&server, n))
        .find(|reply| reply.status != 201)
        .expect("the store fills up");
    assert_eq!(full.status, 503, "{}", full.body);
    assert_eq!(
        serde_json::from_str::<Value>(&full.body).unwrap(),
        json!({"status": false, "message": "Storage unavailable"})
    );
    let unhealthy = health(&server);
    assert_eq!(unhealthy.status, 503);
    assert_eq!(
        serde_json::from_str::<Value>(&unhealthy.body).unwrap(),
        json!({"status": false, "message": "Storage unavailable"})
    );
    // Reads go on.
    let login = json!({"email": "user0@example.com", "password": "Azerty123!"}).to_string();
    assert_eq!(
        tcp::request(&server.addr, "POST", "/api/auth/login", &[], Some(&login))
            .unwrap()
            .status,
        200
    );

    // Space is back (another program freed some): the server notices by itself.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute("DELETE FROM test_filler", [])
        .unwrap();
    assert_eq!(health(&server).status, 200);
    assert_eq!(register(&server, 1000).status, 201);
}

#[test]
fn a_read_only_database_is_refused_at_start_with_a_message_that_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    server::run_ok(&db, &["migrate"], "");
    // Read-only for root too where the file system allows it (the immutable attribute), else by mode.
    let immutable = std::process::Command::new("chattr")
        .arg("+i")
        .arg(&db)
        .status()
        .is_ok_and(|s| s.success());
    if !immutable {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
    }
    let output = std::process::Command::new(server::BIN)
        .arg("--database")
        .arg(&db)
        .env("ROCKET_PORT", "0")
        .output()
        .unwrap();
    if immutable {
        let _ = std::process::Command::new("chattr")
            .arg("-i")
            .arg(&db)
            .status();
    }
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("{} is read-only", db.display())),
        "{stderr}"
    );
}
