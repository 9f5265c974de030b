//! `/api/group` over HTTP: create, read, leave/delete, invite, accept, decline/revoke — every check
//! order, message (typos included) and status of api-reference.md 2.4, and decisions F5.

mod common;

use common::{TestApp, ghost_uuid};
use serde_json::{Value, json};

fn msg(status: bool, text: &str) -> Value {
    json!({"status": status, "message": text})
}

fn create(app: &TestApp, token: &str, name: &str) -> i64 {
    let reply = app.request(
        "POST",
        "/api/group",
        Some(token),
        Some(&json!({"name": name})),
    );
    assert_eq!(reply.status.code, 201, "{}", reply.text);
    reply.json()["group"]["group_id"].as_i64().unwrap()
}

#[test]
fn create_and_read_groups() {
    let app = TestApp::new();
    let alice = app.register("alice@example.com", "alice");
    let reply = app.request(
        "POST",
        "/api/group",
        Some(&alice.token),
        Some(&json!({"name": "book.club"})),
    );
    assert_eq!(reply.status.code, 201);
    let body = reply.json();
    assert_eq!(body["message"], "Group data created");
    let id = body["group"]["group_id"].as_i64().unwrap();
    assert_eq!(
        body["group"],
        json!({"group_id": id, "name": "book.club",
        "owner": {"uuid": alice.uuid, "email": "alice@example.com", "username": "alice", "preferences_defined": false, "role": {}},
        "members": [], "invitations": []})
    );
    // Names are not unique.
    create(&app, &alice.token, "book.club");
    // Layer A before the token, Layer B after it.
    app.request("POST", "/api/group", None, Some(&json!({})))
        .expect(400, json!({"errors": {"name": "'name' is a required property"}, "message": "Input payload validation failed"}));
    app.request(
        "POST",
        "/api/group",
        None,
        Some(&json!({"name": "ok_name"})),
    )
    .expect(401, json!({"msg": "Missing Authorization Header"}));
    let reply = app.request(
        "POST",
        "/api/group",
        Some(&alice.token),
        Some(&json!({"name": "a", "extra": 1})),
    );
    let mut errors: Vec<String> = reply.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_owned())
        .collect();
    errors.sort();
    assert_eq!(
        errors,
        vec!["Length must be between 3 and 45.", "Unknown field."]
    );
    app.request(
        "POST",
        "/api/group",
        Some(&alice.token),
        Some(&json!({"name": "bad..name"})),
    )
    .expect(
        400,
        json!({"status": false, "message": "Validation errors", "errors": ["Invalid name!"]}),
    );
    app.request(
        "POST",
        "/api/group",
        Some(&app.token_for(&ghost_uuid(), &[])),
        Some(&json!({"name": "ghosts"})),
    )
    .expect(404, msg(false, "User not found!"));

    // Anyone with a token reads any group, even a deleted user's token.
    let ghost = app.token_for(&ghost_uuid(), &[]);
    assert_eq!(
        app.get(&format!("/api/group/{id}"), &ghost).json()["message"],
        "Group data sent"
    );
    app.get("/api/group/9999", &alice.token)
        .expect(404, msg(false, "Group not found!"));
}

#[test]
fn invitations_accept_decline_revoke() {
    let app = TestApp::new();
    let owner = app.register("owner@example.com", "owner");
    let bob = app.register("bob@example.com", "bobby");
    let carol = app.register("carol@example.com", "carol");
    let id = create(&app, &owner.token, "crew");
    let invite = |token: &str, uuid: &str| {
        app.request(
            "POST",
            &format!("/api/group/{id}/invitations"),
            Some(token),
            Some(&json!({"uuid": uuid})),
        )
    };

    // Check order: group, ownership (the caller is never looked up), invitee, duplicates, self.
    app.request(
        "POST",
        "/api/group/9999/invitations",
        Some(&owner.token),
        Some(&json!({"uuid": bob.uuid})),
    )
    .expect(404, msg(false, "Group not found!"));
    invite(&bob.token, &carol.uuid).expect(
        403,
        msg(false, "Unable to invite member to a not owned group"),
    );
    invite(&app.token_for(&ghost_uuid(), &[]), &carol.uuid).expect(
        403,
        msg(false, "Unable to invite member to a not owned group"),
    );
    invite(&owner.token, &ghost_uuid()).expect(404, msg(false, "Member not found!"));
    invite(&owner.token, "not-a-uuid").expect(
        400,
        json!({"status": false, "message": "Validation errors", "errors": ["Not a valid UUID."]}),
    );
    let reply = invite(&owner.token, &bob.uuid.to_uppercase().replace('-', ""));
    assert_eq!(reply.status.code, 200, "any UUID form: {}", reply.text);
    assert_eq!(reply.json()["message"], "User invited to group");
    assert_eq!(
        reply.json()["group"]["invitations"][0]["uuid"],
        bob.uuid.as_str()
    );
    invite(&owner.token, &bob.uuid).expect(400, msg(false, "Invitation already sended !"));
    invite(&owner.token, &owner.uuid).expect(
        400,
        msg(false, "You can not invite yourself to your group !"),
    );

    // bob sees the invitation in his UserObject.
    assert_eq!(
        app.get(&format!("/api/user/{}", bob.uuid), &bob.token)
            .json()["user"]["invitations"],
        json!([{"group_id": id, "name": "crew"}])
    );

    // Accepting: group, path user, caller, identity, invitation.
    let accept = |token: &str, uuid: &str| {
        app.request(
            "PUT",
            &format!("/api/group/{id}/invitations/{uuid}"),
            Some(token),
            None,
        )
    };
    accept(&bob.token, &ghost_uuid()).expect(404, msg(false, "Member not found!"));
    accept(&bob.token, "garbage").expect(404, msg(false, "Member not found!"));
    accept(&app.token_for(&ghost_uuid(), &[]), &bob.uuid)
        .expect(404, msg(false, "Member not found!"));
    accept(&carol.token, &bob.uuid).expect(
        403,
        msg(
            false,
            "Unable to accept an invitation that is not intended to you",
        ),
    );
    accept(&carol.token, &carol.uuid).expect(404, msg(false, "Invitation not found !"));
    let reply = accept(&bob.token, &bob.uuid);
    assert_eq!(reply.status.code, 200);
    assert_eq!(reply.json()["message"], "Member add to group");
    assert_eq!(
        reply.json()["group"]["members"][0]["uuid"],
        bob.uuid.as_str()
    );
    assert_eq!(reply.json()["group"]["invitations"], json!([]));
    invite(&owner.token, &bob.uuid)
        .expect(400, msg(false, "User is already a member of this group !"));

    // Declining one's own invitation, and the owner revoking one; nobody else.
    invite(&owner.token, &carol.uuid);
    let dave = app.register("dave@example.com", "dave_d");
    let remove = |token: &str, uuid: &str| {
        app.request(
            "DELETE",
            &format!("/api/group/{id}/invitations/{uuid}"),
            Some(token),
            None,
        )
    };
    remove(&dave.token, &carol.uuid).expect(403, msg(false, "Unable to delete an invitation that is not intended to you if you are not the group owner"));
    let reply = remove(&carol.token, &carol.uuid);
    assert_eq!(
        (
            reply.status.code,
            reply.text.as_str(),
            reply.content_type.as_deref()
        ),
        (204, "", Some("application/json"))
    );
    remove(&carol.token, &carol.uuid).expect(404, msg(false, "Invitation not found !"));
    invite(&owner.token, &carol.uuid);
    assert_eq!(remove(&owner.token, &carol.uuid).status.code, 204);
    assert_eq!(app.count("SELECT count(*) FROM invitations"), 0);
}

#[test]
fn leaving_and_deleting_groups() {
    let app = TestApp::new();
    let owner = app.register("owner@example.com", "owner");
    let bob = app.register("bob@example.com", "bobby");
    let stranger = app.register("x@example.com", "stranger");
    let id = create(&app, &owner.token, "crew");
    app.request(
        "POST",
        &format!("/api/group/{id}/invitations"),
        Some(&owner.token),
        Some(&json!({"uuid": bob.uuid})),
    );
    app.request(
        "PUT",
        &format!("/api/group/{id}/invitations/{}", bob.uuid),
        Some(&bob.token),
        None,
    );
    app.request(
        "POST",
        &format!("/api/group/{id}/invitations"),
        Some(&owner.token),
        Some(&json!({"uuid": stranger.uuid})),
    );
    let content = app.add_content("movie", json!({"title": "m"}), &[]);
    app.db().execute("INSERT INTO recommended_content_for_group (group_id, content_id, score) VALUES (?1, ?2, 0.5)", [id, content]).unwrap();

    app.request("DELETE", "/api/group/9999", Some(&bob.token), None)
        .expect(404, msg(false, "Group not found!"));
    app.request(
        "DELETE",
        &format!("/api/group/{id}"),
        Some(&app.token_for(&ghost_uuid(), &[])),
        None,
    )
    .expect(404, msg(false, "User not found!"));
    // decisions F5: leaving a group one is not in.
    app.request(
        "DELETE",
        &format!("/api/group/{id}"),
        Some(&stranger.token),
        None,
    )
    .expect(404, msg(false, "Member not found!"));
    let reply = app.request(
        "DELETE",
        &format!("/api/group/{id}"),
        Some(&bob.token),
        Some(&json!({"ignored": true})),
    );
    assert_eq!((reply.status.code, reply.text.as_str()), (204, ""));
    assert_eq!(app.count("SELECT count(*) FROM group_members"), 0);
    assert_eq!(app.count(r#"SELECT count(*) FROM "group""#), 1);
    // The owner's leave deletes the group with its invitations and recommendations.
    assert_eq!(
        app.request(
            "DELETE",
            &format!("/api/group/{id}"),
            Some(&owner.token),
            None
        )
        .status
        .code,
        204
    );
    for table in ["\"group\"", "invitations", "recommended_content_for_group"] {
        assert_eq!(
            app.count(&format!("SELECT count(*) FROM {table}")),
            0,
            "{table}"
        );
    }
}

#[test]
fn deleting_a_user_removes_its_groups_and_memberships() {
    let app = TestApp::new();
    let owner = app.register("owner@example.com", "owner");
    let bob = app.register("bob@example.com", "bobby");
    let mine = create(&app, &owner.token, "mine");
    let theirs = create(&app, &bob.token, "theirs");
    app.request(
        "POST",
        &format!("/api/group/{theirs}/invitations"),
        Some(&bob.token),
        Some(&json!({"uuid": owner.uuid})),
    );
    app.request(
        "PUT",
        &format!("/api/group/{theirs}/invitations/{}", owner.uuid),
        Some(&owner.token),
        None,
    );
    app.request(
        "POST",
        &format!("/api/group/{mine}/invitations"),
        Some(&owner.token),
        Some(&json!({"uuid": bob.uuid})),
    );
    app.request(
        "DELETE",
        &format!("/api/user/{}", owner.uuid),
        Some(&owner.token),
        None,
    );
    assert_eq!(
        app.count(r#"SELECT count(*) FROM "group""#),
        1,
        "owned group gone, bob's stays"
    );
    assert_eq!(app.count("SELECT count(*) FROM group_members"), 0);
    assert_eq!(app.count("SELECT count(*) FROM invitations"), 0);
}
