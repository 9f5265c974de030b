//! Account security (issue 13): tokens bound to their purpose and ended by password changes
//! (decisions F20), permissions as they are now (F21).

mod common;

use common::{PASSWORD, TestApp};
use serde_json::json;

fn reset_token(app: &TestApp, email: &str) -> String {
    app.request(
        "POST",
        "/api/auth/forget",
        None,
        Some(&json!({"email": email})),
    );
    let body: String = app
        .db()
        .query_row(
            "SELECT body FROM mail_outbox WHERE kind = 'password_reset' ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    body.split("/app/reset/")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

fn reset(app: &TestApp, token: &str, password: &str) -> common::Reply {
    app.request(
        "POST",
        "/api/auth/reset",
        None,
        Some(&json!({"reset_password_token": token, "password": password})),
    )
}

#[test]
fn a_reset_link_serves_once_and_only_for_resetting() {
    let app = TestApp::new();
    app.register("alice@example.com", "alice");
    let link = reset_token(&app, "alice@example.com");
    // Not an access token.
    app.get("/api/user/genre", &link)
        .expect(422, json!({"msg": "Only access tokens are allowed"}));
    reset(&app, &link, "NewPass1!").expect(
        200,
        json!({"status": true, "message": "Password reset successfully"}),
    );
    // Used: void.
    reset(&app, &link, "Another1!")
        .expect(401, json!({"status": false, "message": "Invalid token."}));
    assert_eq!(app.login("alice@example.com", "NewPass1!").status.code, 200);

    // A link sent before a password change is void too, even if never used.
    let stale = reset_token(&app, "alice@example.com");
    let fresh = reset_token(&app, "alice@example.com");
    reset(&app, &fresh, "Third123!").expect(
        200,
        json!({"status": true, "message": "Password reset successfully"}),
    );
    reset(&app, &stale, "Fourth12!")
        .expect(401, json!({"status": false, "message": "Invalid token."}));
}

#[test]
fn an_expired_reset_link_is_refused() {
    let app = TestApp::new();
    let user = app.register("alice@example.com", "alice");
    let now = chrono::Utc::now().timestamp();
    let expired = app.sign(&json!({
        "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600, "jti": "x",
        "identity": user.uuid, "type": "reset", "pwd": "whatever",
    }));
    reset(&app, &expired, "NewPass1!").expect(
        401,
        json!({"status": false, "message": "The token has expired"}),
    );
}

/// A token of `uuid` issued `seconds_ago` (sessions that began before a change).
fn older_token(app: &TestApp, uuid: &str, seconds_ago: i64) -> String {
    let then = chrono::Utc::now().timestamp() - seconds_ago;
    app.sign(&json!({
        "iat": then, "nbf": then, "exp": then + 43_200, "jti": uuid::Uuid::new_v4().to_string(),
        "identity": uuid, "fresh": false, "type": "access",
        "user_claims": {"permissions": ["modify_user_profil", "indicate_interest"]},
    }))
}

#[test]
fn a_reset_ends_every_session_and_a_password_change_every_other_one() {
    let app = TestApp::new();
    let user = app.register("alice@example.com", "alice");
    let elsewhere = older_token(&app, &user.uuid, 60);
    let here = older_token(&app, &user.uuid, 30);
    assert_eq!(app.get("/api/user/genre", &elsewhere).status.code, 200);

    // Changing one's password through the profile keeps the session that did it.
    let reply = app.request(
        "PATCH",
        &format!("/api/user/{}", user.uuid),
        Some(&here),
        Some(&json!({"password": "Changed1!"})),
    );
    assert_eq!(reply.status.code, 201, "{}", reply.text);
    assert_eq!(app.get("/api/user/genre", &here).status.code, 200);
    app.get("/api/user/genre", &elsewhere)
        .expect(401, json!({"msg": "Token has been revoked"}));
    // A new login works at once.
    let login = app.login("alice@example.com", "Changed1!");
    assert_eq!(login.status.code, 200);
    let new = login.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/user/genre", &new).status.code, 200);

    // A reset ends all of them, the one that changed the password included.
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    let link = reset_token(&app, "alice@example.com");
    assert_eq!(reset(&app, &link, "Reset123!").status.code, 200);
    for token in [&here, &new] {
        app.get("/api/user/genre", token)
            .expect(401, json!({"msg": "Token has been revoked"}));
    }
    assert_eq!(app.login("alice@example.com", PASSWORD).status.code, 401);
    assert_eq!(app.login("alice@example.com", "Reset123!").status.code, 200);
}

#[test]
fn permissions_are_the_callers_as_they_are_now() {
    let app = TestApp::new();
    let admin = app.register_admin("root@example.com", "root");
    let id = app.add_content("movie", json!({"title": "Doomed"}), &[]);
    let spare = app.add_content("movie", json!({"title": "Spared"}), &[]);
    // The admin role taken away: the token's claim still says delete_content, the answer does not.
    app.db()
        .execute(
            "DELETE FROM user_role WHERE user_id = ?1 AND role_id = (SELECT role_id FROM role WHERE name = 'admin')",
            [app.user_id(&admin.uuid)],
        )
        .unwrap();
    app.request(
        "DELETE",
        &format!("/api/movie/{id}"),
        Some(&admin.token),
        None,
    )
    .expect(
        403,
        json!({"status": false, "message": "Permission missing"}),
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM movie WHERE content_id = {id}"
        )),
        1
    );
    // Given back: it acts at once too, without a new login.
    app.db()
        .execute(
            "INSERT INTO user_role (user_id, role_id) SELECT ?1, role_id FROM role WHERE name = 'admin'",
            [app.user_id(&admin.uuid)],
        )
        .unwrap();
    let reply = app.request(
        "DELETE",
        &format!("/api/movie/{spare}"),
        Some(&admin.token),
        None,
    );
    assert!(reply.status.code < 300, "{}", reply.text);

    // A deleted account's token is refused at once.
    let user = app.register("alice@example.com", "alice");
    let reply = app.request(
        "DELETE",
        &format!("/api/user/{}", user.uuid),
        Some(&user.token),
        None,
    );
    assert!(reply.status.code < 300, "{}", reply.text);
    app.get("/api/user/genre", &user.token)
        .expect(404, json!({"status": false, "message": "User not found!"}));
}

#[test]
fn others_email_addresses_are_not_shown() {
    // Decisions F23: a user's e-mail address is for that user only.
    let app = TestApp::new();
    let alice = app.register("alice@example.com", "alice");
    let bob = app.register("bob@example.com", "bobby");
    let found = app.get("/api/user/search/bob", &alice.token).json();
    assert_eq!(found["content"][0]["uuid"], bob.uuid.as_str());
    assert_eq!(
        found["content"][0]["email"],
        serde_json::Value::Null,
        "{found}"
    );
    let mine = app.get("/api/user/search/alice", &alice.token).json();
    assert_eq!(mine["content"][0]["email"], "alice@example.com");
    let other = app
        .get(&format!("/api/user/{}", bob.uuid), &alice.token)
        .json();
    assert_eq!(other["user"]["email"], serde_json::Value::Null, "{other}");
    let me = app
        .get(&format!("/api/user/{}", alice.uuid), &alice.token)
        .json();
    assert_eq!(me["user"]["email"], "alice@example.com", "{me}");

    let group = app
        .request(
            "POST",
            "/api/group",
            Some(&alice.token),
            Some(&json!({"name": "friends"})),
        )
        .json();
    let id = group["group"]["group_id"].as_i64().unwrap();
    assert_eq!(
        group["group"]["owner"]["email"], "alice@example.com",
        "{group}"
    );
    app.request(
        "POST",
        &format!("/api/group/{id}/invitations"),
        Some(&alice.token),
        Some(&json!({"uuid": bob.uuid})),
    );
    let seen_by_bob = app.get(&format!("/api/group/{id}"), &bob.token).json();
    assert_eq!(
        seen_by_bob["group"]["owner"]["email"],
        serde_json::Value::Null,
        "{seen_by_bob}"
    );
    assert_eq!(
        seen_by_bob["group"]["invitations"][0]["email"],
        "bob@example.com"
    );
    let seen_by_alice = app.get(&format!("/api/group/{id}"), &alice.token).json();
    assert_eq!(
        seen_by_alice["group"]["invitations"][0]["email"],
        serde_json::Value::Null
    );
}

#[test]
fn authenticated_json_is_never_stored_by_caches() {
    let app = TestApp::new();
    let alice = app.register("alice@example.com", "alice");
    let reply = app.get("/api/user/genre", &alice.token);
    assert_eq!(reply.header("Cache-Control"), Some("no-store"));
    let reply = app.get("/api/movie?page=1", &alice.token);
    assert_eq!(reply.header("Cache-Control"), Some("no-store"));
    let health = app.raw("GET", "/api/health", None, None, None);
    assert_eq!(health.header("Cache-Control"), None);
}
