//! `/api/profile`: sandbox profiles and their recommendation history (api-reference.md 2.5, 2.6;
//! decisions F6: every route needs `access_sandbox`, and another user's profile does not exist).

use super::body::{Body, Field, Schema, Ty, text};
use super::media::MediumParam;
use super::params::{IntId, UuidParam};
use super::reply::{Page, Reply, strict_page, to_value};
use super::schemas;
use super::{AppState, caller_in};
use crate::auth::jwt::AccessToken;
use crate::auth::{self, Bearer};
use crate::db::catalogue::{self, Shape};
use crate::db::profiles::{self, MetaSource, Profile, ProfileMeta};
use crate::db::users::User;
use crate::db::{self, genres};
use crate::error::{ApiError, ApiResult};
use crate::media::Medium;
use rocket::http::Status;
use rocket::{Route, State, delete, get, patch, post, put, routes};
use serde_json::{Map, Value, json};

pub fn routes() -> Vec<Route> {
    routes![
        list_profiles,
        create_profile,
        get_profile,
        rename_profile,
        delete_profile,
        profile_genres,
        like_genre,
        unlike_genre,
        put_meta,
        profile_metas,
        recommend,
        history,
        history_genres,
        history_results,
        history_metas
    ]
}

const SANDBOX: &str = "access_sandbox";
const PROFILE_NOT_FOUND: &str = "Profile not found!";

fn owned(conn: &rusqlite::Connection, uuid: &str, me: &User) -> ApiResult<Profile> {
    profiles::owned(conn, uuid, me.user_id)?.ok_or_else(|| ApiError::not_found(PROFILE_NOT_FOUND))
}

/// Caller, then the owned profile, then the permission: the order of most profile routes.
fn caller_profile_permission(
    conn: &rusqlite::Connection,
    token: &AccessToken,
    uuid: &str,
) -> ApiResult<Profile> {
    let me = caller_in(conn, token)?;
    let profile = owned(conn, uuid, &me)?;
    auth::require(token, SANDBOX)?;
    Ok(profile)
}

/// Caller, then the permission, then the owned profile: the order of the meta and history lists.
fn caller_permission_profile(
    conn: &rusqlite::Connection,
    token: &AccessToken,
    uuid: &str,
) -> ApiResult<Profile> {
    let me = caller_in(conn, token)?;
    auth::require(token, SANDBOX)?;
    owned(conn, uuid, &me)
}

/// The caller's profiles, 24 a page.
#[utoipa::path(get, path = "/api/profile", tag = "profile", security(("bearer" = [])), params(("page" = Option<schemas::LenientPage>, Query)),
    responses((status = 200, description = "\"Profile data sent\", paginated", body = schemas::ContentPage),
              (status = 403, description = "\"Permission missing\"", body = schemas::MessageReply),
              (status = 404, description = "\"User not found!\"", body = schemas::MessageReply)))]
#[get("/?<page>")]
async fn list_profiles(
    state: &State<AppState>,
    bearer: Bearer,
    page: Option<String>,
) -> ApiResult<Reply> {
    let token = state.auth.verify(&bearer).await?;
    let page = Page::lenient(page.as_deref());
    let (limit, offset) = page.window();
    let (rows, total) = state
        .db
        .run(move |conn| {
            let me = caller_in(conn, &token)?;
            auth::require(&token, SANDBOX)?;
            Ok(profiles::list(conn, me.user_id, limit, offset)?)
        })
        .await?;
    Ok(Reply::page(
        "Profile data sent",
        &page,
        total,
        rows.iter().map(to_value).collect(),
    ))
}

pub static CREATE: Schema = Schema(&[Field::required("profilename", Ty::String).length(1, 45)]);
pub static RENAME: Schema = Schema(&[Field::optional("profilename", Ty::String).length(1, 45)]);

/// Create a sandbox profile.
#[utoipa::path(post, path = "/api/profile", tag = "profile", security(("bearer" = [])), request_body = schemas::ProfileBody,
    responses((status = 201, description = "\"Profile created\"", body = schemas::ProfileReply),
              (status = 400, description = "Layer A error, or \"You have already created a profile with this name!\"", body = schemas::MessageReply),
              (status = 403, description = "\"Permission missing\"", body = schemas::MessageReply),
              (status = 404, description = "\"User not found!\"", body = schemas::MessageReply)))]
#[post("/", data = "<body>")]
async fn create_profile(state: &State<AppState>, bearer: Bearer, body: Body) -> ApiResult<Reply> {
    let input = body.validate(&CREATE)?;
    let token = state.auth.verify(&bearer).await?;
    let name = text(&input, "profilename").unwrap_or_default().to_owned();
    let profile = state
        .db
        .write(move |conn| {
            let me = caller_in(conn, &token)?;
            let tx = db::write_transaction(conn)?;
            if profiles::name_taken(&tx, me.user_id, &name)? {
                return Err(ApiError::bad_request(
                    "You have already created a profile with this name!",
                ));
            }
            auth::require(&token, SANDBOX)?;
            let uuid = uuid::Uuid::new_v4().to_string();
            profiles::create(&tx, me.user_id, &uuid, &name)?;
            tx.commit()?;
            Ok(profiles::ProfileBase {
                uuid,
                profilename: name,
            })
        })
        .await?;
    Ok(Reply::with(
        Status::Created,
        "Profile created",
        &[("profile", to_value(&profile))],
    ))
}

/// One of the caller's profiles, with its liked genres.
#[utoipa::path(get, path = "/api/profile/{uuid}", tag = "profile", security(("bearer" = [])), params(("uuid" = String, Path)),
    responses((status = 200, description = "\"Profile data sent\"", body = schemas::ProfileReply),
              (status = 403, description = "\"Permission missing\"", body = schemas::MessageReply),
              (status = 404, description = "\"User not found!\" or \"Profile not found!\"", body = schemas::MessageReply)))]
#[get("/<uuid>")]
async fn get_profile(state: &State<AppState>, bearer: Bearer, uuid: UuidParam) -> ApiResult<Reply> {
    let token = state.auth.verify(&bearer).await?;
    let object = state
        .db
        .run(move |conn| {
            let profile = caller_profile_permission(conn, &token, &uuid.0)?;
            let liked = profiles::liked_genres(conn, profile.profile_id)?;
            Ok(json!({"uuid": profile.base.uuid, "profilename": profile.base.profilename, "liked_genres": to_value(&liked)}))
        })
        .await?;
    Ok(Reply::with(
        Status::Ok,
        "Profile data sent",
        &[("profile", object)],
    ))
}

/// Rename a profile.
#[utoipa::path(patch, path = "/api/profile/{uuid}", tag = "profile", security(("bearer" = [])), params(("uuid" = String, Path)),
    request_body = schemas::ProfileRenameBody,
    responses((status = 201, description = "\"Profile updated successfully\"", body = schemas::MessageReply),
              (status = 403, description = "\"Permission missing\"", body = schemas::MessageReply),
              (status = 404, description = "\"User not found!\" or \"Profile not found!\"", body = schemas::MessageReply)))]
#[patch("/<uuid>", data = "<body>")]
async fn rename_profile(
    state: &State<AppState>,
    bearer: Bearer,
    uuid: UuidParam,
    body: Body,
) -> ApiResult<Reply> {
    let input = body.validate(&RENAME)?;
    let token = state.auth.verify(&bearer).await?;
    let name = text(&input, "profilename").map(str::to_owned);
    state
        .db
        .write(move |conn| {
            let profile = caller_profile_permission(conn, &token, &uuid.0)?;
            if let Some(name) = name {
                profiles::rename(conn, profile.profile_id, &name)?;
            }
            Ok(())
        })
        .await?;
    Ok(Reply::message(
        Status::Created,
        "Profile updated successfully",
    ))
}

/// Delete a profile with its genres, metas and history.
#[utoipa::path(delete, path = "/api/profile/{uuid}", tag = "profile", security(("bearer" = [])), params(("uuid" = String, Path)),
    responses((status = 201, description = "\"Profile deleted successfully\"", body = schemas::MessageReply),
              (status = 403, description = "\"Permission missing\"", body = schemas::MessageReply),
              (status = 404, description = "\"User not found!\" or \"Profile not found!\"", body = schemas::MessageReply)))]
#[delete("/<uuid>")]
async fn delete_profile(
    state: &State<AppState>,
    bearer: Bearer,
    uuid: UuidParam,
) -> ApiResult<Reply> {
    let token = state.auth.verify(&bearer).await?;
    state
        .db
        .write(move |conn| {
            let profile = caller_profile_permission(conn, &token, &uuid.0)?;
            Ok(profiles::delete(conn, profile.profile_id)?)
        })
        .await?;
    Ok(Reply::message(
        Status::Created,
        "Profile deleted successfully",
    ))
}

/// A profile's liked genres.
#[utoipa::path(get, path = "/api/profile/{uuid}/genre", tag = "profile", security(("bearer" = [])), params(("uuid" = String, Path)),
    responses((status = 200, description = "\"Profile liked genre sent\"", body = schemas::GenreList),
              (status = 403, description = "\"Permission missing\"", body = schemas::MessageReply),
              (status = 404, description = "\"User not found!\" or \"Profile not found!\"", body = schemas::MessageReply)))]
#[get("/<uuid>/genre")]
async fn profile_genres(
    state: &State<AppState>,
    bearer: Bearer,
    uuid: UuidParam,
) -> ApiResult<Reply> {
    let token = state.auth.verify(&bearer).await?;
    let liked = state
        .db
        .run(move |conn| {
            let profile = caller_profile_permission(conn, &token, &uuid.0)?;
            Ok(profiles::liked_genres(conn, profile.profile_id)?)
        })
        .await?;
    Ok(Reply::with(
        Status::Ok,
        "Profile liked genre sent",
        &[("content", to_value(&liked))],
    ))
}

async fn genre_change(
    state: &AppState,
    bearer: Bearer,
    uuid: UuidParam,
    genre_id: i64,
    like: bool,
) -> ApiResult<Reply> {
    let token = state.auth.verify(&bearer).await?;
    state
        .db
        .write(move |conn| {
            let profile = caller_profile_permission(conn, &token, &uuid.0)?;
            if !genres::exists(conn, genre_id)? {
                return Err(ApiError::not_found("Genre not found!"));
            }
            if like {
                profiles::like_genre(conn, profile.profile_id, genre_id)?;
            } else if !profiles::unlike_genre(conn, profile.profile_id, genre_id)? {
                return Err(ApiError::bad_request("You didn't like this genre"));
            }
            Ok(())
        })
        .await?;
    Ok(Reply::message(Status::Created, "Profile liked this genre"))
}

/// Like a genre for a profile (again: no change, decisions F4).
#[utoipa::path(put, path = "/api/profile/{uuid}/genre/{genre_id}", tag = "profile", operation_id = "like_profile_genre", security(("bearer" = [])),
    params(("uuid" = String, Path), ("genre_id" = i64, Path)),
    responses((status = 201, description = "\"Profile liked this genre\"", body = schemas::MessageReply),
              (status = 403, description = "\"Permission missing\"", body = schemas::MessageReply),
              (status = 404, description = "\"User not found!\", \"Profile not found!\" or \"Genre not found!\"", body = schemas::MessageReply)))]
#[put("/<uuid>/genre/<genre_id>")]
async fn like_genre(
    state: &State<AppState>,
    bearer: Bearer,
    uuid: UuidParam,
    genre_id: IntId,
) -> ApiResult<Reply> {
    genre_change(state, bearer, uuid, genre_id.0, true).await
}

/// Stop liking a genre for a profile.
#[utoipa::path(delete, path = "/api/profile/{uuid}/genre/{genre_id}", tag = "profile", operation_id = "unlike_profile_genre", security(("bearer" = [])),
    params(("uuid" = String, Path), ("genre_id" = i64, Path)),
    responses((status = 201, description = "\"Profile liked this genre\" (sic)", body = schemas::MessageReply),
              (status = 400, description = "\"You didn't like this genre\"", body = schemas::MessageReply),
              (status = 403, description = "\"Permission missing\"", body = schemas::MessageReply),
              (status = 404, description = "\"User not found!\", \"Profile not found!\" or \"Genre not found!\"", body = schemas::MessageReply)))]
#[delete("/<uuid>/genre/<genre_id>")]
async fn unlike_genre(
    state: &State<AppState>,
    bearer: Bearer,
    uuid: UuidParam,
    genre_id: IntId,
) -> ApiResult<Reply> {
    genre_change(state, bearer, uuid, genre_id.0, false).await
}

pub static META: Schema = Schema(&[
    Field::required("rating", Ty::Integer)
        .min(0.0, "0")
        .max(5.0, "5"),
    Field::required("last_rating_date", Ty::String),
    Field::required("review_see_count", Ty::Integer).min(0.0, "0"),
    Field::required("last_review_see_date", Ty::String),
    Field::required("count", Ty::Integer).min(0.0, "0"),
    Field::required("last_count_increment", Ty::String),
]);

/// A date-time as PostgreSQL's `timestamp without time zone` reads it: an offset is dropped, not
/// applied. Returns the database text form.
fn parse_timestamp(text: &str) -> Option<String> {
    use chrono::{NaiveDate, NaiveDateTime};
    let trimmed = text.trim();
    let without_zone = trimmed
        .strip_suffix('Z')
        .or_else(|| {
            let cut = trimmed.len().checked_sub(6)?;
            // `get` rather than slicing: the cut may fall inside a multi-byte character.
            let (head, zone) = (trimmed.get(..cut)?, trimmed.get(cut..)?);
            (zone.starts_with(['+', '-'])
                && zone.as_bytes().get(3) == Some(&b':')
                && head.len() > 10)
                .then_some(head)
        })
        .unwrap_or(trimmed);
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(at) = NaiveDateTime::parse_from_str(without_zone, format) {
            return Some(crate::util::time::to_db_text(at));
        }
    }
    NaiveDate::parse_from_str(without_zone, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(crate::util::time::to_db_text)
}

/// Write a profile's meta on a content (no events; the content's average is not touched).
#[utoipa::path(put, path = "/api/profile/{uuid}/content/{content_id}/meta", tag = "profile", security(("bearer" = [])),
    params(("uuid" = String, Path), ("content_id" = i64, Path)), request_body = schemas::ProfileMetaBody,
    responses((status = 201, description = "\"Meta successfully updated\"", body = schemas::MessageReply),
              (status = 400, description = "Layer A error (types, bounds, date-time format)", body = schemas::PayloadErrors),
              (status = 403, description = "\"Permission missing\"", body = schemas::MessageReply),
              (status = 404, description = "\"User not found!\", \"Content not found!\" or \"Profile not found!\"", body = schemas::MessageReply)))]
#[put("/<uuid>/content/<content_id>/meta", data = "<body>")]
async fn put_meta(
    state: &State<AppState>,
    bearer: Bearer,
    uuid: UuidParam,
    content_id: IntId,
    body: Body,
) -> ApiResult<Reply> {
    let input = body.validate(&META)?;
    // The dates are checked last, after the reference's own checks (it failed on them in the
    // database, after everything else).
    let date_check = move || -> ApiResult<ProfileMeta> {
        let mut errors = Map::new();
        let mut date = |key: &str| {
            let raw = text(&input, key).unwrap_or_default();
            parse_timestamp(raw).unwrap_or_else(|| {
                let message = format!(
                    "{} is not a 'date-time'",
                    crate::util::pyjson::repr_str(raw)
                );
                errors.insert(key.into(), Value::String(message));
                String::new()
            })
        };
        let number = |key: &str| input.get(key).and_then(Value::as_i64).unwrap_or_default();
        let meta = ProfileMeta {
            rating: number("rating"),
            last_rating_date: date("last_rating_date"),
            review_see_count: number("review_see_count"),
            last_review_see_date: date("last_review_see_date"),
            count: number("count"),
            last_count_increment: date("last_count_increment"),
        };
        if errors.is_empty() {
            Ok(meta)
        } else {
            Err(ApiError::PayloadInvalid(errors))
        }
    };
    let token = state.auth.verify(&bearer).await?;
    state
        .db
        .write(move |conn| {
            let me = caller_in(conn, &token)?;
            if !catalogue::content_exists(conn, content_id.0)? {
                return Err(ApiError::not_found("Content not found!"));
            }
            auth::require(&token, SANDBOX)?;
            let profile = owned(conn, &uuid.0, &me)?;
            let meta = date_check()?;
            Ok(profiles::put_meta(
                conn,
                profile.profile_id,
                content_id.0,
                &meta,
            )?)
        })
        .await?;
    Ok(Reply::message(Status::Created, "Meta successfully updated"))
}

/// `{"<m>": Base, rating, …}` items for a page of metas.
fn meta_items(
    conn: &rusqlite::Connection,
    medium: &'static Medium,
    rows: Vec<(i64, Map<String, Value>)>,
) -> ApiResult<Vec<Value>> {
    let ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
    let bases = catalogue::load(conn, &medium.table, &ids, Shape::base(medium))?;
    Ok(rows
        .into_iter()
        .zip(bases)
        .map(|((_, values), base)| {
            let mut item = Map::new();
            item.insert(medium.name().into(), Value::Object(base));
            item.extend(values);
            Value::Object(item)
        })
        .collect())
}

/// A profile's metas on one medium.
#[utoipa::path(get, path = "/api/profile/{uuid}/{medium}/meta", tag = "profile", security(("bearer" = [])),
    params(("uuid" = String, Path), ("medium" = String, Path), ("page" = Option<schemas::LenientPage>, Query)),
    responses((status = 200, description = "\"Profile's meta {m} data sent\", paginated", body = schemas::ContentPage),
              (status = 403, description = "\"Permission missing\"", body = schemas::MessageReply),
              (status = 404, description = "\"User not found!\" or \"Profile not found!\"", body = schemas::MessageReply)))]
#[get("/<uuid>/<medium>/meta?<page>")]
async fn profile_metas(
    state: &State<AppState>,
    bearer: Bearer,
    uuid: UuidParam,
    medium: MediumParam,
    page: Option<String>,
) -> ApiResult<Reply> {
    let token = state.auth.verify(&bearer).await?;
    let medium = medium.0;
    let page = Page::lenient(page.as_deref());
    let (limit, offset) = page.window();
    let (items, total) = state
        .db
        .run(move |conn| {
            let profile = caller_permission_profile(conn, &token, &uuid.0)?;
            let (rows, total) = profiles::metas_of(
                conn,
                MetaSource::Profile(profile.profile_id),
                medium.name(),
                limit,
                offset,
            )?;
            Ok((meta_items(conn, medium, rows)?, total))
        })
        .await?;
    Ok(Reply::page(
        &format!("Profile's meta {} data sent", medium.name()),
        &page,
        total,
        items,
    ))
}

/// The checks of every history route, in the reference's order; returns the event's id when given.
fn history_access(
    conn: &rusqlite::Connection,
    token: &AccessToken,
    uuid: &str,
    event_id: Option<i64>,
) -> ApiResult<Profile> {
    let profile = caller_permission_profile(conn, token, uuid)?;
    if let Some(event_id) = event_id {
        let launch = profiles::launch(conn, event_id)?
            .ok_or_else(|| ApiError::not_found("Event not found!"))?;
        if launch.profile_id != Some(profile.profile_id) {
            return Err(ApiError::forbidden("Can not access to an not owned event!"));
        }
    }
    Ok(profile)
}

/// The common part of the routes on one launch: checks, strict page, one page of `rows`.
async fn launch_page<F>(
    state: &AppState,
    bearer: Bearer,
    uuid: UuidParam,
    event_id: i64,
    page: Option<String>,
    message: &str,
    rows: F,
) -> ApiResult<Reply>
where
    F: FnOnce(&rusqlite::Connection, i64, i64) -> ApiResult<(Vec<Value>, i64)> + Send + 'static,
{
    let token = state.auth.verify(&bearer).await?;
    let page = strict_page(page.as_deref())?;
    let (limit, offset) = page.window();
    let (items, total) = state
        .db
        .run(move |conn| {
            history_access(conn, &token, &uuid.0, Some(event_id))?;
            rows(conn, limit, offset)
        })
        .await?;
    Ok(Reply::page(message, &page, total, items))
}

/// A profile's recommendation launches, newest first.
#[utoipa::path(get, path = "/api/profile/{uuid}/history", tag = "profile", security(("bearer" = [])),
    params(("uuid" = String, Path), ("page" = Option<schemas::StrictPage>, Query)),
    responses((status = 200, description = "\"Recommendation history data sent\", paginated", body = schemas::ContentPage),
              (status = 400, description = "page is not an integer", body = schemas::PayloadErrors),
              (status = 403, description = "\"Permission missing\"", body = schemas::MessageReply),
              (status = 404, description = "\"User not found!\" or \"Profile not found!\"", body = schemas::MessageReply)))]
#[get("/<uuid>/history?<page>")]
async fn history(
    state: &State<AppState>,
    bearer: Bearer,
    uuid: UuidParam,
    page: Option<String>,
) -> ApiResult<Reply> {
    let token = state.auth.verify(&bearer).await?;
    let page = strict_page(page.as_deref())?;
    let (limit, offset) = page.window();
    let (items, total) = state
        .db
        .run(move |conn| {
            let profile = history_access(conn, &token, &uuid.0, None)?;
            let (rows, total) = profiles::launches(conn, profile.profile_id, limit, offset)?;
            let base = to_value(&profile.base);
            let items = rows
                .into_iter()
                .map(|(id, at)| json!({"id": id, "occured_at": at, "profile": base}))
                .collect::<Vec<_>>();
            Ok((items, total))
        })
        .await?;
    Ok(Reply::page(
        "Recommendation history data sent",
        &page,
        total,
        items,
    ))
}

/// Launch a recommendation for a profile: snapshot its liked genres and metas (a
/// `recommendation_launched_for_profile_event`), then compute the engine's results for that snapshot
/// (readable under `/history/<event_id>/result/<m>`). The same launch as the Socket.IO `recommend` event.
#[utoipa::path(post, path = "/api/profile/{uuid}/recommend", tag = "profile", security(("bearer" = [])), params(("uuid" = String, Path)),
    responses((status = 200, description = "{\"status\": true, \"message\": \"Recommendation complete for this profile!\", \"event_id\": N}", body = schemas::MessageReply),
              (status = 403, description = "\"Permission missing\"", body = schemas::MessageReply),
              (status = 404, description = "\"User not found!\" or \"Profile not found!\"", body = schemas::MessageReply)))]
#[post("/<uuid>/recommend")]
async fn recommend(state: &State<AppState>, bearer: Bearer, uuid: UuidParam) -> ApiResult<Reply> {
    let token = state.auth.verify(&bearer).await?;
    let launched = state
        .db
        .write(move |conn| {
            let profile = caller_permission_profile(conn, &token, &uuid.0)?;
            Ok(crate::engine::launch::launch(conn, profile.profile_id)?)
        })
        .await?;
    if launched.computed {
        Ok(Reply::with(
            Status::Ok,
            "Recommendation complete for this profile!",
            &[("event_id", Value::from(launched.event_id))],
        ))
    } else {
        Err(ApiError::business(
            Status::InternalServerError,
            "Error during the process!",
        ))
    }
}

/// The liked genres copied at a launch.
#[utoipa::path(get, path = "/api/profile/{uuid}/history/{id}/genres", tag = "profile", security(("bearer" = [])),
    params(("uuid" = String, Path), ("id" = i64, Path), ("page" = Option<schemas::StrictPage>, Query)),
    responses((status = 200, description = "\"Recommendation history liked genres data sent\", paginated", body = schemas::ContentPage),
              (status = 403, description = "\"Permission missing\" or \"Can not access to an not owned event!\"", body = schemas::MessageReply),
              (status = 404, description = "\"User not found!\", \"Profile not found!\" or \"Event not found!\"", body = schemas::MessageReply)))]
#[get("/<uuid>/history/<id>/genres?<page>")]
async fn history_genres(
    state: &State<AppState>,
    bearer: Bearer,
    uuid: UuidParam,
    id: IntId,
    page: Option<String>,
) -> ApiResult<Reply> {
    let message = "Recommendation history liked genres data sent";
    launch_page(
        state,
        bearer,
        uuid,
        id.0,
        page,
        message,
        move |conn, limit, offset| {
            let (rows, total) = profiles::launch_genres(conn, id.0, limit, offset)?;
            let items = rows
                .into_iter()
                .map(|(name, kind)| json!({"name": name, "content_type": kind}));
            Ok((items.collect(), total))
        },
    )
    .await
}

/// The engine's results of a launch on one medium, best first.
#[utoipa::path(get, path = "/api/profile/{uuid}/history/{id}/{medium}/result", tag = "profile", security(("bearer" = [])),
    params(("uuid" = String, Path), ("id" = i64, Path), ("medium" = String, Path), ("page" = Option<schemas::StrictPage>, Query)),
    responses((status = 200, description = "\"Recommendation history data sent\", paginated: {\"<m>\": Base, score, engine}", body = schemas::ContentPage),
              (status = 403, description = "\"Permission missing\" or \"Can not access to an not owned event!\"", body = schemas::MessageReply),
              (status = 404, description = "\"User not found!\", \"Profile not found!\" or \"Event not found!\"", body = schemas::MessageReply)))]
#[get("/<uuid>/history/<id>/<medium>/result?<page>")]
async fn history_results(
    state: &State<AppState>,
    bearer: Bearer,
    uuid: UuidParam,
    id: IntId,
    medium: MediumParam,
    page: Option<String>,
) -> ApiResult<Reply> {
    let medium = medium.0;
    let message = "Recommendation history data sent";
    launch_page(
        state,
        bearer,
        uuid,
        id.0,
        page,
        message,
        move |conn, limit, offset| {
            let (rows, total) = profiles::launch_results(conn, id.0, medium.name(), limit, offset)?;
            let ids: Vec<i64> = rows.iter().map(|(c, _, _)| *c).collect();
            let bases: std::collections::HashMap<i64, Map<String, Value>> =
                catalogue::load(conn, &medium.table, &ids, Shape::base(medium))?
                    .into_iter()
                    .filter_map(|b| {
                        b.get("content_id")
                            .and_then(Value::as_i64)
                            .map(|id| (id, b))
                    })
                    .collect();
            let items = rows.into_iter().map(|(content_id, score, engine)| {
                let base = bases.get(&content_id).cloned().unwrap_or_default();
                json!({medium.name(): base, "score": score, "engine": engine})
            });
            Ok((items.collect(), total))
        },
    )
    .await
}

/// The profile's metas copied at a launch, on one medium.
#[utoipa::path(get, path = "/api/profile/{uuid}/history/{id}/{medium}/meta", tag = "profile", security(("bearer" = [])),
    params(("uuid" = String, Path), ("id" = i64, Path), ("medium" = String, Path), ("page" = Option<schemas::StrictPage>, Query)),
    responses((status = 200, description = "\"Recommendation history data sent\", paginated", body = schemas::ContentPage),
              (status = 403, description = "\"Permission missing\" or \"Can not access to an not owned event!\"", body = schemas::MessageReply),
              (status = 404, description = "\"User not found!\", \"Profile not found!\" or \"Event not found!\"", body = schemas::MessageReply)))]
#[get("/<uuid>/history/<id>/<medium>/meta?<page>")]
async fn history_metas(
    state: &State<AppState>,
    bearer: Bearer,
    uuid: UuidParam,
    id: IntId,
    medium: MediumParam,
    page: Option<String>,
) -> ApiResult<Reply> {
    let medium = medium.0;
    let message = "Recommendation history data sent";
    launch_page(
        state,
        bearer,
        uuid,
        id.0,
        page,
        message,
        move |conn, limit, offset| {
            let (rows, total) =
                profiles::metas_of(conn, MetaSource::Launch(id.0), medium.name(), limit, offset)?;
            Ok((meta_items(conn, medium, rows)?, total))
        },
    )
    .await
}
