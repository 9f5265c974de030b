//! Catalogues written by anyone (decisions F19): contents inserted by SQL straight into the
//! reference's tables (`content`, a media table, `content_genres` — how the reference loads its
//! datasets) are part of the catalogue at once: popular lists and their totals, search, genres, one
//! content, episodes, the event log and the engine's next run. Deleted by SQL, they leave it.

mod common;

use common::TestApp;
use recofinement::engine;
use rusqlite::{Connection, params};
use serde_json::Value;

/// (medium, media table's first text column, content type)
const MEDIA: [(&str, &str, &str); 6] = [
    ("application", "name", "APPLICATION"),
    ("book", "title", "BOOK"),
    ("game", "name", "GAME"),
    ("movie", "title", "MOVIE"),
    ("serie", "title", "SERIE"),
    ("track", "title", "TRACK"),
];

/// What a dataset loader does: a genre, then per content a `content` row, its media row and its
/// genre link. Returns the content ids.
fn load_by_sql(
    conn: &Connection,
    medium: &str,
    column: &str,
    kind: &str,
    titles: &[&str],
) -> (i64, Vec<i64>) {
    conn.execute(
        "INSERT INTO genre (name, count, content_type) VALUES (?1, ?2, ?3)",
        params![format!("Loaded {medium}"), titles.len() as i64, kind],
    )
    .unwrap();
    let genre = conn.last_insert_rowid();
    let mut ids = Vec::new();
    for (i, title) in titles.iter().enumerate() {
        conn.execute(
            "INSERT INTO content (rating, rating_count, popularity_score) VALUES (?1, ?2, NULL)",
            params![3.0 + i as f64 / 10.0, 10 + i as i64],
        )
        .unwrap();
        let id = conn.last_insert_rowid();
        let extra = if medium == "book" { ", isbn" } else { "" };
        let extra_value = if medium == "book" {
            format!(", '97800000000{i:02}'")
        } else {
            String::new()
        };
        conn.execute(
            &format!(
                "INSERT INTO {medium} (content_id, {column}{extra}) VALUES (?1, ?2{extra_value})"
            ),
            params![id, title],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO content_genres (content_id, genre_id) VALUES (?1, ?2)",
            [id, genre],
        )
        .unwrap();
        ids.push(id);
    }
    (genre, ids)
}

fn ids_of(page: &Value) -> Vec<i64> {
    page["content"]
        .as_array()
        .unwrap_or_else(|| panic!("{page}"))
        .iter()
        .map(|c| c["content_id"].as_i64().unwrap())
        .collect()
}

#[test]
fn contents_loaded_by_sql_are_listed_counted_searched_and_logged_at_once() {
    let app = TestApp::new();
    let admin = app.register_admin("root@example.com", "root");
    for (medium, column, kind) in MEDIA {
        let conn = app.db();
        let titles: Vec<String> = (0..30).map(|i| format!("Sqlloaded {medium} {i}")).collect();
        let titles: Vec<&str> = titles.iter().map(String::as_str).collect();
        let tx = conn.unchecked_transaction().unwrap();
        let (genre, ids) = load_by_sql(&tx, medium, column, kind, &titles);
        tx.commit().unwrap();

        // The popular list and its total: 30 contents, two pages of 24.
        let first = app
            .get(&format!("/api/{medium}?page=1"), &admin.token)
            .json();
        assert_eq!(first["total_pages"], 2, "{medium}: {first}");
        let second = app
            .get(&format!("/api/{medium}?page=2"), &admin.token)
            .json();
        let mut listed = ids_of(&first);
        listed.extend(ids_of(&second));
        listed.sort();
        assert_eq!(listed, ids, "{medium}: every loaded content is listed once");

        // Search (F10's index) finds them.
        let found = app
            .get(
                &format!("/api/{medium}/search/sqlloaded%20{medium}%202"),
                &admin.token,
            )
            .json();
        assert!(ids_of(&found).contains(&ids[2]), "{medium}: {found}");

        // One content, with its genre; the medium's genres.
        let one = app.get(&format!("/api/{medium}/{}", ids[0]), &admin.token);
        assert_eq!(one.status.code, 200, "{medium}: {}", one.text);
        assert_eq!(
            one.json()["content"]["genres"][0]["genre_id"],
            genre,
            "{medium}: {}",
            one.text
        );
        if medium != "book" {
            let genres = app
                .get(&format!("/api/{medium}/genres"), &admin.token)
                .json();
            assert!(
                genres["content"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|g| g["genre_id"] == genre),
                "{medium}: {genres}"
            );
        }

        // The event log has each addition, by nobody in particular.
        let logged: i64 = app.count(&format!(
            "SELECT count(*) FROM {medium}_added_event WHERE occured_by IS NULL AND object_id BETWEEN {} AND {}",
            ids[0],
            ids[ids.len() - 1]
        ));
        assert_eq!(logged, 30, "{medium}");
    }
}

#[test]
fn episodes_loaded_by_sql_belong_to_their_serie() {
    let app = TestApp::new();
    let user = app.register("alice@example.com", "alice");
    let conn = app.db();
    let (_, series) = load_by_sql(&conn, "serie", "title", "SERIE", &["Loaded serie"]);
    conn.execute("INSERT INTO content (rating_count) VALUES (0)", [])
        .unwrap();
    let episode = conn.last_insert_rowid();
    conn.execute(
        "INSERT INTO episode (content_id, title, season_number, episode_number, serie_id) VALUES (?1, 'Pilot', 1, 1, ?2)",
        [episode, series[0]],
    )
    .unwrap();
    let listed = app
        .get(&format!("/api/serie/{}/episodes", series[0]), &user.token)
        .json();
    assert_eq!(ids_of(&listed), [episode], "{listed}");
    let kind: String = conn
        .query_row(
            "SELECT content_type FROM content WHERE content_id = ?1",
            [episode],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kind, "EPISODE");
    assert_eq!(app.count("SELECT count(*) FROM serie WHERE content_id NOT IN (SELECT object_id FROM serie_added_event)"), 0);
}

#[test]
fn the_engines_next_run_takes_them_in_and_a_deletion_by_sql_takes_them_out() {
    let app = TestApp::new();
    let admin = app.register_admin("root@example.com", "root");
    let conn = app.db();
    let (_, ids) = load_by_sql(
        &conn,
        "movie",
        "title",
        "MOVIE",
        &[
            "Night train",
            "Night train returns",
            "Night train forever",
            "Morning glory",
        ],
    );
    let mut db = app.db();
    engine::run_all(&mut db, false).unwrap();
    let scored = app.count(&format!(
        "SELECT count(*) FROM content WHERE popularity_score IS NOT NULL AND content_id IN ({})",
        ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
    ));
    assert_eq!(scored, 4, "popularity computed for every loaded content");
    let neighbours = app.count(&format!(
        "SELECT count(*) FROM similars_content WHERE content_id0 = {}",
        ids[0]
    ));
    assert!(
        neighbours > 0,
        "the similarity stage saw the loaded contents"
    );

    // Deleted by SQL as the reference's schema allows: the rows that reference the content without a
    // cascade first (its genre links, its own neighbour list), then the content; the media row
    // cascades.
    conn.execute("DELETE FROM content_genres WHERE content_id = ?1", [ids[1]])
        .unwrap();
    conn.execute(
        "DELETE FROM similars_content WHERE content_id0 = ?1",
        [ids[1]],
    )
    .unwrap();
    conn.execute("DELETE FROM content WHERE content_id = ?1", [ids[1]])
        .unwrap();
    let listed = app.get("/api/movie?page=1", &admin.token).json();
    assert!(!ids_of(&listed).contains(&ids[1]));
    assert_eq!(listed["number_of_elements"], 3, "{listed}");
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM deletion_event WHERE object_id = {} AND model_name = 'movie'",
            ids[1]
        )),
        1,
        "the deletion is logged"
    );
    engine::run_all(&mut db, false).unwrap();
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM similars_content WHERE content_id1 = {}",
            ids[1]
        )),
        0,
        "no neighbour list names the deleted content after the next run"
    );
}

#[test]
fn our_own_writes_are_logged_once() {
    let app = TestApp::new();
    let admin = app.register_admin("root@example.com", "root");
    let genre = app.add_genre("Drama", "MOVIE");
    let id = app.add_content("movie", serde_json::json!({"title": "Ours"}), &[genre]);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM movie_added_event WHERE object_id = {id}"
        )),
        1
    );
    let reply = app.request(
        "DELETE",
        &format!("/api/movie/{id}"),
        Some(&admin.token),
        None,
    );
    assert!(reply.status.code < 300, "{}", reply.text);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM deletion_event WHERE object_id = {id}"
        )),
        1
    );
}
