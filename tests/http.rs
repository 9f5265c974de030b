//! Cross-cutting HTTP behaviour: JSON 404/405, CORS as the reference answers it, health, Swagger UI
//! and an OpenAPI document that covers exactly the routes the server has.

mod common;

use common::TestApp;
use rocket::http::{Header, Method};
use serde_json::{Value, json};

#[test]
fn unknown_urls_and_wrong_methods_answer_json() {
    let app = TestApp::new();
    let reply = app.raw("GET", "/nowhere", None, None, None);
    reply.expect(
        404,
        json!({"status": false, "message": "Resource not found"}),
    );
    assert_eq!(reply.content_type.as_deref(), Some("application/json"));
    app.raw("GET", "/api/auth/login", None, None, None).expect(
        405,
        json!({"message": "The method is not allowed for the requested URL."}),
    );
    app.raw("POST", "/api/user/genre", None, None, None).expect(
        405,
        json!({"message": "The method is not allowed for the requested URL."}),
    );
    // Exact routes: a trailing slash is another URL.
    app.raw("POST", "/api/auth/login/", None, None, None)
        .expect(
            404,
            json!({"status": false, "message": "Resource not found"}),
        );
}

#[test]
fn cors_echoes_the_origin_or_allows_all() {
    let app = TestApp::new();
    let plain = app.raw("GET", "/api/health", None, None, None);
    assert_eq!(plain.header("Access-Control-Allow-Origin"), Some("*"));

    let mut request = app.client.get("/api/health");
    request.add_header(Header::new("Origin", "http://localhost:4200"));
    let response = request.dispatch();
    assert_eq!(
        response.headers().get_one("Access-Control-Allow-Origin"),
        Some("http://localhost:4200")
    );
    assert_eq!(response.headers().get_one("Vary"), Some("Origin"));
    assert_eq!(
        response
            .headers()
            .get_one("Access-Control-Allow-Credentials"),
        None
    );

    let mut preflight = app.client.req(Method::Options, "/api/user/genre/3");
    preflight.add_header(Header::new("Origin", "http://localhost:4200"));
    preflight.add_header(Header::new("Access-Control-Request-Method", "PUT"));
    preflight.add_header(Header::new(
        "Access-Control-Request-Headers",
        "authorization, content-type",
    ));
    let response = preflight.dispatch();
    assert_eq!(response.status().code, 200);
    let headers = response.headers();
    assert_eq!(
        headers.get_one("Access-Control-Allow-Origin"),
        Some("http://localhost:4200")
    );
    assert_eq!(
        headers.get_one("Access-Control-Allow-Methods"),
        Some("DELETE, OPTIONS, PUT")
    );
    let allowed = headers
        .get_one("Access-Control-Allow-Headers")
        .unwrap_or_default()
        .to_lowercase();
    assert!(
        allowed.contains("authorization") && allowed.contains("content-type"),
        "{allowed}"
    );
    assert_eq!(response.into_string().unwrap_or_default(), "");
}

#[test]
fn health_reports_the_schema_version() {
    let app = TestApp::new();
    let version = app.count("SELECT max(version) FROM refinery_schema_history");
    app.raw("GET", "/api/health", None, None, None).expect(
        200,
        json!({"status": true, "message": "The server is up", "schema_version": version}),
    );
}

#[test]
fn health_answers_503_when_the_database_is_gone() {
    let app = TestApp::new();
    // Make every query fail: drop the table health reads, on the same file.
    app.db()
        .execute_batch("DROP TABLE refinery_schema_history")
        .unwrap();
    let reply = app.raw("GET", "/api/health", None, None, None);
    reply.expect(
        503,
        json!({"status": false, "message": "The database is not available."}),
    );
}

#[test]
fn swagger_ui_is_served_from_the_binary() {
    let app = TestApp::new();
    for path in ["/api/", "/api"] {
        let page = app.raw("GET", path, None, None, None);
        assert_eq!(page.status.code, 200);
        assert_eq!(
            page.content_type.as_deref(),
            Some("text/html; charset=utf-8")
        );
        assert!(page.text.contains("/swaggerui/swagger-ui-bundle.js"));
    }
    let bundle = app.raw("GET", "/swaggerui/swagger-ui-bundle.js", None, None, None);
    assert_eq!(bundle.status.code, 200);
    assert!(bundle.text.len() > 1_000_000);
    assert!(bundle.content_type.unwrap().contains("javascript"));
    let init = app.raw("GET", "/swaggerui/init.js", None, None, None);
    assert!(init.text.contains("/api/swagger.json"));
    assert_eq!(
        app.raw("GET", "/swaggerui/../Cargo.toml", None, None, None)
            .status
            .code,
        404
    );
}

/// `/api/user/<uuid>` → `/api/user/{uuid}`; the query part is not part of the path.
fn openapi_path(rocket_uri: &str) -> String {
    let path = rocket_uri.split('?').next().unwrap_or(rocket_uri);
    path.split('/')
        .map(
            |segment| match segment.strip_prefix('<').and_then(|s| s.strip_suffix('>')) {
                Some(name) => format!(
                    "{{{}}}",
                    name.trim_end_matches("..").trim_start_matches('_')
                ),
                None => segment.to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn the_openapi_document_covers_exactly_the_routes() {
    let app = TestApp::new();
    let reply = app.raw("GET", "/api/swagger.json", None, None, None);
    assert_eq!(reply.status.code, 200);
    let doc: Value = reply.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let documented: std::collections::BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();

    let served: std::collections::BTreeSet<(String, String)> = app
        .client
        .rocket()
        .routes()
        // Transports and assets, not operations: Engine.IO's path, the Swagger UI's files.
        .filter(|r| {
            !["/cors", "/swaggerui", "/socket.io"]
                .iter()
                .any(|p| r.uri.path().starts_with(p))
        })
        .map(|r| {
            let path = openapi_path(&r.uri.to_string());
            // Rocket lists `/api/` as `/api`; the document uses the reference's `/api/`.
            let path = if path == "/api" {
                "/api/".to_owned()
            } else {
                path
            };
            (r.method.as_str().to_owned(), path)
        })
        .collect();
    assert_eq!(served, documented, "routes and OpenAPI paths differ");

    // Every operation says what it answers; protected ones name the bearer scheme.
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path}"
            );
            let public = [
                "/api/auth/login",
                "/api/auth/register",
                "/api/auth/forget",
                "/api/auth/reset",
                "/api/health",
                "/api/",
                "/api/swagger.json",
            ]
            .contains(&path.as_str());
            assert_eq!(
                op.get("security").is_some(),
                !public,
                "{method} {path} security"
            );
        }
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[test]
fn options_on_any_known_url_answers_200_like_flask() {
    let app = TestApp::new();
    for origin in [None, Some("http://localhost:4200")] {
        let mut request = app.client.req(Method::Options, "/api/auth/login");
        if let Some(origin) = origin {
            request.add_header(Header::new("Origin", origin));
        }
        let response = request.dispatch();
        assert_eq!(response.status().code, 200, "origin {origin:?}");
        assert_eq!(
            response.headers().get_one("Allow"),
            Some("OPTIONS, POST"),
            "the methods the path has"
        );
        assert_eq!(response.into_string().unwrap_or_default(), "");
    }
    let response = app
        .client
        .req(Method::Options, "/api/user/genre/3")
        .dispatch();
    assert_eq!(
        response.headers().get_one("Allow"),
        Some("DELETE, OPTIONS, PUT")
    );
    let response = app.client.req(Method::Options, "/api/movie/12").dispatch();
    assert_eq!(
        response.headers().get_one("Allow"),
        Some("DELETE, GET, HEAD, OPTIONS, PATCH")
    );
    // A 405 says the same in its Allow header.
    for method in [Method::Get, Method::Put] {
        let response = app.client.req(method, "/api/auth/login").dispatch();
        assert_eq!(response.status().code, 405);
        assert_eq!(response.headers().get_one("Allow"), Some("OPTIONS, POST"));
    }
    assert_eq!(
        app.client
            .req(Method::Options, "/nowhere")
            .dispatch()
            .status()
            .code,
        404
    );
}

#[test]
fn the_document_tells_the_truth_about_operations_and_fields() {
    let app = TestApp::new();
    let doc: Value =
        serde_json::from_str(&app.request("GET", "/api/swagger.json", None, None).text).unwrap();
    let mut ids = std::collections::HashSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap();
            assert!(ids.insert(id.to_owned()), "operationId {id} twice");
            let responses = op["responses"].as_object().unwrap();
            for status in ["500", "503"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path}: no {status}"
                );
            }
            if op.get("security").is_some() {
                assert!(
                    responses.contains_key("401") && responses.contains_key("422"),
                    "{method} {path}"
                );
            }
            if op.get("requestBody").is_some() {
                assert!(
                    responses.contains_key("400") && responses.contains_key("413"),
                    "{method} {path}"
                );
            }
            for param in op["parameters"].as_array().into_iter().flatten() {
                if param["name"] == "medium" {
                    assert_eq!(param["schema"]["$ref"], "#/components/schemas/Medium");
                }
            }
        }
    }
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["Medium"]["enum"],
        json!(["application", "book", "game", "movie", "serie", "track"])
    );
    // Field rules come from rules.rs.
    let register = &schemas["RegisterBody"];
    assert_eq!(register["additionalProperties"], false);
    assert_eq!(
        register["required"],
        json!(["email", "username", "password"])
    );
    let username = &register["properties"]["username"];
    assert_eq!(
        (
            username["minLength"].as_u64(),
            username["maxLength"].as_u64()
        ),
        (Some(4), Some(15))
    );
    let pattern = regex::Regex::new(username["pattern"].as_str().unwrap()).unwrap();
    for (name, ok) in [
        ("alice", true),
        ("a.b_c", true),
        ("a..b", false),
        (".ab", false),
        ("ab.", false),
    ] {
        assert_eq!(pattern.is_match(name), ok, "{name}");
    }
    assert_eq!(register["properties"]["email"]["format"], "email");
    assert!(
        register["properties"]["password"]["pattern"]
            .as_str()
            .unwrap()
            .contains("(?=")
    );
    assert_eq!(
        schemas["LoginBody"]["properties"]["password"]["minLength"],
        8
    );
    assert_eq!(
        schemas["InviteBody"]["properties"]["uuid"]["format"],
        "uuid"
    );
    assert_eq!(
        schemas["MetaPatchBody"]["properties"]["rating"]["maximum"],
        5
    );
    assert_eq!(schemas["LenientPage"]["type"], "string");
    assert_eq!(schemas["StrictPage"]["type"], "integer");
}
