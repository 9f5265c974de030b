//! One writer (issue 12): the server's writers queue in-process and never meet SQLite's lock among
//! themselves; a writer from another process holding the lock makes the server's writes wait, then
//! succeed, or fail cleanly (503, nothing written) when it holds it too long.

#[path = "common/server.rs"]
mod server;
#[path = "common/tcp.rs"]
mod tcp;

use serde_json::Value;
use server::Server;
use std::path::Path;
use std::time::{Duration, Instant};

fn seed(db: &Path) {
    server::run_ok(
        db,
        &[
            "seed",
            "--contents",
            "600",
            "--users",
            "20",
            "--interactions",
            "2000",
        ],
        "",
    );
}

fn seeded(dir: &Path, args: &[&str]) -> Server {
    seed(&dir.join("live.db"));
    Server::start(dir, args, &[])
}

fn login(server: &Server, email: &str) -> String {
    let body = format!(r#"{{"email": "{email}", "password": "Demo1234!"}}"#);
    let reply = tcp::request(&server.addr, "POST", "/api/auth/login", &[], Some(&body)).unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body: Value = serde_json::from_str(&reply.body).unwrap();
    format!("Bearer {}", body["access_token"].as_str().unwrap())
}

fn movies(server: &Server) -> Vec<i64> {
    rusqlite::Connection::open(&server.database)
        .unwrap()
        .prepare("SELECT content_id FROM movie ORDER BY content_id LIMIT 200")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn many_writers_at_once_never_meet_a_locked_database() {
    let dir = tempfile::tempdir().unwrap();
    // Without watermarks, the server's engine starts with a full run: its writes join the queue.
    let db = dir.path().join("live.db");
    seed(&db);
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute("DELETE FROM engine_stage", [])
        .unwrap();
    let counted = |db: &Path| -> i64 {
        rusqlite::Connection::open(db)
            .unwrap()
            .query_row(
                "SELECT coalesce(sum(count), 0) FROM meta_user_content m JOIN \"user\" u ON u.user_id = m.user_id
                 WHERE u.email GLOB 'user*@example.com' AND CAST(substr(u.email, 5, length(u.email) - 16) AS INTEGER) <= 16",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    let before = counted(&db);
    let server = Server::start(dir.path(), &["--engine-interval", "1"], &[]);
    let movies = movies(&server);
    let tokens: Vec<String> = (1..=16)
        .map(|n| login(&server, &format!("user{n}@example.com")))
        .collect();
    let failures: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = tokens
            .iter()
            .enumerate()
            .map(|(w, token)| {
                let (addr, movies) = (&server.addr, &movies);
                scope.spawn(move || {
                    let mut conn = tcp::KeepAlive::connect(addr).unwrap();
                    let mut failures = Vec::new();
                    for i in 0..60 {
                        let movie = movies[(w * 17 + i * 7) % movies.len()];
                        let reply = conn
                            .request(
                                "PATCH",
                                &format!("/api/movie/{movie}/meta"),
                                &[("Authorization", token)],
                                Some(&format!(
                                    r#"{{"rating": {}, "additional_count": 1}}"#,
                                    i % 5 + 1
                                )),
                            )
                            .unwrap();
                        if reply.status != 201 {
                            failures.push(format!("{} {}", reply.status, reply.body));
                        }
                        // Reads go on meanwhile, on the pool.
                        if i % 20 == 19 {
                            let reply = conn
                                .request(
                                    "GET",
                                    "/api/movie?page=1",
                                    &[("Authorization", token)],
                                    None,
                                )
                                .unwrap();
                            if reply.status != 200 {
                                failures.push(format!("{} {}", reply.status, reply.body));
                            }
                        }
                    }
                    failures
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert_eq!(failures, Vec::<String>::new());
    assert_eq!(
        counted(&db) - before,
        16 * 60,
        "every acknowledged write is there"
    );
}

/// Holds SQLite's write lock from another connection (another process, as far as the server can
/// tell) for `hold`, on a thread; returns once the lock is taken.
fn hold_the_lock(db: &Path, hold: Duration) -> std::thread::JoinHandle<()> {
    let (taken, wait) = std::sync::mpsc::channel();
    let db = db.to_owned();
    let handle = std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(db).unwrap();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        taken.send(()).unwrap();
        std::thread::sleep(hold);
        conn.execute_batch("COMMIT").unwrap();
    });
    wait.recv().unwrap();
    handle
}

#[test]
fn a_writer_of_another_process_is_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    let server = seeded(dir.path(), &["--engine-interval", "0"]);
    let token = login(&server, "user1@example.com");
    let movie = movies(&server)[0];
    let holder = hold_the_lock(&server.database, Duration::from_millis(1500));
    let started = Instant::now();
    let reply = tcp::request(
        &server.addr,
        "PATCH",
        &format!("/api/movie/{movie}/meta"),
        &[("Authorization", &token)],
        Some(r#"{"rating": 4}"#),
    )
    .unwrap();
    let waited = started.elapsed();
    holder.join().unwrap();
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert!(
        waited >= Duration::from_millis(1000),
        "it waited for the lock: {waited:?}"
    );
}

#[test]
fn a_writer_of_another_process_holding_the_lock_too_long_gets_a_clean_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let server = seeded(dir.path(), &["--engine-interval", "0"]);
    let token = login(&server, "user1@example.com");
    let movie = movies(&server)[1];
    let count = |db: &Path| -> i64 {
        rusqlite::Connection::open(db)
            .unwrap()
            .query_row("SELECT count(*) FROM meta_added_event", [], |r| r.get(0))
            .unwrap()
    };
    let before = count(&server.database);
    let holder = hold_the_lock(&server.database, Duration::from_secs(7));
    let path = format!("/api/movie/{movie}/meta");
    let reply = tcp::request(
        &server.addr,
        "PATCH",
        &path,
        &[("Authorization", &token)],
        Some(r#"{"rating": 4}"#),
    )
    .unwrap();
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert_eq!(
        serde_json::from_str::<Value>(&reply.body).unwrap(),
        serde_json::json!({"status": false, "message": "The database is busy, try again in a moment."})
    );
    assert_eq!(reply.header("retry-after"), Some("1"));
    holder.join().unwrap();
    assert_eq!(count(&server.database), before, "nothing was written");
    // Once the lock is free, the same write goes through.
    let reply = tcp::request(
        &server.addr,
        "PATCH",
        &path,
        &[("Authorization", &token)],
        Some(r#"{"rating": 4}"#),
    )
    .unwrap();
    assert_eq!(reply.status, 201, "{}", reply.body);
}
