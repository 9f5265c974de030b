//! Linked accounts (api-reference.md 2.7, 5.7; decisions F25): Spotify, TMDB and Google Books. Linking
//! by each provider's OAuth flow, the tokens kept sealed ([`vault`]), and imports of what the user
//! listened to, rated, watched or read there into the catalogue, through its event-writing path.
//!
//! Layers: `api::external` calls this module; it calls `db`. Each provider module knows its URLs and
//! answers; [`import`] runs them and writes what they found.

pub mod found;
pub mod gbooks;
pub mod http;
pub mod import;
pub mod spotify;
pub mod tmdb;
pub mod vault;

use crate::config::ProviderSettings;
use std::path::Path;

/// A provider, as the routes and the `external_service.service_name` column name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Spotify,
    Tmdb,
    GBooks,
}

impl Service {
    pub const ALL: [Service; 3] = [Service::Spotify, Service::Tmdb, Service::GBooks];

    /// `service_name` of its rows, also the name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Service::Spotify => "Spotify",
            Service::Tmdb => "TMDB",
            Service::GBooks => "GBooks",
        }
    }

    /// Its URL segment under `/api/external`.
    pub fn segment(self) -> &'static str {
        match self {
            Service::Spotify => "spotify",
            Service::Tmdb => "tmdb",
            Service::GBooks => "gbooks",
        }
    }

    pub fn from_segment(segment: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|s| s.segment() == segment)
    }

    pub fn from_name(name: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The reply key of its authorization URL.
    pub fn url_key(self) -> &'static str {
        match self {
            Service::Spotify => "spotify_url",
            Service::Tmdb => "tmdb_url",
            Service::GBooks => "gbooks_url",
        }
    }

    /// The reference's texts, capitals as they are.
    pub fn already_done(self) -> &'static str {
        match self {
            Service::Spotify => "Spotify Oauth is already done.",
            Service::Tmdb => "tmdb Oauth is already done.",
            Service::GBooks => "gbooks Oauth is already done.",
        }
    }
}

/// Why linking did not happen; the routes turn these into the reference's answers.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("{0} is not configured on this server")]
    NotConfigured(Service),
    #[error("{0}")]
    Provider(String),
}

impl std::fmt::Display for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl From<http::CallError> for LinkError {
    fn from(error: http::CallError) -> Self {
        LinkError::Provider(error.to_string())
    }
}

/// The tokens a link holds, in clear (only in memory).
#[derive(Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens(…)")
    }
}

/// A refresh grant's answer (Spotify's, Google's): the new access token (and a rotated refresh token,
/// if the provider sent one); a 4xx without a token means the user revoked the grant.
pub fn refreshed(answer: &http::Answer, provider: &str) -> Result<Tokens, found::End> {
    match answer.text("access_token") {
        Some(access) => Ok(Tokens {
            access: access.to_owned(),
            refresh: answer.text("refresh_token").map(str::to_owned),
        }),
        None if (400..500).contains(&answer.status) => Err(found::End::Revoked),
        None => Err(found::End::Failed(format!(
            "{provider} token refresh answered {} without a token",
            answer.status
        ))),
    }
}

/// The providers as configured, and one HTTP client for all of them.
#[derive(Clone)]
pub struct Providers {
    pub settings: ProviderSettings,
    pub http: http::Http,
}

impl Providers {
    pub fn new(settings: &ProviderSettings) -> Result<Providers, String> {
        let timeout = std::time::Duration::from_secs(settings.provider_timeout);
        Ok(Providers {
            settings: settings.clone(),
            http: http::Http::new(timeout)?,
        })
    }

    pub fn configured(&self, service: Service) -> bool {
        let set = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.trim().is_empty());
        let s = &self.settings;
        match service {
            Service::Spotify => set(&s.spotify_client_id) && set(&s.spotify_client_secret),
            Service::Tmdb => set(&s.tmdb_client_token),
            Service::GBooks => s
                .google_oauth_file
                .as_deref()
                .is_some_and(|p| !p.as_os_str().is_empty()),
        }
    }

    /// Says at start which providers can be linked, and warns about an unreadable Google file now
    /// rather than at a user's first click.
    pub fn announce(&self) {
        let configured: Vec<&str> = Service::ALL
            .into_iter()
            .filter(|s| self.configured(*s))
            .map(Service::name)
            .collect();
        if configured.is_empty() {
            tracing::info!("linked accounts: no provider is configured");
        } else {
            tracing::info!("linked accounts: {}", configured.join(", "));
        }
        if let Some(path) = self.settings.google_oauth_file.as_deref()
            && self.configured(Service::GBooks)
            && let Err(e) = gbooks::ClientSecrets::read(path)
        {
            tracing::warn!("Google Books: {e}");
        }
    }

    fn google_file(&self) -> Result<&Path, LinkError> {
        self.settings
            .google_oauth_file
            .as_deref()
            .filter(|_| self.configured(Service::GBooks))
            .ok_or(LinkError::NotConfigured(Service::GBooks))
    }
}

/// `<front>/recofinement/app/user/profile`: where every provider sends the user back (2.7).
pub fn redirect_url(front_url: &str) -> String {
    format!(
        "{}/recofinement/app/user/profile",
        front_url.trim_end_matches('/')
    )
}

/// `application/x-www-form-urlencoded` text of a value (spaces as `+`, as Python's `urlencode`).
pub fn form_encode(value: &str) -> String {
    url_escape(value, true)
}

/// Percent-encoding of a query value (spaces as `%20`).
pub fn query_encode(value: &str) -> String {
    url_escape(value, false)
}

fn url_escape(value: &str, plus_for_space: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            b' ' if plus_for_space => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}
