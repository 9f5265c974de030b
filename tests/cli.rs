//! The operator commands, run as processes of the built binary: seed, export-events, user, backup.

mod common;

use rocket::local::blocking::Client;
use rusqlite::Connection;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Output;

fn run(db: &Path, args: &[&str]) -> Output {
    run_with_stdin(db, args, "")
}

fn run_with_stdin(db: &Path, args: &[&str], stdin: &str) -> Output {
    common::server::run(db, args, stdin)
}

#[track_caller]
fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[track_caller]
fn fails(output: &Output, expected: &str) {
    assert!(
        !output.status.success(),
        "should fail: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(expected),
        "stderr {stderr:?} lacks {expected:?}"
    );
    assert!(
        stderr.lines().filter(|l| l.starts_with("error")).count() <= 1,
        "one error line: {stderr}"
    );
}

const SMALL: [&str; 7] = [
    "seed",
    "--contents",
    "600",
    "--users",
    "40",
    "--interactions",
    "2500",
];

fn summary(db: &Path) -> Vec<(String, i64)> {
    let conn = Connection::open(db).unwrap();
    let mut out = Vec::new();
    for table in [
        "content",
        "movie",
        "track",
        "book",
        "episode",
        "\"user\"",
        "meta_user_content",
        "content_genres",
        "liked_genres",
        "group_members",
    ] {
        out.push((
            table.to_owned(),
            conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
                .unwrap(),
        ));
    }
    out.push((
        "events".into(),
        conn.query_row("SELECT count(*) FROM event_log", [], |r| r.get(0))
            .unwrap(),
    ));
    // A digest of the data itself, not only its size.
    let digest: i64 = conn
        .query_row(
            "SELECT sum(length(coalesce(t.title, '')) * t.content_id) + (SELECT sum(coalesce(rating, 7) * content_id + count * user_id) FROM meta_user_content)
             FROM track t",
            [],
            |r| r.get(0),
        )
        .unwrap();
    out.push(("digest".into(), digest));
    out
}

#[test]
fn seeding_is_deterministic_and_its_event_log_replays() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a.db"),
        dir.path().join("b.db"),
        dir.path().join("c.db"),
    );
    let out = ok(&run(&a, &[&SMALL[..], &["--seed", "7"]].concat()));
    assert!(
        out.contains("600 contents") && out.contains("2500 interactions"),
        "{out}"
    );
    ok(&run(&b, &[&SMALL[..], &["--seed", "7"]].concat()));
    ok(&run(&c, &[&SMALL[..], &["--seed", "8"]].concat()));
    assert_eq!(summary(&a), summary(&b), "same seed, same data");
    assert_ne!(
        summary(&a).last(),
        summary(&c).last(),
        "another seed, other data"
    );

    let conn = Connection::open(&a).unwrap();
    assert_eq!(
        common::replay_metas(&conn),
        common::stored_metas(&conn),
        "the seeded event log replays to the seeded metas"
    );
    // Every content has its added event, and real movies are there.
    let contents: i64 = conn
        .query_row("SELECT count(*) FROM content", [], |r| r.get(0))
        .unwrap();
    let added: i64 = conn
        .query_row("SELECT count(*) FROM event_log WHERE kind LIKE '%\\_added\\_event' ESCAPE '\\' AND kind != 'meta_added_event'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(added, contents);
    let imdb: i64 = conn
        .query_row(
            "SELECT count(*) FROM movie WHERE imdbid LIKE 'tt%' AND title IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(imdb, 120, "20% of 600 are real films");
    // Views ≥ ratings: every rated interaction was also seen.
    let unseen_ratings: i64 = conn.query_row("SELECT count(*) FROM meta_user_content WHERE rating IS NOT NULL AND review_see_count < 1", [], |r| r.get(0)).unwrap();
    assert_eq!(unseen_ratings, 0);
    // Content averages agree with the seeded ratings.
    let mismatched: i64 = conn
        .query_row(
            "SELECT count(*) FROM content c JOIN (SELECT content_id, count(rating) n FROM meta_user_content GROUP BY content_id) m
             ON m.content_id = c.content_id WHERE c.rating_count != m.n",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(mismatched, 0);
}

#[test]
fn seeded_accounts_log_in_with_the_demo_password() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    ok(&run(&db, &SMALL));
    let client = client(&db);
    // 40 accounts: the admin, then user1 … user39, as `seed --help` and README say.
    let emails: Vec<String> =
        common::query_strings(&db, r#"SELECT email FROM "user" ORDER BY user_id"#);
    let expected: Vec<String> = std::iter::once("admin@example.com".to_owned())
        .chain((1..40).map(|n| format!("user{n}@example.com")))
        .collect();
    assert_eq!(emails, expected);
    for (email, admin) in [
        ("admin@example.com", true),
        ("user1@example.com", false),
        ("user39@example.com", false),
    ] {
        let token = login(&client, email, "Demo1234!").expect("seeded account logs in");
        assert_eq!(
            common::claims(&token)["user_claims"]["permissions"]
                .as_array()
                .unwrap()
                .contains(&json!("access_sandbox")),
            admin
        );
    }
}

#[test]
fn seeding_refuses_a_non_empty_database_unless_appending() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    ok(&run(&db, &SMALL));
    let before = summary(&db);
    fails(&run(&db, &SMALL), "already has contents; pass --append");
    assert_eq!(summary(&db), before);
    ok(&run(
        &db,
        &[&SMALL[..], &["--append", "--seed", "2"]].concat(),
    ));
    let after = summary(&db);
    let contents = |s: &[(String, i64)]| s[0].1 - s[4].1; // content rows that are not episodes
    assert_eq!(
        contents(&after),
        2 * contents(&before),
        "the append added another 600 contents"
    );
    assert_eq!(after[5].1, 2 * before[5].1, "and another 40 users");
    let appended: Vec<String> = common::query_strings(
        &db,
        r#"SELECT email FROM "user" ORDER BY user_id DESC LIMIT 1"#,
    );
    assert_eq!(
        appended,
        ["user79@example.com"],
        "appended accounts continue the series"
    );
    fails(
        &run(&db, &["seed", "--size", "huge"]),
        "invalid value 'huge'",
    );
    fails(
        &run(&dir.path().join("e.db"), &["seed", "--contents", "0"]),
        "nothing to seed",
    );
}

#[test]
fn commands_refuse_a_file_that_is_not_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("notes.txt");
    std::fs::write(&bogus, "plain text, not a database ".repeat(200)).unwrap();
    for args in [
        vec!["seed"],
        vec!["export-events"],
        vec!["user", "list"],
        vec!["backup", "--output", "x.db"],
    ] {
        fails(&run(&bogus, &args), "not a usable SQLite database");
    }
    fails(
        &run(&dir.path().join("missing.db"), &["user", "list"]),
        "does not exist",
    );
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn export_streams_every_event_and_resumes_after_an_id() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    ok(&run(&db, &SMALL));
    let total: i64 = Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM event_log", [], |r| r.get(0))
        .unwrap();
    let full = lines(&ok(&run(&db, &["export-events"])));
    assert_eq!(full.len() as i64, total);
    let ids: Vec<i64> = full.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in id order");
    let first = &full[0];
    assert!(first["kind"].as_str().unwrap().ends_with("_added_event"));
    assert!(first.get("occured_at").is_some() && first.get("object_id").is_some());
    let meta = full
        .iter()
        .find(|e| e["kind"] == "meta_added_event")
        .unwrap();
    for key in [
        "id",
        "occured_at",
        "occured_by",
        "object_id",
        "rating",
        "review_see_count",
        "count",
    ] {
        assert!(meta.get(key).is_some(), "{key}");
    }

    let cut = ids[ids.len() / 2];
    let tail = lines(&ok(&run(
        &db,
        &["export-events", "--since", &cut.to_string()],
    )));
    assert_eq!(
        tail,
        full[ids.len() / 2 + 1..].to_vec(),
        "--since equals the tail of a full export"
    );
    let window = lines(&ok(&run(
        &db,
        &["export-events", "--since", "10", "--until", "20"],
    )));
    assert_eq!(
        window
            .iter()
            .map(|e| e["id"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        (11..=20).collect::<Vec<_>>()
    );
    let metas = lines(&ok(&run(
        &db,
        &["export-events", "--kind", "meta_added_event"],
    )));
    assert!(!metas.is_empty() && metas.iter().all(|e| e["kind"] == "meta_added_event"));

    let file = dir.path().join("events.csv");
    ok(&run(
        &db,
        &[
            "export-events",
            "--format",
            "csv",
            "--output",
            file.to_str().unwrap(),
        ],
    ));
    let mut reader = csv::Reader::from_path(&file).unwrap();
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(&header[..2], &["id".to_owned(), "kind".to_owned()]);
    assert!(header.contains(&"attribute_name".to_owned()) && header.contains(&"isbn".to_owned()));
    assert_eq!(reader.records().count() as i64, total);

    fails(
        &run(&db, &["export-events", "--kind", "bogus_event"]),
        "unknown event kind",
    );
    let unwritable = dir.path().join("no/such/dir/events.jsonl");
    fails(
        &run(
            &db,
            &["export-events", "--output", unwritable.to_str().unwrap()],
        ),
        "cannot write",
    );
    assert!(!unwritable.exists());
}

fn client(db: &Path) -> Client {
    let mut settings = recofinement::config::Settings::for_database(db);
    settings.bcrypt_cost = 4;
    settings.engine_interval = 0;
    let rocket = recofinement::api::build(&settings).unwrap();
    let figment = rocket.figment().clone().merge(("log_level", "off"));
    Client::tracked(rocket.configure(figment)).unwrap()
}

fn login(client: &Client, email: &str, password: &str) -> Option<String> {
    let response = client
        .post("/api/auth/login")
        .header(rocket::http::ContentType::JSON)
        .body(json!({"email": email, "password": password}).to_string())
        .dispatch();
    let body: Value = serde_json::from_str(&response.into_string()?).ok()?;
    body["access_token"].as_str().map(str::to_owned)
}

#[test]
fn user_administration() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("u.db");
    ok(&run(&db, &["migrate"]));
    let created = ok(&run_with_stdin(
        &db,
        &[
            "user",
            "create",
            "--email",
            "root@example.com",
            "--username",
            "root",
            "--admin",
        ],
        "Sup3r!secret\n",
    ));
    assert!(
        created.contains("created root@example.com") && created.contains("admin"),
        "{created}"
    );
    ok(&run_with_stdin(
        &db,
        &[
            "user",
            "create",
            "--email",
            "bob@example.com",
            "--username",
            "bobby",
        ],
        "Bob!2345x\n",
    ));

    let client = client(&db);
    let token = login(&client, "root@example.com", "Sup3r!secret").expect("the admin logs in");
    let permissions = common::claims(&token)["user_claims"]["permissions"].clone();
    assert!(
        permissions
            .as_array()
            .unwrap()
            .contains(&json!("access_sandbox")),
        "{permissions}"
    );
    let bob = login(&client, "bob@example.com", "Bob!2345x").expect("bob logs in");
    assert!(
        !common::claims(&bob)["user_claims"]["permissions"]
            .as_array()
            .unwrap()
            .contains(&json!("access_sandbox"))
    );

    // The API's rules, and nothing half-written.
    fails(
        &run_with_stdin(
            &db,
            &[
                "user",
                "create",
                "--email",
                "bob@example.com",
                "--username",
                "other",
            ],
            "Bob!2345x\n",
        ),
        "Email is already being used.",
    );
    fails(
        &run_with_stdin(
            &db,
            &[
                "user",
                "create",
                "--email",
                "weak@example.com",
                "--username",
                "weakling",
            ],
            "password\n",
        ),
        "Password must contain",
    );
    fails(
        &run_with_stdin(
            &db,
            &[
                "user",
                "create",
                "--email",
                "not-an-email",
                "--username",
                "x",
            ],
            "Bob!2345x\n",
        ),
        "Not a valid email address.",
    );
    let listed = ok(&run(&db, &["user", "list"]));
    assert_eq!(listed.lines().count(), 3, "{listed}");
    assert!(listed.contains("root@example.com") && listed.contains("user,admin"));

    ok(&run(&db, &["user", "grant", "bob@example.com", "admin"]));
    let bob = login(&client, "bob@example.com", "Bob!2345x").unwrap();
    assert!(
        common::claims(&bob)["user_claims"]["permissions"]
            .as_array()
            .unwrap()
            .contains(&json!("access_sandbox"))
    );
    ok(&run(&db, &["user", "revoke", "bob@example.com", "admin"]));
    fails(
        &run(&db, &["user", "grant", "bob@example.com", "wizard"]),
        "no role named \"wizard\"",
    );
    fails(
        &run(&db, &["user", "grant", "nobody@example.com", "admin"]),
        "no user",
    );

    ok(&run_with_stdin(
        &db,
        &["user", "set-password", "bob@example.com"],
        "N3w!pass\n",
    ));
    assert!(login(&client, "bob@example.com", "Bob!2345x").is_none());
    assert!(login(&client, "bob@example.com", "N3w!pass").is_some());
    fails(
        &run_with_stdin(&db, &["user", "set-password", "bob@example.com"], "short\n"),
        "Length must be between 8 and 128.",
    );

    ok(&run(&db, &["user", "delete", "bob@example.com"]));
    assert!(login(&client, "bob@example.com", "N3w!pass").is_none());
    assert_eq!(ok(&run(&db, &["user", "list"])).lines().count(), 2);
}

#[test]
fn backup_during_concurrent_writes_is_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    ok(&run(&db, &SMALL));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (db, stop) = (db.clone(), stop.clone());
        std::thread::spawn(move || {
            let conn = Connection::open(&db).unwrap();
            conn.busy_timeout(std::time::Duration::from_secs(5))
                .unwrap();
            let mut writes = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let ctx = recofinement::events::EventContext::now(None);
                let table = &recofinement::media::Medium::by_name("movie").unwrap().table;
                let values = table
                    .columns
                    .iter()
                    .map(|_| rusqlite::types::Value::Text(format!("w{writes}")))
                    .collect();
                let tx = conn.unchecked_transaction().unwrap();
                recofinement::db::catalogue::add(
                    &tx,
                    &ctx,
                    table,
                    &recofinement::db::catalogue::NewContent {
                        values,
                        genres: vec![],
                    },
                )
                .unwrap();
                tx.commit().unwrap();
                writes += 1;
            }
            writes
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(100));
    let copy = dir.path().join("copy.db");
    let out = ok(&run(&db, &["backup", "--output", copy.to_str().unwrap()]));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let writes = writer.join().unwrap();
    assert!(writes > 0);
    assert!(out.contains("integrity ok"), "{out}");
    let conn = Connection::open(&copy).unwrap();
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(verdict, "ok");
    // A consistent snapshot: every content of the copy has its added event.
    let (contents, added): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM content), (SELECT count(*) FROM event_log WHERE kind != 'meta_added_event' AND kind != 'changed_event')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(contents, added);
    fails(
        &run(&db, &["backup", "--output", copy.to_str().unwrap()]),
        "already exists",
    );
    let unwritable = dir.path().join("no/dir/copy.db");
    fails(
        &run(&db, &["backup", "--output", unwritable.to_str().unwrap()]),
        "cannot write",
    );
    assert!(!unwritable.exists());
}
