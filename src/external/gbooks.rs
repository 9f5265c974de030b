//! Google Books (api-reference.md 2.7, 5.7): Google's OAuth 2 web flow from a client-secrets file,
//! offline access. Imports the user's bookshelves (but "To read", "Books for you", "Browsing
//! history", "Recently viewed" and empty ones; "Reviewed" first): volumes with an ISBN-13 become
//! books; the user's rating (ONE..FIVE → 1..5) and purchase.

use super::found::{End, Item, Key, Wanted};
use super::http::{Answer, join};
use super::{LinkError, Providers, Tokens, form_encode};
use crate::media::Medium;
use serde_json::Value;
use std::path::Path;

const SCOPE: &str = "https://www.googleapis.com/auth/books";
const EXCLUDED_SHELVES: [&str; 4] = [
    "To read",
    "Books for you",
    "Browsing history",
    "Recently viewed",
];
/// Shelves a read book sits on: counted as consumed.
const READ_SHELVES: [&str; 1] = ["Have read"];
const PAGE_SIZE: u64 = 40;
/// Pages read per shelf at most.
pub const MAX_PAGES: u64 = 25;

/// The fields of a Google client-secrets file that the flow needs.
#[derive(Debug, Clone)]
pub struct ClientSecrets {
    pub client_id: String,
    pub client_secret: String,
    pub auth_uri: String,
    pub token_uri: String,
}

impl ClientSecrets {
    /// Reads the file Google's console gives (`{"web": {...}}` or `{"installed": {...}}`), or the
    /// four fields at its top.
    pub fn read(path: &Path) -> Result<ClientSecrets, String> {
        let name = path.display();
        let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
        let json: Value =
            serde_json::from_str(&text).map_err(|e| format!("{name}: not JSON ({e})"))?;
        let fields = json
            .get("web")
            .or_else(|| json.get("installed"))
            .unwrap_or(&json);
        let field = |key: &str| {
            fields
                .get(key)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| format!("{name}: no \"{key}\""))
        };
        Ok(ClientSecrets {
            client_id: field("client_id")?,
            client_secret: field("client_secret")?,
            auth_uri: field("auth_uri")?,
            token_uri: field("token_uri")?,
        })
    }
}

fn secrets(providers: &Providers) -> Result<ClientSecrets, LinkError> {
    ClientSecrets::read(providers.google_file()?).map_err(LinkError::Provider)
}

pub fn authorize_url(
    providers: &Providers,
    redirect: &str,
    state: &str,
) -> Result<String, LinkError> {
    let secrets = secrets(providers)?;
    let separator = if secrets.auth_uri.contains('?') {
        '&'
    } else {
        '?'
    };
    Ok(format!(
        "{}{separator}response_type=code&client_id={}&redirect_uri={}&scope={}&state={}&access_type=offline&include_granted_scopes=true",
        secrets.auth_uri,
        form_encode(&secrets.client_id),
        form_encode(redirect),
        form_encode(SCOPE),
        form_encode(state),
    ))
}

async fn token_call(
    providers: &Providers,
    secrets: &ClientSecrets,
    form: &[(&str, &str)],
) -> Result<Answer, LinkError> {
    let mut body = form.to_vec();
    body.push(("client_id", &secrets.client_id));
    body.push(("client_secret", &secrets.client_secret));
    Ok(providers
        .http
        .call(|c| c.post(&secrets.token_uri).form(&body))
        .await?)
}

pub async fn exchange(
    providers: &Providers,
    code: &str,
    redirect: &str,
) -> Result<Tokens, LinkError> {
    let secrets = secrets(providers)?;
    let answer = token_call(
        providers,
        &secrets,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect),
        ],
    )
    .await?;
    match answer.text("access_token") {
        Some(access) => Ok(Tokens {
            access: access.to_owned(),
            refresh: answer.text("refresh_token").map(str::to_owned),
        }),
        None => Err(LinkError::Provider(format!(
            "Google token exchange answered {} without a token",
            answer.status
        ))),
    }
}

/// Refreshed credentials; Google refusing the refresh token (4xx) means the grant was revoked.
pub async fn refresh(providers: &Providers, tokens: &Tokens) -> Result<Tokens, End> {
    let Some(refresh) = tokens.refresh.as_deref() else {
        // Without offline access there is nothing to refresh: try the access token as it is.
        return Ok(tokens.clone());
    };
    let secrets = secrets(providers)?;
    let answer = token_call(
        providers,
        &secrets,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await?;
    super::refreshed(&answer, "Google")
}

pub async fn fetch(providers: &Providers, tokens: &Tokens) -> Result<Vec<Item>, End> {
    let api = providers.settings.google_books_api_url.as_str();
    let bearer = format!("Bearer {}", tokens.access);
    let get = |url: String, query: Vec<(&'static str, String)>| {
        let bearer = bearer.clone();
        async move {
            let answer = providers
                .http
                .call(|c| {
                    c.get(&url)
                        .header(reqwest::header::AUTHORIZATION, &bearer)
                        .query(&query)
                })
                .await?;
            if answer.status == 401 {
                return Err(End::Revoked);
            }
            if !answer.is_success() || !answer.body.is_object() {
                return Err(End::Failed(format!(
                    "Google Books answered {}",
                    answer.status
                )));
            }
            Ok::<Value, End>(answer.body)
        }
    };
    let shelves = get(join(api, "/books/v1/mylibrary/bookshelves"), Vec::new()).await?;
    let mut wanted_shelves: Vec<(String, String)> = shelves
        .get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|s| s.get("volumeCount").and_then(Value::as_i64).unwrap_or(0) > 0)
        .filter_map(|s| {
            let title = s.get("title")?.as_str()?.to_owned();
            let id = match s.get("id")? {
                Value::Number(n) => n.to_string(),
                Value::String(s) => s.clone(),
                _ => return None,
            };
            (!EXCLUDED_SHELVES.contains(&title.as_str())).then_some((id, title))
        })
        .collect();
    wanted_shelves.sort_by_key(|(_, title)| title != "Reviewed");

    let mut items = Vec::new();
    for (id, title) in wanted_shelves {
        let url = join(
            api,
            &format!(
                "/books/v1/mylibrary/bookshelves/{}/volumes",
                form_encode(&id)
            ),
        );
        let mut start = 0;
        for _ in 0..MAX_PAGES {
            let query = vec![
                ("startIndex", start.to_string()),
                ("maxResults", PAGE_SIZE.to_string()),
            ];
            let page = get(url.clone(), query).await?;
            let volumes = page
                .get("items")
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice);
            items.extend(
                volumes
                    .iter()
                    .filter_map(|v| book(v, READ_SHELVES.contains(&title.as_str()))),
            );
            start += PAGE_SIZE;
            let total = page.get("totalItems").and_then(Value::as_u64).unwrap_or(0);
            if volumes.is_empty() || start >= total {
                break;
            }
        }
    }
    Ok(items)
}

fn book(volume: &Value, read: bool) -> Option<Item> {
    let info = volume.get("volumeInfo")?;
    let isbn = info
        .get("industryIdentifiers")?
        .as_array()?
        .iter()
        .find(|i| i.get("type").and_then(Value::as_str) == Some("ISBN_13"))?
        .get("identifier")?
        .as_str()?
        .to_owned();
    let text = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map_or(Value::Null, |s| Value::from(s.to_owned()))
    };
    let authors: Vec<&str> = info
        .get("authors")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let year = info
        .get("publishedDate")
        .and_then(Value::as_str)
        .and_then(|d| d.get(..4))
        .and_then(|y| y.parse::<i64>().ok());
    let images = info.get("imageLinks");
    let image = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| images.and_then(|i| i.get(*k)).filter(|v| v.is_string()))
            .map_or(Value::Null, |v| v.clone())
    };
    let user = volume.get("userInfo");
    let rating = user
        .and_then(|u| u.get("review"))
        .and_then(|r| r.get("rating"))
        .and_then(stars);
    let purchased = user
        .and_then(|u| u.get("isPurchased"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Some(Item {
        medium: Medium::by_name("book")?,
        keys: vec![Key::of(&[("isbn", isbn.clone().into())])],
        columns: vec![
            ("isbn", isbn.into()),
            ("title", text(info.get("title"))),
            (
                "author",
                if authors.is_empty() {
                    Value::Null
                } else {
                    authors.join(", ").into()
                },
            ),
            ("year_of_publication", year.map_or(Value::Null, Value::from)),
            ("publisher", text(info.get("publisher"))),
            ("image_url_s", image(&["smallThumbnail", "thumbnail"])),
            (
                "image_url_m",
                image(&["thumbnail", "small", "smallThumbnail"]),
            ),
            (
                "image_url_l",
                image(&["large", "medium", "small", "thumbnail"]),
            ),
        ],
        genres: Vec::new(),
        wanted: Wanted {
            rating,
            viewed: true,
            consumed: purchased || read,
            plays: Vec::new(),
        },
    })
}

/// A review's rating: `"ONE"`..`"FIVE"` (or a number), `NOT_RATED` none.
fn stars(value: &Value) -> Option<i64> {
    let n = match value {
        Value::String(s) => match s.as_str() {
            "ONE" => 1,
            "TWO" => 2,
            "THREE" => 3,
            "FOUR" => 4,
            "FIVE" => 5,
            other => other.parse().ok()?,
        },
        Value::Number(n) => n.as_i64()?,
        _ => return None,
    };
    (1..=5).contains(&n).then_some(n)
}
