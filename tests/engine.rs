//! The engine's incremental contract (decisions F17; issue 6): watermarks, crash safety, no double
//! counting, and the popularity stage's scores.

mod common;

use common::TestApp;
use recofinement::engine::{self, EngineError, RunOutcome, popularity};
use serde_json::json;

fn score(app: &TestApp, id: i64) -> f64 {
    app.db()
        .query_row(
            "SELECT popularity_score FROM content WHERE content_id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap()
}

fn last_event(app: &TestApp) -> i64 {
    app.count("SELECT last_id FROM event_sequence")
}

#[test]
fn popularity_follows_ratings_and_views_and_runs_only_when_needed() {
    let app = TestApp::new();
    let users: Vec<_> = (0..6)
        .map(|i| app.register(&format!("u{i}@example.com"), &format!("user{i}")))
        .collect();
    let loved = app.add_content("movie", json!({"title": "Loved"}), &[]);
    let once = app.add_content("movie", json!({"title": "Rated once"}), &[]);
    let seen = app.add_content("movie", json!({"title": "Only seen"}), &[]);
    let ignored = app.add_content("movie", json!({"title": "Nobody"}), &[]);
    let song = app.add_content("track", json!({"title": "Song"}), &[]);
    for user in &users {
        app.request(
            "PATCH",
            &format!("/api/movie/{loved}/meta"),
            Some(&user.token),
            Some(&json!({"rating": 5, "additional_count": 1})),
        );
        app.get(&format!("/api/movie/{seen}/meta"), &user.token);
    }
    app.request(
        "PATCH",
        &format!("/api/movie/{once}/meta"),
        Some(&users[0].token),
        Some(&json!({"rating": 5})),
    );

    let mut conn = app.db();
    let outcome = popularity::run(&mut conn, false).unwrap();
    assert!(
        matches!(outcome, RunOutcome::Ran { from: 0, .. }),
        "{outcome:?}"
    );
    assert_eq!(
        engine::watermark(&conn, popularity::STAGE).unwrap(),
        last_event(&app)
    );
    let (l, o, s, n) = (
        score(&app, loved),
        score(&app, once),
        score(&app, seen),
        score(&app, ignored),
    );
    assert!(
        l > o && l > s && o > n && s > n,
        "loved {l} > once {o}, seen {s} > nobody {n}"
    );
    assert!(
        (0.0..=1.0).contains(&l) && n == 0.0,
        "one [0, 1] scale: {l} {n}"
    );
    // The popular list orders by it.
    let listed: Vec<i64> = app.get("/api/movie", &users[0].token).json()["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["content_id"].as_i64().unwrap())
        .collect();
    assert_eq!(listed[0], loved);
    assert_eq!(*listed.last().unwrap(), ignored);

    // Nothing new: nothing computed.
    assert_eq!(
        popularity::run(&mut conn, false).unwrap(),
        RunOutcome::UpToDate {
            watermark: last_event(&app)
        }
    );
    // A new rating of a track touches tracks only; the movies keep their scores.
    let before_movies = (score(&app, loved), score(&app, once));
    app.request(
        "PATCH",
        &format!("/api/track/{song}/meta"),
        Some(&users[1].token),
        Some(&json!({"rating": 4})),
    );
    let outcome = popularity::run(&mut conn, false).unwrap();
    assert!(
        matches!(outcome, RunOutcome::Ran { updated: 1, .. }),
        "{outcome:?}"
    );
    assert!(score(&app, song) > 0.0);
    assert_eq!((score(&app, loved), score(&app, once)), before_movies);
    // A full run recomputes everything and lands on the same scores.
    assert!(matches!(
        popularity::run(&mut conn, true).unwrap(),
        RunOutcome::Ran { updated: 0, .. }
    ));
}

#[test]
fn a_crash_before_the_commit_loses_nothing_and_a_concurrent_run_counts_nothing_twice() {
    let app = TestApp::new();
    let user = app.register("u@example.com", "user0");
    let movie = app.add_content("movie", json!({"title": "M"}), &[]);
    app.request(
        "PATCH",
        &format!("/api/movie/{movie}/meta"),
        Some(&user.token),
        Some(&json!({"rating": 5})),
    );
    let mut conn = app.db();

    // Simulated crash: the outputs are written, then the run fails before its commit.
    let w = engine::window(&conn, popularity::STAGE, false).unwrap();
    let result = engine::commit(&mut conn, popularity::STAGE, w, false, |tx| {
        tx.execute(
            "UPDATE content SET popularity_score = 0.99 WHERE content_id = ?1",
            [movie],
        )?;
        Err(EngineError::Sqlite(rusqlite::Error::InvalidQuery))
    });
    assert!(result.is_err());
    assert_eq!(
        engine::watermark(&conn, popularity::STAGE).unwrap(),
        0,
        "the watermark did not move"
    );
    assert_eq!(score(&app, movie), 0.0, "nor did the outputs");
    // The next run consumes the same events.
    assert!(matches!(
        popularity::run(&mut conn, false).unwrap(),
        RunOutcome::Ran { from: 0, .. }
    ));
    let settled = score(&app, movie);
    assert!(settled > 0.0);

    // Two runs start from the same watermark; the second to commit is dropped.
    app.request(
        "PATCH",
        &format!("/api/movie/{movie}/meta"),
        Some(&user.token),
        Some(&json!({"rating": 1})),
    );
    let stale = engine::window(&conn, popularity::STAGE, false).unwrap();
    assert!(matches!(
        popularity::run(&mut conn, false).unwrap(),
        RunOutcome::Ran { .. }
    ));
    let committed = engine::commit(&mut conn, popularity::STAGE, stale, false, |tx| {
        tx.execute(
            "UPDATE content SET popularity_score = 0.5 WHERE content_id = ?1",
            [movie],
        )?;
        Ok(())
    })
    .unwrap();
    assert!(
        !committed,
        "a run whose watermark moved meanwhile does not commit"
    );
    assert_ne!(score(&app, movie), 0.5);
    assert_eq!(
        engine::watermark(&conn, popularity::STAGE).unwrap(),
        last_event(&app)
    );
}

#[test]
fn the_recommend_command_runs_the_stages() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_recofinement"))
            .arg("--database")
            .arg(&db)
            .args(["--bcrypt-cost", "4"])
            .args(args)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    assert!(
        run(&[
            "seed",
            "--contents",
            "300",
            "--users",
            "20",
            "--interactions",
            "800"
        ])
        .status
        .success()
    );
    let first = String::from_utf8_lossy(&run(&["recommend"]).stdout).into_owned();
    assert!(first.contains("popularity: Ran"), "{first}");
    let second = String::from_utf8_lossy(&run(&["recommend"]).stdout).into_owned();
    assert!(second.contains("popularity: UpToDate"), "{second}");
    let full = String::from_utf8_lossy(&run(&["recommend", "--full"]).stdout).into_owned();
    assert!(full.contains("popularity: Ran"), "{full}");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (low, high): (f64, f64) = conn.query_row("SELECT min(popularity_score), max(popularity_score) FROM content WHERE content_type = 'MOVIE'", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    assert!(low >= 0.0 && high <= 1.0 && high > low, "{low} {high}");
}

fn neighbours(app: &TestApp, id: i64) -> Vec<i64> {
    app.db()
        .prepare("SELECT content_id1 FROM similars_content WHERE content_id0 = ?1 ORDER BY similarity DESC, content_id1")
        .unwrap()
        .query_map([id], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn similar_contents_share_people_and_genres_and_new_ones_are_patched_in() {
    use recofinement::engine::similarity;
    let app = TestApp::new();
    let crime = app.add_genre("Crime", "MOVIE");
    let comedy = app.add_genre("Comedy", "MOVIE");
    let heat = app.add_content("movie", json!({"title": "Heat", "director": "Michael Mann", "actors": "Al Pacino, Robert De Niro", "year": "1995"}), &[crime]);
    let collateral = app.add_content("movie", json!({"title": "Collateral", "director": "Michael Mann", "actors": "Tom Cruise", "year": "2004"}), &[crime]);
    let godfather = app.add_content("movie", json!({"title": "The Godfather", "director": "Francis Ford Coppola", "actors": "Al Pacino, Marlon Brando", "year": "1972"}), &[crime]);
    let comedy_movie = app.add_content("movie", json!({"title": "Airplane", "director": "Jim Abrahams", "actors": "Leslie Nielsen", "year": "1980"}), &[comedy]);
    for i in 0..30 {
        app.add_content("movie", json!({"title": format!("Filler {i}"), "director": format!("Someone {i}"), "year": "2010"}), &[comedy]);
    }
    let song = app.add_content(
        "track",
        json!({"title": "Heat", "artist_name": "Michael Mann"}),
        &[],
    );
    let mut conn = app.db();
    assert!(matches!(
        similarity::run(&mut conn, false).unwrap(),
        RunOutcome::Ran { from: 0, .. }
    ));

    let of_heat = neighbours(&app, heat);
    assert!(of_heat.len() <= similarity::NEIGHBOURS);
    assert_eq!(
        &of_heat[..2],
        &[collateral, godfather],
        "same director first, then shared actor and genre"
    );
    assert!(!of_heat.contains(&comedy_movie), "nothing in common");
    assert!(!of_heat.contains(&song), "neighbours stay in their medium");
    let kinds: i64 =
        app.count("SELECT count(*) FROM similars_content WHERE content_type0 != content_type1");
    assert_eq!(kinds, 0);
    assert_eq!(
        similarity::run(&mut conn, false).unwrap(),
        RunOutcome::UpToDate {
            watermark: app.count("SELECT last_id FROM event_sequence")
        }
    );

    // A new film by the same director: its list is computed and it enters Heat's, without a full pass.
    let untouched_before = neighbours(&app, comedy_movie);
    let thief = app.add_content("movie", json!({"title": "Public Enemies", "director": "Michael Mann", "actors": "Johnny Depp", "year": "2009"}), &[crime]);
    let outcome = similarity::run(&mut conn, false).unwrap();
    assert!(
        matches!(outcome, RunOutcome::Ran { updated, .. } if updated < 100),
        "incremental: {outcome:?}"
    );
    assert!(
        neighbours(&app, thief).starts_with(&[collateral])
            || neighbours(&app, thief).starts_with(&[heat])
    );
    assert!(
        neighbours(&app, heat).contains(&thief),
        "patched into Heat's list"
    );
    assert_eq!(neighbours(&app, comedy_movie), untouched_before);
    // A full rebuild agrees with the patched state on the new film's place.
    similarity::run(&mut conn, true).unwrap();
    assert!(neighbours(&app, heat).contains(&thief));
    // Deleting a content removes its own list at once, and the next run computes the lists that
    // named it again, without it.
    let heat_before = neighbours(&app, heat);
    let admin = app.register_admin("root@example.com", "root");
    app.request(
        "DELETE",
        &format!("/api/movie/{thief}"),
        Some(&admin.token),
        None,
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM similars_content WHERE content_id0 = {thief}"
        )),
        0
    );
    let outcome = similarity::run(&mut conn, false).unwrap();
    assert!(
        matches!(outcome, RunOutcome::Ran { .. }),
        "deletion: {outcome:?}"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM similars_content WHERE content_id0 = {thief} OR content_id1 = {thief}"
        )),
        0
    );
    let heat_after = neighbours(&app, heat);
    assert!(heat_before.contains(&thief) && !heat_after.contains(&thief));
    similarity::run(&mut conn, true).unwrap();
    assert_eq!(
        neighbours(&app, heat),
        heat_after,
        "the list computed again is the one a full rebuild makes"
    );
}

/// A database file seeded with `(contents, users, interactions)`, migrated, on a connection.
fn seeded_file(
    path: &std::path::Path,
    seed: u64,
    (contents, users, interactions): (usize, usize, usize),
) -> rusqlite::Connection {
    use recofinement::{db, seed};
    let mut conn = db::open_connection(path).unwrap();
    db::migrate(&mut conn).unwrap();
    let mut plan = seed::Plan::sized(seed::Size::Small, seed);
    (plan.contents, plan.users, plan.interactions) = (contents, users, interactions);
    plan.bcrypt_cost = 4;
    seed::run(&mut conn, &plan).unwrap();
    conn
}

/// A full run computes the stages before the lists side by side, on two connections to the file
/// (`engine::run_before_lists`): what it writes must be what the stages write one after the other.
#[test]
fn a_full_run_side_by_side_writes_what_the_stages_write_one_after_the_other() {
    use recofinement::db;
    let dir = tempfile::tempdir().unwrap();
    let (side, one_by_one) = (dir.path().join("side.db"), dir.path().join("one.db"));
    {
        let conn = seeded_file(&side, 11, (1_500, 150, 9_000));
        // Everything into the main file, so that a copy of it is the whole database.
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .unwrap();
    }
    std::fs::copy(&side, &one_by_one).unwrap();

    let mut conn = db::open_connection(&side).unwrap();
    let outcomes = engine::run_all(&mut conn, true).unwrap();
    let stages: Vec<&str> = outcomes.iter().map(|(stage, _)| *stage).collect();
    assert_eq!(stages, engine::STAGES);
    assert!(
        outcomes
            .iter()
            .all(|(_, outcome)| matches!(outcome, RunOutcome::Ran { .. })),
        "{outcomes:?}"
    );
    let mut other = db::open_connection(&one_by_one).unwrap();
    for stage in engine::STAGES {
        engine::run_stage(&mut other, stage, true).unwrap();
    }

    for query in [
        "SELECT content_id, popularity_score FROM content ORDER BY 1",
        "SELECT content_id0, content_id1, similarity FROM similars_content ORDER BY 1, 2",
        "SELECT content_id, hex(neighbours) FROM collaborative_neighbours ORDER BY 1",
        "SELECT user_id, content_id, score, engine FROM recommended_content ORDER BY 1, 2, 4",
        "SELECT group_id, content_id, score, engine FROM recommended_content_for_group ORDER BY 1, 2, 4",
        "SELECT stage, last_event_id FROM engine_stage ORDER BY 1",
    ] {
        let rows = |conn: &rusqlite::Connection| -> Vec<String> {
            let mut stmt = conn.prepare(query).unwrap();
            let width = stmt.column_count();
            stmt.query_map([], |r| {
                (0..width)
                    .map(|i| {
                        r.get::<_, rusqlite::types::Value>(i)
                            .map(|v| format!("{v:?}"))
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(|values| values.join(" "))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
        };
        let (got, want) = (rows(&conn), rows(&other));
        assert!(!want.is_empty(), "{query}: nothing written");
        assert!(
            got == want,
            "{query}: {} rows against {}",
            got.len(),
            want.len()
        );
    }
}

#[test]
fn a_full_run_of_the_lists_queues_for_the_writer_gate_on_each_of_its_threads() {
    use recofinement::{db, engine::personal};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gate.db");
    {
        let mut conn = seeded_file(&path, 5, (600, 60, 3_000));
        engine::run_all(&mut conn, true).unwrap();
        conn.execute("DELETE FROM recommended_content", []).unwrap();
    }
    let listed = || -> i64 {
        db::open_connection(&path)
            .unwrap()
            .query_row("SELECT count(*) FROM recommended_content", [], |r| r.get(0))
            .unwrap()
    };
    let store = db::Db::open(&path).unwrap();
    // The server's writer holds the gate: the run computes, then waits to write.
    let held = store.gate().clone().blocking_lock_owned();
    let gate = store.gate().clone();
    let run = {
        let path = path.clone();
        std::thread::spawn(move || {
            let mut conn = db::open_connection(&path).unwrap();
            db::writer::in_scope(&gate, false, || {
                engine::run_stage(&mut conn, personal::STAGE, true)
            })
        })
    };
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert!(!run.is_finished());
    assert_eq!(
        listed(),
        0,
        "lists written while another writer held the gate"
    );
    drop(held);
    assert!(matches!(
        run.join().unwrap().unwrap(),
        RunOutcome::Ran { .. }
    ));
    assert!(listed() > 0);
}
