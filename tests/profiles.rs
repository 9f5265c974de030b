//! Sandbox profiles over HTTP (api-reference.md 2.5, 2.6; decisions F4, F6): CRUD, liked genres,
//! metas, and the recommendation history written by the launch snapshot.

mod common;

use common::{TestApp, ghost_uuid};
use serde_json::{Value, json};

fn msg(text: &str) -> Value {
    json!({"status": false, "message": text})
}

fn create(app: &TestApp, token: &str, name: &str) -> String {
    let reply = app.request(
        "POST",
        "/api/profile",
        Some(token),
        Some(&json!({"profilename": name})),
    );
    assert_eq!(reply.status.code, 201, "{}", reply.text);
    reply.json()["profile"]["uuid"].as_str().unwrap().to_owned()
}

#[test]
fn profiles_need_access_sandbox_and_belong_to_their_owner() {
    let app = TestApp::new();
    let admin = app.register_admin("root@example.com", "root");
    let other = app.register_admin("other@example.com", "other");
    let user = app.register("user@example.com", "plain");

    let reply = app.request(
        "POST",
        "/api/profile",
        Some(&admin.token),
        Some(&json!({"profilename": "Teen gamer", "extra": 1})),
    );
    assert_eq!(reply.status.code, 201);
    assert_eq!(reply.json()["message"], "Profile created");
    let uuid = reply.json()["profile"]["uuid"].as_str().unwrap().to_owned();
    assert_eq!(
        reply.json()["profile"],
        json!({"uuid": uuid, "profilename": "Teen gamer"})
    );

    // decisions F6: a name is required, 1..45 characters; permission needed; duplicates refused.
    app.request("POST", "/api/profile", Some(&admin.token), Some(&json!({})))
        .expect(400, json!({"errors": {"profilename": "'profilename' is a required property"}, "message": "Input payload validation failed"}));
    app.request("POST", "/api/profile", Some(&admin.token), Some(&json!({"profilename": ""})))
        .expect(400, json!({"errors": {"profilename": "'' is too short"}, "message": "Input payload validation failed"}));
    let long = "x".repeat(46);
    app.request("POST", "/api/profile", Some(&admin.token), Some(&json!({"profilename": long})))
        .expect(400, json!({"errors": {"profilename": format!("'{long}' is too long")}, "message": "Input payload validation failed"}));
    app.request(
        "POST",
        "/api/profile",
        Some(&admin.token),
        Some(&json!({"profilename": "Teen gamer"})),
    )
    .expect(
        400,
        msg("You have already created a profile with this name!"),
    );
    app.request(
        "POST",
        "/api/profile",
        Some(&user.token),
        Some(&json!({"profilename": "Mine"})),
    )
    .expect(403, msg("Permission missing"));
    app.request(
        "POST",
        "/api/profile",
        Some(&app.token_for(&ghost_uuid(), &["access_sandbox"])),
        Some(&json!({"profilename": "x"})),
    )
    .expect(404, msg("User not found!"));
    // Another admin may use the same name.
    create(&app, &other.token, "Teen gamer");

    // Read: the owner only (decisions F6), with the permission.
    let body = app
        .get(&format!("/api/profile/{uuid}"), &admin.token)
        .json();
    assert_eq!(
        body,
        json!({"status": true, "message": "Profile data sent", "profile": {"uuid": uuid, "profilename": "Teen gamer", "liked_genres": []}})
    );
    app.get(&format!("/api/profile/{uuid}"), &other.token)
        .expect(404, msg("Profile not found!"));
    app.without_roles(&admin.uuid, || {
        app.get(
            &format!("/api/profile/{uuid}"),
            &app.token_for(&admin.uuid, &[]),
        )
        .expect(403, msg("Permission missing"));
    });
    app.get(&format!("/api/profile/{}", ghost_uuid()), &admin.token)
        .expect(404, msg("Profile not found!"));

    // List (24 a page): only one's own.
    for i in 0..25 {
        create(&app, &admin.token, &format!("p{i}"));
    }
    let page = app.get("/api/profile", &admin.token).json();
    assert_eq!(
        (
            page["message"].clone(),
            page["number_of_elements"].clone(),
            page["total_pages"].clone()
        ),
        (json!("Profile data sent"), json!(24), json!(2))
    );
    app.get("/api/profile", &user.token)
        .expect(403, msg("Permission missing"));
    app.get("/api/profile", &app.token_for(&ghost_uuid(), &[]))
        .expect(404, msg("User not found!"));

    // Rename and delete.
    app.request(
        "PATCH",
        &format!("/api/profile/{uuid}"),
        Some(&admin.token),
        Some(&json!({"profilename": "Adult gamer"})),
    )
    .expect(
        201,
        json!({"status": true, "message": "Profile updated successfully"}),
    );
    assert_eq!(
        app.get(&format!("/api/profile/{uuid}"), &admin.token)
            .json()["profile"]["profilename"],
        "Adult gamer"
    );
    app.request(
        "PATCH",
        &format!("/api/profile/{uuid}"),
        Some(&other.token),
        Some(&json!({"profilename": "stolen"})),
    )
    .expect(404, msg("Profile not found!"));
    app.request(
        "DELETE",
        &format!("/api/profile/{uuid}"),
        Some(&other.token),
        None,
    )
    .expect(404, msg("Profile not found!"));
    app.without_roles(&admin.uuid, || {
        app.request(
            "DELETE",
            &format!("/api/profile/{uuid}"),
            Some(&app.token_for(&admin.uuid, &[])),
            None,
        )
        .expect(403, msg("Permission missing"));
    });
    app.request(
        "DELETE",
        &format!("/api/profile/{uuid}"),
        Some(&admin.token),
        None,
    )
    .expect(
        201,
        json!({"status": true, "message": "Profile deleted successfully"}),
    );
    app.get(&format!("/api/profile/{uuid}"), &admin.token)
        .expect(404, msg("Profile not found!"));
    app.get("/api/profile/not-a-uuid", &admin.token)
        .expect(404, msg("Resource not found"));
}

#[test]
fn liked_genres_and_metas_of_a_profile() {
    let app = TestApp::new();
    let admin = app.register_admin("root@example.com", "root");
    let uuid = create(&app, &admin.token, "Tester");
    let drama = app.add_genre("Drama", "MOVIE");
    let rock = app.add_genre("Rock", "TRACK");
    let ok = json!({"status": true, "message": "Profile liked this genre"});
    app.request(
        "PUT",
        &format!("/api/profile/{uuid}/genre/{drama}"),
        Some(&admin.token),
        None,
    )
    .expect(201, ok.clone());
    app.request(
        "PUT",
        &format!("/api/profile/{uuid}/genre/{drama}"),
        Some(&admin.token),
        None,
    )
    .expect(201, ok.clone());
    app.request(
        "PUT",
        &format!("/api/profile/{uuid}/genre/{rock}"),
        Some(&admin.token),
        None,
    )
    .expect(201, ok.clone());
    app.request(
        "PUT",
        &format!("/api/profile/{uuid}/genre/9999"),
        Some(&admin.token),
        None,
    )
    .expect(404, msg("Genre not found!"));
    app.request(
        "DELETE",
        &format!("/api/profile/{uuid}/genre/{rock}"),
        Some(&admin.token),
        None,
    )
    .expect(201, ok);
    app.request(
        "DELETE",
        &format!("/api/profile/{uuid}/genre/{rock}"),
        Some(&admin.token),
        None,
    )
    .expect(400, msg("You didn't like this genre"));
    app.get(&format!("/api/profile/{uuid}/genre"), &admin.token)
        .expect(200, json!({"status": true, "message": "Profile liked genre sent", "content": [{"genre_id": drama, "name": "Drama", "count": 3}]}));

    let movie = app.add_content("movie", json!({"title": "Heat"}), &[drama]);
    let track = app.add_content("track", json!({"title": "Song"}), &[]);
    let meta = json!({"rating": 4, "last_rating_date": "2021-01-02T10:00:00+02:00", "review_see_count": 3,
        "last_review_see_date": "2021-01-02 10:00:00.5", "count": 1, "last_count_increment": "2021-01-02"});
    let path = format!("/api/profile/{uuid}/content/{movie}/meta");
    app.request("PUT", &path, Some(&admin.token), Some(&meta))
        .expect(
            201,
            json!({"status": true, "message": "Meta successfully updated"}),
        );
    // Upsert, and no event rows, no effect on the content's average.
    app.request("PUT", &path, Some(&admin.token), Some(&meta));
    assert_eq!(app.count("SELECT count(*) FROM meta_profile_content"), 1);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM event_log WHERE kind IN ('meta_added_event', 'changed_event')"
        ),
        0
    );
    assert_eq!(
        app.count(&format!(
            "SELECT rating_count FROM content WHERE content_id = {movie}"
        )),
        0
    );
    // Bad bodies and the check order: caller, content, permission, ownership.
    let mut bad = meta.clone();
    bad["last_rating_date"] = json!("yesterday");
    app.request("PUT", &path, Some(&admin.token), Some(&bad))
        .expect(400, json!({"errors": {"last_rating_date": "'yesterday' is not a 'date-time'"}, "message": "Input payload validation failed"}));
    app.request("PUT", &path, Some(&admin.token), Some(&json!({"rating": 9})))
        .expect(400, json!({"errors": {
            "rating": "9 is greater than the maximum of 5", "last_rating_date": "'last_rating_date' is a required property",
            "review_see_count": "'review_see_count' is a required property", "last_review_see_date": "'last_review_see_date' is a required property",
            "count": "'count' is a required property", "last_count_increment": "'last_count_increment' is a required property"},
            "message": "Input payload validation failed"}));
    app.without_roles(&admin.uuid, || {
        app.request(
            "PUT",
            &format!("/api/profile/{uuid}/content/99999/meta"),
            Some(&app.token_for(&admin.uuid, &[])),
            Some(&meta),
        )
        .expect(404, msg("Content not found!"));
    });
    app.without_roles(&admin.uuid, || {
        app.request(
            "PUT",
            &path,
            Some(&app.token_for(&admin.uuid, &[])),
            Some(&meta),
        )
        .expect(403, msg("Permission missing"));
    });
    app.request(
        "PUT",
        &format!("/api/profile/{}/content/{movie}/meta", ghost_uuid()),
        Some(&admin.token),
        Some(&meta),
    )
    .expect(404, msg("Profile not found!"));

    app.request(
        "PUT",
        &format!("/api/profile/{uuid}/content/{track}/meta"),
        Some(&admin.token),
        Some(&meta),
    );
    let movies = app
        .get(&format!("/api/profile/{uuid}/movie/meta"), &admin.token)
        .json();
    assert_eq!(movies["message"], "Profile's meta movie data sent");
    assert_eq!(movies["number_of_elements"], 1);
    let item = &movies["content"][0];
    // The offset is dropped, not applied; a date alone is midnight.
    assert_eq!(
        (
            item["rating"].clone(),
            item["last_rating_date"].clone(),
            item["last_review_see_date"].clone(),
            item["last_count_increment"].clone()
        ),
        (
            json!(4),
            json!("2021-01-02T10:00:00"),
            json!("2021-01-02T10:00:00.500000"),
            json!("2021-01-02T00:00:00")
        )
    );
    assert_eq!(item["movie"]["content_id"], movie);
    assert!(item["movie"].get("genres").is_none(), "Base shape");
    assert_eq!(
        app.get(&format!("/api/profile/{uuid}/track/meta"), &admin.token)
            .json()["content"][0]["track"]["title"],
        "Song"
    );
    // Check order of the lists: caller, permission, ownership.
    app.without_roles(&admin.uuid, || {
        app.get(
            &format!("/api/profile/{}/movie/meta", ghost_uuid()),
            &app.token_for(&admin.uuid, &[]),
        )
        .expect(403, msg("Permission missing"));
    });
    app.get(
        &format!("/api/profile/{}/movie/meta", ghost_uuid()),
        &admin.token,
    )
    .expect(404, msg("Profile not found!"));
}

#[test]
fn launch_snapshots_show_in_the_history() {
    let app = TestApp::new();
    let admin = app.register_admin("root@example.com", "root");
    let other = app.register_admin("other@example.com", "other");
    let uuid = create(&app, &admin.token, "Tester");
    let foreign = create(&app, &other.token, "Theirs");
    let drama = app.add_genre("Drama", "MOVIE");
    let movie = app.add_content("movie", json!({"title": "Heat"}), &[drama]);
    let second = app.add_content("movie", json!({"title": "Ronin"}), &[]);
    app.request(
        "PUT",
        &format!("/api/profile/{uuid}/genre/{drama}"),
        Some(&admin.token),
        None,
    );
    let meta = json!({"rating": 5, "last_rating_date": "2021-01-02T10:00:00", "review_see_count": 1,
        "last_review_see_date": "2021-01-02T10:00:00", "count": 2, "last_count_increment": "2021-01-02T10:00:00"});
    app.request(
        "PUT",
        &format!("/api/profile/{uuid}/content/{movie}/meta"),
        Some(&admin.token),
        Some(&meta),
    );

    let snapshot = |profile_uuid: &str| -> i64 {
        let conn = app.db();
        let profile_id: i64 = conn
            .query_row(
                "SELECT profile_id FROM profile WHERE uuid = ?1",
                [profile_uuid],
                |r| r.get(0),
            )
            .unwrap();
        let tx = conn.unchecked_transaction().unwrap();
        let id = recofinement::db::profiles::snapshot(&tx, profile_id).unwrap();
        tx.commit().unwrap();
        id
    };
    let first = snapshot(&uuid);
    // Later changes do not alter the snapshot.
    app.request(
        "DELETE",
        &format!("/api/profile/{uuid}/genre/{drama}"),
        Some(&admin.token),
        None,
    );
    let mut changed = meta.clone();
    changed["rating"] = json!(1);
    app.request(
        "PUT",
        &format!("/api/profile/{uuid}/content/{movie}/meta"),
        Some(&admin.token),
        Some(&changed),
    );
    std::thread::sleep(std::time::Duration::from_millis(5));
    let latest = snapshot(&uuid);
    let foreign_event = snapshot(&foreign);
    // The launch event takes its id from the shared event sequence.
    assert!(latest > first && foreign_event > latest);
    assert_eq!(
        app.count("SELECT last_id FROM event_sequence"),
        foreign_event
    );
    app.db()
        .execute_batch(&format!(
            "INSERT INTO recommendation_launched_result (event_id, content_id, score, engine) VALUES
                ({first}, {second}, 0.4, 'FromProfile'), ({first}, {movie}, NULL, 'FromProfile'), ({first}, {movie}, 0.9, 'CollaborativeFiltering')"
        ))
        .unwrap();

    let history = app
        .get(&format!("/api/profile/{uuid}/history"), &admin.token)
        .json();
    assert_eq!(history["message"], "Recommendation history data sent");
    let ids: Vec<i64> = history["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![latest, first], "newest first");
    assert_eq!(
        history["content"][0]["profile"],
        json!({"uuid": uuid, "profilename": "Tester"})
    );

    app.get(&format!("/api/profile/{uuid}/history/{first}/genres"), &admin.token).expect(200, json!({"status": true,
        "message": "Recommendation history liked genres data sent", "content": [{"name": "Drama", "content_type": "movie"}],
        "number_of_elements": 1, "page": 1, "total_pages": 1}));
    assert_eq!(
        app.get(
            &format!("/api/profile/{uuid}/history/{latest}/genres"),
            &admin.token
        )
        .json()["content"],
        json!([])
    );
    let metas = app
        .get(
            &format!("/api/profile/{uuid}/history/{first}/movie/meta"),
            &admin.token,
        )
        .json();
    assert_eq!(metas["content"][0]["rating"], 5, "the copy taken at launch");
    assert_eq!(
        app.get(
            &format!("/api/profile/{uuid}/history/{latest}/movie/meta"),
            &admin.token
        )
        .json()["content"][0]["rating"],
        1
    );
    let results = app
        .get(
            &format!("/api/profile/{uuid}/history/{first}/movie/result"),
            &admin.token,
        )
        .json();
    let order: Vec<(i64, Value, String)> = results["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["movie"]["content_id"].as_i64().unwrap(),
                r["score"].clone(),
                r["engine"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        order,
        vec![
            (movie, json!(0.9), "CollaborativeFiltering".to_owned()),
            (second, json!(0.4), "FromProfile".to_owned()),
            (movie, Value::Null, "FromProfile".to_owned())
        ]
    );
    assert_eq!(
        app.get(
            &format!("/api/profile/{uuid}/history/{first}/book/result"),
            &admin.token
        )
        .json()["content"],
        json!([])
    );

    // Check order: page, caller, permission, profile, event, event ownership.
    app.get(&format!("/api/profile/{uuid}/history?page=x"), &admin.token)
        .expect(400, json!({"errors": {"page": "invalid literal for int() with base 10: 'x'"}, "message": "Input payload validation failed"}));
    app.get(
        &format!("/api/profile/{uuid}/history"),
        &app.token_for(&ghost_uuid(), &[]),
    )
    .expect(404, msg("User not found!"));
    app.without_roles(&admin.uuid, || {
        app.get(
            &format!("/api/profile/{uuid}/history"),
            &app.token_for(&admin.uuid, &[]),
        )
        .expect(403, msg("Permission missing"));
    });
    app.get(&format!("/api/profile/{foreign}/history"), &admin.token)
        .expect(404, msg("Profile not found!"));
    app.get(
        &format!("/api/profile/{uuid}/history/999999/genres"),
        &admin.token,
    )
    .expect(404, msg("Event not found!"));
    app.get(
        &format!("/api/profile/{uuid}/history/{foreign_event}/genres"),
        &admin.token,
    )
    .expect(403, msg("Can not access to an not owned event!"));

    // Deleting the profile removes its history; deleting the user removes its profiles.
    app.request(
        "DELETE",
        &format!("/api/profile/{uuid}"),
        Some(&admin.token),
        None,
    );
    assert_eq!(app.count(&format!("SELECT count(*) FROM recommendation_launched_for_profile_event WHERE id IN ({first}, {latest})")), 0);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM recommendation_launched_result WHERE event_id = {first}"
        )),
        0
    );
    app.request(
        "DELETE",
        &format!("/api/user/{}", other.uuid),
        Some(&other.token),
        None,
    );
    assert_eq!(app.count("SELECT count(*) FROM profile"), 0);
    assert_eq!(
        app.count("SELECT count(*) FROM recommendation_launched_for_profile_event"),
        0
    );
}

#[test]
fn a_date_with_multibyte_characters_is_a_clear_error_not_a_crash() {
    let app = TestApp::new();
    let admin = app.register_admin("root@example.com", "root");
    let uuid = create(&app, &admin.token, "Tester");
    let movie = app.add_content("movie", json!({"title": "Heat"}), &[]);
    let meta = json!({"rating": 1, "last_rating_date": "aaaaaaaaaaaa€€ab", "review_see_count": 1,
        "last_review_see_date": "2021-01-01T00:00:00", "count": 1, "last_count_increment": "2021-01-01T00:00:00"});
    let reply = app.request(
        "PUT",
        &format!("/api/profile/{uuid}/content/{movie}/meta"),
        Some(&admin.token),
        Some(&meta),
    );
    assert_eq!(reply.status.code, 400, "{}", reply.text);
    // The date check comes after the reference's own checks (it failed last, in the database).
    let path = format!("/api/profile/{uuid}/content/{movie}/meta");
    app.without_roles(&admin.uuid, || {
        app.request(
            "PUT",
            &path,
            Some(&app.token_for(&admin.uuid, &[])),
            Some(&meta),
        )
        .expect(403, msg("Permission missing"));
    });
    app.request("PUT", &path, None, Some(&meta))
        .expect(401, json!({"msg": "Missing Authorization Header"}));
}
