//! Calls to the providers: rustls (ring) with the Mozilla roots, a timeout on every call, retries with
//! backoff on 429 and 5xx (honouring `Retry-After`) and on unreachable hosts. The log names calls by
//! method, host and path only: query strings carry API keys and session ids.

use reqwest::{Client, RequestBuilder, Response, StatusCode};
use serde_json::Value;
use std::time::Duration;

/// Attempts per call, the first included.
const ATTEMPTS: u32 = 3;
/// Backoff before the second attempt; doubled for each further one.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// A `Retry-After` longer than this ends the call rather than hold an import (or a request) that long.
const LONGEST_WAIT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct Http {
    client: Client,
}

/// A provider's answer: its status and its JSON body (`null` when empty).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
    /// A string member of the body.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.body
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("{what}: unreachable ({detail})")]
    Unreachable { what: String, detail: String },
    #[error("{what}: still answering {status} after {ATTEMPTS} attempts")]
    Overloaded { what: String, status: u16 },
    #[error("{what}: answered {status} with a body that is not JSON")]
    Malformed { what: String, status: u16 },
}

impl Http {
    pub fn new(timeout: Duration) -> Result<Http, String> {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let client = Client::builder()
            .use_preconfigured_tls(tls)
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::limited(5))
            .user_agent(concat!("recofinement/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Http { client })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Sends the request `build` makes (again for each attempt) and reads its JSON answer. Statuses
    /// other than 429 and 5xx come back as answers: what a 400 or 401 means is the caller's to say.
    pub async fn call(
        &self,
        build: impl Fn(&Client) -> RequestBuilder,
    ) -> Result<Answer, CallError> {
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            let request = build(&self.client)
                .build()
                .map_err(|e| CallError::Unreachable {
                    what: "request".into(),
                    detail: e.to_string(),
                })?;
            let what = describe(&request);
            let last = attempt == ATTEMPTS;
            match self.client.execute(request).await {
                Err(e) => {
                    let detail = if e.is_timeout() {
                        "timed out".to_owned()
                    } else {
                        without_url(&e)
                    };
                    if last {
                        return Err(CallError::Unreachable { what, detail });
                    }
                    tracing::info!("{what}: {detail}; trying again in {backoff:?}");
                }
                Ok(response) if retried(response.status()) => {
                    let status = response.status().as_u16();
                    let wait = retry_after(&response).unwrap_or(backoff);
                    if last || wait > LONGEST_WAIT {
                        return Err(CallError::Overloaded { what, status });
                    }
                    tracing::info!("{what}: answered {status}; trying again in {wait:?}");
                    backoff = wait;
                }
                Ok(response) => return read(what, response).await,
            }
            rocket::tokio::time::sleep(backoff).await;
            backoff *= 2;
            attempt += 1;
        }
    }
}

fn retried(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// `Retry-After` in seconds (the HTTP-date form is rare at these APIs and read as absent).
fn retry_after(response: &Response) -> Option<Duration> {
    let seconds: f64 = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

async fn read(what: String, response: Response) -> Result<Answer, CallError> {
    let status = response.status().as_u16();
    let bytes = response.bytes().await.map_err(|e| CallError::Unreachable {
        what: what.clone(),
        detail: if e.is_timeout() {
            "timed out".into()
        } else {
            without_url(&e)
        },
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Answer {
            status,
            body: Value::Null,
        });
    }
    match serde_json::from_slice(&bytes) {
        Ok(body) => Ok(Answer { status, body }),
        Err(_) => Err(CallError::Malformed { what, status }),
    }
}

/// `POST api.spotify.com/v1/...`: no query, no credentials.
fn describe(request: &reqwest::Request) -> String {
    let url = request.url();
    format!(
        "{} {}{}",
        request.method(),
        url.host_str().unwrap_or("?"),
        url.path()
    )
}

/// reqwest's error text without the URL it carries (which may hold keys in its query).
fn without_url(error: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(error);
    let mut innermost = None;
    while let Some(e) = source {
        innermost = Some(e.to_string());
        source = e.source();
    }
    innermost.unwrap_or_else(|| {
        if error.is_connect() {
            "connection failed".into()
        } else {
            "request failed".into()
        }
    })
}

/// Joins a base URL (no trailing slash needed) and a path.
pub fn join(base: &str, path: &str) -> String {
    format!("{}{path}", base.trim_end_matches('/'))
}

/// A `next` link from a provider, moved onto the configured base URL: paging follows the provider's
/// own links, but never leaves the host the operator set (a mirror, a proxy, a test's fake).
pub fn rebase(link: &str, base: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(link).ok()?;
    let mut rest = parsed.path().to_owned();
    if let Some(query) = parsed.query() {
        rest.push('?');
        rest.push_str(query);
    }
    Some(join(base, &rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_links_stay_on_the_configured_host() {
        assert_eq!(
            rebase(
                "https://api.spotify.com/v1/playlists/x/tracks?offset=50&limit=50",
                "http://127.0.0.1:9/"
            )
            .as_deref(),
            Some("http://127.0.0.1:9/v1/playlists/x/tracks?offset=50&limit=50")
        );
        assert_eq!(rebase("not a url", "http://h"), None);
    }
}
