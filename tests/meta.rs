//! User↔content interactions over HTTP: view counting, the running average of ratings, consumption,
//! and the exact event rows each write path leaves (and none for a failed request). Ends with a
//! randomized run whose event log must replay to exactly the stored `meta_user_content`.

mod common;

use common::{TestApp, ghost_uuid};
use serde_json::{Value, json};

fn movie(app: &TestApp, title: &str) -> i64 {
    app.add_content("movie", json!({"title": title}), &[])
}

fn events_after(app: &TestApp, before: usize) -> Vec<(String, String)> {
    app.events()[before..]
        .iter()
        .map(|(_, table, text)| (table.clone(), text.clone()))
        .collect()
}

/// Event text without the timestamps (they are checked separately).
fn strip_dates(text: &str) -> String {
    text.split('|')
        .map(|part| {
            if chrono::NaiveDateTime::parse_from_str(part, "%Y-%m-%d %H:%M:%S%.f").is_ok() {
                "<ts>"
            } else {
                part
            }
        })
        .collect::<Vec<_>>()
        .join("|")
}

#[test]
fn get_meta_counts_views_with_the_reference_events() {
    let app = TestApp::new();
    let user = app.register("alice@example.com", "alice");
    let uid = app.user_id(&user.uuid);
    let id = movie(&app, "Heat");
    let start = app.events().len();

    let first = app.get(&format!("/api/movie/{id}/meta"), &user.token);
    assert_eq!(first.status.code, 200);
    let body = first.json();
    assert_eq!(body["message"], "Meta successfully sent");
    let meta = &body["content"];
    assert_eq!(
        (
            meta["rating"].clone(),
            meta["review_see_count"].clone(),
            meta["count"].clone()
        ),
        (Value::Null, json!(1), json!(0))
    );
    assert_eq!(
        (
            meta["last_rating_date"].clone(),
            meta["last_count_increment"].clone()
        ),
        (Value::Null, Value::Null)
    );
    let seen = meta["last_review_see_date"].as_str().unwrap();
    assert!(
        chrono::NaiveDateTime::parse_from_str(seen, "%Y-%m-%dT%H:%M:%S%.f").is_ok(),
        "{seen}"
    );
    assert_eq!(
        events_after(&app, start),
        vec![(
            "meta_added_event".to_owned(),
            format!("{uid}|{id}|NULL|1|0")
        )]
    );

    let second = app
        .get(&format!("/api/movie/{id}/meta"), &user.token)
        .json();
    assert_eq!(second["content"]["review_see_count"], 2);
    let new: Vec<(String, String)> = events_after(&app, start + 1)
        .into_iter()
        .map(|(t, x)| (t, strip_dates(&x)))
        .collect();
    assert_eq!(
        new,
        vec![
            (
                "changed_event".to_owned(),
                format!("{uid}|{id}|meta_user_content|review_see_count|2")
            ),
            (
                "changed_event".to_owned(),
                format!("{uid}|{id}|meta_user_content|last_review_see_date|<ts>")
            ),
        ]
    );
    // Event timestamps are UTC and equal the stored date.
    let stored: String = app
        .db()
        .query_row(
            "SELECT last_review_see_date FROM meta_user_content",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(app.events().last().unwrap().2.ends_with(&stored));
    let event_at: String = app
        .db()
        .query_row(
            "SELECT occured_at FROM changed_event ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(event_at, stored);
    let drift = chrono::Utc::now().naive_utc()
        - chrono::NaiveDateTime::parse_from_str(&stored, "%Y-%m-%d %H:%M:%S%.f").unwrap();
    assert!(drift.num_seconds().abs() < 60, "UTC");

    // Any content id works on any media route (the reference does not check the type).
    assert_eq!(
        app.get(&format!("/api/book/{id}/meta"), &user.token).json()["content"]["review_see_count"],
        3
    );
    app.get("/api/movie/999999/meta", &user.token)
        .expect(404, json!({"status": false, "message": "Item not found!"}));
    app.get(
        &format!("/api/movie/{id}/meta"),
        &app.token_for(&ghost_uuid(), &[]),
    )
    .expect(404, json!({"status": false, "message": "User not found!"}));
}

#[test]
fn rating_keeps_the_reference_running_average() {
    let app = TestApp::new();
    let user = app.register("alice@example.com", "alice");
    let uid = app.user_id(&user.uuid);
    let id = movie(&app, "Heat");
    app.set_scores(id, Some(4.0), Some(10), Some(0.0));
    let ok = json!({"status": true, "message": "Meta successfully updated"});
    let rating = |app: &TestApp| -> (f64, i64) {
        app.db()
            .query_row(
                "SELECT rating, rating_count FROM content WHERE content_id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
    };
    let start = app.events().len();
    app.request(
        "PATCH",
        &format!("/api/movie/{id}/meta"),
        Some(&user.token),
        Some(&json!({"rating": 5})),
    )
    .expect(201, ok.clone());
    assert_eq!(rating(&app), (4.090909090909091, 11));
    assert_eq!(
        events_after(&app, start),
        vec![("meta_added_event".to_owned(), format!("{uid}|{id}|5|0|0"))]
    );
    app.request(
        "PATCH",
        &format!("/api/movie/{id}/meta"),
        Some(&user.token),
        Some(&json!({"rating": 1})),
    )
    .expect(201, ok.clone());
    assert_eq!(rating(&app), (3.727272727272727, 11));
    let new: Vec<(String, String)> = events_after(&app, start + 1)
        .into_iter()
        .map(|(t, x)| (t, strip_dates(&x)))
        .collect();
    assert_eq!(
        new,
        vec![
            (
                "changed_event".to_owned(),
                format!("{uid}|{id}|meta_user_content|rating|1")
            ),
            (
                "changed_event".to_owned(),
                format!("{uid}|{id}|meta_user_content|last_rating_date|<ts>")
            ),
        ]
    );
    // A zero counts as a rating.
    let other = app.register("bob@example.com", "bob_b");
    app.request(
        "PATCH",
        &format!("/api/movie/{id}/meta"),
        Some(&other.token),
        Some(&json!({"rating": 0})),
    )
    .expect(201, ok);
    let (average, count) = rating(&app);
    assert_eq!(count, 12);
    assert!((average - 41.0 / 12.0).abs() < 1e-12);
    // The wire shows the average as a float.
    let listed = &app.get("/api/movie", &user.token).json()["content"][0];
    assert_eq!(listed["rating_count"], 12);
}

#[test]
fn consumption_counts_with_the_reference_texts() {
    let app = TestApp::new();
    let user = app.register("alice@example.com", "alice");
    let uid = app.user_id(&user.uuid);
    let id = movie(&app, "Heat");
    let patch = |body: Value| {
        app.request(
            "PATCH",
            &format!("/api/movie/{id}/meta"),
            Some(&user.token),
            Some(&body),
        )
    };
    let start = app.events().len();
    assert_eq!(patch(json!({"additional_count": 3})).status.code, 201);
    assert_eq!(
        events_after(&app, start),
        vec![(
            "meta_added_event".to_owned(),
            format!("{uid}|{id}|NULL|0|3")
        )]
    );
    assert_eq!(patch(json!({"additional_count": 2.5})).status.code, 201);
    let count: i64 = app
        .db()
        .query_row("SELECT count FROM meta_user_content", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        count, 6,
        "3 + 2.5 = 5.5, stored rounded half away from zero"
    );
    let new: Vec<(String, String)> = events_after(&app, start + 1)
        .into_iter()
        .map(|(t, x)| (t, strip_dates(&x)))
        .collect();
    assert_eq!(
        new,
        vec![
            (
                "changed_event".to_owned(),
                format!("{uid}|{id}|meta_user_content|count|5.5")
            ),
            (
                "changed_event".to_owned(),
                format!("{uid}|{id}|meta_user_content|last_count_increment|<ts>")
            ),
        ]
    );
    // Both at once, in column order; an empty body creates nothing new on an existing row.
    let mark = app.events().len();
    assert_eq!(
        patch(json!({"rating": 4, "additional_count": 1, "unknown": "ignored"}))
            .status
            .code,
        201
    );
    let attributes: Vec<String> = events_after(&app, mark)
        .iter()
        .map(|(_, x)| x.split('|').nth(3).unwrap().to_owned())
        .collect();
    assert_eq!(
        attributes,
        vec![
            "rating",
            "last_rating_date",
            "count",
            "last_count_increment"
        ]
    );
    let mark = app.events().len();
    assert_eq!(patch(json!({})).status.code, 201);
    assert_eq!(app.events().len(), mark);
    // An empty body on a new row creates it.
    let other = movie(&app, "Other");
    let mark = app.events().len();
    assert_eq!(
        app.request(
            "PATCH",
            &format!("/api/movie/{other}/meta"),
            Some(&user.token),
            Some(&json!({}))
        )
        .status
        .code,
        201
    );
    assert_eq!(
        events_after(&app, mark),
        vec![(
            "meta_added_event".to_owned(),
            format!("{uid}|{other}|NULL|0|0")
        )]
    );
}

#[test]
fn failed_requests_write_nothing() {
    let app = TestApp::new();
    let user = app.register("alice@example.com", "alice");
    let id = movie(&app, "Heat");
    app.request(
        "PATCH",
        &format!("/api/movie/{id}/meta"),
        Some(&user.token),
        Some(&json!({"rating": 3})),
    );
    let before = app.fingerprint();
    let invalid = |body: Value, errors: Value| {
        app.request(
            "PATCH",
            &format!("/api/movie/{id}/meta"),
            Some(&user.token),
            Some(&body),
        )
        .expect(
            400,
            json!({"errors": errors, "message": "Input payload validation failed"}),
        );
    };
    invalid(
        json!({"rating": 6}),
        json!({"rating": "6 is greater than the maximum of 5"}),
    );
    invalid(
        json!({"rating": -1}),
        json!({"rating": "-1 is less than the minimum of 0"}),
    );
    invalid(
        json!({"rating": 2.0}),
        json!({"rating": "2.0 is not of type 'integer'"}),
    );
    invalid(
        json!({"rating": null}),
        json!({"rating": "None is not of type 'integer'"}),
    );
    invalid(
        json!({"additional_count": -0.5}),
        json!({"additional_count": "-0.5 is less than the minimum of 0"}),
    );
    invalid(
        json!({"additional_count": "2"}),
        json!({"additional_count": "'2' is not of type 'number'"}),
    );
    invalid(
        json!({"additional_count": true}),
        json!({"additional_count": "True is not of type 'number'"}),
    );
    app.request(
        "PATCH",
        &format!("/api/movie/{id}/meta"),
        Some(&user.token),
        Some(&json!({"additional_count": 1e300})),
    )
    .expect(
        400,
        json!({"status": false, "message": "additional_count would make the count too large"}),
    );
    app.request(
        "PATCH",
        "/api/movie/999999/meta",
        Some(&user.token),
        Some(&json!({"rating": 3})),
    )
    .expect(404, json!({"status": false, "message": "Item not found!"}));
    app.request(
        "PATCH",
        &format!("/api/movie/{id}/meta"),
        Some(&app.token_for(&ghost_uuid(), &[])),
        Some(&json!({"rating": 3})),
    )
    .expect(404, json!({"status": false, "message": "User not found!"}));
    app.request(
        "PATCH",
        &format!("/api/movie/{id}/meta"),
        None,
        Some(&json!({"rating": 3})),
    )
    .expect(401, json!({"msg": "Missing Authorization Header"}));
    assert_eq!(app.fingerprint(), before);
}

#[test]
fn every_event_table_shares_one_increasing_id_sequence() {
    let app = TestApp::new();
    let admin = app.register_admin("root@example.com", "root");
    let mut last = 0;
    for (i, medium) in ["application", "book", "game", "movie", "serie", "track"]
        .iter()
        .enumerate()
    {
        let name = format!("thing{i}");
        let fields = if *medium == "book" {
            json!({"isbn": name, "title": name})
        } else {
            json!({"name": name, "title": name})
        };
        let id = app.add_content(medium, fields, &[]);
        app.get(&format!("/api/{medium}/{id}/meta"), &admin.token);
        app.request(
            "PATCH",
            &format!("/api/{medium}/{id}/meta"),
            Some(&admin.token),
            Some(&json!({"rating": 2})),
        );
        app.request(
            "DELETE",
            &format!("/api/{medium}/{id}"),
            Some(&admin.token),
            None,
        );
    }
    let events = app.events();
    assert!(events.len() >= 6 * 5);
    let ids: Vec<i64> = events.iter().map(|e| e.0).collect();
    for id in &ids {
        assert!(*id > last, "ids strictly increase: {ids:?}");
        last = *id;
    }
    assert_eq!(
        ids,
        (1..=ids.len() as i64).collect::<Vec<_>>(),
        "no gaps, no duplicates across tables"
    );
    let tables: std::collections::BTreeSet<&str> = events.iter().map(|e| e.1.as_str()).collect();
    assert_eq!(tables.len(), 9, "{tables:?}");
    let sequence: i64 = app.count("SELECT last_id FROM event_sequence");
    assert_eq!(sequence, last);
}

/// A tiny deterministic generator, so that a failure can be replayed from its seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn a_random_run_replays_from_its_events_to_the_stored_metas() {
    let app = TestApp::new();
    let users: Vec<_> = (0..3)
        .map(|i| app.register(&format!("u{i}@example.com"), &format!("user{i}")))
        .collect();
    let contents: Vec<i64> = (0..5).map(|i| movie(&app, &format!("m{i}"))).collect();
    for seed in [0x9E37_79B9_7F4A_7C15u64, 42, 7] {
        let mut rng = Rng(seed);
        for _ in 0..150 {
            let user = &users[rng.below(users.len() as u64) as usize];
            let content = contents[rng.below(contents.len() as u64) as usize];
            let path = format!("/api/movie/{content}/meta");
            let reply = match rng.below(7) {
                0 | 1 => app.get(&path, &user.token),
                2 => app.request(
                    "PATCH",
                    &path,
                    Some(&user.token),
                    Some(&json!({"rating": rng.below(6)})),
                ),
                3 => app.request(
                    "PATCH",
                    &path,
                    Some(&user.token),
                    Some(&json!({"additional_count": rng.below(4)})),
                ),
                4 => app.request(
                    "PATCH",
                    &path,
                    Some(&user.token),
                    Some(&json!({"additional_count": rng.below(10) as f64 / 4.0})),
                ),
                5 => app.request(
                    "PATCH",
                    &path,
                    Some(&user.token),
                    Some(&json!({"rating": rng.below(6), "additional_count": 1})),
                ),
                _ => app.request(
                    "PATCH",
                    &path,
                    Some(&user.token),
                    Some(&json!({"rating": 9})),
                ), // refused: no trace
            };
            assert!(reply.status.code < 500, "{}", reply.text);
        }
        assert_eq!(
            common::replay_metas(&app.db()),
            common::stored_metas(&app.db()),
            "seed {seed:#x}"
        );
    }
    assert!(!common::stored_metas(&app.db()).is_empty());
}

#[test]
fn a_fractional_play_that_does_not_move_the_rounded_count_is_still_an_event() {
    let app = TestApp::new();
    let user = app.register("alice@example.com", "alice");
    let uid = app.user_id(&user.uuid);
    let id = movie(&app, "Heat");
    app.request(
        "PATCH",
        &format!("/api/movie/{id}/meta"),
        Some(&user.token),
        Some(&json!({"additional_count": 2})),
    );
    let start = app.events().len();
    app.request(
        "PATCH",
        &format!("/api/movie/{id}/meta"),
        Some(&user.token),
        Some(&json!({"additional_count": 0.4})),
    );
    let new: Vec<(String, String)> = events_after(&app, start)
        .into_iter()
        .map(|(t, x)| (t, strip_dates(&x)))
        .collect();
    assert_eq!(
        new,
        vec![
            (
                "changed_event".to_owned(),
                format!("{uid}|{id}|meta_user_content|count|2.4")
            ),
            (
                "changed_event".to_owned(),
                format!("{uid}|{id}|meta_user_content|last_count_increment|<ts>")
            ),
        ]
    );
    assert_eq!(app.count("SELECT count FROM meta_user_content"), 2);
}
