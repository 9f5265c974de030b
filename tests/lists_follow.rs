//! Lists follow what shapes them (issue 11, item 4): liking or unliking a genre refreshes the user's
//! lists, and a group's people joining or leaving refreshes the group's, through the server's own
//! fast loop (woken by the API; SQL writers are seen at the next interval).

mod common;

use common::community::{Catalogue, catalogue, community, listed, run_everything};
use common::{TestApp, User};
use serde_json::json;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Polls `probe` until it holds (20 s at most): the engine is asynchronous by design; its latency
/// is measured in BENCHMARKS.md, not here.
#[track_caller]
fn eventually<T: std::fmt::Debug>(
    what: &str,
    mut probe: impl FnMut() -> T,
    holds: impl Fn(&T) -> bool,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let seen = probe();
        if holds(&seen) {
            return seen;
        }
        assert!(Instant::now() < deadline, "{what}: still {seen:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn put(app: &TestApp, path: &str, user: &User) {
    let reply = app.request("PUT", path, Some(&user.token), None);
    assert!(reply.status.code < 300, "PUT {path}: {}", reply.text);
}

fn delete(app: &TestApp, path: &str, user: &User) {
    let reply = app.request("DELETE", path, Some(&user.token), None);
    assert!(reply.status.code < 300, "DELETE {path}: {}", reply.text);
}

fn ids(list: &[(i64, String)]) -> BTreeSet<i64> {
    list.iter().map(|(id, _)| *id).collect()
}

fn of(cat: &Catalogue, side: &str) -> BTreeSet<i64> {
    let side = if side == "alpha" {
        &cat.alpha
    } else {
        &cat.beta
    };
    side["movie"].iter().copied().collect()
}

#[test]
fn liking_and_unliking_a_genre_refreshes_the_users_lists() {
    let app = TestApp::with_engine_interval(1);
    let cat = catalogue(&app);
    community(&app, &cat);
    run_everything(&app);
    // A new user during onboarding: no list yet, then genres liked one by one.
    let newcomer = app.register("new@example.com", "newcomer");
    assert!(listed(&app, &newcomer, "movie").is_empty());

    put(
        &app,
        &format!("/api/user/genre/{}", cat.alpha_genre["movie"]),
        &newcomer,
    );
    let alpha = of(&cat, "alpha");
    let movies = eventually(
        "the liked genre's contents",
        || listed(&app, &newcomer, "movie"),
        |list| !list.is_empty() && ids(list).is_subset(&alpha),
    );
    assert!(
        movies.iter().all(|(_, engine)| engine == "FromProfile"),
        "{movies:?}"
    );

    // Unliking it and liking the other: the list follows.
    delete(
        &app,
        &format!("/api/user/genre/{}", cat.alpha_genre["movie"]),
        &newcomer,
    );
    put(
        &app,
        &format!("/api/user/genre/{}", cat.beta_genre["movie"]),
        &newcomer,
    );
    let beta = of(&cat, "beta");
    eventually(
        "the other genre's contents",
        || listed(&app, &newcomer, "movie"),
        |list| !list.is_empty() && ids(list).is_subset(&beta),
    );
}

#[test]
fn a_genre_liked_by_sql_is_seen_by_the_next_run() {
    let app = TestApp::with_engine_interval(1);
    let cat = catalogue(&app);
    community(&app, &cat);
    run_everything(&app);
    let newcomer = app.register("new@example.com", "newcomer");
    let user_id = app.user_id(&newcomer.uuid);
    app.db()
        .execute(
            "INSERT INTO liked_genres (user_id, genre_id) VALUES (?1, ?2)",
            [user_id, cat.beta_genre["movie"]],
        )
        .unwrap();
    let beta = of(&cat, "beta");
    eventually(
        "the liked genre's contents",
        || listed(&app, &newcomer, "movie"),
        |list| !list.is_empty() && ids(list).is_subset(&beta),
    );
    assert_eq!(
        app.count("SELECT count(*) FROM engine_refresh"),
        0,
        "the queue is consumed"
    );
}

fn group_list(app: &TestApp, group: i64) -> BTreeSet<i64> {
    app.db()
        .prepare("SELECT content_id FROM recommended_content_for_group WHERE group_id = ?1")
        .unwrap()
        .query_map([group], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn a_groups_lists_follow_its_people() {
    let app = TestApp::with_engine_interval(1);
    let cat = catalogue(&app);
    let (target, fans) = community(&app, &cat);
    run_everything(&app);
    let beta_fan = &fans[7];

    // A new group of one: its list is its owner's, without waiting for another rating.
    let reply = app.request(
        "POST",
        "/api/group",
        Some(&target.token),
        Some(&json!({"name": "friends"})),
    );
    assert_eq!(reply.status.code, 201, "{}", reply.text);
    let group = reply.json()["group"]["group_id"].as_i64().unwrap();
    let alone = eventually(
        "the owner's list",
        || group_list(&app, group),
        |l| !l.is_empty(),
    );

    // A beta fan joins: whatever they consumed leaves the group's list (least misery).
    let consumed_by_fan: BTreeSet<i64> = cat.beta.values().flatten().copied().collect();
    assert!(
        alone.intersection(&consumed_by_fan).next().is_some(),
        "the owner's list offers beta contents: {alone:?}"
    );
    let reply = app.request(
        "POST",
        &format!("/api/group/{group}/invitations"),
        Some(&target.token),
        Some(&json!({"uuid": beta_fan.uuid})),
    );
    assert!(reply.status.code < 300, "{}", reply.text);
    put(
        &app,
        &format!("/api/group/{group}/invitations/{}", beta_fan.uuid),
        beta_fan,
    );
    let together = eventually(
        "the list of both",
        || group_list(&app, group),
        |l| !l.is_empty() && *l != alone && l.is_disjoint(&consumed_by_fan),
    );

    // They leave: the group is the owner's again.
    delete(&app, &format!("/api/group/{group}"), beta_fan);
    eventually(
        "the owner's list again",
        || group_list(&app, group),
        |l| *l == alone,
    );
    assert_ne!(together, alone);

    // The owner's leave deletes the group: its lists go with it, at once.
    delete(&app, &format!("/api/group/{group}"), &target);
    assert!(group_list(&app, group).is_empty());
    eventually(
        "the queue is consumed",
        || app.count("SELECT count(*) FROM engine_refresh"),
        |n| *n == 0,
    );
}
