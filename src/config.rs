//! Settings shared by every command. Each one is a command-line flag with an environment variable
//! behind it; server settings (address, port, workers, limits) are Rocket's own, read from `Rocket.toml`
//! and `ROCKET_*` variables on top of our defaults.

use clap::Args;
use rocket::figment::Figment;
use rocket::figment::providers::{Env, Format, Serialized, Toml};
use std::path::PathBuf;

/// The reference's port (its web front end talks to 4040).
pub const DEFAULT_PORT: u16 = 4040;
pub const DEFAULT_BCRYPT_COST: u32 = 12;

#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// SQLite database file; created (and migrated) on first use.
    #[arg(
        long,
        global = true,
        env = "RECOFINEMENT_DATABASE",
        default_value = "recofinement.db"
    )]
    pub database: PathBuf,

    /// bcrypt cost for new password hashes (4..=31). 12 costs about 0.3 s per hash on one core.
    #[arg(long, global = true, env = "RECOFINEMENT_BCRYPT_COST", default_value_t = DEFAULT_BCRYPT_COST,
          value_parser = clap::value_parser!(u32).range(4..=31))]
    pub bcrypt_cost: u32,

    /// SMTP server for outgoing mail, e.g. `smtps://user:pass@mail.example.com` or
    /// `smtp://localhost:25`. Without it, mails are written as files into --mail-dir.
    #[arg(
        long,
        global = true,
        env = "RECOFINEMENT_SMTP_URL",
        hide_env_values = true
    )]
    pub smtp_url: Option<String>,

    /// Largest size the server lets the database grow to, in megabytes (SQLite's max_page_count):
    /// past it, writes answer 503 "Storage unavailable" as on a full disk and reads go on. Unset: no
    /// limit but the disk's.
    #[arg(long, global = true, env = "RECOFINEMENT_MAX_DATABASE_MB",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_database_mb: Option<u64>,

    /// Folder where mails are written as files (`.eml`, readable by the server's user only) when no
    /// SMTP server is set. Default: `<database>.mail` beside the database.
    #[arg(long, global = true, env = "RECOFINEMENT_MAIL_DIR")]
    pub mail_dir: Option<PathBuf>,

    /// Sender of outgoing mail.
    #[arg(
        long,
        global = true,
        env = "RECOFINEMENT_MAIL_FROM",
        default_value = "RecoFinement <no-reply@localhost>"
    )]
    pub mail_from: String,

    /// Seconds between the server's checks for new events to feed the recommendation engine
    /// (0 turns the background engine off; `recofinement recommend` still runs it).
    #[arg(
        long,
        global = true,
        env = "RECOFINEMENT_ENGINE_INTERVAL",
        default_value_t = 5
    )]
    pub engine_interval: u64,

    /// Leave WAL checkpoints to an external replicator (Litestream): the server and the engine never
    /// checkpoint the log themselves, unless it grows past 1 GB (then passively, with a warning).
    #[arg(long, global = true, env = "RECOFINEMENT_WAL_EXTERNAL", action = clap::ArgAction::SetTrue,
          value_parser = clap::builder::FalseyValueParser::new())]
    pub wal_external: bool,

    /// Base URL of the web front end, used in the links that mails carry (the reference's URL_FRONT).
    /// Default: the server's own address when --ui-dir is set, else http://localhost:4200.
    #[arg(long, global = true, env = "URL_FRONT")]
    pub front_url: Option<String>,

    /// A built single-page web front end (e.g. the reference's Angular app) to serve at `/`, on the
    /// same origin as `/api` and `/socket.io`. Other page URLs answer its index.html.
    #[arg(long, global = true, env = "RECOFINEMENT_UI_DIR")]
    pub ui_dir: Option<PathBuf>,

    /// Seconds between the Socket.IO server's pings (Engine.IO's pingInterval; a client that answers
    /// none within --socketio-ping-timeout more is disconnected).
    #[arg(long, global = true, env = "RECOFINEMENT_SOCKETIO_PING_INTERVAL", default_value_t = 25,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub socketio_ping_interval: u64,

    /// Seconds a Socket.IO client has to answer a ping (Engine.IO's pingTimeout).
    #[arg(long, global = true, env = "RECOFINEMENT_SOCKETIO_PING_TIMEOUT", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub socketio_ping_timeout: u64,

    #[command(flatten)]
    pub throttle: ThrottleSettings,

    #[command(flatten)]
    pub providers: ProviderSettings,
}

/// Linked accounts (api-reference.md 2.7, 5.7): the reference's variable names for the credentials,
/// and base URLs so that proxies, mirrors and tests can stand in for the providers. A provider whose
/// credentials are unset (or empty) is "not configured" (decisions F25).
#[derive(Debug, Clone, Args)]
pub struct ProviderSettings {
    /// Client id of the app registered at Spotify.
    #[arg(long, global = true, env = "SPOTIFY_CLIENT_ID")]
    pub spotify_client_id: Option<String>,

    /// Client secret of the app registered at Spotify.
    #[arg(
        long,
        global = true,
        env = "SPOTIFY_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub spotify_client_secret: Option<String>,

    /// Spotify's accounts service (authorization page and token endpoint).
    #[arg(
        long,
        global = true,
        env = "SPOTIFY_ACCOUNTS_URL",
        default_value = "https://accounts.spotify.com"
    )]
    pub spotify_accounts_url: String,

    /// Spotify's Web API.
    #[arg(
        long,
        global = true,
        env = "SPOTIFY_API_URL",
        default_value = "https://api.spotify.com"
    )]
    pub spotify_api_url: String,

    /// API key (v3) of the app registered at TMDB.
    #[arg(long, global = true, env = "TMDB_CLIENT_TOKEN", hide_env_values = true)]
    pub tmdb_client_token: Option<String>,

    /// TMDB's API.
    #[arg(
        long,
        global = true,
        env = "TMDB_API_URL",
        default_value = "https://api.themoviedb.org"
    )]
    pub tmdb_api_url: String,

    /// TMDB's site, where users approve a request token.
    #[arg(
        long,
        global = true,
        env = "TMDB_AUTH_URL",
        default_value = "https://www.themoviedb.org"
    )]
    pub tmdb_auth_url: String,

    /// Google client-secrets JSON of the app registered at Google (`client_id`, `client_secret`,
    /// `auth_uri`, `token_uri`, at the top or under `web`/`installed`); read at each use.
    #[arg(long, global = true, env = "PATH_TO_GOOGLE_OAUTH_FILE")]
    pub google_oauth_file: Option<PathBuf>,

    /// Google Books' API.
    #[arg(
        long,
        global = true,
        env = "GOOGLE_BOOKS_API_URL",
        default_value = "https://www.googleapis.com"
    )]
    pub google_books_api_url: String,

    /// Seconds a call to a provider may take (connecting included) before it counts as failed.
    #[arg(long, global = true, env = "RECOFINEMENT_PROVIDER_TIMEOUT", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub provider_timeout: u64,
}

impl Default for ProviderSettings {
    fn default() -> Self {
        ProviderSettings {
            spotify_client_id: None,
            spotify_client_secret: None,
            spotify_accounts_url: "https://accounts.spotify.com".into(),
            spotify_api_url: "https://api.spotify.com".into(),
            tmdb_client_token: None,
            tmdb_api_url: "https://api.themoviedb.org".into(),
            tmdb_auth_url: "https://www.themoviedb.org".into(),
            google_oauth_file: None,
            google_books_api_url: "https://www.googleapis.com".into(),
            provider_timeout: 10,
        }
    }
}

/// Limits on repeated failures (decisions F22): arguments of `serve`, as every setting.
#[derive(Debug, Clone, Args)]
pub struct ThrottleSettings {
    /// Failed logins allowed for one account within --throttle-window; past them, logins to it are
    /// refused (429), the right password too, until the window allows one again. 0: no limit.
    #[arg(
        long,
        global = true,
        env = "RECOFINEMENT_LOGIN_FAILURES_PER_ACCOUNT",
        default_value_t = 5
    )]
    pub login_failures_per_account: u32,

    /// Failed logins allowed from one client address within --throttle-window (0: no limit).
    #[arg(
        long,
        global = true,
        env = "RECOFINEMENT_LOGIN_FAILURES_PER_ADDRESS",
        default_value_t = 50
    )]
    pub login_failures_per_address: u32,

    /// Password-reset requests from one client address that send a mail within --throttle-window
    /// (past them, the answer is the same and nothing is sent; 0: no limit).
    #[arg(
        long,
        global = true,
        env = "RECOFINEMENT_RESET_REQUESTS_PER_ADDRESS",
        default_value_t = 5
    )]
    pub reset_requests_per_address: u32,

    /// The window of those limits, in seconds.
    #[arg(long, global = true, env = "RECOFINEMENT_THROTTLE_WINDOW", default_value_t = 900,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub throttle_window: u64,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        ThrottleSettings {
            login_failures_per_account: 5,
            login_failures_per_address: 50,
            reset_requests_per_address: 5,
            throttle_window: 900,
        }
    }
}

impl ThrottleSettings {
    pub fn limits(&self) -> crate::auth::throttle::Limits {
        crate::auth::throttle::Limits {
            login_failures_per_account: self.login_failures_per_account,
            login_failures_per_address: self.login_failures_per_address,
            resets_per_address: self.reset_requests_per_address,
            window: std::time::Duration::from_secs(self.throttle_window),
        }
    }
}

/// Where mails link to when no front-end URL is set and the server hosts no pages itself.
pub const DEFAULT_FRONT_URL: &str = "http://localhost:4200";

impl Settings {
    /// Settings for tests and embedding: the given database, everything else default.
    pub fn for_database(database: impl Into<PathBuf>) -> Self {
        Settings {
            database: database.into(),
            bcrypt_cost: DEFAULT_BCRYPT_COST,
            engine_interval: 5,
            wal_external: false,
            smtp_url: None,
            mail_dir: None,
            max_database_mb: None,
            mail_from: "RecoFinement <no-reply@localhost>".into(),
            front_url: None,
            ui_dir: None,
            socketio_ping_interval: 25,
            socketio_ping_timeout: 20,
            throttle: ThrottleSettings::default(),
            providers: ProviderSettings::default(),
        }
    }

    /// Where mails go without SMTP (decisions F26).
    pub fn mail_dir(&self) -> PathBuf {
        self.mail_dir.clone().unwrap_or_else(|| {
            let mut name = self.database.clone().into_os_string();
            name.push(".mail");
            PathBuf::from(name)
        })
    }

    /// Where the generated JWT secret is kept when `SECRET_KEY` is not set (decisions F15).
    pub fn secret_file(&self) -> PathBuf {
        let mut name = self.database.clone().into_os_string();
        name.push(".secret");
        PathBuf::from(name)
    }
}

/// Rocket's configuration: our defaults (127.0.0.1:4040), then `Rocket.toml` (or the file named by
/// `ROCKET_CONFIG`), then `ROCKET_*` environment variables.
pub fn rocket_figment() -> Figment {
    Figment::from(rocket::Config::default())
        .merge(Serialized::defaults(RocketDefaults::default()))
        .merge(Toml::file(Env::var_or("ROCKET_CONFIG", "Rocket.toml")).nested())
        .merge(Env::prefixed("ROCKET_").ignore(&["PROFILE"]).global())
}

#[derive(serde::Serialize)]
struct RocketDefaults {
    address: std::net::IpAddr,
    port: u16,
    cli_colors: bool,
    /// The client's address is the socket's: Rocket would believe any client's `X-Real-IP`, and
    /// the limits on failed logins go by address. Behind a trusted proxy, `ROCKET_IP_HEADER` names
    /// the header it sets.
    ip_header: bool,
}

impl Default for RocketDefaults {
    fn default() -> Self {
        RocketDefaults {
            address: [127, 0, 0, 1].into(),
            port: DEFAULT_PORT,
            cli_colors: false,
            ip_header: false,
        }
    }
}
