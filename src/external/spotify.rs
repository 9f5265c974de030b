//! Spotify (api-reference.md 2.7, 5.7): authorization-code flow with Basic client authentication;
//! imports the user's top tracks, recently played tracks (each play counted once, by its time) and
//! playlists' tracks.

use super::found::{End, Item, Key, Wanted};
use super::http::{Answer, join, rebase};
use super::{LinkError, Providers, Service, Tokens, form_encode};
use crate::media::Medium;
use base64::Engine;
use serde_json::Value;

const SCOPE: &str =
    "user-library-read+user-top-read+playlist-read-private+user-read-recently-played";
/// Pages read per list at most (playlists: per playlist).
pub const MAX_PAGES: usize = 20;
/// Playlists read at most.
const MAX_PLAYLISTS: usize = 50;

/// The page the user approves the link on.
pub fn authorize_url(
    providers: &Providers,
    redirect: &str,
    state: &str,
) -> Result<String, LinkError> {
    let s = &providers.settings;
    let client_id = configured(s.spotify_client_id.as_deref())?;
    Ok(format!(
        "{}?client_id={}&scope={SCOPE}&redirect_uri={}&response_type=code&state={}",
        join(&s.spotify_accounts_url, "/authorize"),
        form_encode(client_id),
        form_encode(redirect),
        form_encode(state),
    ))
}

fn configured(value: Option<&str>) -> Result<&str, LinkError> {
    value
        .filter(|v| !v.trim().is_empty())
        .ok_or(LinkError::NotConfigured(Service::Spotify))
}

fn basic_auth(providers: &Providers) -> Result<String, LinkError> {
    let s = &providers.settings;
    let id = configured(s.spotify_client_id.as_deref())?;
    let secret = configured(s.spotify_client_secret.as_deref())?;
    let pair = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    Ok(format!("Basic {pair}"))
}

async fn token_call(providers: &Providers, form: &[(&str, &str)]) -> Result<Answer, LinkError> {
    let auth = basic_auth(providers)?;
    let url = join(&providers.settings.spotify_accounts_url, "/api/token");
    Ok(providers
        .http
        .call(|c| {
            c.post(&url)
                .header(reqwest::header::AUTHORIZATION, &auth)
                .form(form)
        })
        .await?)
}

/// Trades the code the user came back with for tokens.
pub async fn exchange(
    providers: &Providers,
    code: &str,
    redirect: &str,
) -> Result<Tokens, LinkError> {
    let answer = token_call(
        providers,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect),
        ],
    )
    .await?;
    match (answer.text("access_token"), answer.text("refresh_token")) {
        (Some(access), Some(refresh)) => Ok(Tokens {
            access: access.to_owned(),
            refresh: Some(refresh.to_owned()),
        }),
        _ => Err(LinkError::Provider(format!(
            "Spotify token exchange answered {} without tokens",
            answer.status
        ))),
    }
}

/// A fresh access token from the refresh token; Spotify refusing it (4xx) means the user revoked
/// the app (5.7: the link is deleted).
pub async fn refresh(providers: &Providers, tokens: &Tokens) -> Result<Tokens, End> {
    let Some(refresh) = tokens.refresh.as_deref() else {
        return Err(End::Revoked);
    };
    let answer = token_call(
        providers,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await
    .map_err(End::failed)?;
    super::refreshed(&answer, "Spotify")
}

/// Everything the import reads, as catalogue items with what the user did with them.
pub async fn fetch(providers: &Providers, tokens: &Tokens) -> Result<Vec<Item>, End> {
    let api = providers.settings.spotify_api_url.as_str();
    let bearer = format!("Bearer {}", tokens.access);
    let get = |url: String| {
        let bearer = bearer.clone();
        async move {
            let answer = providers
                .http
                .call(|c| c.get(&url).header(reqwest::header::AUTHORIZATION, &bearer))
                .await
                .map_err(End::failed)?;
            if !answer.is_success() {
                return Err(End::Failed(format!("Spotify answered {}", answer.status)));
            }
            Ok::<Value, End>(answer.body)
        }
    };
    let mut items = Vec::new();

    for page in paged(
        api,
        join(api, "/v1/me/player/recently-played?limit=50"),
        &get,
    )
    .await?
    {
        for entry in list(&page, "items") {
            let played_at = entry
                .get("played_at")
                .and_then(Value::as_str)
                .and_then(db_time);
            if let Some(mut item) = entry.get("track").and_then(track) {
                item.wanted.plays.extend(played_at);
                item.wanted.consumed = true;
                items.push(item);
            }
        }
    }
    for page in paged(api, join(api, "/v1/me/top/tracks?limit=50"), &get).await? {
        items.extend(
            list(&page, "items")
                .iter()
                .filter_map(track)
                .map(|mut item| {
                    item.wanted.consumed = true;
                    item
                }),
        );
    }
    let playlists = paged(api, join(api, "/v1/me/playlists?limit=50"), &get).await?;
    let ids: Vec<String> = playlists
        .iter()
        .flat_map(|page| list(page, "items"))
        .filter_map(|p| p.get("id").and_then(Value::as_str).map(str::to_owned))
        .take(MAX_PLAYLISTS)
        .collect();
    for id in ids {
        let first = join(
            api,
            &format!("/v1/playlists/{}/tracks?limit=50", form_encode(&id)),
        );
        for page in paged(api, first, &get).await? {
            items.extend(
                list(&page, "items")
                    .iter()
                    .filter_map(|entry| entry.get("track"))
                    .filter_map(track)
                    .map(|mut item| {
                        item.wanted.viewed = true;
                        item
                    }),
            );
        }
    }
    Ok(items)
}

/// The pages of a list, following `next` (onto the configured host), at most [`MAX_PAGES`].
async fn paged<F, Fut>(api: &str, first: String, get: &F) -> Result<Vec<Value>, End>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<Value, End>>,
{
    let mut pages = Vec::new();
    let mut next = Some(first);
    while let Some(url) = next.take() {
        if pages.len() == MAX_PAGES {
            tracing::info!("Spotify: stopped after {MAX_PAGES} pages of one list");
            break;
        }
        let page = get(url).await?;
        if !page.is_object() {
            return Err(End::Failed(
                "Spotify sent a page that is not an object".into(),
            ));
        }
        next = page
            .get("next")
            .and_then(Value::as_str)
            .and_then(|link| rebase(link, api));
        pages.push(page);
    }
    Ok(pages)
}

fn list<'a>(page: &'a Value, key: &str) -> &'a [Value] {
    page.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A Spotify track object as a track of the catalogue (5.7's columns). Local files have no id.
fn track(value: &Value) -> Option<Item> {
    let spotify_id = value.get("id").and_then(Value::as_str)?.to_owned();
    let title = value.get("name").and_then(Value::as_str)?.to_owned();
    let artists: Vec<&str> = value
        .get("artists")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|x| x.get("name")?.as_str()).collect())
        .unwrap_or_default();
    let album = value.get("album");
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(|s| Value::from(s.to_owned()));
    let year = album
        .and_then(|a| a.get("release_date"))
        .and_then(Value::as_str)
        .and_then(|d| d.get(..4))
        .and_then(|y| y.parse::<i64>().ok());
    let cover = album
        .and_then(|a| a.get("images"))
        .and_then(Value::as_array)
        .and_then(|images| images.first())
        .and_then(|image| image.get("url"));
    let medium = Medium::by_name("track")?;
    Some(Item {
        medium,
        keys: vec![Key::of(&[("spotify_id", spotify_id.clone().into())])],
        columns: vec![
            ("title", title.into()),
            ("artist_name", artists.join(" & ").into()),
            (
                "release",
                text(album.and_then(|a| a.get("name"))).unwrap_or(Value::Null),
            ),
            ("year", year.map_or(Value::Null, Value::from)),
            ("covert_art_url", text(cover).unwrap_or(Value::Null)),
            ("spotify_id", spotify_id.into()),
        ],
        genres: Vec::new(),
        wanted: Wanted::default(),
    })
}

/// `2026-11-30T10:00:00.123Z` → the database's text form.
fn db_time(iso: &str) -> Option<String> {
    let at = chrono::DateTime::parse_from_rfc3339(iso).ok()?;
    let at = at.with_timezone(&chrono::Utc).naive_utc();
    use chrono::Timelike;
    let micros = at.nanosecond() / 1_000 * 1_000;
    Some(crate::util::time::to_db_text(
        at.with_nanosecond(micros).unwrap_or(at),
    ))
}
