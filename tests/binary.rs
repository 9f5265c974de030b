//! The compiled binary, run as a process: `serve` on a free port talked to over TCP, `migrate`, and
//! `--help` on every command.

#[path = "common/server.rs"]
mod server;
#[path = "common/tcp.rs"]
mod tcp;

use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

use server::{BIN, Server};

/// Starts `recofinement serve` on port 0 and reads the bound address from its log.
fn start(dir: &std::path::Path) -> Server {
    Server::start(dir, &[], &[])
}

#[test]
fn serve_answers_over_tcp_and_persists_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let health = tcp::request(&server.addr, "GET", "/api/health", &[], None).unwrap();
    assert_eq!(health.status, 200);
    let body: Value = serde_json::from_str(&health.body).unwrap();
    assert_eq!(body["status"], true);
    assert!(body["schema_version"].as_i64().unwrap() >= 3);
    assert_eq!(health.header("access-control-allow-origin"), Some("*"));

    let register = tcp::request(
        &server.addr,
        "POST",
        "/api/auth/register",
        &[("Origin", "http://localhost:4200")],
        Some(r#"{"email": "alice@example.com", "username": "alice", "password": "Azerty123!"}"#),
    )
    .unwrap();
    assert_eq!(register.status, 201, "{}", register.body);
    assert_eq!(
        register.header("access-control-allow-origin"),
        Some("http://localhost:4200")
    );
    let token = serde_json::from_str::<Value>(&register.body).unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let auth = format!("Bearer {token}");
    let export = tcp::request(
        &server.addr,
        "GET",
        "/api/user/export",
        &[("Authorization", &auth)],
        None,
    )
    .unwrap();
    assert_eq!(export.status, 200);

    let docs = tcp::request(&server.addr, "GET", "/api/", &[], None).unwrap();
    assert_eq!(docs.status, 200);
    assert!(docs.body.contains("swagger-ui-bundle.js"));

    // With no SMTP server configured, the welcome mail is a file beside the database, which the
    // log names.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut named = None;
    while named.is_none() && Instant::now() < deadline {
        if let Ok(line) = server.log.recv_timeout(Duration::from_millis(200))
            && line.contains("mail written to a file")
        {
            named = line
                .split("file=")
                .nth(1)
                .map(|f| f.split_whitespace().next().unwrap().to_owned());
        }
    }
    let file = named.expect("the log names the mail's file");
    assert!(
        file.starts_with(dir.path().join("live.db.mail").to_str().unwrap()),
        "{file}"
    );
    let welcome = std::fs::read_to_string(&file).unwrap();
    assert!(welcome.contains("Welcome to RecoFinement"), "{welcome}");

    // The worker marks the mail sent just after writing its file (and logging it): let it.
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let conn = rusqlite::Connection::open(dir.path().join("live.db")).unwrap();
        let sent: i64 = conn
            .query_row(
                "SELECT count(*) FROM mail_outbox WHERE sent_at IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .unwrap_or(0);
        if sent > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(server);
    // The data is in the file; the secret sits beside it with mode 0600.
    let conn = rusqlite::Connection::open(dir.path().join("live.db")).unwrap();
    let users: i64 = conn
        .query_row(r#"SELECT count(*) FROM "user""#, [], |r| r.get(0))
        .unwrap();
    assert_eq!(users, 1);
    let sent: i64 = conn
        .query_row(
            "SELECT count(*) FROM mail_outbox WHERE sent_at IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(sent, 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("live.db.secret"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn a_token_survives_a_restart_because_the_secret_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let token = {
        let server = start(dir.path());
        let reply = tcp::request(
            &server.addr,
            "POST",
            "/api/auth/register",
            &[],
            Some(
                r#"{"email": "alice@example.com", "username": "alice", "password": "Azerty123!"}"#,
            ),
        )
        .unwrap();
        serde_json::from_str::<Value>(&reply.body).unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let server = start(dir.path());
    let auth = format!("Bearer {token}");
    let reply = tcp::request(
        &server.addr,
        "GET",
        "/api/user/genre",
        &[("Authorization", &auth)],
        None,
    )
    .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn migrate_creates_then_reports_a_current_schema() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let first = Command::new(BIN)
        .arg("--database")
        .arg(&db)
        .arg("migrate")
        .output()
        .unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let out = String::from_utf8_lossy(&first.stdout);
    assert!(
        out.contains("applied V1__reference_schema") && out.contains("schema now at version"),
        "{out}"
    );
    let again = Command::new(BIN)
        .arg("--database")
        .arg(&db)
        .arg("migrate")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("schema is current"));
    let conn = rusqlite::Connection::open(&db).unwrap();
    let reference_tables = [
        "application",
        "application_added_event",
        "application_additional",
        "application_additional_genres",
        "bad_recommendation_content",
        "book",
        "book_added_event",
        "book_additional",
        "changed_event",
        "content",
        "content_genres",
        "deletion_event",
        "engine",
        "episode",
        "episode_added_event",
        "episode_additional",
        "episode_additional_genres",
        "external_service",
        "game",
        "game_added_event",
        "game_additional",
        "game_additional_genres",
        "genre",
        "group",
        "group_members",
        "invitations",
        "liked_genres",
        "liked_genres_profile",
        "linked_genre",
        "meta_added_event",
        "meta_profile_content",
        "meta_user_content",
        "movie",
        "movie_added_event",
        "movie_additional",
        "movie_additional_genres",
        "permission",
        "profile",
        "recommendation_launched_for_profile_event",
        "recommendation_launched_liked_genre",
        "recommendation_launched_meta",
        "recommendation_launched_result",
        "recommended_content",
        "recommended_content_for_group",
        "revoked_token",
        "role",
        "role_permission",
        "serie",
        "serie_added_event",
        "serie_additional",
        "serie_additional_genres",
        "similars_content",
        "track",
        "track_added_event",
        "track_additional",
        "track_additional_genres",
        "user",
        "user_role",
    ];
    assert_eq!(reference_tables.len(), 58);
    for table in reference_tables {
        let found: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [table],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(found, 1, "table {table}");
    }
    let permissions: i64 = conn
        .query_row("SELECT count(*) FROM permission", [], |r| r.get(0))
        .unwrap();
    assert_eq!(permissions, 9);
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("notes.txt");
    std::fs::write(
        &bogus,
        "these are not the droids you are looking for, this is plain text".repeat(100),
    )
    .unwrap();
    for command in ["migrate", "serve"] {
        let output = Command::new(BIN)
            .arg("--database")
            .arg(&bogus)
            .arg(command)
            .env("ROCKET_PORT", "0")
            .output()
            .unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("error:") && stderr.contains("not"),
            "{command}: {stderr}"
        );
    }
}

#[test]
fn every_command_explains_itself() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
    ] {
        let output = Command::new(BIN).args(&args).output().unwrap();
        assert!(output.status.success(), "{args:?}");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(
            text.contains("--database") && text.contains("RECOFINEMENT_DATABASE"),
            "{args:?}: {text}"
        );
    }
    let unknown = Command::new(BIN).arg("frobnicate").output().unwrap();
    assert!(!unknown.status.success());
}
