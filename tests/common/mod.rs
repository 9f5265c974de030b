//! Shared test harness: one fresh SQLite file per test, the real application behind Rocket's local
//! client (real HTTP requests through the whole stack), and helpers to forge tokens and read the file.
#![allow(dead_code)]

pub mod community;
pub mod server;

use recofinement::api;
use recofinement::auth::secret;
use recofinement::config::Settings;
use rocket::http::{ContentType, Header, Status};
use rocket::local::blocking::{Client, LocalResponse};
use rusqlite::Connection;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use tempfile::TempDir;

pub const PASSWORD: &str = "Azerty123!";

pub struct TestApp {
    pub client: Client,
    pub db_path: PathBuf,
    pub secret: Vec<u8>,
    _dir: TempDir,
}

pub struct Reply {
    pub status: Status,
    pub content_type: Option<String>,
    pub text: String,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    #[track_caller]
    pub fn expect(&self, status: u16, body: Value) {
        assert_eq!(self.status.code, status, "status of {}", self.text);
        assert_eq!(self.json(), body);
    }
}

fn capture(response: LocalResponse<'_>) -> Reply {
    let status = response.status();
    let content_type = response.content_type().map(|c| c.to_string());
    let headers = response
        .headers()
        .iter()
        .map(|h| (h.name().to_string(), h.value().to_string()))
        .collect();
    let text = response.into_string().unwrap_or_default();
    Reply {
        status,
        content_type,
        text,
        headers,
    }
}

pub struct User {
    pub uuid: String,
    pub email: String,
    pub token: String,
}

impl TestApp {
    pub fn new() -> TestApp {
        // The background engine rewrites scores and lists on its own; tests run it explicitly.
        TestApp::with_engine_interval(0)
    }

    /// With the server's background engine running every `seconds` (0: off).
    pub fn with_engine_interval(seconds: u64) -> TestApp {
        TestApp::with_settings(|settings| settings.engine_interval = seconds)
    }

    /// With settings of the test's choosing (on top of the tests' defaults: engine off, bcrypt 4).
    pub fn with_settings(configure: impl FnOnce(&mut Settings)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let db_path = dir.path().join("test.db");
        let mut settings = Settings::for_database(&db_path);
        settings.bcrypt_cost = 4;
        settings.engine_interval = 0;
        configure(&mut settings);
        let rocket = api::build(&settings).expect("build");
        let figment = rocket.figment().clone().merge(("log_level", "off"));
        let client = Client::tracked(rocket.configure(figment)).expect("client");
        let secret = secret::load_or_create(&settings.secret_file()).expect("secret");
        TestApp {
            client,
            db_path,
            secret,
            _dir: dir,
        }
    }

    pub fn db(&self) -> Connection {
        Connection::open(&self.db_path).expect("open db")
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let raw = body.map(|b| b.to_string());
        self.raw(
            method,
            path,
            token.map(|t| format!("Bearer {t}")).as_deref(),
            raw.as_deref().map(str::as_bytes),
            Some(ContentType::JSON),
        )
    }

    /// A request with full control over the Authorization header, body bytes and content type.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        authorization: Option<&str>,
        body: Option<&[u8]>,
        content_type: Option<ContentType>,
    ) -> Reply {
        let method = method.parse().expect("method");
        let mut request = self.client.req(method, path.to_owned());
        if let Some(auth) = authorization {
            request.add_header(Header::new("Authorization", auth.to_owned()));
        }
        if let Some(body) = body {
            if let Some(ct) = content_type {
                request.add_header(ct);
            }
            request.set_body(body);
        }
        capture(request.dispatch())
    }

    pub fn get(&self, path: &str, token: &str) -> Reply {
        self.request("GET", path, Some(token), None)
    }

    pub fn register(&self, email: &str, username: &str) -> User {
        let reply = self.request(
            "POST",
            "/api/auth/register",
            None,
            Some(&json!({"email": email, "username": username, "password": PASSWORD})),
        );
        assert_eq!(reply.status, Status::Created, "{}", reply.text);
        let body = reply.json();
        User {
            uuid: body["user"]["uuid"].as_str().expect("uuid").to_owned(),
            email: email.to_owned(),
            token: body["access_token"].as_str().expect("token").to_owned(),
        }
    }

    pub fn login(&self, email: &str, password: &str) -> Reply {
        self.request(
            "POST",
            "/api/auth/login",
            None,
            Some(&json!({"email": email, "password": password})),
        )
    }

    /// Registers an account, gives it the admin role, and logs it in again for a token that says so.
    pub fn register_admin(&self, email: &str, username: &str) -> User {
        let mut user = self.register(email, username);
        self.db()
            .execute(
                r#"INSERT INTO user_role (user_id, role_id) SELECT user_id, 2 FROM "user" WHERE uuid = ?1"#,
                [&user.uuid],
            )
            .expect("grant admin");
        user.token = self.login(email, PASSWORD).json()["access_token"]
            .as_str()
            .expect("token")
            .to_owned();
        user
    }

    /// Signs arbitrary claims with the server's secret (HS256).
    pub fn sign(&self, claims: &Value) -> String {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            claims,
            &jsonwebtoken::EncodingKey::from_secret(&self.secret),
        )
        .expect("sign")
    }

    /// A valid access token for any identity with the given permissions.
    pub fn token_for(&self, identity: &str, permissions: &[&str]) -> String {
        let now = chrono::Utc::now().timestamp();
        self.sign(&json!({
            "iat": now, "nbf": now, "jti": uuid::Uuid::new_v4().to_string(), "exp": now + 600,
            "identity": identity, "fresh": false, "type": "access",
            "user_claims": {"permissions": permissions},
        }))
    }

    /// Runs `f` while the user has no role, so no permission (they are read from the database on
    /// every request, decisions F21), then gives the roles back.
    pub fn without_roles<T>(&self, uuid: &str, f: impl FnOnce() -> T) -> T {
        let user_id = self.user_id(uuid);
        let conn = self.db();
        let roles: Vec<i64> = conn
            .prepare("SELECT role_id FROM user_role WHERE user_id = ?1")
            .unwrap()
            .query_map([user_id], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        conn.execute("DELETE FROM user_role WHERE user_id = ?1", [user_id])
            .unwrap();
        let out = f();
        for role in roles {
            conn.execute(
                "INSERT INTO user_role (user_id, role_id) VALUES (?1, ?2)",
                [user_id, role],
            )
            .unwrap();
        }
        out
    }

    pub fn add_genre(&self, name: &str, content_type: &str) -> i64 {
        let conn = self.db();
        conn.execute(
            "INSERT INTO genre (name, count, content_type) VALUES (?1, 3, ?2)",
            [name, content_type],
        )
        .expect("genre");
        conn.last_insert_rowid()
    }

    /// Adds a content through the catalogue's event path (as the API, CLI and seeding do).
    pub fn add_content(&self, medium: &str, fields: Value, genres: &[i64]) -> i64 {
        use recofinement::db::catalogue::{self, NewContent};
        use recofinement::media::{EPISODE, Medium};
        let table = if medium == "episode" {
            &EPISODE
        } else {
            &Medium::by_name(medium).expect("medium").table
        };
        let values = table
            .columns
            .iter()
            .map(|c| catalogue::column_value(c.kind, fields.get(c.name).unwrap_or(&Value::Null)))
            .collect();
        let conn = self.db();
        let ctx = recofinement::events::EventContext::now(None);
        catalogue::add(
            &conn,
            &ctx,
            table,
            &NewContent {
                values,
                genres: genres.to_vec(),
            },
        )
        .expect("add content")
    }

    /// Sets the popularity fields of a content directly (the engine's job, not the API's).
    pub fn set_scores(
        &self,
        content_id: i64,
        rating: Option<f64>,
        rating_count: Option<i64>,
        popularity: Option<f64>,
    ) {
        self.db()
            .execute(
                "UPDATE content SET rating = ?2, rating_count = ?3, popularity_score = ?4 WHERE content_id = ?1",
                rusqlite::params![content_id, rating, rating_count, popularity],
            )
            .expect("scores");
    }

    pub fn user_id(&self, uuid: &str) -> i64 {
        self.db()
            .query_row(
                r#"SELECT user_id FROM "user" WHERE uuid = ?1"#,
                [uuid],
                |r| r.get(0),
            )
            .expect("user id")
    }

    /// Every event row, in id order, as (id, table, text of its columns after the id).
    pub fn events(&self) -> Vec<(i64, String, String)> {
        let conn = self.db();
        let mut out = Vec::new();
        let tables = [
            "meta_added_event",
            "changed_event",
            "deletion_event",
            "application_added_event",
            "book_added_event",
            "game_added_event",
            "movie_added_event",
            "serie_added_event",
            "episode_added_event",
            "track_added_event",
        ];
        for table in tables {
            let mut stmt = conn.prepare(&format!("SELECT * FROM {table}")).unwrap();
            let columns = stmt.column_count();
            let rows: Vec<(i64, String)> = stmt
                .query_map([], |row| {
                    let values: Vec<String> = (2..columns)
                        .map(|i| match row.get_ref(i).unwrap() {
                            rusqlite::types::ValueRef::Null => "NULL".to_owned(),
                            rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                            rusqlite::types::ValueRef::Real(f) => f.to_string(),
                            rusqlite::types::ValueRef::Text(t) => {
                                String::from_utf8_lossy(t).into_owned()
                            }
                            rusqlite::types::ValueRef::Blob(_) => "BLOB".to_owned(),
                        })
                        .collect();
                    Ok((row.get(0)?, values.join("|")))
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            out.extend(
                rows.into_iter()
                    .map(|(id, text)| (id, table.to_owned(), text)),
            );
        }
        out.sort_by_key(|e| e.0);
        out
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.db().query_row(sql, [], |r| r.get(0)).expect("count")
    }

    /// Every row of every table, as text: equal fingerprints mean nothing changed.
    pub fn fingerprint(&self) -> String {
        let conn = self.db();
        let mut tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        tables.sort();
        let mut out = String::new();
        for table in tables {
            // The outbox's delivery columns move on their own (the mail worker runs): compare what was queued.
            let sql = if table == "mail_outbox" {
                "SELECT id, kind, recipient_email, subject, body FROM mail_outbox ORDER BY 1"
                    .to_owned()
            } else {
                format!("SELECT * FROM \"{table}\" ORDER BY 1")
            };
            let mut stmt = conn.prepare(&sql).unwrap();
            let columns = stmt.column_count();
            let rows = stmt
                .query_map([], |row| {
                    let values: Vec<String> = (0..columns)
                        .map(|i| match row.get_ref(i) {
                            Ok(rusqlite::types::ValueRef::Text(t)) => {
                                String::from_utf8_lossy(t).into_owned()
                            }
                            other => format!("{other:?}"),
                        })
                        .collect();
                    Ok(values.join("|"))
                })
                .unwrap();
            out.push_str(&table);
            out.push('\n');
            for row in rows {
                out.push_str(&row.unwrap());
                out.push('\n');
            }
        }
        out
    }
}

/// An unknown but well-formed user identity.
pub fn ghost_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Decodes a JWT's payload without verifying it.
pub fn claims(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64");
    serde_json::from_slice(&bytes).expect("json")
}

pub type MetaRow = (
    Option<i64>,
    Option<String>,
    i64,
    Option<String>,
    i64,
    Option<String>,
);

/// Rebuilds `meta_user_content` from the event log alone.
pub fn replay_metas(conn: &Connection) -> BTreeMap<(i64, i64), MetaRow> {
    let mut rows: BTreeMap<(i64, i64), MetaRow> = BTreeMap::new();
    let mut stmt = conn
        .prepare(
            "SELECT id, 'added', occured_at, occured_by, object_id, rating, review_see_count, count, NULL, NULL FROM meta_added_event
             UNION ALL
             SELECT id, 'changed', occured_at, occured_by, object_id, NULL, NULL, NULL, attribute_name, new_value FROM changed_event
             WHERE model_name = 'meta_user_content'
             ORDER BY 1",
        )
        .unwrap();
    let mut events = stmt.query([]).unwrap();
    while let Some(e) = events.next().unwrap() {
        let kind: String = e.get(1).unwrap();
        let at: String = e.get(2).unwrap();
        let key = (e.get::<_, i64>(3).unwrap(), e.get::<_, i64>(4).unwrap());
        if kind == "added" {
            let (rating, seen, count): (Option<i64>, i64, i64) =
                (e.get(5).unwrap(), e.get(6).unwrap(), e.get(7).unwrap());
            // The added event carries the counters; each date was set by the action its counter shows.
            let row = (
                rating,
                rating.map(|_| at.clone()),
                seen,
                (seen > 0).then(|| at.clone()),
                count,
                (count > 0).then(|| at.clone()),
            );
            assert!(
                rows.insert(key, row).is_none(),
                "a second meta_added_event for {key:?}"
            );
        } else {
            let row = rows
                .get_mut(&key)
                .expect("a change before the row was added");
            let (attribute, value): (String, String) = (e.get(8).unwrap(), e.get(9).unwrap());
            let text = (value != "None").then(|| value.clone());
            match attribute.as_str() {
                "rating" => row.0 = text.map(|t| t.parse().unwrap()),
                "last_rating_date" => row.1 = text,
                "review_see_count" => row.2 = value.parse().unwrap(),
                "last_review_see_date" => row.3 = text,
                "count" => row.4 = value.parse::<f64>().unwrap().round() as i64,
                "last_count_increment" => row.5 = text,
                other => panic!("unexpected attribute {other}"),
            }
        }
    }
    rows
}

pub fn stored_metas(conn: &Connection) -> BTreeMap<(i64, i64), MetaRow> {
    let mut stmt = conn
        .prepare("SELECT user_id, content_id, rating, last_rating_date, review_see_count, last_review_see_date, count, last_count_increment FROM meta_user_content")
        .unwrap();
    stmt.query_map([], |r| {
        Ok((
            (r.get(0)?, r.get(1)?),
            (
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ),
        ))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// The first column of every row of a query on a database file.
pub fn query_strings(db: &std::path::Path, sql: &str) -> Vec<String> {
    let conn = Connection::open(db).expect("open the database");
    let mut stmt = conn.prepare(sql).expect("prepare");
    stmt.query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}
