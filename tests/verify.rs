//! `recofinement verify` (issue 17): a whole file passes; each kind of damage a restore could bring —
//! a lost event, a counter ahead of the log, an interaction that disagrees with its events, a row
//! pointing at nothing — fails with its own line and exit status 1; what other tools legitimately
//! write (rows without events) and deletions (rows gone with their content) pass.

use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn binary(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_recofinement"))
        .arg("--database")
        .arg(db)
        .args(["--bcrypt-cost", "4"])
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn seeded(dir: &Path, name: &str) -> PathBuf {
    let db = dir.join(name);
    let out = binary(
        &db,
        &[
            "seed",
            "--contents",
            "300",
            "--users",
            "20",
            "--interactions",
            "600",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    db
}

/// (passed, stdout)
fn verify(db: &Path) -> (bool, String) {
    let out = binary(db, &["verify"]);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn damaged(dir: &Path, name: &str, sql: &str) -> (bool, String) {
    let db = seeded(dir, name);
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(sql).unwrap();
    drop(conn);
    verify(&db)
}

#[test]
fn a_whole_file_passes_and_each_kind_of_damage_fails() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path(), "whole.db");
    let (passed, out) = verify(&db);
    assert!(passed, "{out}");
    assert!(out.contains("interactions ok"), "{out}");

    let (passed, out) = damaged(
        dir.path(),
        "hole.db",
        "DELETE FROM meta_added_event WHERE id = (SELECT min(id) + 5 FROM meta_added_event);",
    );
    assert!(
        !passed && out.contains("FAILED events:") && out.contains("is missing"),
        "{out}"
    );

    let (passed, out) = damaged(
        dir.path(),
        "ahead.db",
        "UPDATE event_sequence SET last_id = last_id + 3;",
    );
    assert!(!passed && out.contains("ahead of the log"), "{out}");

    let (passed, out) = damaged(
        dir.path(),
        "behind.db",
        "UPDATE event_sequence SET last_id = last_id - 1;",
    );
    assert!(
        !passed && out.contains("behind the highest event id"),
        "{out}"
    );

    let (passed, out) = damaged(
        dir.path(),
        "disagrees.db",
        "UPDATE meta_user_content SET review_see_count = review_see_count + 1
           WHERE rowid = (SELECT min(rowid) FROM meta_user_content);",
    );
    assert!(
        !passed && out.contains("FAILED interactions: user"),
        "{out}"
    );

    let (passed, out) = damaged(
        dir.path(),
        "rowless.db",
        "DELETE FROM meta_user_content WHERE rowid = (SELECT max(rowid) FROM meta_user_content);",
    );
    assert!(!passed && out.contains("events but no row"), "{out}");

    let (passed, out) = damaged(
        dir.path(),
        "dangling.db",
        "PRAGMA foreign_keys = OFF;
         INSERT INTO content_genres (content_id, genre_id) VALUES (999999, 999999);",
    );
    assert!(!passed && out.contains("FAILED foreign key"), "{out}");
}

#[test]
fn rows_other_tools_wrote_and_deleted_contents_pass() {
    let dir = tempfile::tempdir().unwrap();
    // An interaction written by SQL, without events (a dataset loader does that).
    let (passed, out) = damaged(
        dir.path(),
        "loaded.db",
        "INSERT INTO meta_user_content (user_id, content_id, rating, review_see_count, count)
         SELECT u.user_id, c.content_id, 4, 0, 0 FROM \"user\" u, content c
          WHERE NOT EXISTS (SELECT 1 FROM meta_user_content m WHERE m.user_id = u.user_id AND m.content_id = c.content_id)
          LIMIT 1;",
    );
    assert!(passed, "{out}");
    assert!(out.contains("1 written without events"), "{out}");

    // A content deleted with its interactions: their events stay, and that is fine.
    let db = seeded(dir.path(), "deleted.db");
    let conn = Connection::open(&db).unwrap();
    let (content, medium): (i64, String) = conn
        .query_row(
            "SELECT m.content_id, lower(c.content_type) FROM meta_user_content m
               JOIN content c USING (content_id) WHERE c.content_type = 'BOOK' LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    drop(conn);
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(&format!(
        "PRAGMA foreign_keys = ON; DELETE FROM {medium} WHERE content_id = {content};
         DELETE FROM content WHERE content_id = {content};"
    ))
    .unwrap();
    drop(conn);
    let (passed, out) = verify(&db);
    assert!(passed, "{out}");
}

#[test]
fn backup_verify_checks_the_copy_and_other_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path(), "live.db");
    let copy = dir.path().join("copy.db");
    let out = binary(
        &db,
        &["backup", "--output", copy.to_str().unwrap(), "--verify"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("verified") && text.contains("copy.db"),
        "{text}"
    );

    let other = dir.path().join("other.db");
    Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t (x);")
        .unwrap();
    let (passed, out) = verify(&other);
    assert!(
        !passed && out.contains("not a RecoFinement database"),
        "{out}"
    );
    let (passed, out) = verify(&dir.path().join("missing.db"));
    assert!(!passed && out.contains("cannot open"), "{out}");
}
