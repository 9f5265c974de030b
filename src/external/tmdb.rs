//! TMDB (api-reference.md 2.7, 5.7): a request token the user approves on TMDB's site, traded for a
//! session id. Imports the account's rated, favourite and watch-listed movies and TV shows: movies
//! matched by IMDb id (then TMDB id), series by title and start year; ratings from 0.5–10 to 0–5.

use super::found::{End, Item, Key, Wanted};
use super::http::{Answer, join};
use super::{LinkError, Providers, Service, Tokens};
use crate::media::Medium;
use serde_json::Value;
use std::collections::HashMap;

/// Pages read per list at most.
pub const MAX_PAGES: u64 = 20;
/// Movie details (for their IMDb id) fetched per import at most; the rest are matched by TMDB id.
const MAX_DETAILS: usize = 500;
/// TMDB's poster base (api-reference.md 7).
const IMAGE_BASE: &str = "https://image.tmdb.org/t/p/w500";
/// TMDB's `status_code` for a wrong API key: the server's settings are at fault, not the user's link.
const INVALID_API_KEY: i64 = 7;

fn api_key(providers: &Providers) -> Result<&str, LinkError> {
    providers
        .settings
        .tmdb_client_token
        .as_deref()
        .filter(|k| !k.trim().is_empty())
        .ok_or(LinkError::NotConfigured(Service::Tmdb))
}

async fn get(
    providers: &Providers,
    path: &str,
    query: &[(&str, &str)],
) -> Result<Answer, LinkError> {
    let key = api_key(providers)?;
    let url = join(&providers.settings.tmdb_api_url, path);
    Ok(providers
        .http
        .call(|c| c.get(&url).query(&[("api_key", key)]).query(query))
        .await?)
}

/// The approval page for a new request token; `None` when TMDB did not give one (2.7: the URL is
/// then empty).
pub async fn authorize_url(
    providers: &Providers,
    redirect: &str,
) -> Result<Option<String>, LinkError> {
    let answer = match get(providers, "/3/authentication/token/new", &[]).await {
        Ok(answer) => answer,
        Err(LinkError::Provider(why)) => {
            tracing::warn!("TMDB request token: {why}");
            return Ok(None);
        }
        Err(other) => return Err(other),
    };
    if answer.status != 200 {
        tracing::warn!("TMDB request token: answered {}", answer.status);
        return Ok(None);
    }
    Ok(answer.text("request_token").map(|token| {
        format!(
            "{}?redirect_to={redirect}",
            join(
                &providers.settings.tmdb_auth_url,
                &format!("/authenticate/{token}")
            )
        )
    }))
}

/// Trades an approved request token for a session id (the link's access token).
pub async fn exchange(providers: &Providers, request_token: &str) -> Result<Tokens, LinkError> {
    let key = api_key(providers)?;
    let url = join(
        &providers.settings.tmdb_api_url,
        "/3/authentication/session/new",
    );
    let answer = providers
        .http
        .call(|c| {
            c.post(&url)
                .query(&[("api_key", key)])
                .form(&[("request_token", request_token)])
        })
        .await?;
    match answer.text("session_id") {
        Some(session) => Ok(Tokens {
            access: session.to_owned(),
            refresh: None,
        }),
        None => Err(LinkError::Provider(format!(
            "TMDB session answered {} without a session id",
            answer.status
        ))),
    }
}

/// An answer TMDB marks as refused (`"success": false`): a revoked session, unless the API key is.
fn refused(answer: &Answer) -> Option<End> {
    if answer.body.get("success").and_then(Value::as_bool) != Some(false) {
        return None;
    }
    let code = answer.body.get("status_code").and_then(Value::as_i64);
    Some(if code == Some(INVALID_API_KEY) {
        End::Failed("TMDB refuses the server's API key (TMDB_CLIENT_TOKEN)".into())
    } else {
        End::Revoked
    })
}

pub async fn fetch(providers: &Providers, tokens: &Tokens) -> Result<Vec<Item>, End> {
    let session = tokens.access.as_str();
    let account = get(providers, "/3/account", &[("session_id", session)]).await?;
    if let Some(end) = refused(&account) {
        return Err(end);
    }
    let account_id = match account.body.get("id") {
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            return Err(End::Failed(format!(
                "TMDB account answered {} without an id",
                account.status
            )));
        }
    };
    let genres = genre_names(providers).await;
    let mut items = Vec::new();
    let mut details = 0;
    for kind in ["movies", "tv"] {
        for list in ["rated", "favorite", "watchlist"] {
            let path = format!("/3/account/{account_id}/{list}/{kind}");
            for entry in pages(providers, &path, session).await? {
                let mut wanted = Wanted::default();
                match list {
                    "rated" => {
                        wanted.rating = entry.get("rating").and_then(Value::as_f64).map(to_five)
                    }
                    "favorite" => wanted.consumed = true,
                    _ => wanted.viewed = true,
                }
                let item = if kind == "movies" {
                    let imdb = if details < MAX_DETAILS {
                        details += 1;
                        imdb_id(providers, &entry).await
                    } else {
                        None
                    };
                    movie(&entry, imdb, &genres, wanted)
                } else {
                    serie(&entry, &genres, wanted)
                };
                items.extend(item);
            }
        }
    }
    Ok(items)
}

/// TMDB's 0.5–10 as our 0–5 (halves round up).
fn to_five(rating: f64) -> i64 {
    ((rating / 2.0).round() as i64).clamp(0, 5)
}

/// The results of every page of a list, at most [`MAX_PAGES`].
async fn pages(providers: &Providers, path: &str, session: &str) -> Result<Vec<Value>, End> {
    let mut results = Vec::new();
    let mut page = 1;
    loop {
        let number = page.to_string();
        let answer = get(
            providers,
            path,
            &[("session_id", session), ("page", &number)],
        )
        .await?;
        if let Some(end) = refused(&answer) {
            return Err(end);
        }
        if !answer.is_success() || !answer.body.is_object() {
            return Err(End::Failed(format!(
                "TMDB {path} answered {}",
                answer.status
            )));
        }
        if let Some(list) = answer.body.get("results").and_then(Value::as_array) {
            results.extend(list.iter().cloned());
        }
        let total = answer
            .body
            .get("total_pages")
            .and_then(Value::as_u64)
            .unwrap_or(1);
        if page >= total {
            break;
        }
        if page == MAX_PAGES {
            tracing::info!("TMDB: stopped after {MAX_PAGES} pages of {path}");
            break;
        }
        page += 1;
    }
    Ok(results)
}

/// TMDB's genre ids → names, for movies and TV (a failure leaves contents without genres).
async fn genre_names(providers: &Providers) -> HashMap<i64, String> {
    let mut names = HashMap::new();
    for path in ["/3/genre/movie/list", "/3/genre/tv/list"] {
        let Ok(answer) = get(providers, path, &[]).await else {
            continue;
        };
        for genre in answer
            .body
            .get("genres")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(id), Some(name)) = (
                genre.get("id").and_then(Value::as_i64),
                genre.get("name").and_then(Value::as_str),
            ) {
                names.insert(id, name.to_owned());
            }
        }
    }
    names
}

async fn imdb_id(providers: &Providers, entry: &Value) -> Option<String> {
    let id = entry.get("id")?.as_i64()?;
    let answer = get(providers, &format!("/3/movie/{id}"), &[]).await.ok()?;
    answer.text("imdb_id").map(str::to_owned)
}

fn text(entry: &Value, key: &str) -> Value {
    entry
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map_or(Value::Null, |s| Value::from(s.to_owned()))
}

fn year_of(entry: &Value, key: &str) -> Option<i64> {
    entry.get(key)?.as_str()?.get(..4)?.parse().ok()
}

fn cover(entry: &Value) -> Value {
    entry
        .get("poster_path")
        .and_then(Value::as_str)
        .map_or(Value::Null, |p| {
            format!("{IMAGE_BASE}/{}", p.trim_start_matches('/')).into()
        })
}

fn genres_of(entry: &Value, names: &HashMap<i64, String>) -> Vec<String> {
    entry
        .get("genre_ids")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|id| names.get(&id.as_i64()?).cloned())
        .collect()
}

fn movie(
    entry: &Value,
    imdb: Option<String>,
    genres: &HashMap<i64, String>,
    wanted: Wanted,
) -> Option<Item> {
    let tmdb_id = entry.get("id")?.as_i64()?.to_string();
    let title = text(entry, "title");
    if title.is_null() {
        return None;
    }
    let imdb = imdb.map_or(Value::Null, Value::from);
    Some(Item {
        medium: Medium::by_name("movie")?,
        keys: vec![
            Key::of(&[("imdbid", imdb.clone())]),
            Key::of(&[("tmdbid", tmdb_id.clone().into())]),
        ],
        columns: vec![
            ("title", title),
            ("language", text(entry, "original_language")),
            (
                "year",
                year_of(entry, "release_date").map_or(Value::Null, |y| y.to_string().into()),
            ),
            ("imdbid", imdb),
            ("tmdbid", tmdb_id.into()),
            ("cover", cover(entry)),
            ("plot_outline", text(entry, "overview")),
        ],
        genres: genres_of(entry, genres),
        wanted,
    })
}

fn serie(entry: &Value, genres: &HashMap<i64, String>, wanted: Wanted) -> Option<Item> {
    let title = text(entry, "name");
    if title.is_null() {
        return None;
    }
    let start_year = year_of(entry, "first_air_date").map_or(Value::Null, Value::from);
    Some(Item {
        medium: Medium::by_name("serie")?,
        keys: vec![if start_year.is_null() {
            Key::of(&[("title", title.clone())])
        } else {
            Key::of(&[("title", title.clone()), ("start_year", start_year.clone())])
        }],
        columns: vec![
            ("title", title),
            ("start_year", start_year),
            ("cover", cover(entry)),
            ("plot_outline", text(entry, "overview")),
        ],
        genres: genres_of(entry, genres),
        wanted,
    })
}

#[cfg(test)]
mod tests {
    use super::to_five;

    #[test]
    fn tmdb_ratings_map_onto_zero_to_five() {
        assert_eq!(to_five(0.5), 0);
        assert_eq!(to_five(1.0), 1);
        assert_eq!(to_five(7.0), 4);
        assert_eq!(to_five(8.5), 4);
        assert_eq!(to_five(10.0), 5);
    }
}
