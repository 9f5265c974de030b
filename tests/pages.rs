//! Kept catalogue pages (issue 12) are never older than a committed write: the popular lists, their
//! totals, search pages and genre lists show every change at the next request, whoever wrote it (the
//! API, the engine, or SQL on another connection); and a kept page is still only for a valid caller.

mod common;

use common::TestApp;
use serde_json::{Value, json};

fn page(app: &TestApp, path: &str, token: &str) -> Value {
    let reply = app.get(path, token);
    assert_eq!(reply.status.code, 200, "{path}: {}", reply.text);
    reply.json()
}

fn titles(page: &Value) -> Vec<String> {
    page["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn popular_pages_and_totals_follow_every_write() {
    let app = TestApp::new();
    let admin = app.register_admin("root@example.com", "root");
    let genre = app.add_genre("Drama", "MOVIE");
    let first = app.add_content("movie", json!({"title": "First"}), &[genre]);
    let before = page(&app, "/api/movie?page=1", &admin.token);
    assert_eq!(titles(&before), ["First"]);
    // Kept: the same again.
    assert_eq!(page(&app, "/api/movie?page=1", &admin.token), before);

    // A rating through the API: the page shows it at once.
    let reply = app.request(
        "PATCH",
        &format!("/api/movie/{first}/meta"),
        Some(&admin.token),
        Some(&json!({"rating": 4})),
    );
    assert_eq!(reply.status.code, 201, "{}", reply.text);
    let rated = page(&app, "/api/movie?page=1", &admin.token);
    assert_eq!(rated["content"][0]["rating"], 4.0, "{rated}");

    // 30 more contents through the catalogue's path: the total follows.
    for i in 0..30 {
        app.add_content("movie", json!({"title": format!("Another {i}")}), &[genre]);
    }
    assert_eq!(
        page(&app, "/api/movie?page=1", &admin.token)["total_pages"],
        2
    );

    // A change made by SQL on another connection (the engine's popularity, an import) shows too.
    app.db()
        .execute(
            "UPDATE content SET popularity_score = 99 WHERE content_id = ?1",
            [first],
        )
        .unwrap();
    let moved = page(&app, "/api/movie?page=1", &admin.token);
    assert_eq!(moved["content"][0]["popularity_score"], 99.0, "{moved}");
    app.db()
        .execute("DELETE FROM content_genres WHERE content_id = ?1", [first])
        .unwrap();
    app.db()
        .execute("DELETE FROM content WHERE content_id = ?1", [first])
        .unwrap();
    let gone = page(&app, "/api/movie?page=1", &admin.token);
    assert!(!titles(&gone).contains(&"First".to_owned()), "{gone}");
    let last = page(&app, "/api/movie?page=2", &admin.token);
    assert_eq!(last["number_of_elements"], 6, "30 left: 24 + 6");
}

#[test]
fn search_and_genre_pages_follow_every_write() {
    let app = TestApp::new();
    let admin = app.register_admin("root@example.com", "root");
    let genre = app.add_genre("Drama", "MOVIE");
    let id = app.add_content("movie", json!({"title": "Night train"}), &[genre]);
    assert_eq!(
        titles(&page(&app, "/api/movie/search/night", &admin.token)),
        ["Night train"]
    );
    let reply = app.request(
        "PATCH",
        &format!("/api/movie/{id}"),
        Some(&admin.token),
        Some(&json!({"title": "Morning train"})),
    );
    assert!(reply.status.code < 300, "{}", reply.text);
    assert_eq!(
        titles(&page(&app, "/api/movie/search/night", &admin.token)),
        Vec::<String>::new()
    );
    assert_eq!(
        titles(&page(&app, "/api/movie/search/train", &admin.token)),
        ["Morning train"]
    );

    let genres = |app: &TestApp| -> Vec<String> {
        page(app, "/api/movie/genres", &admin.token)["content"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(genres(&app), ["Drama"]);
    app.add_genre("Comedy", "MOVIE");
    assert_eq!(genres(&app), ["Drama", "Comedy"]);
}

#[test]
fn a_kept_page_is_still_checked_for_its_caller() {
    let app = TestApp::new();
    let alice = app.register("alice@example.com", "alice");
    let bob = app.register("bob@example.com", "bobby");
    app.add_content("movie", json!({"title": "Kept"}), &[]);
    page(&app, "/api/movie?page=1", &alice.token);
    page(&app, "/api/movie?page=1", &bob.token);

    let reply = app.request("POST", "/api/auth/logout", Some(&alice.token), None);
    assert!(reply.status.code < 300, "{}", reply.text);
    app.get("/api/movie?page=1", &alice.token)
        .expect(401, json!({"msg": "Token has been revoked"}));

    let reply = app.request(
        "DELETE",
        &format!("/api/user/{}", bob.uuid),
        Some(&bob.token),
        None,
    );
    assert!(reply.status.code < 300, "{}", reply.text);
    app.get("/api/movie?page=1", &bob.token)
        .expect(404, json!({"status": false, "message": "User not found!"}));

    // Applications' genres need a permission: a kept list does not skip it.
    let carol = app.register("carol@example.com", "carol");
    assert_eq!(
        app.get("/api/application/genres", &carol.token).status.code,
        200
    );
    // Her role taken away (permissions are read from the database, F21): the same token is refused.
    app.without_roles(&carol.uuid, || {
        let reply = app.get("/api/application/genres", &carol.token);
        assert_eq!(reply.status.code, 403, "{}", reply.text);
    });
}
