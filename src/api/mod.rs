//! The HTTP API: one module per namespace of the reference, plus docs and health. `build` assembles the
//! Rocket application that both `serve` and the tests run.

pub mod auth;
pub mod body;
pub mod catchers;
pub mod cors;
pub mod docs;
pub mod external;
pub mod group;
pub mod headers;
pub mod health;
pub mod media;
pub mod openapi;
pub mod pages;
pub mod params;
pub mod profile;
pub mod proposal;
pub mod reply;
pub mod schemas;
pub mod shapes;
pub mod ui;
pub mod user;

use crate::auth::jwt::AccessToken;
use crate::auth::{Auth, secret};
use crate::config::{self, Settings};
use crate::db::{Db, StoreError, users};
use crate::error::{ApiError, ApiResult};
use crate::mail::{self, MailSignal, Transport};
use rocket::fairing::AdHoc;
use rocket::{Build, Rocket};
use std::sync::Arc;

/// What every handler can reach.
pub struct AppState {
    pub db: Db,
    pub auth: Arc<Auth>,
    pub front_url: FrontUrl,
    pub mail_signal: MailSignal,
    pub engine_signal: crate::engine::EngineSignal,
    pub pages: Arc<pages::PageCache>,
    pub throttle: crate::auth::throttle::Throttle,
    pub imports: crate::external::import::Imports,
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
    #[error(transparent)]
    Ui(#[from] ui::UiDirError),
    #[error("linked accounts: {0}")]
    Providers(String),
}

/// Opens the database (migrating it), loads the JWT secret and builds the application.
pub fn build(settings: &Settings) -> Result<Rocket<Build>, StartError> {
    let max_bytes = settings.max_database_mb.map(|mb| mb * 1024 * 1024);
    let db = Db::open_limited(&settings.database, max_bytes)?;
    let secret = secret::load_or_create(&settings.secret_file())?;
    let transport = Transport::from_settings(
        settings.smtp_url.as_deref(),
        &settings.mail_from,
        &settings.mail_dir(),
    )
    .map_err(StartError::Mail)?;
    let ui = settings
        .ui_dir
        .as_deref()
        .map(ui::UiDir::open)
        .transpose()?;
    let front_url = match (&settings.front_url, &ui) {
        (Some(url), _) => FrontUrl::fixed(url),
        // The server's own pages, once its address is known (at liftoff).
        (None, Some(_)) => FrontUrl::default(),
        (None, None) => FrontUrl::fixed(config::DEFAULT_FRONT_URL),
    };
    let providers =
        crate::external::Providers::new(&settings.providers).map_err(StartError::Providers)?;
    providers.announce();
    let engine_signal = crate::engine::EngineSignal::default();
    let imports = crate::external::import::Imports::new(
        db.clone(),
        crate::external::vault::Vault::new(&secret),
        providers,
        engine_signal.clone(),
    );
    let state = AppState {
        auth: Arc::new(Auth::new(&secret, settings.bcrypt_cost, db.clone())),
        db,
        front_url,
        mail_signal: MailSignal::default(),
        engine_signal,
        pages: Arc::default(),
        throttle: crate::auth::throttle::Throttle::new(settings.throttle.limits()),
        imports,
    };
    let heartbeat = crate::realtime::Heartbeat {
        interval: std::time::Duration::from_secs(settings.socketio_ping_interval),
        timeout: std::time::Duration::from_secs(settings.socketio_ping_timeout),
    };
    assemble(state, transport, settings.engine_interval, heartbeat, ui)
}

fn assemble(
    state: AppState,
    transport: Transport,
    engine_interval: u64,
    heartbeat: crate::realtime::Heartbeat,
    ui: Option<ui::UiDir>,
) -> Result<Rocket<Build>, StartError> {
    let realtime = crate::realtime::start(state.db.clone(), state.auth.clone(), heartbeat);
    let (db, signal) = (state.db.clone(), state.mail_signal.clone());
    let engine_signal = state.engine_signal.clone();
    let front_url = state.front_url.clone();
    let mut app = rocket::custom(config::rocket_figment())
        .manage(state)
        .manage(realtime)
        .mount("/", crate::realtime::routes())
        .mount("/api/auth", auth::routes())
        .mount("/api/user", user::routes())
        .mount("/api", health::routes())
        .mount("/api", media::routes())
        .mount("/api", proposal::routes())
        .mount("/api", external::routes())
        .mount("/api/group", group::routes())
        .mount("/api/profile", profile::routes())
        .mount("/", docs::routes());
    if let Some(ui) = ui {
        app = app.manage(ui).mount("/", ui::routes());
    }
    Ok(app
        .register("/", catchers::catchers())
        .attach(catchers::ExactPaths)
        .attach(cors::NoteRequest)
        .attach(cors::cors().map_err(|e| StartError::Cors(e.to_string()))?)
        .attach(cors::ReferenceCors)
        .attach(headers::SecurityHeaders)
        .attach(AdHoc::on_liftoff("background workers", move |rocket| {
            Box::pin(async move {
                let config = rocket.config();
                let scheme = if config.tls_enabled() { "https" } else { "http" };
                let endpoint = format!("{scheme}://{}", host_port(config.address, config.port));
                tracing::info!("recofinement listening on {endpoint}");
                if front_url.settle(&endpoint) && config.address.is_unspecified() {
                    tracing::warn!(
                        "links in mails point at {}; set --front-url (URL_FRONT) to the address users reach",
                        front_url.get()
                    );
                }
                rocket::tokio::spawn(crate::db::run_checkpointer(
                    db.clone(),
                    std::time::Duration::from_secs(1),
                ));
                rocket::tokio::spawn(mail::run_worker(db.clone(), transport, signal));
                if engine_interval > 0 {
                    let interval = std::time::Duration::from_secs(engine_interval);
                    rocket::tokio::spawn(crate::engine::run_workers(db, interval, engine_signal));
                }
            })
        })))
}

/// `host:port` for a URL; an address listening on every interface is reached as `localhost`.
fn host_port(address: std::net::IpAddr, port: u16) -> String {
    match address {
        a if a.is_unspecified() => format!("localhost:{port}"),
        std::net::IpAddr::V6(v6) => format!("[{v6}]:{port}"),
        v4 => format!("{v4}:{port}"),
    }
}

/// The base URL of the links that mails carry: set at start, or — when the server hosts the front end
/// and no URL was given — the server's own address, known once it listens.
#[derive(Clone, Default)]
pub struct FrontUrl(Arc<std::sync::OnceLock<String>>);

impl FrontUrl {
    pub fn fixed(url: &str) -> FrontUrl {
        let front = FrontUrl::default();
        front.settle(url);
        front
    }

    /// Sets the URL unless it is set already; returns whether it did.
    fn settle(&self, url: &str) -> bool {
        self.0.set(url.trim_end_matches('/').to_owned()).is_ok()
    }

    pub fn get(&self) -> &str {
        self.0
            .get()
            .map(String::as_str)
            .unwrap_or(config::DEFAULT_FRONT_URL)
    }
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
