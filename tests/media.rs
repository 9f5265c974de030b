//! `/api/{m}` over HTTP against a real SQLite file, for every medium: lists and their orderings,
//! shapes, pagination, search, genres, recommendations, episodes, track history, and the content
//! routes of decisions F11.

mod common;

use common::{TestApp, ghost_uuid};
use serde_json::{Value, json};

const MEDIA: [&str; 6] = ["application", "book", "game", "movie", "serie", "track"];

fn not_found(message: &str) -> Value {
    json!({"status": false, "message": message})
}

/// A plausible content of each medium, named `name`.
fn fields(medium: &str, name: &str) -> Value {
    match medium {
        "application" => {
            json!({"name": name, "size": "12M", "installs": "1,000+", "type": "Free", "price": "0",
            "content_rating": "Everyone", "last_updated": "2020-01-01", "current_version": "1.0", "android_version": "8.0", "cover": "c.png"})
        }
        "book" => {
            json!({"isbn": format!("isbn-{name}").chars().take(13).collect::<String>(), "title": name, "author": "Ann Author",
            "year_of_publication": 1999, "publisher": "Pub", "image_url_s": "s", "image_url_m": "m", "image_url_l": "l"})
        }
        "game" => {
            json!({"steamid": 42, "name": name, "short_description": "d", "header_image": "h", "website": "w",
            "developers": "Dev", "publishers": "Pub", "price": "9.99", "recommendations": 10, "release_date": "2019"})
        }
        "movie" => {
            json!({"title": name, "language": "en", "actors": "A | B", "year": "1999", "producers": "P",
            "director": "D", "writer": "W", "imdbid": "tt1", "tmdbid": "1", "cover": "c", "plot_outline": "p"})
        }
        "serie" => {
            json!({"imdbid": "tt2", "title": name, "start_year": 2001, "end_year": 2004, "writers": "W",
            "directors": "D", "actors": "A", "cover": "c", "plot_outline": "p"})
        }
        "track" => {
            json!({"title": name, "year": 2001, "artist_name": "Band", "release": "Album", "track_mmid": "m",
            "recording_mbid": "6d43749e-d519-45dc-bdb8-4e9c3f9bcb69", "spotify_id": "12", "covert_art_url": "u"})
        }
        _ => unreachable!(),
    }
}

fn keys(item: &Value) -> Vec<String> {
    item.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn each_medium_lists_its_own_contents_in_its_popular_shape() {
    let app = TestApp::new();
    let user = app.register("alice@example.com", "alice");
    let genre = app.add_genre("Action", "MOVIE");
    let mut ids = std::collections::HashMap::new();
    for medium in MEDIA {
        ids.insert(
            medium,
            app.add_content(medium, fields(medium, &format!("{medium} one")), &[genre]),
        );
    }
    let expected_keys: [(&str, Vec<&str>); 6] = [
        (
            "application",
            vec![
                "content_id",
                "app_id",
                "name",
                "size",
                "installs",
                "type",
                "price",
                "content_rating",
                "last_updated",
                "current_version",
                "android_version",
                "cover",
                "rating",
                "rating_count",
                "popularity_score",
                "categorie",
            ],
        ),
        (
            "book",
            vec![
                "content_id",
                "isbn",
                "title",
                "author",
                "year_of_publication",
                "publisher",
                "image_url_s",
                "image_url_m",
                "image_url_l",
                "rating",
                "rating_count",
                "popularity_score",
            ],
        ),
        (
            "game",
            vec![
                "content_id",
                "game_id",
                "steamid",
                "name",
                "short_description",
                "header_image",
                "website",
                "developers",
                "publishers",
                "price",
                "recommendations",
                "release_date",
                "rating",
                "rating_count",
                "popularity_score",
                "genres",
            ],
        ),
        (
            "movie",
            vec![
                "content_id",
                "movie_id",
                "title",
                "language",
                "actors",
                "year",
                "producers",
                "director",
                "writer",
                "imdbid",
                "tmdbid",
                "cover",
                "plot_outline",
                "rating",
                "rating_count",
                "popularity_score",
                "genres",
            ],
        ),
        (
            "serie",
            vec![
                "content_id",
                "serie_id",
                "imdbid",
                "title",
                "start_year",
                "end_year",
                "writers",
                "directors",
                "actors",
                "cover",
                "plot_outline",
                "rating",
                "rating_count",
                "popularity_score",
                "genres",
            ],
        ),
        (
            "track",
            vec![
                "content_id",
                "track_id",
                "title",
                "year",
                "artist_name",
                "release",
                "track_mmid",
                "recording_mbid",
                "spotify_id",
                "covert_art_url",
                "rating",
                "rating_count",
                "popularity_score",
                "genres",
            ],
        ),
    ];
    for (medium, expected) in expected_keys {
        let body = app.get(&format!("/api/{medium}"), &user.token).json();
        assert_eq!(body["message"], format!("Most popular {medium} data sent"));
        assert_eq!(body["number_of_elements"], 1, "{medium}");
        assert_eq!(body["total_pages"], 1);
        let item = &body["content"][0];
        assert_eq!(keys(item), expected, "{medium} keys");
        assert_eq!(item["content_id"], ids[medium]);
        assert_eq!(item["rating"], Value::Null);
        assert_eq!(item["rating_count"], 0);
        assert_eq!(item["popularity_score"], 0.0);
    }
    // Typed values and the shapes' extras.
    let app_item = &app.get("/api/application", &user.token).json()["content"][0];
    assert_eq!(
        app_item["categorie"],
        json!({"genre_id": genre, "name": "Action", "count": 3})
    );
    let book = &app.get("/api/book", &user.token).json()["content"][0];
    assert_eq!(book["year_of_publication"], 1999);
    let movie = &app.get("/api/movie", &user.token).json()["content"][0];
    assert_eq!(movie["year"], "1999");
    assert_eq!(
        movie["genres"],
        json!([{"genre_id": genre, "name": "Action", "count": 3}])
    );
    // The wire text prints floats like Python.
    assert!(
        app.get("/api/movie", &user.token)
            .text
            .contains(r#""popularity_score": 0.0"#)
    );
}

#[test]
fn popular_orderings_per_medium_with_nulls_last_and_id_tiebreak() {
    let app = TestApp::new();
    let user = app.register("alice@example.com", "alice");
    for medium in MEDIA {
        let a = app.add_content(medium, fields(medium, "a"), &[]);
        let b = app.add_content(medium, fields(medium, "b"), &[]);
        let c = app.add_content(medium, fields(medium, "c"), &[]);
        let d = app.add_content(medium, fields(medium, "d"), &[]);
        let expected = match medium {
            "application" | "track" => {
                // rating_count DESC NULLS LAST, then rating DESC NULLS LAST, then content_id.
                app.set_scores(a, Some(3.0), Some(5), None);
                app.set_scores(b, Some(4.0), Some(5), None);
                app.set_scores(c, None, None, None);
                app.set_scores(d, None, Some(5), None);
                vec![b, a, d, c]
            }
            "game" => {
                let conn = app.db();
                for (id, recommendations) in [(a, Some(5)), (b, None), (c, Some(50)), (d, Some(5))]
                {
                    conn.execute(
                        "UPDATE game SET recommendations = ?2 WHERE content_id = ?1",
                        rusqlite::params![id, recommendations],
                    )
                    .unwrap();
                }
                vec![c, a, d, b]
            }
            _ => {
                app.set_scores(a, None, None, Some(0.5));
                app.set_scores(b, None, None, None);
                app.set_scores(c, None, None, Some(0.9));
                app.set_scores(d, None, None, Some(0.5));
                vec![c, a, d, b]
            }
        };
        let body = app.get(&format!("/api/{medium}"), &user.token).json();
        let got: Vec<i64> = body["content"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["content_id"].as_i64().unwrap())
            .collect();
        assert_eq!(got, expected, "{medium}");
    }
}

#[test]
fn pagination_is_24_a_page() {
    let app = TestApp::new();
    let user = app.register("alice@example.com", "alice");
    let ids: Vec<i64> = (0..50)
        .map(|i| app.add_content("movie", fields("movie", &format!("m{i}")), &[]))
        .collect();
    let page = |q: &str| app.get(&format!("/api/movie{q}"), &user.token).json();
    let first = page("");
    assert_eq!(
        (
            first["number_of_elements"].as_i64(),
            first["page"].as_i64(),
            first["total_pages"].as_i64()
        ),
        (Some(24), Some(1), Some(3))
    );
    assert_eq!(
        first["content"][0]["content_id"], ids[0],
        "equal scores: content_id order"
    );
    let third = page("?page=3");
    assert_eq!(third["number_of_elements"], 2);
    assert_eq!(third["content"][1]["content_id"], ids[49]);
    for q in ["?page=0", "?page=-3"] {
        let empty = page(q);
        assert_eq!(empty["content"], json!([]));
        assert_eq!(empty["total_pages"], 3);
    }
    assert_eq!(page("?page=4")["content"], json!([]));
    assert_eq!(page("?page=oops")["page"], 1);
    app.get("/api/movie", &app.token_for(&ghost_uuid(), &[]))
        .expect(404, not_found("User not found!"));
    app.get("/api/music", &user.token)
        .expect(404, not_found("Resource not found"));
}

#[test]
fn search_is_literal_case_insensitive_and_ordered() {
    let app = TestApp::new();
    let user = app.register("alice@example.com", "alice");
    let popular_inner = app.add_content("movie", fields("movie", "The Matrix Reloaded"), &[]);
    let unpopular_inner = app.add_content("movie", fields("movie", "Inside the matrix"), &[]);
    let prefix = app.add_content("movie", fields("movie", "Matrix Revisited"), &[]);
    let exact = app.add_content("movie", fields("movie", "MATRIX"), &[]);
    app.add_content("movie", fields("movie", "Unrelated"), &[]);
    let odd = app.add_content("movie", fields("movie", "100% pure_fun"), &[]);
    app.add_content("book", fields("book", "Matrix book"), &[]);
    app.set_scores(popular_inner, None, None, Some(0.9));
    app.set_scores(unpopular_inner, None, None, Some(0.1));
    let search = |term: &str| -> Vec<i64> {
        let body = app
            .get(&format!("/api/movie/search/{term}"), &user.token)
            .json();
        assert_eq!(body["message"], "Movie data sent");
        body["content"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["content_id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(
        search("matrix"),
        vec![exact, prefix, popular_inner, unpopular_inner]
    );
    assert_eq!(search("mAtRiX%20re"), vec![prefix, popular_inner]);
    assert_eq!(search("%25"), vec![odd], "% is a literal character");
    assert_eq!(search("e_f"), vec![odd], "_ is a literal character");
    assert_eq!(search("0%25%20p"), vec![odd]);
    // Two characters: no trigram, a scan with the same order.
    assert_eq!(
        search("ix"),
        vec![popular_inner, unpopular_inner, prefix, exact]
    );
    assert_eq!(search("zzz"), Vec::<i64>::new());

    // Search shapes: Base for most media, Object (with genres) for tracks.
    let movie_item = &app.get("/api/movie/search/matrix", &user.token).json()["content"][0];
    assert!(movie_item.get("genres").is_none());
    app.add_content("track", fields("track", "Matrix theme"), &[]);
    let track_item = &app.get("/api/track/search/matrix", &user.token).json()["content"][0];
    assert!(track_item.get("genres").is_some());
    assert_eq!(
        app.get("/api/track/search/matrix", &user.token).json()["message"],
        "Track data sent"
    );
}

#[test]
fn short_terms_search_too_and_the_index_follows_changes() {
    let app = TestApp::new();
    let admin = app.register_admin("root@example.com", "root");
    let id = app.add_content("game", fields("game", "Zelda"), &[]);
    let found = |term: &str| {
        app.get(&format!("/api/game/search/{term}"), &admin.token)
            .json()["total_pages"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(found("z"), 1);
    assert_eq!(found("ld"), 1);
    assert_eq!(found("zelda"), 1);
    assert_eq!(
        app.request(
            "PATCH",
            &format!("/api/game/{id}"),
            Some(&admin.token),
            Some(&json!({"name": "Metroid"}))
        )
        .status
        .code,
        201
    );
    assert_eq!(found("zelda"), 0);
    assert_eq!(found("troi"), 1);
    assert_eq!(
        app.request(
            "DELETE",
            &format!("/api/game/{id}"),
            Some(&admin.token),
            None
        )
        .status
        .code,
        201
    );
    assert_eq!(found("troi"), 0);
}

#[test]
fn genres_per_medium() {
    let app = TestApp::new();
    let user = app.register("alice@example.com", "alice");
    let rock = app.add_genre("Rock", "TRACK");
    let pop = app.add_genre("Pop", "TRACK");
    app.db()
        .execute("UPDATE genre SET count = 10 WHERE genre_id = ?1", [pop])
        .unwrap();
    let unknown_count = app.add_genre("Jazz", "TRACK");
    app.db()
        .execute(
            "UPDATE genre SET count = NULL WHERE genre_id = ?1",
            [unknown_count],
        )
        .unwrap();
    app.add_genre("Drama", "MOVIE");
    app.get("/api/track/genres", &user.token).expect(
        200,
        json!({"status": true, "message": "track genres data sent", "content": [
            {"genre_id": unknown_count, "name": "Jazz", "count": null},
            {"genre_id": pop, "name": "Pop", "count": 10},
            {"genre_id": rock, "name": "Rock", "count": 3},
        ]}),
    );
    for (medium, message) in [
        ("game", "Game genres data sent"),
        ("movie", "Movie genres data sent"),
        ("serie", "Serie genres data sent"),
        ("application", "Application genres data sent"),
    ] {
        assert_eq!(
            app.get(&format!("/api/{medium}/genres"), &user.token)
                .json()["message"],
            message
        );
    }
    assert_eq!(
        app.get("/api/movie/genres", &user.token).json()["content"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    app.get("/api/book/genres", &user.token)
        .expect(404, not_found("Resource not found"));
    // Application needs indicate_interest, checked after the caller.
    app.without_roles(&user.uuid, || {
        app.get(
            "/api/application/genres",
            &app.token_for(&ghost_uuid(), &[]),
        )
        .expect(404, not_found("User not found!"));
        app.get("/api/application/genres", &app.token_for(&user.uuid, &[]))
            .expect(403, not_found("Permission missing"));
    });
    app.without_roles(&user.uuid, || {
        assert_eq!(
            app.get("/api/movie/genres", &app.token_for(&user.uuid, &[]))
                .status
                .code,
            200
        );
    });
}

#[test]
fn recommendation_lists_for_users_and_groups() {
    let app = TestApp::new();
    let alice = app.register("alice@example.com", "alice");
    let bob = app.register("bob@example.com", "bob_b");
    let (alice_id, bob_id) = (app.user_id(&alice.uuid), app.user_id(&bob.uuid));
    let m1 = app.add_content("movie", fields("movie", "one"), &[]);
    let m2 = app.add_content("movie", fields("movie", "two"), &[]);
    let m3 = app.add_content("movie", fields("movie", "three"), &[]);
    let b1 = app.add_content("book", fields("book", "bookish"), &[]);
    app.set_scores(m2, None, None, Some(0.7));
    let conn = app.db();
    conn.execute_batch(&format!(
        "INSERT INTO recommended_content (user_id, content_id, score, engine, engine_priority, content_type) VALUES
            ({alice_id}, {m1}, 0.5, 'CollaborativeFiltering', 5, 'MOVIE'),
            ({alice_id}, {m2}, NULL, 'FromSimilarContent', 2, 'MOVIE'),
            ({alice_id}, {m3}, 0.9, 'CollaborativeFiltering', 5, 'MOVIE'),
            ({alice_id}, {b1}, 0.9, 'CollaborativeFiltering', 5, 'BOOK'),
            ({bob_id}, {m1}, 0.99, 'CollaborativeFiltering', 5, 'MOVIE');
         INSERT INTO \"group\" (group_id, name, owner_id) VALUES (1, 'owned', {alice_id}), (2, 'joined', {bob_id}), (3, 'other', {bob_id});
         INSERT INTO group_members (user_id, group_id) VALUES ({alice_id}, 2);
         INSERT INTO recommended_content_for_group (group_id, content_id, score, engine, engine_priority, content_type) VALUES
            (1, {m1}, 0.2, 'CollaborativeFiltering', 5, 'MOVIE'),
            (2, {m1}, 0.6, 'CollaborativeFiltering', 5, 'MOVIE'),
            (2, {m2}, 0.4, 'FromProfile', 4, 'MOVIE'),
            (3, {m3}, 0.9, 'CollaborativeFiltering', 5, 'MOVIE');"
    ))
    .unwrap();
    let list = |path: &str| -> Vec<(i64, Value, Value)> {
        let body = app.get(path, &alice.token).json();
        assert_eq!(body["message"], "Most popular movie data sent", "{path}");
        body["content"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["content_id"].as_i64().unwrap(),
                    i["reco_engine"].clone(),
                    i["reco_score"].clone(),
                )
            })
            .collect()
    };
    assert_eq!(
        list("/api/movie/user"),
        vec![
            (m3, json!("CollaborativeFiltering"), json!(0.9)),
            (m1, json!("CollaborativeFiltering"), json!(0.5)),
            (m2, json!("FromSimilarContent"), Value::Null),
        ]
    );
    assert_eq!(
        list("/api/movie/user?reco_engine=FromSimilarContent"),
        vec![(m2, json!("FromSimilarContent"), Value::Null)]
    );
    assert_eq!(list("/api/movie/user?reco_engine="), vec![]);
    // decisions F2: every group the caller owns or belongs to, once per content with its best score.
    assert_eq!(
        list("/api/movie/groups"),
        vec![
            (m1, json!("CollaborativeFiltering"), json!(0.6)),
            (m2, json!("FromProfile"), json!(0.4))
        ]
    );
    // The engine filter applies to the rows before they are merged per content.
    assert_eq!(
        list("/api/movie/groups?reco_engine=FromProfile"),
        vec![(m2, json!("FromProfile"), json!(0.4))]
    );
    let movie = &app.get("/api/movie/user", &alice.token).json()["content"][0];
    assert!(movie.get("genres").is_some() && movie.get("movie_id").is_some());
    let book = &app.get("/api/book/user", &alice.token).json()["content"][0];
    assert!(book.get("genres").is_none());
    assert_eq!(book["reco_score"], 0.9);

    // reqparse: page must be an integer; a GET with a JSON content type and no body is malformed.
    app.get("/api/movie/user?page=x", &alice.token)
        .expect(400, json!({"errors": {"page": "invalid literal for int() with base 10: 'x'"}, "message": "Input payload validation failed"}));
    app.get("/api/movie/groups?page=", &alice.token)
        .expect(400, json!({"errors": {"page": "invalid literal for int() with base 10: ''"}, "message": "Input payload validation failed"}));
    assert_eq!(
        app.get("/api/movie/user?page=%201_0%20", &alice.token)
            .json()["page"],
        10
    );
    app.raw("GET", "/api/movie/user", Some(&format!("Bearer {}", alice.token)), Some(b""), Some(rocket::http::ContentType::JSON))
        .expect(400, json!({"message": "The browser (or proxy) sent a request that this server could not understand."}));
    app.get("/api/movie/groups", &app.token_for(&ghost_uuid(), &[]))
        .expect(404, not_found("User not found!"));
}

#[test]
fn serie_episodes_in_order() {
    let app = TestApp::new();
    let user = app.register("alice@example.com", "alice");
    let serie = app.add_content("serie", fields("serie", "Show"), &[]);
    let e3 = app.add_content("episode", json!({"title": "S2E1", "year": 2002, "season_number": 2, "episode_number": 1, "serie_id": serie, "imdbid": "tt3"}), &[]);
    let e1 = app.add_content("episode", json!({"title": "S1E1", "year": 2001, "season_number": 1, "episode_number": 1, "serie_id": serie}), &[]);
    let e2 = app.add_content("episode", json!({"title": "S1E2", "year": 2001, "season_number": 1, "episode_number": 2, "serie_id": serie}), &[]);
    // The caller is not looked up: a valid token of nobody works.
    let body = app
        .get(
            &format!("/api/serie/{serie}/episodes"),
            &app.token_for(&ghost_uuid(), &[]),
        )
        .json();
    assert_eq!(body["message"], "Series episodes data sent");
    let got: Vec<i64> = body["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["content_id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, vec![e1, e2, e3]);
    assert_eq!(
        body["content"][2],
        json!({"content_id": e3, "episode_id": e3, "imdbid": "tt3", "title": "S2E1", "year": 2002,
        "season_number": 2, "episode_number": 1, "serie_id": serie, "rating": null, "rating_count": 0})
    );
    let lonely = app.add_content("serie", fields("serie", "Empty"), &[]);
    app.get(&format!("/api/serie/{lonely}/episodes"), &user.token)
        .expect(404, not_found("Serie not found!"));
    app.get("/api/serie/999999/episodes", &user.token)
        .expect(404, not_found("Serie not found!"));
    // Episodes are not series in the popular list.
    assert_eq!(app.get("/api/serie", &user.token).json()["total_pages"], 1);
    assert_eq!(
        app.get("/api/serie", &user.token).json()["number_of_elements"],
        2
    );
}

#[test]
fn track_history_follows_plays() {
    let app = TestApp::new();
    let user = app.register("alice@example.com", "alice");
    let t1 = app.add_content("track", fields("track", "first"), &[]);
    let t2 = app.add_content("track", fields("track", "second"), &[]);
    let movie = app.add_content("movie", fields("movie", "not a track"), &[]);
    let body = app.get("/api/track/history", &user.token).json();
    assert_eq!(
        body["message"],
        "History of listened track data successfully updated"
    );
    assert_eq!(body["content"], json!([]));
    for id in [t1, t2, movie] {
        assert_eq!(
            app.request(
                "PATCH",
                &format!("/api/track/{id}/meta"),
                Some(&user.token),
                Some(&json!({"additional_count": 1}))
            )
            .status
            .code,
            201
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    // Rating alone is not a play.
    let t3 = app.add_content("track", fields("track", "third"), &[]);
    app.request(
        "PATCH",
        &format!("/api/track/{t3}/meta"),
        Some(&user.token),
        Some(&json!({"rating": 4})),
    );
    let body = app.get("/api/track/history", &user.token).json();
    let items = body["content"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["track"]["content_id"], t2);
    assert_eq!(items[1]["track"]["content_id"], t1);
    assert!(items[0]["track"].get("genres").is_some());
    let played = items[0]["last_played_date"].as_str().unwrap();
    assert!(
        played.contains('T')
            && chrono::NaiveDateTime::parse_from_str(played, "%Y-%m-%dT%H:%M:%S%.f").is_ok(),
        "{played}"
    );
}

#[test]
fn one_content_modify_and_delete_with_their_events() {
    let app = TestApp::new();
    let user = app.register("alice@example.com", "alice");
    let admin = app.register_admin("root@example.com", "root");
    let admin_id = app.user_id(&admin.uuid);
    let drama = app.add_genre("Drama", "MOVIE");
    let comedy = app.add_genre("Comedy", "MOVIE");
    let id = app.add_content("movie", fields("movie", "Heat"), &[drama]);

    let body = app.get(&format!("/api/movie/{id}"), &user.token).json();
    assert_eq!(body["message"], "Movie data sent");
    assert_eq!(body["content"]["title"], "Heat");
    assert_eq!(
        body["content"]["genres"],
        json!([{"genre_id": drama, "name": "Drama", "count": 3}])
    );
    app.get(&format!("/api/book/{id}"), &user.token)
        .expect(404, not_found("Book not found!"));
    app.get("/api/movie/999999", &user.token)
        .expect(404, not_found("Movie not found!"));
    app.get(
        &format!("/api/movie/{id}"),
        &app.token_for(&ghost_uuid(), &[]),
    )
    .expect(404, not_found("User not found!"));

    // PATCH: caller, permission, content, in that order; Layer A first of all.
    let path = format!("/api/movie/{id}");
    app.request("PATCH", &path, None, Some(&json!({"title": 5})))
        .expect(400, json!({"errors": {"title": "5 is not of type 'string'"}, "message": "Input payload validation failed"}));
    app.request(
        "PATCH",
        &path,
        Some(&app.token_for(&ghost_uuid(), &["modify_content"])),
        Some(&json!({"title": "x"})),
    )
    .expect(404, not_found("User not found!"));
    app.request(
        "PATCH",
        &path,
        Some(&user.token),
        Some(&json!({"title": "x"})),
    )
    .expect(403, not_found("Permission missing"));
    app.request(
        "PATCH",
        "/api/movie/999999",
        Some(&admin.token),
        Some(&json!({"title": "x"})),
    )
    .expect(404, not_found("Movie not found!"));
    app.request(
        "PATCH",
        &path,
        Some(&admin.token),
        Some(&json!({"titel": "x"})),
    )
    .expect(
        400,
        json!({"status": false, "message": "Validation errors", "errors": ["Unknown field."]}),
    );
    app.request(
        "PATCH",
        &path,
        Some(&admin.token),
        Some(&json!({"genres": [9999]})),
    )
    .expect(404, not_found("Genre 9999 not found!"));

    let before = app.events().len();
    let reply = app.request("PATCH", &path, Some(&admin.token), Some(&json!({"title": "Heat 2", "year": "1999", "director": "Mann", "genres": [comedy, drama]})));
    assert_eq!(reply.status.code, 201, "{}", reply.text);
    assert_eq!(reply.json()["message"], "Movie updated successfully");
    assert_eq!(reply.json()["content"]["title"], "Heat 2");
    let events = app.events();
    let new: Vec<(String, String)> = events[before..]
        .iter()
        .map(|(_, t, text)| (t.clone(), text.clone()))
        .collect();
    assert_eq!(
        new,
        vec![
            (
                "changed_event".to_owned(),
                format!("{admin_id}|{id}|movie|title|Heat 2")
            ),
            (
                "changed_event".to_owned(),
                format!("{admin_id}|{id}|movie|director|Mann")
            ),
            (
                "changed_event".to_owned(),
                format!("{admin_id}|{id}|movie|genres|[{comedy}, {drama}]")
            ),
        ],
        "one event per column that changed (year did not)"
    );
    // The same change again changes nothing and writes nothing.
    app.request(
        "PATCH",
        &path,
        Some(&admin.token),
        Some(&json!({"title": "Heat 2", "genres": [comedy, drama]})),
    );
    assert_eq!(app.events().len(), events.len());

    // DELETE.
    app.request("DELETE", &path, Some(&user.token), None)
        .expect(403, not_found("Permission missing"));
    app.request(
        "DELETE",
        &format!("/api/serie/{id}"),
        Some(&admin.token),
        None,
    )
    .expect(404, not_found("Serie not found!"));
    app.request(
        "GET",
        &format!("/api/movie/{id}/meta"),
        Some(&user.token),
        None,
    );
    app.request("DELETE", &path, Some(&admin.token), None)
        .expect(
            201,
            json!({"status": true, "message": "Movie successfully deleted"}),
        );
    let last = app.events().pop().unwrap();
    assert_eq!(
        (last.1.as_str(), last.2),
        ("deletion_event", format!("{admin_id}|{id}|movie"))
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM content WHERE content_id = {id}"
        )),
        0
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM meta_user_content WHERE content_id = {id}"
        )),
        0
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM content_genres WHERE content_id = {id}"
        )),
        0
    );
    app.get(&path, &user.token)
        .expect(404, not_found("Movie not found!"));
}

#[test]
fn deleting_a_serie_deletes_its_episodes_with_events_and_unique_names_are_kept() {
    let app = TestApp::new();
    let admin = app.register_admin("root@example.com", "root");
    let serie = app.add_content("serie", fields("serie", "Show"), &[]);
    let episode = app.add_content(
        "episode",
        json!({"title": "Pilot", "season_number": 1, "episode_number": 1, "serie_id": serie}),
        &[],
    );
    app.request(
        "DELETE",
        &format!("/api/serie/{serie}"),
        Some(&admin.token),
        None,
    )
    .expect(
        201,
        json!({"status": true, "message": "Serie successfully deleted"}),
    );
    let deletions: Vec<String> = app
        .events()
        .into_iter()
        .filter(|e| e.1 == "deletion_event")
        .map(|e| e.2)
        .collect();
    let admin_id = app.user_id(&admin.uuid);
    assert_eq!(
        deletions,
        vec![
            format!("{admin_id}|{episode}|episode"),
            format!("{admin_id}|{serie}|serie")
        ]
    );

    let first = app.add_content("application", fields("application", "Alpha"), &[]);
    app.add_content("application", fields("application", "Beta"), &[]);
    let before = app.fingerprint();
    app.request("PATCH", &format!("/api/application/{first}"), Some(&admin.token), Some(&json!({"name": "Beta", "price": "1"})))
        .expect(400, json!({"status": false, "message": "Validation errors", "errors": ["This name is already used by another application."]}));
    assert_eq!(
        app.fingerprint(),
        before,
        "nothing of the failed change is kept"
    );
}

#[test]
fn search_with_thousands_of_matches_keeps_the_order() {
    use recofinement::db::catalogue::{self, NewContent};
    let app = TestApp::new();
    let user = app.register("alice@example.com", "alice");
    let track = &recofinement::media::Medium::by_name("track").unwrap().table;
    let mut conn = app.db();
    let tx = conn.transaction().unwrap();
    let ctx = recofinement::events::EventContext::now(None);
    for i in 0..7000i64 {
        let title = match i % 7 {
            0 => "THE".to_owned(),
            1..=3 => format!("The road {i}"),
            4 => format!("Bathe {i}"),
            5 => format!("over the hill {i}"),
            _ => format!("nothing {i}"),
        };
        let values = track
            .columns
            .iter()
            .map(|c| {
                if c.name == "title" {
                    rusqlite::types::Value::Text(title.clone())
                } else {
                    rusqlite::types::Value::Null
                }
            })
            .collect();
        let id = catalogue::add(
            &tx,
            &ctx,
            track,
            &NewContent {
                values,
                genres: vec![],
            },
        )
        .unwrap();
        tx.execute(
            "UPDATE content SET rating_count = ?2, rating = ?3 WHERE content_id = ?1",
            rusqlite::params![
                id,
                (i * 7919) % 97,
                if i % 3 == 0 {
                    None
                } else {
                    Some((i % 5) as f64)
                }
            ],
        )
        .unwrap();
    }
    tx.commit().unwrap();

    // The order by brute force: exact, prefix, rest; each by rating_count DESC, rating DESC (NULL last), id.
    let mut expected: Vec<(i64, String, i64, Option<f64>)> = conn
        .prepare("SELECT c.content_id, t.title, c.rating_count, c.rating FROM content c JOIN track t USING (content_id) WHERE instr(lower(t.title), 'the') > 0")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let group = |title: &str| {
        if title.eq_ignore_ascii_case("the") {
            0
        } else if title.to_lowercase().starts_with("the") {
            1
        } else {
            2
        }
    };
    expected.sort_by(|a, b| {
        group(&a.1)
            .cmp(&group(&b.1))
            .then(b.2.cmp(&a.2))
            .then(
                b.3.unwrap_or(f64::NEG_INFINITY)
                    .total_cmp(&a.3.unwrap_or(f64::NEG_INFINITY)),
            )
            .then(a.0.cmp(&b.0))
    });
    assert_eq!(expected.len(), 6000);
    let pages = expected.len().div_ceil(24);
    for page in [1, 2, 41, 42, 43, 100, 166, 167, 168, 200, 249, 250, 251] {
        let reply = app.get(&format!("/api/track/search/The?page={page}"), &user.token);
        assert_eq!(reply.status.code, 200, "{}", reply.text);
        let body = reply.json();
        assert_eq!(body["total_pages"], pages as i64);
        let got: Vec<i64> = body["content"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["content_id"].as_i64().unwrap())
            .collect();
        let start = ((page - 1) * 24).min(expected.len());
        let want: Vec<i64> = expected[start..(start + 24).min(expected.len())]
            .iter()
            .map(|e| e.0)
            .collect();
        assert_eq!(got, want, "page {page}");
    }
}

#[test]
fn the_group_engine_filter_applies_before_contents_are_merged() {
    let app = TestApp::new();
    let alice = app.register("alice@example.com", "alice");
    let alice_id = app.user_id(&alice.uuid);
    let movie = app.add_content("movie", fields("movie", "shared"), &[]);
    app.db()
        .execute_batch(&format!(
            "INSERT INTO \"group\" (group_id, name, owner_id) VALUES (1, 'a', {alice_id}), (2, 'b', {alice_id});
             INSERT INTO recommended_content_for_group (group_id, content_id, score, engine) VALUES
                (1, {movie}, 0.9, 'CollaborativeFiltering'), (2, {movie}, 0.5, 'FromProfile');"
        ))
        .unwrap();
    let first = |path: &str| {
        let body = app.get(path, &alice.token).json();
        (
            body["content"][0]["reco_engine"].clone(),
            body["content"][0]["reco_score"].clone(),
            body["number_of_elements"].clone(),
        )
    };
    assert_eq!(
        first("/api/movie/groups"),
        (json!("CollaborativeFiltering"), json!(0.9), json!(1))
    );
    assert_eq!(
        first("/api/movie/groups?reco_engine=FromProfile"),
        (json!("FromProfile"), json!(0.5), json!(1))
    );
}
