//! `/api/user` over HTTP: every route, and every 404/403 ordering case of api-reference.md 2.3.

mod common;

use common::{PASSWORD, TestApp, ghost_uuid};
use rocket::http::Status;
use serde_json::json;

const USER_NOT_FOUND: &str = r#"{"status": false, "message": "User not found!"}"#;

fn not_found() -> serde_json::Value {
    serde_json::from_str(USER_NOT_FOUND).unwrap()
}
fn permission_missing() -> serde_json::Value {
    json!({"status": false, "message": "Permission missing"})
}

#[test]
fn get_user_returns_the_target_user_object() {
    let app = TestApp::new();
    let alice = app.register("alice@example.com", "alice");
    let bob = app.register("bob@example.com", "bob_b");
    {
        let conn = app.db();
        conn.execute_batch(&format!(
            r#"INSERT INTO "group" (group_id, name, owner_id) SELECT 1, 'owned', user_id FROM "user" WHERE uuid = '{b}';
               INSERT INTO "group" (group_id, name, owner_id) SELECT 2, 'joined', user_id FROM "user" WHERE uuid = '{a}';
               INSERT INTO "group" (group_id, name, owner_id) SELECT 3, 'invited', user_id FROM "user" WHERE uuid = '{a}';
               INSERT INTO group_members (user_id, group_id) SELECT user_id, 2 FROM "user" WHERE uuid = '{b}';
               INSERT INTO invitations (user_id, group_id) SELECT user_id, 3 FROM "user" WHERE uuid = '{b}';"#,
            a = alice.uuid,
            b = bob.uuid
        ))
        .unwrap();
    }
    // decisions F1: alice asks for bob and gets bob — without his e-mail address (F23).
    app.get(&format!("/api/user/{}", bob.uuid), &alice.token)
        .expect(
            200,
            json!({"status": true, "message": "User data sent", "user": {
                "uuid": bob.uuid, "email": null, "username": "bob_b", "preferences_defined": false,
                "groups": [{"group_id": 2, "name": "joined"}],
                "invitations": [{"group_id": 3, "name": "invited"}],
                "owned_groups": [{"group_id": 1, "name": "owned"}],
            }}),
        );
    // Bob sees his own.
    let own = app
        .get(&format!("/api/user/{}", bob.uuid), &bob.token)
        .json();
    assert_eq!(own["user"]["email"], "bob@example.com");
    // Upper-case UUID text is the same user.
    assert_eq!(
        app.get(
            &format!("/api/user/{}", bob.uuid.to_uppercase()),
            &alice.token
        )
        .status,
        Status::Ok
    );
}

#[test]
fn get_user_checks_target_then_caller() {
    let app = TestApp::new();
    let alice = app.register("alice@example.com", "alice");
    let ghost = app.token_for(&ghost_uuid(), &[]);
    app.get(&format!("/api/user/{}", ghost_uuid()), &alice.token)
        .expect(404, not_found());
    app.get(&format!("/api/user/{}", alice.uuid), &ghost)
        .expect(404, not_found());
    // Not a UUID: no route.
    app.get("/api/user/not-a-uuid", &alice.token).expect(
        404,
        json!({"status": false, "message": "Resource not found"}),
    );
}

#[test]
fn patch_user_updates_own_fields_only() {
    let app = TestApp::new();
    let alice = app.register("alice@example.com", "alice");
    let bob = app.register("bob@example.com", "bob_b");
    let path = format!("/api/user/{}", alice.uuid);

    app.request(
        "PATCH",
        &path,
        Some(&alice.token),
        Some(
            &json!({"username": "alice2", "email": "alice2@example.com", "password": "NewPass1!"}),
        ),
    )
    .expect(
        201,
        json!({"status": true, "message": "User updated successfully"}),
    );
    assert_eq!(
        app.login("alice2@example.com", "NewPass1!").status,
        Status::Ok
    );
    assert_eq!(
        app.login("alice@example.com", PASSWORD).status,
        Status::Unauthorized
    );
    let name: String = app
        .db()
        .query_row(
            r#"SELECT username FROM "user" WHERE uuid = ?1"#,
            [&alice.uuid],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(name, "alice2");

    // {} changes nothing.
    let before = app.fingerprint();
    app.request("PATCH", &path, Some(&alice.token), Some(&json!({})))
        .expect(
            201,
            json!({"status": true, "message": "User updated successfully"}),
        );
    assert_eq!(app.fingerprint(), before);

    // Taken e-mail: a clean 400, nothing changed (the reference answered 500).
    app.request("PATCH", &path, Some(&alice.token), Some(&json!({"email": "bob@example.com", "username": "zzzz"})))
        .expect(400, json!({"status": false, "message": "Validation errors", "errors": ["Email is already being used."]}));
    assert_eq!(app.fingerprint(), before);
    // Keeping one's own address is fine.
    assert_eq!(
        app.request(
            "PATCH",
            &path,
            Some(&alice.token),
            Some(&json!({"email": "alice2@example.com"}))
        )
        .status,
        Status::Created
    );

    // Layer B: update-password rules, unknown keys.
    let reply = app.request(
        "PATCH",
        &path,
        Some(&alice.token),
        Some(&json!({"password": "Abcdef1.", "role": "admin"})),
    );
    assert_eq!(reply.status, Status::BadRequest);
    assert_eq!(reply.json()["errors"].as_array().unwrap().len(), 2);

    // Someone else's account.
    app.request(
        "PATCH",
        &format!("/api/user/{}", bob.uuid),
        Some(&alice.token),
        Some(&json!({"username": "hacked"})),
    )
    .expect(
        403,
        json!({"status": false, "message": "Unable to update an account which is not your's"}),
    );
}

#[test]
fn patch_and_delete_check_target_permission_caller_owner_in_that_order() {
    let app = TestApp::new();
    let alice = app.register("alice@example.com", "alice");
    let bob = app.register("bob@example.com", "bob_b");
    let ghost_no_perm = app.token_for(&ghost_uuid(), &[]);
    let ghost_perm = app.token_for(&ghost_uuid(), &["modify_user_profil"]);
    let alice_no_perm = app.token_for(&alice.uuid, &[]);
    let cases = [
        (
            "PATCH",
            Some(json!({"username": "newname"})),
            "Unable to update an account which is not your's",
        ),
        (
            "DELETE",
            None,
            "Unable to delete an account which is not your's",
        ),
    ];
    for (method, body, not_yours) in cases {
        let on = |uuid: &str, token: &str| {
            app.request(
                method,
                &format!("/api/user/{uuid}"),
                Some(token),
                body.as_ref(),
            )
        };
        // 1. unknown target wins over everything.
        on(&ghost_uuid(), &ghost_no_perm).expect(404, not_found());
        // 2. then the permission, even for an unknown caller (the reference's tests assert this).
        on(&alice.uuid, &ghost_no_perm).expect(403, permission_missing());
        app.without_roles(&alice.uuid, || {
            on(&alice.uuid, &alice_no_perm).expect(403, permission_missing())
        });
        // 3. then the caller.
        on(&alice.uuid, &ghost_perm).expect(404, not_found());
        // 4. then ownership.
        on(&bob.uuid, &alice.token).expect(403, json!({"status": false, "message": not_yours}));
    }
    assert_eq!(app.count(r#"SELECT count(*) FROM "user""#), 2);
}

#[test]
fn delete_user_cascades_and_leaves_tokens_useless() {
    let app = TestApp::new();
    let alice = app.register("alice@example.com", "alice");
    let bob = app.register("bob@example.com", "bob_b");
    let genre = app.add_genre("Drama", "MOVIE");
    app.request(
        "PUT",
        &format!("/api/user/genre/{genre}"),
        Some(&alice.token),
        None,
    );
    {
        let conn = app.db();
        conn.execute_batch(&format!(
            r#"INSERT INTO content (content_id, rating, rating_count, popularity_score) VALUES (1, NULL, 0, 0);
               INSERT INTO meta_user_content (user_id, content_id, review_see_count, count)
                   SELECT user_id, 1, 1, 0 FROM "user" WHERE uuid = '{a}';
               INSERT INTO "group" (group_id, name, owner_id) SELECT 7, 'mine', user_id FROM "user" WHERE uuid = '{a}';
               INSERT INTO group_members (user_id, group_id) SELECT user_id, 7 FROM "user" WHERE uuid = '{b}';
               INSERT INTO recommended_content_for_group (group_id, content_id, score) VALUES (7, 1, 0.5);
               INSERT INTO profile (uuid, profilename, user_id) SELECT '{p}', 'p1', user_id FROM "user" WHERE uuid = '{a}';
               INSERT INTO external_service (user_id, service_name) SELECT user_id, 'Spotify' FROM "user" WHERE uuid = '{a}';"#,
            a = alice.uuid,
            b = bob.uuid,
            p = ghost_uuid()
        ))
        .unwrap();
    }
    app.request(
        "DELETE",
        &format!("/api/user/{}", alice.uuid),
        Some(&alice.token),
        None,
    )
    .expect(
        201,
        json!({"status": true, "message": "User account deleted successfully"}),
    );
    for table in [
        "user_role",
        "liked_genres",
        "meta_user_content",
        "\"group\"",
        "group_members",
        "recommended_content_for_group",
        "profile",
        "external_service",
    ] {
        let left = if table == "user_role" {
            app.count("SELECT count(*) FROM user_role WHERE user_id NOT IN (SELECT user_id FROM \"user\")")
        } else {
            app.count(&format!("SELECT count(*) FROM {table}"))
        };
        assert_eq!(left, 0, "{table} after deleting its owner");
    }
    assert_eq!(
        app.count("SELECT count(*) FROM content"),
        1,
        "content is not the user's"
    );
    app.get("/api/user/genre", &alice.token)
        .expect(404, not_found());
    assert_eq!(app.get("/api/user/genre", &bob.token).status, Status::Ok);
}

#[test]
fn preferences_defined_is_set_once_and_for_all() {
    let app = TestApp::new();
    let alice = app.register("alice@example.com", "alice");
    let ok = json!({"status": true, "message": "User updated successfully"});
    app.request(
        "PUT",
        "/api/user/preferences_defined",
        Some(&alice.token),
        None,
    )
    .expect(201, ok.clone());
    app.request(
        "PUT",
        "/api/user/preferences_defined",
        Some(&alice.token),
        None,
    )
    .expect(201, ok);
    assert_eq!(
        app.login("alice@example.com", PASSWORD).json()["user"]["preferences_defined"],
        true
    );
    // Caller before permission.
    app.request(
        "PUT",
        "/api/user/preferences_defined",
        Some(&app.token_for(&ghost_uuid(), &[])),
        None,
    )
    .expect(404, not_found());
    app.without_roles(&alice.uuid, || {
        app.request(
            "PUT",
            "/api/user/preferences_defined",
            Some(&app.token_for(&alice.uuid, &[])),
            None,
        )
        .expect(403, permission_missing())
    });
}

#[test]
fn search_is_a_literal_case_insensitive_substring_match_paginated_by_24() {
    let app = TestApp::new();
    let alice = app.register("alice@example.com", "alice");
    for i in 0..30 {
        app.register(&format!("m{i}@example.com"), &format!("Match_{i:02}"));
    }
    app.register("x@example.com", "other");
    app.register("y@example.com", "match");

    let first = app.get("/api/user/search/MATCH", &alice.token).json();
    assert_eq!(first["message"], "Track data sent");
    assert_eq!(first["number_of_elements"], 24);
    assert_eq!(first["total_pages"], 2);
    assert_eq!(first["page"], 1);
    // Exact match first, then prefixes.
    assert_eq!(first["content"][0]["username"], "match");
    assert_eq!(first["content"][0]["role"], json!({}));
    let second = app
        .get("/api/user/search/match?page=2", &alice.token)
        .json();
    assert_eq!(second["number_of_elements"], 7);
    let zero = app
        .get("/api/user/search/match?page=0", &alice.token)
        .json();
    assert_eq!(
        (
            zero["number_of_elements"].clone(),
            zero["total_pages"].clone(),
            zero["page"].clone()
        ),
        (json!(0), json!(2), json!(0))
    );
    let past = app
        .get("/api/user/search/match?page=9", &alice.token)
        .json();
    assert_eq!(past["content"], json!([]));
    // Lenient page parsing.
    assert_eq!(
        app.get("/api/user/search/match?page=abc", &alice.token)
            .json()["page"],
        1
    );
    // `%` and `_` are literal characters.
    assert_eq!(
        app.get("/api/user/search/%25", &alice.token).json()["total_pages"],
        0
    );
    assert_eq!(
        app.get("/api/user/search/h_0", &alice.token).json()["number_of_elements"],
        10
    );
    app.get("/api/user/search/x", &app.token_for(&ghost_uuid(), &[]))
        .expect(404, not_found());
}

#[test]
fn liked_genres_like_unlike_and_check_order() {
    let app = TestApp::new();
    let alice = app.register("alice@example.com", "alice");
    let drama = app.add_genre("Drama", "MOVIE");
    let rock = app.add_genre("Rock", "TRACK");
    let liked = json!({"status": true, "message": "User liked this genre"});

    app.get("/api/user/genre", &alice.token).expect(
        200,
        json!({"status": true, "message": "User liked genre sent", "content": []}),
    );
    app.request(
        "PUT",
        &format!("/api/user/genre/{drama}"),
        Some(&alice.token),
        None,
    )
    .expect(201, liked.clone());
    // decisions F4: liking again is idempotent.
    app.request(
        "PUT",
        &format!("/api/user/genre/{drama}"),
        Some(&alice.token),
        None,
    )
    .expect(201, liked.clone());
    app.request(
        "PUT",
        &format!("/api/user/genre/{rock}"),
        Some(&alice.token),
        None,
    )
    .expect(201, liked.clone());
    app.get("/api/user/genre", &alice.token).expect(200, json!({"status": true, "message": "User liked genre sent", "content": [
        {"genre_id": drama, "name": "Drama", "count": 3}, {"genre_id": rock, "name": "Rock", "count": 3}]}));

    app.request(
        "DELETE",
        &format!("/api/user/genre/{rock}"),
        Some(&alice.token),
        None,
    )
    .expect(201, liked);
    app.request(
        "DELETE",
        &format!("/api/user/genre/{rock}"),
        Some(&alice.token),
        None,
    )
    .expect(
        400,
        json!({"status": false, "message": "You didn't like this genre"}),
    );
    assert_eq!(app.count("SELECT count(*) FROM liked_genres"), 1);

    for method in ["PUT", "DELETE"] {
        let unknown_genre = format!("/api/user/genre/{}", rock + 100);
        app.request(
            method,
            &unknown_genre,
            Some(&app.token_for(&ghost_uuid(), &[])),
            None,
        )
        .expect(404, not_found());
        app.without_roles(&alice.uuid, || {
            app.request(
                method,
                &unknown_genre,
                Some(&app.token_for(&alice.uuid, &[])),
                None,
            )
            .expect(403, permission_missing())
        });
        app.request(method, &unknown_genre, Some(&alice.token), None)
            .expect(404, json!({"status": false, "message": "Genre not found!"}));
        app.request(method, "/api/user/genre/-1", Some(&alice.token), None)
            .expect(
                404,
                json!({"status": false, "message": "Resource not found"}),
            );
    }
    app.get("/api/user/genre", &app.token_for(&ghost_uuid(), &[]))
        .expect(404, not_found());
}

#[test]
fn export_includes_metas_and_bad_recommendations() {
    let app = TestApp::new();
    let alice = app.register("alice@example.com", "alice");
    let drama = app.add_genre("Drama", "MOVIE");
    app.request(
        "PUT",
        &format!("/api/user/genre/{drama}"),
        Some(&alice.token),
        None,
    );
    app.db()
        .execute_batch(&format!(
            r#"INSERT INTO content (content_id, rating_count) VALUES (5, 1);
               INSERT INTO meta_user_content (user_id, content_id, rating, last_rating_date, review_see_count, count)
                   SELECT user_id, 5, 4, '2026-01-02 10:00:00.500000', 2, 1 FROM "user" WHERE uuid = '{a}';
               INSERT INTO bad_recommendation_content (user_id, content_id, reason_categorie, reason)
                   SELECT user_id, 5, 'genres', 'Drama' FROM "user" WHERE uuid = '{a}';
               INSERT INTO external_service (user_id, service_name) SELECT user_id, 'Spotify' FROM "user" WHERE uuid = '{a}';"#,
            a = alice.uuid
        ))
        .unwrap();
    let body = app.get("/api/user/export", &alice.token).json();
    assert_eq!(body["message"], "User data exported");
    let user = &body["user"];
    assert_eq!(user["uuid"], alice.uuid.as_str());
    assert_eq!(user["groups"], json!([]));
    assert_eq!(
        user["liked_genres"],
        json!([{"genre_id": drama, "name": "Drama", "count": 3}])
    );
    assert_eq!(user["linked_services"][0]["service_name"], "Spotify");
    assert_eq!(
        user["meta_user_content"],
        json!([{
        "content_id": 5, "rating": 4, "last_rating_date": "2026-01-02T10:00:00.500000", "review_see_count": 2,
        "last_review_see_date": null, "count": 1, "last_count_increment": null}])
    );
    assert_eq!(
        user["bad_recommendations"],
        json!([{"content_id": 5, "reason_categorie": "genres", "reason": "Drama"}])
    );
    app.get("/api/user/export", &app.token_for(&ghost_uuid(), &[]))
        .expect(404, not_found());
}
