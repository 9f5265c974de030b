//! The HTTP API: one module per namespace of the reference, plus docs and health. `build` assembles the
//! Rocket application that both `serve` and the tests run.

pub mod auth;
pub mod body;
pub mod catchers;
pub mod cors;
pub mod docs;
pub mod group;
pub mod health;
pub mod media;
pub mod params;
pub mod profile;
pub mod proposal;
pub mod reply;
pub mod shapes;
pub mod user;

use crate::auth::jwt::AccessToken;
use crate::auth::{Auth, secret};
use crate::config::{self, Settings};
use crate::db::{Db, StoreError, users};
use crate::error::{ApiError, ApiResult};
use crate::mail::{self, MailSignal, Transport};
use rocket::fairing::AdHoc;
use rocket::{Build, Rocket};

/// What every handler can reach.
pub struct AppState {
    pub db: Db,
    pub auth: Auth,
    pub front_url: String,
    pub mail_signal: MailSignal,
    pub engine_signal: crate::engine::EngineSignal,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Secret(#[from] secret::SecretError),
    #[error("mail settings: {0}")]
    Mail(String),
    #[error("CORS settings: {0}")]
    Cors(String),
}

/// Opens the database (migrating it), loads the JWT secret and builds the application.
pub fn build(settings: &Settings) -> Result<Rocket<Build>, StartError> {
    let engine_interval = settings.engine_interval;
    let db = Db::open(&settings.database)?;
    let secret = secret::load_or_create(&settings.secret_file())?;
    let transport = Transport::from_settings(settings.smtp_url.as_deref(), &settings.mail_from)
        .map_err(StartError::Mail)?;
    let state = AppState {
        auth: Auth::new(&secret, settings.bcrypt_cost, db.clone()),
        db,
        front_url: settings.front_url.trim_end_matches('/').to_owned(),
        mail_signal: MailSignal::default(),
        engine_signal: crate::engine::EngineSignal::default(),
    };
    assemble(state, transport, engine_interval)
}

fn assemble(
    state: AppState,
    transport: Transport,
    engine_interval: u64,
) -> Result<Rocket<Build>, StartError> {
    let (db, signal) = (state.db.clone(), state.mail_signal.clone());
    let engine_signal = state.engine_signal.clone();
    let database = state.db.path().to_owned();
    Ok(rocket::custom(config::rocket_figment())
        .manage(state)
        .mount("/api/auth", auth::routes())
        .mount("/api/user", user::routes())
        .mount("/api", health::routes())
        .mount("/api", media::routes())
        .mount("/api", proposal::routes())
        .mount("/api/group", group::routes())
        .mount("/api/profile", profile::routes())
        .mount("/", docs::routes())
        .register("/", catchers::catchers())
        .attach(catchers::ExactPaths)
        .attach(cors::NoteRequest)
        .attach(cors::cors().map_err(|e| StartError::Cors(e.to_string()))?)
        .attach(cors::ReferenceCors)
        .attach(AdHoc::on_liftoff("mail outbox worker", move |rocket| {
            Box::pin(async move {
                let endpoint = format!(
                    "http{}://{}:{}",
                    if rocket.config().tls_enabled() {
                        "s"
                    } else {
                        ""
                    },
                    rocket.config().address,
                    rocket.config().port
                );
                tracing::info!("recofinement listening on {endpoint}");
                rocket::tokio::spawn(crate::db::run_checkpointer(
                    database.clone(),
                    std::time::Duration::from_secs(1),
                ));
                rocket::tokio::spawn(mail::run_worker(db, transport, signal));
                if engine_interval > 0 {
                    let interval = std::time::Duration::from_secs(engine_interval);
                    rocket::tokio::spawn(crate::engine::run_workers(
                        database,
                        interval,
                        engine_signal,
                    ));
                }
            })
        })))
}

/// The user behind a token, or 404 "User not found!" (a valid token of a deleted user gets this).
pub async fn caller(state: &AppState, token: &AccessToken) -> ApiResult<users::User> {
    let token = token.clone();
    state.db.run(move |conn| caller_in(conn, &token)).await
}

/// [`caller`] inside database work that is already running.
pub fn caller_in(conn: &rusqlite::Connection, token: &AccessToken) -> ApiResult<users::User> {
    users::find_by_uuid(conn, &token.identity)?
        .ok_or_else(|| ApiError::not_found("User not found!"))
}
