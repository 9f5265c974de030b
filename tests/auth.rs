//! `/api/auth` over HTTP against a real SQLite file: happy paths, both validation layers, every row of
//! the token error table, the claim layout, revocation and the password-reset flow.

mod common;

use common::{PASSWORD, TestApp, claims, ghost_uuid};
use rocket::http::{ContentType, Status};
use serde_json::json;

#[test]
fn register_creates_a_user_with_the_user_role_a_bcrypt_hash_and_a_welcome_mail() {
    let app = TestApp::new();
    let reply = app.request(
        "POST",
        "/api/auth/register",
        None,
        Some(&json!({"email": "alice@example.com", "username": "alice", "password": PASSWORD})),
    );
    assert_eq!(reply.status, Status::Created);
    let body = reply.json();
    assert_eq!(body["status"], true);
    assert_eq!(body["message"], "User has been registered.");
    let user = &body["user"];
    assert_eq!(user["email"], "alice@example.com");
    assert_eq!(user["username"], "alice");
    assert_eq!(user["preferences_defined"], false);
    assert_eq!(user["role"], json!({}));
    let uuid = user["uuid"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(uuid).is_ok() && uuid == uuid.to_lowercase());
    assert_eq!(body.as_object().unwrap().len(), 4);
    // The wire format is Python's json.dumps plus a newline.
    assert!(
        reply
            .text
            .starts_with(r#"{"status": true, "message": "User has been registered.", "user": {"#)
    );
    assert!(reply.text.ends_with("}\n"));

    let (hash, roles): (String, String) = app
        .db()
        .query_row(
            r#"SELECT password_hash, (SELECT group_concat(r.name) FROM user_role ur JOIN role r USING (role_id)
                                      WHERE ur.user_id = u.user_id)
               FROM "user" u WHERE uuid = ?1"#,
            [uuid],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(hash.starts_with("$2b$04$") && hash.len() == 60, "{hash}");
    assert_eq!(roles, "user");
    assert_eq!(
        app.count("SELECT count(*) FROM mail_outbox WHERE kind = 'welcome' AND recipient_email = 'alice@example.com'"),
        1
    );
}

#[test]
fn access_token_has_the_reference_claim_layout() {
    let app = TestApp::new();
    let user = app.register("alice@example.com", "alice");
    let header = claims_header(&user.token);
    assert_eq!(header, json!({"typ": "JWT", "alg": "HS256"}));
    let c = claims(&user.token);
    let keys: std::collections::BTreeSet<_> = c.as_object().unwrap().keys().cloned().collect();
    let expected: std::collections::BTreeSet<String> = [
        "iat",
        "nbf",
        "jti",
        "exp",
        "identity",
        "fresh",
        "type",
        "user_claims",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(keys, expected);
    assert_eq!(c["identity"], user.uuid.as_str());
    assert_eq!(c["type"], "access");
    assert_eq!(c["fresh"], false);
    assert_eq!(c["nbf"], c["iat"]);
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        43_200
    );
    assert!(uuid::Uuid::parse_str(c["jti"].as_str().unwrap()).is_ok());
    assert_eq!(
        c["user_claims"],
        json!({"permissions": ["indicate_interest", "modify_user_profil", "view_recommendation", "play_music", "add_content"]})
    );

    let admin = app.register_admin("root@example.com", "root");
    let permissions = claims(&admin.token)["user_claims"]["permissions"].clone();
    let list: Vec<&str> = permissions
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(
        list.contains(&"access_sandbox") && list.contains(&"delete_content"),
        "{list:?}"
    );
}

fn claims_header(token: &str) -> serde_json::Value {
    use base64::Engine as _;
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn register_rejects_a_taken_email_and_layer_b_violations() {
    let app = TestApp::new();
    app.register("alice@example.com", "alice");
    app.request("POST", "/api/auth/register", None, Some(&json!({"email": "alice@example.com", "username": "other", "password": PASSWORD})))
        .expect(400, json!({"status": false, "message": "Validation errors", "errors": ["Email is already being used."]}));
    // Usernames are not unique.
    app.register("bob@example.com", "alice");

    let reply = app.request(
        "POST",
        "/api/auth/register",
        None,
        Some(&json!({"email": "nope", "username": "a..b", "password": "Ab1!", "remember": true})),
    );
    assert_eq!(reply.status, Status::BadRequest);
    let body = reply.json();
    assert_eq!(body["status"], false);
    assert_eq!(body["message"], "Validation errors");
    let mut errors: Vec<String> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_owned())
        .collect();
    errors.sort();
    let mut expected = vec![
        "Unknown field.",
        "Not a valid email address.",
        "Length must be between 5 and 64.",
        "Invalid username!",
        "Length must be between 8 and 128.",
        "Password must contain at least minimum eight characters, at least one uppercase letter, one lowercase letter, one number and one special character !",
    ];
    expected.sort();
    assert_eq!(errors, expected);
    assert_eq!(app.count(r#"SELECT count(*) FROM "user""#), 2);
}

#[test]
fn layer_a_runs_first_and_reports_every_field() {
    let app = TestApp::new();
    app.request(
        "POST",
        "/api/auth/register",
        None,
        Some(&json!({"email": 5, "password": null})),
    )
    .expect(
        400,
        json!({
            "errors": {
                "email": "5 is not of type 'string'",
                "username": "'username' is a required property",
                "password": "None is not of type 'string'",
            },
            "message": "Input payload validation failed",
        }),
    );
    // A body that is not JSON is read as null.
    app.raw("POST", "/api/auth/login", None, Some(b"email=a"), Some(ContentType::Form))
        .expect(400, json!({"errors": {"": "None is not of type 'object'"}, "message": "Input payload validation failed"}));
    app.raw("POST", "/api/auth/login", None, None, None)
        .expect(400, json!({"errors": {"": "None is not of type 'object'"}, "message": "Input payload validation failed"}));
    // Malformed JSON with a JSON content type.
    app.raw("POST", "/api/auth/login", None, Some(b"{\"email\":"), Some(ContentType::JSON))
        .expect(400, json!({"message": "The browser (or proxy) sent a request that this server could not understand."}));
    // Layer A before the token check: a bad body without a token is a 400, not a 401.
    app.request("PATCH", &format!("/api/user/{}", ghost_uuid()), None, Some(&json!({"email": 3})))
        .expect(400, json!({"errors": {"email": "3 is not of type 'string'"}, "message": "Input payload validation failed"}));
}

#[test]
fn login_succeeds_only_with_the_right_password() {
    let app = TestApp::new();
    let user = app.register("alice@example.com", "alice");
    let reply = app.login("alice@example.com", PASSWORD);
    assert_eq!(reply.status, Status::Ok);
    let body = reply.json();
    assert_eq!(body["message"], "Successfully logged in.");
    assert_eq!(body["user"]["uuid"], user.uuid.as_str());
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["identity"],
        user.uuid.as_str()
    );

    let failed = json!({"status": false, "message": "Failed to log in."});
    app.login("alice@example.com", "Azerty123?")
        .expect(401, failed.clone());
    app.login("nobody@example.com", PASSWORD)
        .expect(401, failed.clone());
    // E-mails match exactly (case-sensitive), as in the reference.
    app.login("Alice@example.com", PASSWORD).expect(401, failed);
    // Layer B on login: password length only, unknown keys rejected.
    app.request("POST", "/api/auth/login", None, Some(&json!({"email": "alice@example.com", "password": "short", "remember": 1})))
        .expect(400, json!({"status": false, "message": "Validation errors", "errors": ["Unknown field.", "Length must be between 8 and 128."]}));
}

#[test]
fn token_error_table() {
    let app = TestApp::new();
    let user = app.register("alice@example.com", "alice");
    let path = "/api/user/genre";
    let msg = |text: &str| json!({"msg": text});

    app.raw("GET", path, None, None, None)
        .expect(401, msg("Missing Authorization Header"));
    app.raw("GET", path, Some(""), None, None)
        .expect(401, msg("Missing Authorization Header"));
    let bad_header = msg("Bad Authorization header. Expected value 'Bearer <JWT>'");
    app.raw(
        "GET",
        path,
        Some(&format!("Token {}", user.token)),
        None,
        None,
    )
    .expect(422, bad_header.clone());
    app.raw("GET", path, Some("Bearer"), None, None)
        .expect(422, bad_header.clone());
    app.raw(
        "GET",
        path,
        Some(&format!("bearer {}", user.token)),
        None,
        None,
    )
    .expect(422, bad_header.clone());
    app.raw(
        "GET",
        path,
        Some(&format!("Bearer {} extra", user.token)),
        None,
        None,
    )
    .expect(422, bad_header);
    app.raw(
        "GET",
        path,
        Some(&format!("Bearer {}", ghost_uuid())),
        None,
        None,
    )
    .expect(422, msg("Not enough segments"));
    app.raw("GET", path, Some("Bearer a.b.c"), None, None)
        .expect(422, msg("Invalid header padding"));

    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims(&user.token),
        &jsonwebtoken::EncodingKey::from_secret(b"not the secret"),
    )
    .unwrap();
    app.raw("GET", path, Some(&format!("Bearer {forged}")), None, None)
        .expect(422, msg("Signature verification failed"));

    let now = chrono::Utc::now().timestamp();
    let mut c = claims(&user.token);
    c["exp"] = json!(now - 5);
    app.raw(
        "GET",
        path,
        Some(&format!("Bearer {}", app.sign(&c))),
        None,
        None,
    )
    .expect(
        401,
        json!({"status": false, "message": "The token has expired"}),
    );

    let mut c = claims(&user.token);
    c["nbf"] = json!(now + 3600);
    app.raw(
        "GET",
        path,
        Some(&format!("Bearer {}", app.sign(&c))),
        None,
        None,
    )
    .expect(422, msg("The token is not yet valid (nbf)"));

    let mut c = claims(&user.token);
    c.as_object_mut().unwrap().remove("identity");
    app.raw(
        "GET",
        path,
        Some(&format!("Bearer {}", app.sign(&c))),
        None,
        None,
    )
    .expect(422, msg("Missing claim: identity"));

    let mut c = claims(&user.token);
    c["type"] = json!("refresh");
    app.raw(
        "GET",
        path,
        Some(&format!("Bearer {}", app.sign(&c))),
        None,
        None,
    )
    .expect(422, msg("Only access tokens are allowed"));

    // Tokens without `type` or `jti` are accepted, as in the reference.
    let mut c = claims(&user.token);
    c.as_object_mut().unwrap().remove("type");
    c.as_object_mut().unwrap().remove("jti");
    assert_eq!(
        app.raw(
            "GET",
            path,
            Some(&format!("Bearer {}", app.sign(&c))),
            None,
            None
        )
        .status,
        Status::Ok
    );

    // Revoked.
    let reply = app.request("POST", "/api/auth/logout", Some(&user.token), None);
    assert_eq!(reply.status, Status::NoContent);
    assert_eq!(reply.text, "");
    assert_eq!(
        reply.content_type.as_deref(),
        Some("text/html; charset=utf-8")
    );
    app.request("GET", path, Some(&user.token), None)
        .expect(401, msg("Token has been revoked"));
    app.request("POST", "/api/auth/logout", Some(&user.token), None)
        .expect(401, msg("Token has been revoked"));
    // A new login works again.
    let fresh = app.login("alice@example.com", PASSWORD).json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.get(path, &fresh).status, Status::Ok);
    assert_eq!(app.count("SELECT count(*) FROM revoked_token"), 1);
}

#[test]
fn logout_needs_no_existing_user() {
    let app = TestApp::new();
    let token = app.token_for(&ghost_uuid(), &[]);
    assert_eq!(
        app.request("POST", "/api/auth/logout", Some(&token), None)
            .status,
        Status::NoContent
    );
    app.request("POST", "/api/auth/logout", None, None)
        .expect(401, json!({"msg": "Missing Authorization Header"}));
}

fn reset_link_token(app: &TestApp, email: &str) -> String {
    let body: String = app
        .db()
        .query_row(
            "SELECT body FROM mail_outbox WHERE kind = 'password_reset' AND recipient_email = ?1 ORDER BY id DESC",
            [email],
            |r| r.get(0),
        )
        .unwrap();
    let start = body.find("/app/reset/").expect("reset link") + "/app/reset/".len();
    body[start..].split_whitespace().next().unwrap().to_owned()
}

#[test]
fn forget_and_reset_change_the_password() {
    let app = TestApp::new();
    let user = app.register("alice@example.com", "alice");
    let message = json!({"status": true, "message": "If your account exist, you will find an email to recover your password in your mailbox"});
    app.request(
        "POST",
        "/api/auth/forget",
        None,
        Some(&json!({"email": "nobody@example.com"})),
    )
    .expect(200, message.clone());
    assert_eq!(
        app.count("SELECT count(*) FROM mail_outbox WHERE kind = 'password_reset'"),
        0
    );
    app.request(
        "POST",
        "/api/auth/forget",
        None,
        Some(&json!({"email": "alice@example.com"})),
    )
    .expect(200, message);

    let token = reset_link_token(&app, "alice@example.com");
    // Tokens carry whole seconds: the registration's must be from an earlier second than the reset.
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    let c = claims(&token);
    assert_eq!(c["identity"], user.uuid.as_str());
    // One hour, and for this purpose only (decisions F20).
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        3_600
    );
    assert_eq!(c["type"], "reset");

    // The reset/update password rule: '.' is not a special character there.
    app.request("POST", "/api/auth/reset", None, Some(&json!({"reset_password_token": token, "password": "Abcdef1."})))
        .expect(400, json!({"status": false, "message": "Validation errors", "errors": [
            "Password must contain at least minimum eight characters, at least one uppercase letter, one lowercase letter, one number and one special character !"]}));
    app.request("POST", "/api/auth/reset", None, Some(&json!({"reset_password_token": "short", "password": "NewPass1!"})))
        .expect(400, json!({"status": false, "message": "Validation errors", "errors": ["Shorter than minimum length 50."]}));
    app.request(
        "POST",
        "/api/auth/reset",
        None,
        Some(&json!({"reset_password_token": "x".repeat(60), "password": "NewPass1!"})),
    )
    .expect(422, json!({"msg": "Not enough segments"}));

    app.request(
        "POST",
        "/api/auth/reset",
        None,
        Some(&json!({"reset_password_token": token, "password": "NewPass1!"})),
    )
    .expect(
        200,
        json!({"status": true, "message": "Password reset successfully"}),
    );
    assert_eq!(
        app.login("alice@example.com", PASSWORD).status,
        Status::Unauthorized
    );
    assert_eq!(
        app.login("alice@example.com", "NewPass1!").status,
        Status::Ok
    );
    assert_eq!(
        app.count("SELECT count(*) FROM mail_outbox WHERE kind = 'password_reset_done'"),
        1
    );
    // The reset ended every session (F20), and the link served once.
    app.get("/api/user/genre", &user.token)
        .expect(401, json!({"msg": "Token has been revoked"}));
    app.request(
        "POST",
        "/api/auth/reset",
        None,
        Some(&json!({"reset_password_token": token, "password": "Other1234!"})),
    )
    .expect(401, json!({"status": false, "message": "Invalid token."}));

    // A token of an unknown user.
    let ghost = app.token_for(&ghost_uuid(), &[]);
    app.request(
        "POST",
        "/api/auth/reset",
        None,
        Some(&json!({"reset_password_token": ghost, "password": "NewPass1!"})),
    )
    .expect(401, json!({"status": false, "message": "Invalid token."}));
}

#[test]
fn an_access_token_cannot_reset_a_password() {
    // Decisions F20: a login token (live or revoked) is not a reset link.
    let app = TestApp::new();
    let user = app.register("alice@example.com", "alice");
    let live = app.login("alice@example.com", PASSWORD).json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.request("POST", "/api/auth/logout", Some(&user.token), None);
    for token in [&live, &user.token] {
        app.request(
            "POST",
            "/api/auth/reset",
            None,
            Some(&json!({"reset_password_token": token, "password": "NewPass1!"})),
        )
        .expect(401, json!({"status": false, "message": "Invalid token."}));
    }
    assert_eq!(app.login("alice@example.com", PASSWORD).status, Status::Ok);
}

#[test]
fn an_expired_reset_token_gets_the_custom_expired_body() {
    let app = TestApp::new();
    let user = app.register("alice@example.com", "alice");
    let mut c = claims(&user.token);
    c["exp"] = json!(chrono::Utc::now().timestamp() - 1);
    app.request(
        "POST",
        "/api/auth/reset",
        None,
        Some(&json!({"reset_password_token": app.sign(&c), "password": "NewPass1!"})),
    )
    .expect(
        401,
        json!({"status": false, "message": "The token has expired"}),
    );
}

#[test]
fn signatures_decode_like_pyjwt() {
    let app = TestApp::new();
    let user = app.register("alice@example.com", "alice");
    // Padding on the signature is accepted.
    let padded = format!("{}=", user.token);
    let reply = app.raw(
        "GET",
        "/api/user/genre",
        Some(&format!("Bearer {padded}")),
        None,
        None,
    );
    assert_eq!(reply.status, Status::Ok, "{}", reply.text);
    // Any other last character is a bad signature, never a decoding error.
    let last = user.token.chars().last().unwrap();
    for replacement in ['A', 'B', 'Q', 'g', 'w', '_'] {
        if replacement == last {
            continue;
        }
        let mut tampered = user.token.clone();
        tampered.pop();
        tampered.push(replacement);
        let reply = app.raw(
            "GET",
            "/api/user/genre",
            Some(&format!("Bearer {tampered}")),
            None,
            None,
        );
        let body = reply.json();
        // Only the two unused low bits may change without changing the bytes.
        if reply.status != Status::Ok {
            assert_eq!(
                body,
                json!({"msg": "Signature verification failed"}),
                "{replacement}"
            );
        }
    }
    // A comma-separated header with a Bearer part works, as in flask-jwt-extended.
    assert_eq!(
        app.raw(
            "GET",
            "/api/user/genre",
            Some(&format!("Basic abc, Bearer {}", user.token)),
            None,
            None
        )
        .status,
        Status::Ok
    );
}

#[test]
fn reset_with_a_revoked_token_of_a_deleted_user_says_invalid_token_first() {
    let app = TestApp::new();
    let user = app.register("alice@example.com", "alice");
    let keep = app.login("alice@example.com", PASSWORD).json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.request("POST", "/api/auth/logout", Some(&user.token), None);
    app.request(
        "DELETE",
        &format!("/api/user/{}", user.uuid),
        Some(&keep),
        None,
    );
    app.request(
        "POST",
        "/api/auth/reset",
        None,
        Some(&json!({"reset_password_token": user.token, "password": "NewPass1!"})),
    )
    .expect(401, json!({"status": false, "message": "Invalid token."}));
}
