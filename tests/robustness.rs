//! Bad input never panics, always gets a clear 4xx in the API's envelope, and never changes data:
//! malformed JSON, wrong types, huge strings, unknown keys and non-UTF-8 sent to every route of the
//! foundation, the database fingerprinted before and after.

mod common;

use common::{TestApp, ghost_uuid};
use rocket::http::ContentType;
use serde_json::{Value, json};

/// Routes that take a JSON body: (method, path, a valid body to mutate).
fn body_routes(app: &TestApp, uuid: &str, token: &str) -> Vec<(&'static str, String, Value)> {
    let _ = app;
    vec![
        (
            "POST",
            "/api/auth/login".into(),
            json!({"email": "alice@example.com", "password": "Azerty123!"}),
        ),
        (
            "POST",
            "/api/auth/register".into(),
            json!({"email": "new@example.com", "username": "newbie", "password": "Azerty123!"}),
        ),
        (
            "POST",
            "/api/auth/forget".into(),
            json!({"email": "alice@example.com"}),
        ),
        (
            "POST",
            "/api/auth/reset".into(),
            json!({"reset_password_token": token, "password": "Azerty123!"}),
        ),
        (
            "PATCH",
            format!("/api/user/{uuid}"),
            json!({"username": "renamed"}),
        ),
    ]
}

fn bad_bodies(valid: &Value) -> Vec<(String, Vec<u8>, Option<ContentType>)> {
    let object = valid.as_object().unwrap();
    let mut cases: Vec<(String, Vec<u8>, Option<ContentType>)> = vec![
        (
            "truncated JSON".into(),
            b"{\"email\": \"a".to_vec(),
            Some(ContentType::JSON),
        ),
        (
            "empty JSON body".into(),
            Vec::new(),
            Some(ContentType::JSON),
        ),
        (
            "non-UTF-8".into(),
            b"{\"email\": \"\xff\xfe\"}".to_vec(),
            Some(ContentType::JSON),
        ),
        (
            "raw binary".into(),
            vec![0, 159, 146, 150, 255],
            Some(ContentType::Binary),
        ),
        (
            "JSON array".into(),
            b"[1, 2]".to_vec(),
            Some(ContentType::JSON),
        ),
        (
            "JSON string".into(),
            b"\"hello\"".to_vec(),
            Some(ContentType::JSON),
        ),
        (
            "form body".into(),
            b"email=a%40b.co".to_vec(),
            Some(ContentType::Form),
        ),
        (
            "over the size limit".into(),
            format!("{{\"email\": \"{}\"}}", "a".repeat(1_100_000)).into_bytes(),
            Some(ContentType::JSON),
        ),
    ];
    for key in object.keys() {
        for (label, wrong) in [
            ("number", json!(12)),
            ("null", Value::Null),
            ("array", json!(["x"])),
            ("object", json!({"a": 1})),
            ("bool", json!(true)),
        ] {
            let mut body = valid.clone();
            body[key] = wrong;
            cases.push((
                format!("{key} as {label}"),
                body.to_string().into_bytes(),
                Some(ContentType::JSON),
            ));
        }
        let mut huge = valid.clone();
        huge[key] = json!("Aa1!".repeat(100_000));
        cases.push((
            format!("huge {key}"),
            huge.to_string().into_bytes(),
            Some(ContentType::JSON),
        ));
        let mut unicode = valid.clone();
        unicode[key] = json!("ünïcödé\u{0}\u{202e}😀");
        cases.push((
            format!("odd unicode {key}"),
            unicode.to_string().into_bytes(),
            Some(ContentType::JSON),
        ));
    }
    let mut unknown = valid.clone();
    unknown["is_admin"] = json!(true);
    cases.push((
        "unknown key".into(),
        unknown.to_string().into_bytes(),
        Some(ContentType::JSON),
    ));
    cases
}

#[test]
fn bad_bodies_get_a_4xx_envelope_and_change_nothing() {
    let app = TestApp::new();
    let alice = app.register("alice@example.com", "alice");
    let mut checked = 0;
    for (method, path, valid) in body_routes(&app, &alice.uuid, &alice.token) {
        for (label, bytes, content_type) in bad_bodies(&valid) {
            let before = app.fingerprint();
            let reply = app.raw(
                method,
                &path,
                Some(&format!("Bearer {}", alice.token)),
                Some(&bytes),
                content_type,
            );
            let code = reply.status.code;
            assert!(
                (400..500).contains(&code),
                "{method} {path} with {label}: {code} {}",
                reply.text
            );
            let body = reply.json();
            assert!(
                body.get("message").is_some() || body.get("msg").is_some(),
                "{method} {path} {label}: {body}"
            );
            assert_eq!(
                app.fingerprint(),
                before,
                "{method} {path} with {label} changed data"
            );
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked}");
}

#[test]
fn bad_path_segments_and_queries_get_json_404s_and_change_nothing() {
    let app = TestApp::new();
    let alice = app.register("alice@example.com", "alice");
    let token = alice.token.as_str();
    let long = "a".repeat(5_000);
    let before = app.fingerprint();
    let cases = [
        ("GET", "/api/user/not-a-uuid".to_string()),
        ("GET", "/api/user/6d43749ed51945dcbdb84e9c3f9bcb69".into()),
        ("PATCH", format!("/api/user/{long}")),
        ("DELETE", "/api/user/%FF%FE".into()),
        ("DELETE", "/api/user/%00".into()),
        ("PUT", "/api/user/genre/-1".into()),
        ("PUT", "/api/user/genre/1.5".into()),
        ("PUT", "/api/user/genre/99999999999999999999999".into()),
        ("DELETE", "/api/user/genre/abc".into()),
        ("GET", "/api/user/".into()),
        ("GET", "/api/group/".into()),
        ("GET", "/api/user/genre/".into()),
    ];
    for (method, path) in cases {
        let reply = app.request(method, &path, Some(token), None);
        assert_eq!(reply.status.code, 404, "{method} {path}: {}", reply.text);
        assert_eq!(
            reply.json(),
            json!({"status": false, "message": "Resource not found"}),
            "{method} {path}"
        );
    }
    // Odd queries are lenient, and long terms are just terms.
    // Invalid UTF-8 in a term decodes lossily, as Werkzeug's does, and simply matches nobody.
    for path in [
        "/api/user/search/%FF",
        "/api/user/search/x?page=99999999999999999999",
        "/api/user/search/x?page=-5&page=3",
        &format!("/api/user/search/{long}?page={long}"),
    ] {
        let reply = app.request("GET", path, Some(token), None);
        assert_eq!(reply.status.code, 200, "{path}: {}", reply.text);
    }
    // A ghost identity on routes that take no body.
    let ghost = app.token_for(&ghost_uuid(), &["modify_user_profil"]);
    for (method, path) in [
        ("DELETE", format!("/api/user/{}", alice.uuid)),
        ("PUT", "/api/user/preferences_defined".into()),
        ("PUT", "/api/user/genre/1".into()),
    ] {
        let code = app.request(method, &path, Some(&ghost), None).status.code;
        assert!((400..500).contains(&code), "{method} {path}: {code}");
    }
    assert_eq!(app.fingerprint(), before);
}

#[test]
fn media_writes_refuse_bad_bodies_and_change_nothing() {
    let app = TestApp::new();
    let admin = app.register_admin("root@example.com", "root");
    let movie = app.add_content("movie", json!({"title": "Heat"}), &[]);
    let routes = [
        (
            "PATCH",
            format!("/api/movie/{movie}/meta"),
            json!({"rating": 3, "additional_count": 1}),
        ),
        (
            "PATCH",
            format!("/api/movie/{movie}"),
            json!({"title": "Heat 2", "genres": [1]}),
        ),
    ];
    let wrong_values = [
        json!(null),
        json!("text"),
        json!([1]),
        json!({"a": 1}),
        json!(true),
        json!(-1),
        json!(2.5),
        json!(99),
    ];
    let mut checked = 0;
    for (method, path, valid) in routes {
        let mut cases: Vec<(String, Vec<u8>, Option<ContentType>)> = bad_bodies(&valid)
            .into_iter()
            .filter(|(label, _, _)| {
                !label.starts_with("huge")
                    && !label.starts_with("odd unicode")
                    && label != "unknown key"
                    && !label.contains(" as ")
            })
            .collect();
        for key in valid.as_object().unwrap().keys() {
            for wrong in &wrong_values {
                let mut body = valid.clone();
                body[key] = wrong.clone();
                let admissible = match key.as_str() {
                    "rating" => wrong.as_i64().is_some_and(|r| (0..=5).contains(&r)),
                    "additional_count" => wrong.as_f64().is_some_and(|c| c >= 0.0),
                    "title" => wrong.is_string(),
                    _ => false,
                };
                if !admissible {
                    cases.push((
                        format!("{key} = {wrong}"),
                        body.to_string().into_bytes(),
                        Some(ContentType::JSON),
                    ));
                }
            }
        }
        for (label, bytes, content_type) in cases {
            let before = app.fingerprint();
            let reply = app.raw(
                method,
                &path,
                Some(&format!("Bearer {}", admin.token)),
                Some(&bytes),
                content_type,
            );
            let code = reply.status.code;
            assert!(
                (400..500).contains(&code),
                "{method} {path} with {label}: {code} {}",
                reply.text
            );
            assert!(reply.json().get("message").is_some(), "{label}");
            assert_eq!(
                app.fingerprint(),
                before,
                "{method} {path} with {label} changed data"
            );
            checked += 1;
        }
    }
    assert!(checked > 40, "{checked}");
}

#[test]
fn social_and_sandbox_writes_refuse_bad_bodies_and_change_nothing() {
    let app = TestApp::new();
    let admin = app.register_admin("root@example.com", "root");
    let group = app
        .request(
            "POST",
            "/api/group",
            Some(&admin.token),
            Some(&json!({"name": "crew"})),
        )
        .json()["group"]["group_id"]
        .as_i64()
        .unwrap();
    let profile = app
        .request(
            "POST",
            "/api/profile",
            Some(&admin.token),
            Some(&json!({"profilename": "p"})),
        )
        .json()["profile"]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let movie = app.add_content("movie", json!({"title": "Heat"}), &[]);
    let meta = json!({"rating": 1, "last_rating_date": "2021-01-01T00:00:00", "review_see_count": 1,
        "last_review_see_date": "2021-01-01T00:00:00", "count": 1, "last_count_increment": "2021-01-01T00:00:00"});
    let routes = [
        (
            "POST",
            "/api/group".to_owned(),
            json!({"name": "valid_name"}),
        ),
        (
            "POST",
            format!("/api/group/{group}/invitations"),
            json!({"uuid": admin.uuid}),
        ),
        (
            "POST",
            "/api/profile".to_owned(),
            json!({"profilename": "other"}),
        ),
        (
            "PATCH",
            format!("/api/profile/{profile}"),
            json!({"profilename": "renamed"}),
        ),
        (
            "PUT",
            format!("/api/profile/{profile}/content/{movie}/meta"),
            meta,
        ),
        (
            "POST",
            "/api/movie".to_owned(),
            json!({"title": "proposal", "genres": []}),
        ),
        (
            "POST",
            format!("/api/movie/{movie}/bad_recommendation"),
            json!({"genres": ["x"]}),
        ),
    ];
    let mut checked = 0;
    for (method, path, valid) in routes {
        // The structural cases, then for every key: null, a boolean, an object, and the wrong kind.
        let mut cases = bad_bodies(&valid);
        cases.retain(|(label, _, _)| {
            !label.starts_with("huge")
                && !label.starts_with("odd")
                && label != "unknown key"
                && !label.contains(" as ")
        });
        for key in valid.as_object().unwrap().keys() {
            let wrong_kind = match &valid[key] {
                Value::String(_) => json!(12),
                Value::Number(_) => json!("12"),
                _ => json!("not an array"),
            };
            for wrong in [Value::Null, json!(true), json!({"a": 1}), wrong_kind] {
                let mut body = valid.clone();
                body[key] = wrong.clone();
                cases.push((
                    format!("{key} = {wrong}"),
                    body.to_string().into_bytes(),
                    Some(ContentType::JSON),
                ));
            }
        }
        for key in ["name", "profilename"] {
            if valid.get(key).is_some() {
                let mut body = valid.clone();
                body[key] = json!("n".repeat(100_000));
                cases.push((
                    format!("huge {key}"),
                    body.to_string().into_bytes(),
                    Some(ContentType::JSON),
                ));
            }
        }
        for (label, bytes, content_type) in cases {
            let before = app.fingerprint();
            let reply = app.raw(
                method,
                &path,
                Some(&format!("Bearer {}", admin.token)),
                Some(&bytes),
                content_type,
            );
            let code = reply.status.code;
            assert!(
                (400..500).contains(&code),
                "{method} {path} with {label}: {code} {}",
                reply.text
            );
            assert_eq!(
                app.fingerprint(),
                before,
                "{method} {path} with {label} changed data"
            );
            checked += 1;
        }
    }
    assert!(checked > 60, "{checked}");
}
