//! `/api/{m}` for the six media (api-reference.md 2.8–2.11, decisions F2, F10, F11): one set of
//! handlers over the facts of `crate::media`.
//!
//! Ranks: these routes share shapes with each other and with `/api/user/...`, so each gets an explicit
//! rank (lower wins); the static namespaces (`/api/user`, `/api/auth`) keep Rocket's default ranks,
//! which are all lower.

use super::body::{Body, Field, Schema, Ty, unknown_fields};
use super::pages::{PageKey, catalogue_page};
use super::params::IntId;
use super::reply::{Page, Reply, strict_page};
use super::{AppState, caller_in};
use crate::auth::{self, Bearer};
use crate::db::catalogue::{self, Audience, Shape};
use crate::db::meta::{self, Amount, Interaction, InteractionError, MetaWriteError};
use crate::db::{self, genres};
use crate::error::{ApiError, ApiResult};
use crate::events::EventContext;
use crate::media::{EPISODE, Kind, MEDIA, Medium};
use crate::util::time::db_text_to_api;
use rocket::http::Status;
use rocket::request::FromParam;
use rocket::{Route, State, delete, get, patch, routes};
use serde_json::{Map, Value};
use std::sync::LazyLock;

pub fn routes() -> Vec<Route> {
    routes![
        popular,
        search,
        list_genres,
        get_meta,
        update_meta,
        user_recommendations,
        group_recommendations,
        serie_episodes,
        track_history,
        get_content,
        modify_content,
        delete_content
    ]
}

/// A path segment naming one of the six media; anything else matches no route.
pub struct MediumParam(pub &'static Medium);

impl<'a> FromParam<'a> for MediumParam {
    type Error = &'a str;
    fn from_param(param: &'a str) -> Result<Self, Self::Error> {
        Medium::by_name(param).map(MediumParam).ok_or(param)
    }
}

const ITEM_NOT_FOUND: &str = "Item not found!";

fn items_reply(message: &str, page: &Page, total: i64, items: Vec<Map<String, Value>>) -> Reply {
    Reply::page(
        message,
        page,
        total,
        items.into_iter().map(Value::Object).collect(),
    )
}

/// Most popular contents of a medium, 24 a page.
#[utoipa::path(get, path = "/api/{medium}", tag = "media", security(("bearer" = [])),
    params(("medium" = String, Path, description = "application, book, game, movie, serie or track"),
           ("page" = Option<super::schemas::LenientPage>, Query)),
    responses((status = 200, description = "\"Most popular {m} data sent\", paginated", body = super::schemas::ContentPage),
              (status = 404, description = "\"User not found!\"", body = super::schemas::MessageReply)))]
#[get("/<medium>?<page>", rank = 6)]
async fn popular(
    state: &State<AppState>,
    bearer: Bearer,
    medium: MediumParam,
    page: Option<String>,
) -> ApiResult<Reply> {
    let medium = medium.0;
    let page = Page::lenient(page.as_deref());
    let key = PageKey::Popular {
        medium: medium.name(),
        page: page.number,
    };
    catalogue_page(state, &bearer, key, None, move |conn| {
        let (limit, offset) = page.window();
        let (ids, total) = catalogue::popular(conn, medium, limit, offset)?;
        let items = catalogue::load(
            conn,
            &medium.table,
            &ids,
            Shape::with_genres(medium, medium.popular_with_genres),
        )?;
        Ok(items_reply(&medium.popular_message(), &page, total, items))
    })
    .await
}

/// Contents whose search column contains the term (case-insensitive, literal; decisions F10).
#[utoipa::path(get, path = "/api/{medium}/search/{search_term}", tag = "media", security(("bearer" = [])),
    params(("medium" = String, Path), ("search_term" = String, Path), ("page" = Option<super::schemas::LenientPage>, Query)),
    responses((status = 200, description = "\"<Media> data sent\", paginated: exact matches, prefixes, then popularity", body = super::schemas::ContentPage),
              (status = 404, description = "\"User not found!\"", body = super::schemas::MessageReply)))]
#[get("/<medium>/search/<search_term>?<page>", rank = 3)]
async fn search(
    state: &State<AppState>,
    bearer: Bearer,
    medium: MediumParam,
    search_term: String,
    page: Option<String>,
) -> ApiResult<Reply> {
    let medium = medium.0;
    let page = Page::lenient(page.as_deref());
    let key = PageKey::Search {
        medium: medium.name(),
        term: search_term.clone(),
        page: page.number,
    };
    catalogue_page(state, &bearer, key, None, move |conn| {
        let (limit, offset) = page.window();
        let (ids, total) = catalogue::search(conn, medium, &search_term, limit, offset)?;
        let items = catalogue::load(
            conn,
            &medium.table,
            &ids,
            Shape::with_genres(medium, medium.search_with_genres),
        )?;
        Ok(items_reply(&medium.search_message(), &page, total, items))
    })
    .await
}

/// The genres of a medium, most used first (no such route for books).
#[utoipa::path(get, path = "/api/{medium}/genres", tag = "media", security(("bearer" = [])),
    params(("medium" = String, Path)),
    responses((status = 200, description = "\"<Media> genres data sent\"", body = super::schemas::GenreList),
              (status = 403, description = "application only: \"Permission missing\" (indicate_interest)", body = super::schemas::MessageReply),
              (status = 404, description = "\"User not found!\", or no such route (book)", body = super::schemas::MessageReply)))]
#[get("/<medium>/genres", rank = 2)]
async fn list_genres(
    state: &State<AppState>,
    bearer: Bearer,
    medium: MediumParam,
) -> ApiResult<Reply> {
    let medium = medium.0;
    let (message, permission) = medium.genres_route.ok_or(ApiError::RouteNotFound)?;
    let key = PageKey::Genres {
        medium: medium.name(),
    };
    catalogue_page(state, &bearer, key, permission, move |conn| {
        let list = genres::of_content_type(conn, medium.table.content_type)?;
        Ok(Reply::with(
            Status::Ok,
            message,
            &[("content", super::reply::to_value(&list))],
        ))
    })
    .await
}

/// Writes an interaction in one transaction with its events; maps the domain's refusals.
fn interact(
    conn: &mut rusqlite::Connection,
    user_id: i64,
    content_id: i64,
    interaction: Interaction,
) -> ApiResult<meta::Meta> {
    let tx = db::write_transaction(conn)?;
    let ctx = EventContext::now(Some(user_id));
    let stored =
        meta::interact(&tx, &ctx, user_id, content_id, interaction).map_err(|e| match e {
            MetaWriteError::Interaction(InteractionError::CountOverflow) => {
                ApiError::bad_request("additional_count would make the count too large")
            }
            MetaWriteError::Sqlite(e) => e.into(),
        })?;
    tx.commit()?;
    Ok(stored)
}

/// The caller's meta on a content; counts a view.
#[utoipa::path(get, path = "/api/{medium}/{content_id}/meta", tag = "media", security(("bearer" = [])),
    params(("medium" = String, Path), ("content_id" = i64, Path)),
    responses((status = 200, description = "\"Meta successfully sent\" with the meta after this view", body = super::schemas::MetaReply),
              (status = 404, description = "\"User not found!\" or \"Item not found!\"", body = super::schemas::MessageReply)))]
#[get("/<_medium>/<content_id>/meta", rank = 4)]
async fn get_meta(
    state: &State<AppState>,
    bearer: Bearer,
    _medium: MediumParam,
    content_id: IntId,
) -> ApiResult<Reply> {
    let token = state.auth.verify(&bearer).await?;
    let stored = state
        .db
        .write(move |conn| {
            let me = caller_in(conn, &token)?;
            if !catalogue::content_exists(conn, content_id.0)? {
                return Err(ApiError::not_found(ITEM_NOT_FOUND));
            }
            interact(
                conn,
                me.user_id,
                content_id.0,
                Interaction {
                    view: true,
                    ..Default::default()
                },
            )
        })
        .await?;
    Ok(Reply::with(
        Status::Ok,
        "Meta successfully sent",
        &[("content", stored.to_json())],
    ))
}

pub static META_PATCH: Schema = Schema(&[
    Field::optional("rating", Ty::Integer)
        .min(0.0, "0")
        .max(5.0, "5"),
    Field::optional("additional_count", Ty::Number).min(0.0, "0"),
]);

/// Rate a content and/or add consumption (plays, watches…).
#[utoipa::path(patch, path = "/api/{medium}/{content_id}/meta", tag = "media", security(("bearer" = [])),
    params(("medium" = String, Path), ("content_id" = i64, Path)), request_body = super::schemas::MetaPatchBody,
    responses((status = 201, description = "\"Meta successfully updated\"", body = super::schemas::MessageReply),
              (status = 400, description = "Layer A validation error", body = super::schemas::PayloadErrors),
              (status = 404, description = "\"User not found!\" or \"Item not found!\"", body = super::schemas::MessageReply)))]
#[patch("/<_medium>/<content_id>/meta", data = "<body>", rank = 4)]
async fn update_meta(
    state: &State<AppState>,
    bearer: Bearer,
    _medium: MediumParam,
    content_id: IntId,
    body: Body,
) -> ApiResult<Reply> {
    let input = body.validate(&META_PATCH)?;
    let token = state.auth.verify(&bearer).await?;
    let interaction = Interaction {
        view: false,
        rating: input.get("rating").and_then(Value::as_i64),
        consumption: input.get("additional_count").and_then(|v| match v {
            Value::Number(n) if n.is_f64() => n.as_f64().map(Amount::Float),
            Value::Number(n) => n
                .as_i64()
                .map(Amount::Int)
                .or_else(|| n.as_f64().map(Amount::Float)),
            _ => None,
        }),
    };
    state
        .db
        .write(move |conn| {
            let me = caller_in(conn, &token)?;
            if !catalogue::content_exists(conn, content_id.0)? {
                return Err(ApiError::not_found(ITEM_NOT_FOUND));
            }
            interact(conn, me.user_id, content_id.0, interaction)
        })
        .await?;
    state.engine_signal.wake();
    Ok(Reply::message(Status::Created, "Meta successfully updated"))
}

/// Shared by the two recommendation lists: strict `page`, optional engine filter (1.3.3, 2.8).
async fn recommendations(
    state: &AppState,
    bearer: Bearer,
    medium: &'static Medium,
    page: Option<String>,
    reco_engine: Option<String>,
    body: Body,
    audience: fn(i64) -> Audience,
) -> ApiResult<Reply> {
    let token = state.auth.verify(&bearer).await?;
    let page = strict_page(page.as_deref())?;
    // reqparse also reads a JSON body: one that does not parse is a 400.
    body.json()?;
    let (limit, offset) = page.window();
    let (total, items) = state
        .db
        .run(move |conn| {
            let me = caller_in(conn, &token)?;
            let (rows, total) = catalogue::recommendations(
                conn,
                medium,
                audience(me.user_id),
                reco_engine.as_deref(),
                limit,
                offset,
            )?;
            let ids: Vec<i64> = rows.iter().map(|r| r.content_id).collect();
            let mut items = catalogue::load(
                conn,
                &medium.table,
                &ids,
                Shape::with_genres(medium, medium.recommendation_with_genres),
            )?;
            for (item, row) in items.iter_mut().zip(rows.iter()) {
                item.insert(
                    "reco_engine".into(),
                    row.engine.clone().map_or(Value::Null, Value::String),
                );
                item.insert(
                    "reco_score".into(),
                    row.score
                        .and_then(serde_json::Number::from_f64)
                        .map_or(Value::Null, Value::Number),
                );
            }
            Ok((total, items))
        })
        .await?;
    Ok(items_reply(&medium.popular_message(), &page, total, items))
}

/// Recommendations computed for the caller.
#[utoipa::path(get, path = "/api/{medium}/user", tag = "media", security(("bearer" = [])),
    params(("medium" = String, Path), ("page" = Option<super::schemas::StrictPage>, Query),
           ("reco_engine" = Option<String>, Query, description = "only this engine's rows")),
    responses((status = 200, description = "\"Most popular {m} data sent\", paginated, with reco_engine and reco_score", body = super::schemas::ContentPage),
              (status = 400, description = "page is not an integer", body = super::schemas::PayloadErrors),
              (status = 404, description = "\"User not found!\"", body = super::schemas::MessageReply)))]
#[get("/<medium>/user?<page>&<reco_engine>", data = "<body>", rank = 2)]
async fn user_recommendations(
    state: &State<AppState>,
    bearer: Bearer,
    medium: MediumParam,
    page: Option<String>,
    reco_engine: Option<String>,
    body: Body,
) -> ApiResult<Reply> {
    recommendations(
        state,
        bearer,
        medium.0,
        page,
        reco_engine,
        body,
        Audience::User,
    )
    .await
}

/// Recommendations computed for the groups the caller owns or belongs to (decisions F2).
#[utoipa::path(get, path = "/api/{medium}/groups", tag = "media", security(("bearer" = [])),
    params(("medium" = String, Path), ("page" = Option<super::schemas::StrictPage>, Query),
           ("reco_engine" = Option<String>, Query)),
    responses((status = 200, description = "Shaped like /user; a content recommended to several groups shows once, with its best score", body = super::schemas::ContentPage),
              (status = 400, description = "page is not an integer", body = super::schemas::PayloadErrors),
              (status = 404, description = "\"User not found!\"", body = super::schemas::MessageReply)))]
#[get("/<medium>/groups?<page>&<reco_engine>", data = "<body>", rank = 2)]
async fn group_recommendations(
    state: &State<AppState>,
    bearer: Bearer,
    medium: MediumParam,
    page: Option<String>,
    reco_engine: Option<String>,
    body: Body,
) -> ApiResult<Reply> {
    recommendations(
        state,
        bearer,
        medium.0,
        page,
        reco_engine,
        body,
        Audience::GroupsOf,
    )
    .await
}

/// A serie's episodes, by season and number.
#[utoipa::path(get, path = "/api/serie/{content_id}/episodes", tag = "media", security(("bearer" = [])),
    params(("content_id" = i64, Path)),
    responses((status = 200, description = "\"Series episodes data sent\"", body = super::schemas::ContentList),
              (status = 404, description = "\"Serie not found!\" (also for a serie without episodes)", body = super::schemas::MessageReply)))]
#[get("/serie/<content_id>/episodes", rank = 1)]
async fn serie_episodes(
    state: &State<AppState>,
    bearer: Bearer,
    content_id: IntId,
) -> ApiResult<Reply> {
    // The reference does not look the caller up here: any valid token works.
    state.auth.verify(&bearer).await?;
    let episodes = state
        .db
        .run(move |conn| {
            let ids = catalogue::episode_ids(conn, content_id.0)?;
            Ok(catalogue::load(conn, &EPISODE, &ids, Shape::episode())?)
        })
        .await?;
    if episodes.is_empty() {
        return Err(ApiError::not_found("Serie not found!"));
    }
    Ok(Reply::with(
        Status::Ok,
        "Series episodes data sent",
        &[(
            "content",
            Value::Array(episodes.into_iter().map(Value::Object).collect()),
        )],
    ))
}

/// The tracks the caller played, most recent first.
#[utoipa::path(get, path = "/api/track/history", tag = "media", security(("bearer" = [])),
    params(("page" = Option<super::schemas::LenientPage>, Query)),
    responses((status = 200, description = "\"History of listened track data successfully updated\", paginated", body = super::schemas::ContentPage),
              (status = 404, description = "\"User not found!\"", body = super::schemas::MessageReply)))]
#[get("/track/history?<page>", rank = 1)]
async fn track_history(
    state: &State<AppState>,
    bearer: Bearer,
    page: Option<String>,
) -> ApiResult<Reply> {
    let token = state.auth.verify(&bearer).await?;
    let page = Page::lenient(page.as_deref());
    let (limit, offset) = page.window();
    let track = Medium::by_name("track").ok_or_else(|| ApiError::internal("no track medium"))?;
    let (total, items) = state
        .db
        .run(move |conn| {
            let me = caller_in(conn, &token)?;
            let (rows, total) = catalogue::track_history(conn, me.user_id, limit, offset)?;
            let ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
            let tracks = catalogue::load(conn, &track.table, &ids, Shape::object(track))?;
            let items = rows
                .iter()
                .zip(tracks)
                .map(|((_, played), track)| {
                    let mut item = Map::new();
                    item.insert(
                        "last_played_date".into(),
                        Value::String(db_text_to_api(played)),
                    );
                    item.insert("track".into(), Value::Object(track));
                    item
                })
                .collect();
            Ok((total, items))
        })
        .await?;
    Ok(items_reply(
        "History of listened track data successfully updated",
        &page,
        total,
        items,
    ))
}

/// The answer to a clash on the medium's unique column in the catalogue.
pub fn taken_in_catalogue(medium: &Medium) -> ApiError {
    ApiError::Validation(vec![format!(
        "This {} is already used by another {}.",
        medium.unique_column(),
        medium.name()
    )])
}

/// Loads one content of a medium as its Object shape, or 404 "<Media> not found!".
fn one(
    conn: &rusqlite::Connection,
    medium: &'static Medium,
    content_id: i64,
) -> ApiResult<Map<String, Value>> {
    catalogue::load(conn, &medium.table, &[content_id], Shape::object(medium))?
        .pop()
        .ok_or_else(|| ApiError::not_found(medium.not_found_message()))
}

/// One content, with its genres.
#[utoipa::path(get, path = "/api/{medium}/{content_id}", tag = "media", security(("bearer" = [])),
    params(("medium" = String, Path), ("content_id" = i64, Path)),
    responses((status = 200, description = "\"<Media> data sent\"", body = super::schemas::ContentReply),
              (status = 404, description = "\"User not found!\" or \"<Media> not found!\"", body = super::schemas::MessageReply)))]
#[get("/<medium>/<content_id>", rank = 5)]
async fn get_content(
    state: &State<AppState>,
    bearer: Bearer,
    medium: MediumParam,
    content_id: IntId,
) -> ApiResult<Reply> {
    let token = state.auth.verify(&bearer).await?;
    let medium = medium.0;
    let item = state
        .db
        .run(move |conn| {
            caller_in(conn, &token)?;
            one(conn, medium, content_id.0)
        })
        .await?;
    Ok(Reply::with(
        Status::Ok,
        &medium.search_message(),
        &[("content", Value::Object(item))],
    ))
}

/// Body schemas of `PATCH /api/{m}/<id>`: each medium's columns with their types, plus `genres`.
static MODIFY_SCHEMAS: LazyLock<Vec<Schema>> = LazyLock::new(|| {
    MEDIA
        .iter()
        .map(|medium| {
            let mut fields: Vec<Field> = medium
                .table
                .columns
                .iter()
                .map(|c| {
                    Field::optional(
                        c.name,
                        if c.kind == Kind::Integer {
                            Ty::Integer
                        } else {
                            Ty::String
                        },
                    )
                })
                .collect();
            fields.push(Field::optional("genres", Ty::Array(&Ty::Integer)));
            // Built once per medium for the life of the process.
            Schema(Vec::leak(fields))
        })
        .collect()
});

fn modify_schema(medium: &Medium) -> ApiResult<&'static Schema> {
    let index = MEDIA
        .iter()
        .position(|m| std::ptr::eq(m, medium))
        .ok_or_else(|| ApiError::internal("unknown medium"))?;
    MODIFY_SCHEMAS
        .get(index)
        .ok_or_else(|| ApiError::internal("no schema"))
}

/// Change a content's fields and/or genres (`modify_content`); one `changed_event` per changed column.
#[utoipa::path(patch, path = "/api/{medium}/{content_id}", tag = "media", security(("bearer" = [])),
    params(("medium" = String, Path), ("content_id" = i64, Path)),
    request_body(content = Object, description = "Any of the medium's columns (types as in its Object shape) and `genres` (genre ids)"),
    responses((status = 201, description = "\"<Media> updated successfully\" with the content", body = super::schemas::ContentReply),
              (status = 400, description = "Validation error (wrong type, unknown field, a unique value already used)", body = super::schemas::ValidationErrors),
              (status = 403, description = "\"Permission missing\"", body = super::schemas::MessageReply),
              (status = 404, description = "\"User not found!\", \"<Media> not found!\" or \"Genre <id> not found!\"", body = super::schemas::MessageReply)))]
#[patch("/<medium>/<content_id>", data = "<body>", rank = 5)]
async fn modify_content(
    state: &State<AppState>,
    bearer: Bearer,
    medium: MediumParam,
    content_id: IntId,
    body: Body,
) -> ApiResult<Reply> {
    let medium = medium.0;
    let schema = modify_schema(medium)?;
    let input = body.validate(schema)?;
    let token = state.auth.verify(&bearer).await?;
    let mut errors = Vec::new();
    unknown_fields(&input, schema, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let changes: Vec<(&'static str, rusqlite::types::Value)> = medium
        .table
        .columns
        .iter()
        .filter_map(|c| {
            input
                .get(c.name)
                .map(|v| (c.name, catalogue::column_value(c.kind, v)))
        })
        .collect();
    let new_genres: Option<Vec<i64>> = input
        .get("genres")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_i64).collect());
    let item = state
        .db
        .write(move |conn| {
            let me = caller_in(conn, &token)?;
            auth::require(&token, "modify_content")?;
            if !catalogue::is_of(conn, &medium.table, content_id.0)? {
                return Err(ApiError::not_found(medium.not_found_message()));
            }
            if let Some(unknown) = new_genres
                .as_deref()
                .map(|g| genres::first_unknown(conn, g))
                .transpose()?
                .flatten()
            {
                return Err(ApiError::not_found(format!("Genre {unknown} not found!")));
            }
            let tx = db::write_transaction(conn)?;
            let ctx = EventContext::now(Some(me.user_id));
            match catalogue::modify(&tx, &ctx, &medium.table, content_id.0, &changes) {
                Err(e) if db::is_unique_violation(&e) => return Err(taken_in_catalogue(medium)),
                other => other?,
            };
            if let Some(genres) = &new_genres {
                catalogue::set_genres(&tx, &ctx, &medium.table, content_id.0, genres)?;
            }
            tx.commit()?;
            one(conn, medium, content_id.0)
        })
        .await?;
    Ok(Reply::with(
        Status::Created,
        &format!("{} updated successfully", medium.display),
        &[("content", Value::Object(item))],
    ))
}

/// Delete a content with its dependants (`delete_content`); writes a `deletion_event`.
#[utoipa::path(delete, path = "/api/{medium}/{content_id}", tag = "media", security(("bearer" = [])),
    params(("medium" = String, Path), ("content_id" = i64, Path)),
    responses((status = 201, description = "\"<Media> successfully deleted\"", body = super::schemas::MessageReply),
              (status = 403, description = "\"Permission missing\"", body = super::schemas::MessageReply),
              (status = 404, description = "\"User not found!\" or \"<Media> not found!\"", body = super::schemas::MessageReply)))]
#[delete("/<medium>/<content_id>", rank = 5)]
async fn delete_content(
    state: &State<AppState>,
    bearer: Bearer,
    medium: MediumParam,
    content_id: IntId,
) -> ApiResult<Reply> {
    let token = state.auth.verify(&bearer).await?;
    let medium = medium.0;
    state
        .db
        .write(move |conn| {
            let me = caller_in(conn, &token)?;
            auth::require(&token, "delete_content")?;
            let tx = db::write_transaction(conn)?;
            if !catalogue::is_of(&tx, &medium.table, content_id.0)? {
                return Err(ApiError::not_found(medium.not_found_message()));
            }
            catalogue::delete(
                &tx,
                &EventContext::now(Some(me.user_id)),
                &medium.table,
                content_id.0,
            )?;
            tx.commit()?;
            Ok(())
        })
        .await?;
    Ok(Reply::message(
        Status::Created,
        &format!("{} successfully deleted", medium.display),
    ))
}
