//! Content proposals and bad-recommendation reports over HTTP, for all six media
//! (api-reference.md 2.8, 2.9, 5.4, 5.10; decisions F3, F8).

mod common;

use common::{TestApp, ghost_uuid};
use serde_json::{Value, json};

fn msg(status: bool, text: &str) -> Value {
    json!({"status": status, "message": text})
}

/// (medium, a proposal body, the search term of its title, list message, the messages' noun)
fn proposals(
    genre: i64,
) -> Vec<(
    &'static str,
    Value,
    &'static str,
    &'static str,
    &'static str,
)> {
    vec![
        (
            "application",
            json!({"name": "Zephyr Notes", "size": "3M", "price": "0", "genres": [genre]}),
            "zephyr",
            "Additional application data sent",
            "application",
        ),
        (
            "book",
            json!({"isbn": "9780000000001", "title": "Zephyr Tales", "author": "A. Writer", "year_of_publication": 2001}),
            "zephyr",
            "Additional Book data sent",
            "book",
        ),
        (
            "game",
            json!({"steamid": 77, "name": "Zephyr Quest", "developers": "Dev", "genres": [genre]}),
            "zephyr",
            "Additional game data sent",
            "game",
        ),
        (
            "movie",
            json!({"title": "Zephyr Movie", "year": "1999", "genres": [genre]}),
            "zephyr",
            "Additional movie data sent",
            "movie",
        ),
        (
            "serie",
            json!({"title": "Zephyr Show", "start_year": 2001, "end_year": 2003, "plot_outline": "kept", "genres": [genre],
            "episodes": [
                {"title": "Pilot", "imdbid": "tt1", "year": 2001, "season_number": 1, "episode_number": 1, "genres": [genre]},
                {"title": "Second", "year": 2001, "season_number": 1, "episode_number": 2}
            ]}),
            "zephyr",
            "Additional series data sent",
            "series",
        ),
        (
            "track",
            json!({"title": "Zephyr Song", "year": 2005, "artist_name": "Band", "spotify_id": 12,
            "recording_mbid": "6d43749e-d519-45dc-bdb8-4e9c3f9bcb69", "genres": [genre]}),
            "zephyr",
            "Additional track data sent",
            "track",
        ),
    ]
}

#[test]
fn each_medium_proposed_validated_and_found() {
    let app = TestApp::new();
    let user = app.register("user@example.com", "plain");
    let admin = app.register_admin("root@example.com", "root");
    let genre = app.add_genre("Mixed", "MOVIE");
    for (medium, body, term, list_message, noun) in proposals(genre) {
        let display = format!("{}{}", medium[..1].to_uppercase(), &medium[1..]);
        app.request(
            "POST",
            &format!("/api/{medium}"),
            Some(&user.token),
            Some(&body),
        )
        .expect(
            201,
            msg(true, &format!("{display} have been added to validation.")),
        );
        let listed = app
            .get(&format!("/api/{medium}/additional"), &user.token)
            .json();
        assert_eq!(listed["message"], list_message, "{medium}");
        assert_eq!(listed["number_of_elements"], 1, "{medium}");
        let item = &listed["content"][0];
        let id_key = if medium == "application" {
            "app_id".to_owned()
        } else {
            format!("{medium}_id")
        };
        let id = item[&id_key]
            .as_i64()
            .unwrap_or_else(|| panic!("{medium}: {item}"));
        assert!(item.get("genres").is_none() && item.get("content_id").is_none());
        if medium == "track" {
            assert_eq!(item["spotify_id"], "12", "a number stored as text");
        }

        // Only validate_added_content may promote.
        app.request(
            "PUT",
            &format!("/api/{medium}/additional/{id}"),
            Some(&user.token),
            None,
        )
        .expect(403, msg(false, "Permission missing"));
        app.request(
            "PUT",
            &format!("/api/{medium}/additional/99999"),
            Some(&admin.token),
            None,
        )
        .expect(404, msg(false, &format!("Additional {noun} not found!")));
        let events_before = app.events().len();
        app.request(
            "PUT",
            &format!("/api/{medium}/additional/{id}"),
            Some(&admin.token),
            None,
        )
        .expect(
            201,
            msg(
                true,
                &format!("Additional {noun} data successfully validated"),
            ),
        );
        assert_eq!(
            app.get(&format!("/api/{medium}/additional"), &user.token)
                .json()["content"],
            json!([]),
            "the proposal is gone"
        );

        // The new content: its added event (no author, as in api-reference.md 4.1), the popular
        // list, search.
        let added: Vec<_> = app.events()[events_before..].to_vec();
        assert_eq!(added[0].1, format!("{medium}_added_event"));
        assert!(added[0].2.starts_with("NULL|"), "{:?}", added[0]);
        let content_id: i64 = added[0].2.split('|').nth(1).unwrap().parse().unwrap();
        let popular = app.get(&format!("/api/{medium}"), &user.token).json();
        assert!(
            popular["content"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["content_id"] == content_id),
            "{medium} in popular"
        );
        let found = app
            .get(&format!("/api/{medium}/search/{term}"), &user.token)
            .json();
        assert_eq!(
            found["content"][0]["content_id"], content_id,
            "{medium} in search"
        );
        let object = app
            .get(&format!("/api/{medium}/{content_id}"), &user.token)
            .json()["content"]
            .clone();
        if medium != "book" {
            assert_eq!(
                object["genres"][0]["genre_id"], genre,
                "{medium} keeps its genres"
            );
        }
        if medium == "serie" {
            // decisions F8: each episode keeps its own values and becomes an episode with its event.
            assert_eq!(object["plot_outline"], "kept");
            assert_eq!(
                added
                    .iter()
                    .filter(|e| e.1 == "episode_added_event")
                    .count(),
                2
            );
            let episodes = app
                .get(&format!("/api/serie/{content_id}/episodes"), &user.token)
                .json();
            let titles: Vec<&str> = episodes["content"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["title"].as_str().unwrap())
                .collect();
            assert_eq!(titles, vec!["Pilot", "Second"]);
            assert_eq!(episodes["content"][0]["imdbid"], "tt1");
            assert_eq!(app.count("SELECT count(*) FROM episode_additional"), 0);
        }
    }
}

#[test]
fn proposals_check_order_validation_and_rejection() {
    let app = TestApp::new();
    let user = app.register("user@example.com", "plain");
    let admin = app.register_admin("root@example.com", "root");
    let genre = app.add_genre("Mixed", "GAME");
    // Layer A (types) first, before the token.
    app.request("POST", "/api/game", None, Some(&json!({"name": "x", "steamid": "12"})))
        .expect(400, json!({"errors": {"steamid": "'12' is not of type 'integer'"}, "message": "Input payload validation failed"}));
    // The keys the reference read unconditionally are required after its own checks (caller, permission).
    app.request("POST", "/api/game", None, Some(&json!({"name": "x"})))
        .expect(401, json!({"msg": "Missing Authorization Header"}));
    app.without_roles(&user.uuid, || {
        app.request(
            "POST",
            "/api/game",
            Some(&app.token_for(&user.uuid, &[])),
            Some(&json!({"name": "x"})),
        )
        .expect(403, msg(false, "Permission missing"));
    });
    app.request("POST", "/api/game", Some(&user.token), Some(&json!({"name": "x"})))
        .expect(400, json!({"errors": {"steamid": "'steamid' is a required property", "genres": "'genres' is a required property"}, "message": "Input payload validation failed"}));
    app.request("POST", "/api/track", Some(&user.token), Some(&json!({"title": "x", "genres": [], "recording_mbid": "nope"})))
        .expect(400, json!({"errors": {"recording_mbid": "'nope' is not a 'uuid'"}, "message": "Input payload validation failed"}));
    app.request("POST", "/api/serie", Some(&user.token), Some(&json!({"title": "x", "genres": [], "episodes": [{"year": "2001"}]})))
        .expect(400, json!({"errors": {"episodes.0.year": "'2001' is not of type 'integer'"}, "message": "Input payload validation failed"}));
    let before = app.fingerprint();
    app.request(
        "POST",
        "/api/game",
        Some(&app.token_for(&ghost_uuid(), &["add_content"])),
        Some(&json!({"name": "x", "steamid": 1, "genres": []})),
    )
    .expect(404, msg(false, "User not found!"));
    app.without_roles(&user.uuid, || {
        app.request(
            "POST",
            "/api/game",
            Some(&app.token_for(&user.uuid, &[])),
            Some(&json!({"name": "x", "steamid": 1, "genres": []})),
        )
        .expect(403, msg(false, "Permission missing"));
    });
    app.request(
        "POST",
        "/api/game",
        Some(&user.token),
        Some(&json!({"name": "x", "steamid": 1, "genres": [genre, 4242]})),
    )
    .expect(404, msg(false, "Genre 4242 not found!"));
    app.request(
        "POST",
        "/api/serie",
        Some(&user.token),
        Some(&json!({"title": "x", "genres": [], "episodes": [{"genres": [4243]}]})),
    )
    .expect(404, msg(false, "Genre 4243 not found!"));
    assert_eq!(app.fingerprint(), before, "nothing stored");

    // Unique names: refused cleanly (the reference answered 500).
    let app_body = json!({"name": "Unique", "genres": []});
    assert_eq!(
        app.request(
            "POST",
            "/api/application",
            Some(&user.token),
            Some(&app_body)
        )
        .status
        .code,
        201
    );
    app.request("POST", "/api/application", Some(&user.token), Some(&app_body))
        .expect(400, json!({"status": false, "message": "Validation errors", "errors": ["This name is already proposed."]}));

    // Listing needs add_content and a numeric page.
    app.without_roles(&user.uuid, || {
        app.get(
            "/api/application/additional",
            &app.token_for(&user.uuid, &[]),
        )
        .expect(403, msg(false, "Permission missing"));
    });
    app.get("/api/application/additional?page=two", &user.token)
        .expect(400, json!({"errors": {"page": "invalid literal for int() with base 10: 'two'"}, "message": "Input payload validation failed"}));

    // Rejecting needs delete_content.
    let id = app.get("/api/application/additional", &user.token).json()["content"][0]["app_id"]
        .as_i64()
        .unwrap();
    app.request(
        "DELETE",
        &format!("/api/application/additional/{id}"),
        Some(&user.token),
        None,
    )
    .expect(403, msg(false, "Permission missing"));
    app.request(
        "DELETE",
        &format!("/api/application/additional/{id}"),
        Some(&admin.token),
        None,
    )
    .expect(
        201,
        msg(true, "Additional application successfully deleted"),
    );
    app.request(
        "DELETE",
        &format!("/api/application/additional/{id}"),
        Some(&admin.token),
        None,
    )
    .expect(404, msg(false, "Additional application not found!"));

    // Validating a name the catalogue already has: refused, nothing half-done.
    app.add_content("application", json!({"name": "Taken"}), &[]);
    app.request(
        "POST",
        "/api/application",
        Some(&user.token),
        Some(&json!({"name": "Taken", "genres": [genre]})),
    );
    let id = app.get("/api/application/additional", &user.token).json()["content"][0]["app_id"]
        .as_i64()
        .unwrap();
    let before = app.fingerprint();
    app.request("PUT", &format!("/api/application/additional/{id}"), Some(&admin.token), None)
        .expect(400, json!({"status": false, "message": "Validation errors", "errors": ["This name is already used by another application."]}));
    assert_eq!(app.fingerprint(), before);
}

#[test]
fn bad_recommendation_reports() {
    let app = TestApp::new();
    let user = app.register("user@example.com", "plain");
    let movie = app.add_content("movie", json!({"title": "Heat"}), &[]);
    let book = app.add_content("book", json!({"isbn": "1", "title": "B"}), &[]);
    let path = format!("/api/movie/{movie}/bad_recommendation");
    let ok = msg(true, "Bad recommendation has been registered.");
    // decisions F3: two reasons in one category, movies with their own categories, repeats idempotent.
    app.request("POST", &path, Some(&user.token), Some(&json!({"genres": ["Drama", "Crime"], "year": ["1995"], "categorie": ["x"], "other": 1})))
        .expect(201, ok.clone());
    app.request(
        "POST",
        &path,
        Some(&user.token),
        Some(&json!({"genres": ["Drama"]})),
    )
    .expect(201, ok.clone());
    app.request("POST", &path, Some(&user.token), Some(&json!({})))
        .expect(201, ok.clone());
    let rows: Vec<(String, String)> = app
        .db()
        .prepare("SELECT reason_categorie, reason FROM bad_recommendation_content ORDER BY 1, 2")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        rows,
        vec![
            ("genres".into(), "Crime".into()),
            ("genres".into(), "Drama".into()),
            ("year".into(), "1995".into())
        ]
    );
    // Non-array values are refused (movies were unchecked upstream); nothing stored.
    let before = app.fingerprint();
    app.request("POST", &path, Some(&user.token), Some(&json!({"genres": "Drama"})))
        .expect(400, json!({"errors": {"genres": "'Drama' is not of type 'array'"}, "message": "Input payload validation failed"}));
    app.request("POST", &path, Some(&user.token), Some(&json!({"actors": [1]})))
        .expect(400, json!({"errors": {"actors.0": "1 is not of type 'string'"}, "message": "Input payload validation failed"}));
    // The content must be of that medium.
    app.request(
        "POST",
        &format!("/api/movie/{book}/bad_recommendation"),
        Some(&user.token),
        Some(&json!({})),
    )
    .expect(404, msg(false, "Movie not found!"));
    app.request(
        "POST",
        &path,
        Some(&app.token_for(&ghost_uuid(), &[])),
        Some(&json!({})),
    )
    .expect(404, msg(false, "User not found!"));
    assert_eq!(app.fingerprint(), before);
    // Book categories.
    app.request(
        "POST",
        &format!("/api/book/{book}/bad_recommendation"),
        Some(&user.token),
        Some(&json!({"author": ["A"], "genres": ["ignored"]})),
    )
    .expect(201, ok);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM bad_recommendation_content WHERE reason_categorie = 'author'"
        ),
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM bad_recommendation_content WHERE reason = 'ignored'"),
        0
    );
    // The export shows them (decisions F9).
    assert_eq!(
        app.get("/api/user/export", &user.token).json()["user"]["bad_recommendations"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
}
