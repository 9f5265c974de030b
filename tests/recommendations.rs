//! Per-person recommendations (issue 6): collaborative filtering with fold-in, liked genres for cold
//! start, similar contents, groups and sandbox profiles, in all six media — read back through the API.

mod common;

use common::community::{
    MEDIA, catalogue, catalogue_in_turns, community, consume, listed, run_everything,
};
use common::{TestApp, User};
use recofinement::engine::{self, RunOutcome, collaborative, personal};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

/// A user's stored rows: content → (engine, priority, content_type, score).
fn stored(app: &TestApp, user: &User) -> BTreeMap<i64, (String, i64, String, f64)> {
    let user_id = app.user_id(&user.uuid);
    app.db()
        .prepare("SELECT content_id, engine, engine_priority, content_type, score FROM recommended_content WHERE user_id = ?1")
        .unwrap()
        .query_map([user_id], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn every_medium_gets_collaborative_lists_without_consumed_or_reported_contents() {
    let app = TestApp::new();
    let cat = catalogue(&app);
    let (target, _) = community(&app, &cat);
    // Reported before any list exists: never listed afterwards.
    let reported = cat.alpha["movie"][2];
    let reply = app.request(
        "POST",
        &format!("/api/movie/{reported}/bad_recommendation"),
        Some(&target.token),
        Some(&json!({"year": ["2010"]})),
    );
    assert_eq!(reply.status.code, 201, "{}", reply.text);
    run_everything(&app);

    let rows = stored(&app, &target);
    for (medium, content_type) in MEDIA {
        let alpha = &cat.alpha[medium];
        let list = listed(&app, &target, medium);
        assert!(!list.is_empty(), "{medium}: no recommendations");
        let ids: BTreeSet<i64> = list.iter().map(|(id, _)| *id).collect();
        assert!(
            !ids.contains(&alpha[0]) && !ids.contains(&alpha[1]),
            "{medium}: consumed content listed: {list:?}"
        );
        // What the alpha fans consumed together comes first, from collaborative filtering.
        let (first, engine) = &list[0];
        assert!(alpha.contains(first), "{medium}: {list:?}");
        assert_eq!(engine, "CollaborativeFiltering", "{medium}");
        for id in &alpha[3..] {
            assert!(
                ids.contains(id),
                "{medium}: alpha {id} missing from {list:?}"
            );
        }
        for (id, (engine, priority, stored_type, score)) in
            rows.iter().filter(|(id, _)| ids.contains(id))
        {
            assert_eq!(stored_type, content_type, "content_type of {id}");
            let expected = match engine.as_str() {
                "CollaborativeFiltering" => 5,
                "FromProfile" => 4,
                "FromSimilarContent" => 2,
                other => panic!("unknown engine {other}"),
            };
            assert_eq!(*priority, expected);
            assert!((0.0..=1.0).contains(score), "{score}");
        }
    }
    assert!(
        !listed(&app, &target, "movie")
            .iter()
            .any(|(id, _)| *id == reported)
    );
    assert!(
        listed(&app, &target, "book")
            .iter()
            .any(|(id, _)| *id == cat.alpha["book"][2])
    );

    // Reporting a listed content removes it at once.
    let book = cat.alpha["book"][2];
    let reply = app.request(
        "POST",
        &format!("/api/book/{book}/bad_recommendation"),
        Some(&target.token),
        Some(&json!({"author": ["Someone"]})),
    );
    assert_eq!(reply.status.code, 201, "{}", reply.text);
    assert!(
        !listed(&app, &target, "book")
            .iter()
            .any(|(id, _)| *id == book)
    );
    // ... and no later run brings it back.
    let mut conn = app.db();
    personal::run(&mut conn, true).unwrap();
    assert!(
        !listed(&app, &target, "book")
            .iter()
            .any(|(id, _)| *id == book)
    );
}

#[test]
fn one_rating_is_folded_into_that_users_list_without_retraining() {
    let app = TestApp::new();
    let cat = catalogue(&app);
    let (target, _) = community(&app, &cat);
    run_everything(&app);
    let beta = &cat.beta["track"];
    let before = listed(&app, &target, "track");
    // (Beta one and two share a title word with the alpha ones: similar, not collaborative.)
    assert!(
        !before
            .iter()
            .any(|(id, e)| beta.contains(id) && e == "CollaborativeFiltering"),
        "{before:?}"
    );
    let model_before = engine::watermark(&app.db(), collaborative::STAGE).unwrap();
    let movies_before = listed(&app, &target, "movie");

    consume(&app, &target, "track", beta[0], 5);
    let mut conn = app.db();
    let outcome = personal::run(&mut conn, false).unwrap();
    assert!(matches!(outcome, RunOutcome::Ran { .. }), "{outcome:?}");
    assert!(
        matches!(
            collaborative::run(&mut conn, false).unwrap(),
            RunOutcome::UpToDate { .. }
        ),
        "one rating among hundreds does not retrain the model"
    );
    assert_eq!(
        engine::watermark(&conn, collaborative::STAGE).unwrap(),
        model_before
    );
    let after = listed(&app, &target, "track");
    let folded: Vec<_> = after
        .iter()
        .filter(|(id, e)| beta[1..].contains(id) && e == "CollaborativeFiltering")
        .collect();
    assert_eq!(folded.len(), 5, "the other betas join the list: {after:?}");
    assert!(!after.iter().any(|(id, _)| *id == beta[0]), "just consumed");
    // Other media did not change.
    assert_eq!(listed(&app, &target, "movie"), movies_before);
    // Nothing new: nothing computed.
    assert!(matches!(
        personal::run(&mut conn, false).unwrap(),
        RunOutcome::UpToDate { .. }
    ));
}

#[test]
fn cold_start_uses_liked_genres_right_after_preferences_are_defined() {
    let app = TestApp::new();
    let cat = catalogue(&app);
    community(&app, &cat);
    run_everything(&app);
    let newcomer = app.register("new@example.com", "newcomer");
    let genre = cat.alpha_genre["movie"];
    let reply = app.request(
        "PUT",
        &format!("/api/user/genre/{genre}"),
        Some(&newcomer.token),
        None,
    );
    assert_eq!(reply.status.code, 201, "{}", reply.text);
    assert!(listed(&app, &newcomer, "movie").is_empty());

    let reply = app.request(
        "PUT",
        "/api/user/preferences_defined",
        Some(&newcomer.token),
        None,
    );
    assert_eq!(reply.status.code, 201, "{}", reply.text);
    let movies = listed(&app, &newcomer, "movie");
    assert_eq!(movies.len(), 6, "{movies:?}");
    assert!(
        movies
            .iter()
            .all(|(id, e)| cat.alpha["movie"].contains(id) && e == "FromProfile"),
        "the liked genre's contents: {movies:?}"
    );
    // Media without a liked genre start from their most popular contents.
    let games = listed(&app, &newcomer, "game");
    assert!(
        !games.is_empty() && games.iter().all(|(_, e)| e == "FromProfile"),
        "{games:?}"
    );
}

#[test]
fn liked_contents_bring_their_similar_contents() {
    let app = TestApp::new();
    let crime = app.add_genre("Crime", "MOVIE");
    let comedy = app.add_genre("Comedy", "MOVIE");
    let heat = app.add_content(
        "movie",
        json!({"title": "Heat", "director": "Michael Mann", "actors": "Al Pacino"}),
        &[crime],
    );
    let collateral = app.add_content(
        "movie",
        json!({"title": "Collateral", "director": "Michael Mann", "actors": "Tom Cruise"}),
        &[crime],
    );
    for i in 0..10 {
        app.add_content(
            "movie",
            json!({"title": format!("Comedy {i}"), "director": format!("Someone {i}")}),
            &[comedy],
        );
    }
    let user = app.register("u@example.com", "user0");
    consume(&app, &user, "movie", heat, 5);
    run_everything(&app);
    let list = listed(&app, &user, "movie");
    assert_eq!(
        list.first(),
        Some(&(collateral, "FromSimilarContent".to_owned())),
        "{list:?}"
    );
}

#[test]
fn groups_get_what_suits_all_their_people_and_nothing_any_of_them_consumed() {
    let app = TestApp::new();
    let cat = catalogue(&app);
    let (target, fans) = community(&app, &cat);
    // The target owns a group; a beta fan is a member.
    let reply = app.request(
        "POST",
        "/api/group",
        Some(&target.token),
        Some(&json!({"name": "MovieNight"})),
    );
    assert_eq!(reply.status.code, 201, "{}", reply.text);
    let group_id = app.count("SELECT max(group_id) FROM \"group\"");
    let member = &fans[4];
    app.db()
        .execute(
            "INSERT INTO group_members (user_id, group_id) VALUES (?1, ?2)",
            [app.user_id(&member.uuid), group_id],
        )
        .unwrap();
    run_everything(&app);

    for (medium, _) in MEDIA {
        for person in [&target, member] {
            let reply = app.get(&format!("/api/{medium}/groups"), &person.token);
            assert_eq!(reply.status.code, 200, "{}", reply.text);
            let ids: Vec<i64> = reply.json()["content"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["content_id"].as_i64().unwrap())
                .collect();
            assert!(!ids.is_empty(), "{medium}: empty group list");
            // The member consumed every beta, the owner alpha 0 and 1.
            assert!(
                ids.iter().all(|id| !cat.beta[medium].contains(id)),
                "{medium}: {ids:?}"
            );
            assert!(!ids.contains(&cat.alpha[medium][0]) && !ids.contains(&cat.alpha[medium][1]));
        }
    }
    let rows = app.count(&format!(
        "SELECT count(*) FROM recommended_content_for_group WHERE group_id = {group_id} AND content_type IS NOT NULL AND engine IS NOT NULL"
    ));
    assert!(rows >= 6);
    // The full run blends in memory what a refresh blends from the stored lists: the same list.
    let group_rows = || -> Vec<(i64, String, String, i64)> {
        app.db()
            .prepare("SELECT content_id, engine, content_type, CAST(round(score * 1e5) AS INTEGER) FROM recommended_content_for_group WHERE group_id = ?1 ORDER BY content_id")
            .unwrap()
            .query_map([group_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let blended_in_memory = group_rows();
    personal::refresh_user(&mut app.db(), app.user_id(&target.uuid)).unwrap();
    assert_eq!(group_rows(), blended_in_memory);
}

#[test]
fn a_deleted_content_leaves_every_list_at_once_and_the_tables_at_the_next_run() {
    let app = TestApp::new();
    let cat = catalogue(&app);
    let (target, _) = community(&app, &cat);
    // A group of its owner alone lists what the owner's list does.
    let reply = app.request(
        "POST",
        "/api/group",
        Some(&target.token),
        Some(&json!({"name": "Alphas"})),
    );
    assert_eq!(reply.status.code, 201, "{}", reply.text);
    run_everything(&app);
    let group_list = |user: &User| -> Vec<i64> {
        let reply = app.get("/api/movie/groups", &user.token);
        assert_eq!(reply.status.code, 200, "{}", reply.text);
        reply.json()["content"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["content_id"].as_i64().unwrap())
            .collect()
    };
    let doomed = listed(&app, &target, "movie")[0].0;
    let naming = |id: i64| {
        app.count(&format!(
            "SELECT (SELECT count(*) FROM recommended_content WHERE content_id = {id})
                  + (SELECT count(*) FROM recommended_content_for_group WHERE content_id = {id})
                  + (SELECT count(*) FROM similars_content WHERE content_id0 = {id} OR content_id1 = {id})"
        ))
    };
    assert!(group_list(&target).contains(&doomed));
    assert!(
        naming(doomed) > 2,
        "listed for the user, the group, as a neighbour"
    );

    let admin = app.register_admin("root@example.com", "root");
    let reply = app.request(
        "DELETE",
        &format!("/api/movie/{doomed}"),
        Some(&admin.token),
        None,
    );
    assert_eq!(reply.status.code, 201, "{}", reply.text);
    // Gone from what the API lists before the engine runs again...
    assert!(
        listed(&app, &target, "movie")
            .iter()
            .all(|(id, _)| *id != doomed)
    );
    assert!(!listed(&app, &target, "movie").is_empty());
    assert!(!group_list(&target).contains(&doomed));
    // ...no candidate for a list computed before the stages ran (its slot goes to another content:
    // the same contents as a full rebuild lists)...
    let target_id = app.user_id(&target.uuid);
    let conn = app.db();
    let person = personal::user(&conn, target_id).unwrap();
    let picks = personal::lists(&conn, &mut personal::Sources::lazy(), &person).unwrap();
    assert!(!picks.is_empty() && picks.iter().all(|p| p.content_id != doomed));
    personal::refresh_user(&mut app.db(), target_id).unwrap();
    let refreshed = stored(&app, &target);
    assert!(!refreshed.contains_key(&doomed));
    // ...and gone from every engine table after its next run, incremental or full.
    run_everything(&app);
    assert_eq!(naming(doomed), 0);
    assert!(!listed(&app, &target, "movie").is_empty());
    engine::run_all(&mut app.db(), true).unwrap();
    assert_eq!(naming(doomed), 0);
    // (Scores may differ: the deletion changed the catalogue's term frequencies.)
    let picked = |rows: BTreeMap<i64, (String, i64, String, f64)>| -> Vec<(i64, String)> {
        rows.into_iter()
            .map(|(id, (engine, ..))| (id, engine))
            .collect()
    };
    assert_eq!(picked(stored(&app, &target)), picked(refreshed));
}

#[test]
fn a_full_rebuild_rewrites_exactly_the_lists_that_differ_from_what_it_computes() {
    let app = TestApp::new();
    let cat = catalogue(&app);
    let (target, fans) = community(&app, &cat);
    engine::run_all(&mut app.db(), true).unwrap();
    type Stored = (Vec<(i64, i64, String, i64)>, Vec<(i64, i64, i64)>);
    let everything = || -> Stored {
        let conn = app.db();
        let lists = conn
            .prepare("SELECT user_id, content_id, engine, CAST(round(score * 1e6) AS INTEGER) FROM recommended_content ORDER BY 1, 2")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let neighbours = conn
            .prepare("SELECT content_id0, content_id1, CAST(round(similarity * 1e6) AS INTEGER) FROM similars_content ORDER BY 1, 2")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        (lists, neighbours)
    };
    let computed = everything();
    assert!(!computed.0.is_empty() && !computed.1.is_empty());
    // Damage some stored rows: a score, an engine, a missing row, a stray row, a stray neighbour.
    let (target_id, fan_id) = (app.user_id(&target.uuid), app.user_id(&fans[0].uuid));
    let movie = cat.alpha["movie"][0];
    app.db()
        .execute_batch(&format!(
            "UPDATE recommended_content SET score = score / 2 WHERE user_id = {target_id}
                AND content_id = (SELECT min(content_id) FROM recommended_content WHERE user_id = {target_id});
             UPDATE recommended_content SET engine_priority = 1 WHERE user_id = {fan_id}
                AND content_id = (SELECT max(content_id) FROM recommended_content WHERE user_id = {fan_id});
             DELETE FROM recommended_content WHERE user_id = {fan_id}
                AND content_id = (SELECT min(content_id) FROM recommended_content WHERE user_id = {fan_id});
             INSERT INTO recommended_content (user_id, content_id, score, engine, engine_priority, content_type)
                VALUES ({target_id}, {movie}, 0.5, 'FromProfile', 4, 'MOVIE');
             DELETE FROM similars_content WHERE content_id0 = {movie}
                AND content_id1 = (SELECT min(content_id1) FROM similars_content WHERE content_id0 = {movie});
             INSERT OR IGNORE INTO similars_content (content_id0, content_id1, similarity, content_type0, content_type1)
                VALUES ({movie}, {movie}, 1.0, 'MOVIE', 'MOVIE');"
        ))
        .unwrap();
    assert_ne!(everything(), computed);
    engine::run_all(&mut app.db(), true).unwrap();
    assert_eq!(everything(), computed);
}

/// Every user's stored lists: (user, content, engine) → score.
fn every_list(app: &TestApp) -> BTreeMap<(i64, i64, String), f64> {
    app.db()
        .prepare("SELECT user_id, content_id, engine, score FROM recommended_content")
        .unwrap()
        .query_map([], |r| Ok(((r.get(0)?, r.get(1)?, r.get(2)?), r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn a_full_run_lists_what_each_persons_own_refresh_computes_in_a_block_or_in_turns() {
    // A full run preloads each medium's models in one pass over their key range and writes the
    // lists beside the last medium's computing; one person's refresh reads only what that person
    // needs, key by key. Both must come to the same lists, however the media's ids lie.
    for in_turns in [false, true] {
        let app = TestApp::new();
        let cat = if in_turns {
            catalogue_in_turns(&app)
        } else {
            catalogue(&app)
        };
        let (movies, tracks) = (&cat.alpha["movie"], &cat.alpha["track"]);
        assert_eq!(
            movies.iter().max() > tracks.iter().min(),
            in_turns,
            "ids {movies:?} {tracks:?}"
        );
        let (target, _) = community(&app, &cat);
        engine::run_all(&mut app.db(), true).unwrap();
        let full = every_list(&app);
        for engine in ["CollaborativeFiltering", "FromSimilarContent"] {
            assert!(
                full.keys().any(|(_, _, e)| e == engine),
                "{in_turns}: no {engine} row in {full:?}"
            );
        }
        let target_id = app.user_id(&target.uuid);
        assert!(
            full.keys().any(|(u, c, e)| *u == target_id
                && *c == cat.alpha["track"][2]
                && e == "CollaborativeFiltering"),
            "{in_turns}: {full:?}"
        );
        let users: Vec<i64> = app
            .db()
            .prepare(r#"SELECT user_id FROM "user""#)
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for user in &users {
            personal::refresh_user(&mut app.db(), *user).unwrap();
        }
        let refreshed = every_list(&app);
        assert_eq!(
            full.keys().collect::<Vec<_>>(),
            refreshed.keys().collect::<Vec<_>>(),
            "{in_turns}"
        );
        for (key, score) in &full {
            // The full run keeps scores in 32 bits until it writes them (rounded to 6 places).
            assert!(
                (score - refreshed[key]).abs() <= 2e-6,
                "{in_turns}: {key:?} {score} {}",
                refreshed[key]
            );
        }
    }
}

#[test]
fn a_sandbox_profile_launch_records_its_snapshot_and_results() {
    let app = TestApp::new();
    let cat = catalogue(&app);
    community(&app, &cat);
    run_everything(&app);
    let admin = app.register_admin("admin@example.com", "admin");
    let reply = app.request(
        "POST",
        "/api/profile",
        Some(&admin.token),
        Some(&json!({"profilename": "Alpha lover"})),
    );
    assert_eq!(reply.status.code, 201, "{}", reply.text);
    let uuid = reply.json()["profile"]["uuid"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| {
            app.db()
                .query_row("SELECT uuid FROM profile", [], |r| r.get(0))
                .unwrap()
        });
    let first = cat.alpha["serie"][0];
    let reply = app.request(
        "PUT",
        &format!("/api/profile/{uuid}/content/{first}/meta"),
        Some(&admin.token),
        Some(
            &json!({"rating": 5, "last_rating_date": "2021-01-02", "review_see_count": 1,
        "last_review_see_date": "2021-01-02", "count": 1, "last_count_increment": "2021-01-02"}),
        ),
    );
    assert_eq!(reply.status.code, 201, "{}", reply.text);

    // Only its owner, with access_sandbox.
    let other = app.register("other@example.com", "other");
    let reply = app.request(
        "POST",
        &format!("/api/profile/{uuid}/recommend"),
        Some(&other.token),
        None,
    );
    assert_eq!(reply.status.code, 403, "{}", reply.text);
    let events_before = app.count("SELECT count(*) FROM recommendation_launched_for_profile_event");

    let reply = app.request(
        "POST",
        &format!("/api/profile/{uuid}/recommend"),
        Some(&admin.token),
        None,
    );
    assert_eq!(reply.status.code, 200, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["status"], json!(true));
    assert_eq!(
        body["message"],
        json!("Recommendation complete for this profile!")
    );
    let event_id = body["event_id"].as_i64().expect("event_id");
    assert_eq!(
        app.count("SELECT count(*) FROM recommendation_launched_for_profile_event"),
        events_before + 1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM recommendation_launched_meta WHERE event_id = {event_id}"
        )),
        1
    );
    let reply = app.get(
        &format!("/api/profile/{uuid}/history/{event_id}/serie/result"),
        &admin.token,
    );
    assert_eq!(reply.status.code, 200, "{}", reply.text);
    let results: Vec<(i64, String)> = reply.json()["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["serie"]["content_id"].as_i64().unwrap(),
                r["engine"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let collaborative: BTreeSet<i64> = results
        .iter()
        .filter(|(_, e)| e == "CollaborativeFiltering")
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(
        collaborative,
        cat.alpha["serie"][1..].iter().copied().collect(),
        "{results:?}"
    );
    assert!(
        !results.iter().any(|(id, _)| *id == first),
        "the profile's own content"
    );
    // Every medium has results (cold start where the profile has nothing).
    for (medium, _) in MEDIA {
        let reply = app.get(
            &format!("/api/profile/{uuid}/history/{event_id}/{medium}/result"),
            &admin.token,
        );
        assert!(
            reply.json()["total"].as_i64().unwrap_or(0) > 0
                || !reply.json()["content"].as_array().unwrap().is_empty(),
            "{medium}: {}",
            reply.text
        );
    }
}

#[test]
fn stages_keep_their_own_watermarks_across_a_crash_between_them() {
    let app = TestApp::new();
    let cat = catalogue(&app);
    let (target, _) = community(&app, &cat);
    let mut conn = app.db();
    // The process dies after the first stage: the later ones have consumed nothing.
    engine::popularity::run(&mut conn, false).unwrap();
    let newest = app.count("SELECT last_id FROM event_sequence");
    assert_eq!(
        engine::watermark(&conn, engine::popularity::STAGE).unwrap(),
        newest
    );
    assert_eq!(engine::watermark(&conn, personal::STAGE).unwrap(), 0);
    assert_eq!(app.count("SELECT count(*) FROM recommended_content"), 0);
    // The next launch: popularity has nothing to do, the others catch up on every event.
    let outcomes: BTreeMap<&str, RunOutcome> = engine::run_all(&mut conn, false)
        .unwrap()
        .into_iter()
        .collect();
    assert!(
        matches!(outcomes["popularity"], RunOutcome::UpToDate { .. }),
        "{outcomes:?}"
    );
    for stage in ["similarity", "collaborative", "recommendations"] {
        assert!(
            matches!(outcomes[stage], RunOutcome::Ran { from: 0, .. }),
            "{stage}: {outcomes:?}"
        );
        assert_eq!(engine::watermark(&conn, stage).unwrap(), newest, "{stage}");
    }
    let lists = stored(&app, &target);
    assert!(!lists.is_empty());

    // A fold-in that crashes before its commit leaves lists and watermark as they were; a run that
    // lost the race to another is dropped.
    consume(&app, &target, "game", cat.beta["game"][0], 5);
    let stale = engine::window(&conn, personal::STAGE, false).unwrap();
    let crashed = engine::commit(&mut conn, personal::STAGE, stale, false, |tx| {
        tx.execute("DELETE FROM recommended_content", [])?;
        Err(engine::EngineError::Sqlite(rusqlite::Error::InvalidQuery))
    });
    assert!(crashed.is_err());
    assert_eq!(stored(&app, &target), lists);
    assert!(matches!(
        personal::run(&mut conn, false).unwrap(),
        RunOutcome::Ran { .. }
    ));
    let again = engine::commit(&mut conn, personal::STAGE, stale, false, |_| Ok(())).unwrap();
    assert!(!again, "the watermark moved on");
    assert!(
        stored(&app, &target)
            .keys()
            .any(|id| cat.beta["game"].contains(id))
    );
}

#[test]
fn the_server_folds_a_rating_in_by_itself() {
    let app = TestApp::with_engine_interval(1);
    let cat = catalogue(&app);
    let (target, _) = community(&app, &cat);
    run_everything(&app);
    let beta = cat.beta["book"][0];
    consume(&app, &target, "book", beta, 5);
    // The API wakes the engine right after the rating; poll rather than time it (latency is
    // measured in BENCHMARKS.md).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let list = listed(&app, &target, "book");
        if list
            .iter()
            .any(|(id, _)| cat.beta["book"][1..].contains(id))
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not folded in: {list:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn the_model_learns_from_interleaved_histories() {
    // Interactions arrive interleaved (as through the API): each user's history is still one.
    let app = TestApp::new();
    let genre = app.add_genre("Jazz", "TRACK");
    let items: Vec<i64> = (0..4)
        .map(|i| app.add_content("track", json!({"title": format!("Tune {i}")}), &[genre]))
        .collect();
    let fans: Vec<User> = (0..3)
        .map(|i| app.register(&format!("j{i}@example.com"), &format!("jazz{i}")))
        .collect();
    for item in &items[..2] {
        for fan in &fans {
            consume(&app, fan, "track", *item, 5);
        }
    }
    let mut conn = app.db();
    collaborative::run(&mut conn, true).unwrap();
    let of_first = collaborative::stored(&conn, items[0]).unwrap();
    assert_eq!(
        of_first.first().map(|n| n.0),
        Some(items[1]),
        "{of_first:?}"
    );
}

#[test]
fn a_retrained_model_drops_the_rows_of_contents_no_one_consumes_any_more() {
    let app = TestApp::new();
    let jazz = app.add_genre("Jazz", "TRACK");
    let drama = app.add_genre("Drama", "MOVIE");
    let tracks: Vec<i64> = (0..3)
        .map(|i| app.add_content("track", json!({"title": format!("Tune {i}")}), &[jazz]))
        .collect();
    let movies: Vec<i64> = (0..2)
        .map(|i| app.add_content("movie", json!({"title": format!("Film {i}")}), &[drama]))
        .collect();
    let fans: Vec<User> = (0..3)
        .map(|i| app.register(&format!("f{i}@example.com"), &format!("fan{i}")))
        .collect();
    for fan in &fans {
        for track in &tracks {
            consume(&app, fan, "track", *track, 5);
        }
        for movie in &movies {
            consume(&app, fan, "movie", *movie, 4);
        }
    }
    let mut conn = app.db();
    collaborative::run(&mut conn, true).unwrap();
    let modelled = |conn: &rusqlite::Connection| -> BTreeSet<i64> {
        conn.prepare("SELECT content_id FROM collaborative_neighbours")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let everything: BTreeSet<i64> = tracks.iter().chain(&movies).copied().collect();
    assert_eq!(modelled(&conn), everything);
    // The last track loses its interactions (as another tool would delete them): the next retrain
    // leaves it out and keeps every other medium's rows.
    conn.execute(
        "DELETE FROM meta_user_content WHERE content_id = ?1",
        [tracks[2]],
    )
    .unwrap();
    collaborative::run(&mut conn, true).unwrap();
    let kept: BTreeSet<i64> = everything
        .into_iter()
        .filter(|id| *id != tracks[2])
        .collect();
    assert_eq!(modelled(&conn), kept);
    assert!(
        collaborative::stored(&conn, tracks[0])
            .unwrap()
            .iter()
            .all(|(id, _)| *id != tracks[2])
    );
}
