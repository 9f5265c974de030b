//! Content proposals (`/api/{m}`, `/api/{m}/additional…`) and bad-recommendation reports, for the six
//! media at once (api-reference.md 2.8, 2.9, 5.4, 5.10; decisions F3, F8).

use super::body::{Body, Field, Schema, Ty};
use super::media::{MediumParam, taken_in_catalogue};
use super::params::IntId;
use super::reply::{Reply, strict_page};
use super::schemas;
use super::{AppState, caller_in};
use crate::auth::{self, Bearer};
use crate::db::proposals::{self, EpisodeProposal};
use crate::db::{self, catalogue, genres, meta};
use crate::error::{ApiError, ApiResult};
use crate::events::EventContext;
use crate::media::{Kind, MEDIA, Medium};
use crate::util::pyjson;
use rocket::http::Status;
use rocket::{Route, State, delete, get, post, put, routes};
use rusqlite::types::Value as Sql;
use serde_json::Value;
use std::sync::LazyLock;

pub fn routes() -> Vec<Route> {
    routes![
        propose,
        list_proposals,
        validate_proposal,
        decline_proposal,
        report_bad_recommendation
    ]
}

static EPISODE_FIELDS: [Field; 6] = [
    Field::optional("title", Ty::String),
    Field::optional("imdbid", Ty::String),
    Field::optional("year", Ty::Integer),
    Field::optional("season_number", Ty::Integer),
    Field::optional("episode_number", Ty::Integer),
    Field::optional("genres", Ty::Array(&Ty::Integer)),
];
static EPISODE_TY: Ty = Ty::Object(&EPISODE_FIELDS);

/// Track proposals give `spotify_id` as a number (stored as text), as the reference's model says.
fn proposal_ty(medium: &Medium, column: &str, kind: Kind) -> Ty {
    match (medium.name(), column, kind) {
        ("track", "spotify_id", _) => Ty::Number,
        (_, _, Kind::Integer) => Ty::Integer,
        _ => Ty::String,
    }
}

/// Body schemas, one per medium, built once for the life of the process.
static PROPOSE_SCHEMAS: LazyLock<Vec<Schema>> = LazyLock::new(|| {
    MEDIA
        .iter()
        .map(|medium| {
            // Every key is optional at Layer A, as in the reference; the keys it needed are checked
            // after the caller and the permission (see `missing_keys`).
            let field = |name: &'static str, ty: Ty| Field::optional(name, ty);
            let mut fields: Vec<Field> = proposals::columns(medium)
                .map(|c| field(c.name, proposal_ty(medium, c.name, c.kind)))
                .collect();
            if medium.proposal.genres_table.is_some() {
                fields.push(field("genres", Ty::Array(&Ty::Integer)));
            }
            if medium.name() == "serie" {
                fields.push(Field::optional("episodes", Ty::Array(&EPISODE_TY)));
            }
            Schema(Vec::leak(fields))
        })
        .collect()
});

/// Bad-recommendation bodies: each reason category of the medium, an array of strings (F3: movies use
/// their own categories, not the application's).
static REPORT_SCHEMAS: LazyLock<Vec<Schema>> = LazyLock::new(|| {
    MEDIA
        .iter()
        .map(|medium| {
            let fields: Vec<Field> = medium
                .reason_categories
                .iter()
                .map(|c| Field::optional(c, Ty::Array(&Ty::String)))
                .collect();
            Schema(Vec::leak(fields))
        })
        .collect()
});

fn schema_of(schemas: &'static [Schema], medium: &Medium) -> ApiResult<&'static Schema> {
    let index = MEDIA
        .iter()
        .position(|m| std::ptr::eq(m, medium))
        .ok_or_else(|| ApiError::internal("unknown medium"))?;
    schemas
        .get(index)
        .ok_or_else(|| ApiError::internal("no schema"))
}

fn ids(value: Option<&Value>) -> Vec<i64> {
    value
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default()
}

fn sql_text(value: Option<&Value>) -> Sql {
    match value {
        Some(Value::String(s)) => Sql::Text(s.clone()),
        Some(Value::Number(n)) if n.is_f64() => n
            .as_f64()
            .map_or(Sql::Null, |f| Sql::Text(pyjson::python_float(f))),
        Some(Value::Number(n)) => Sql::Text(n.to_string()),
        _ => Sql::Null,
    }
}

/// Propose a content (pending an admin's validation).
#[utoipa::path(post, path = "/api/{medium}", tag = "media", security(("bearer" = [])), params(("medium" = String, Path)),
    request_body(content = Object, description = "The medium's proposal fields (2.9), `genres` (ids), and for series `episodes`"),
    responses((status = 201, description = "\"<Media> have been added to validation.\"", body = schemas::MessageReply),
              (status = 400, description = "Layer A error, or a name/ISBN already proposed", body = schemas::PayloadErrors),
              (status = 403, description = "\"Permission missing\" (add_content)", body = schemas::MessageReply),
              (status = 404, description = "\"User not found!\" or \"Genre <id> not found!\"", body = schemas::MessageReply)))]
#[post("/<medium>", data = "<body>", rank = 6)]
async fn propose(
    state: &State<AppState>,
    bearer: Bearer,
    medium: MediumParam,
    body: Body,
) -> ApiResult<Reply> {
    let medium = medium.0;
    let input = body.validate(schema_of(&PROPOSE_SCHEMAS, medium)?)?;
    // The reference read these keys unconditionally and failed after its own checks: so do ours.
    let mut deferred = serde_json::Map::new();
    for key in medium.proposal.required {
        if !input.contains_key(*key) {
            deferred.insert(
                (*key).into(),
                Value::String(format!("'{key}' is a required property")),
            );
        }
    }
    if let Some(Value::String(mbid)) = input.get("recording_mbid")
        && uuid::Uuid::parse_str(mbid).is_err()
    {
        deferred.insert(
            "recording_mbid".into(),
            Value::String(format!("{} is not a 'uuid'", pyjson::repr_str(mbid))),
        );
    }
    let token = state.auth.verify(&bearer).await?;
    let values: Vec<Sql> = proposals::columns(medium)
        .map(|c| match (medium.name(), c.name) {
            ("track", "spotify_id") => sql_text(input.get(c.name)),
            _ => input
                .get(c.name)
                .map_or(Sql::Null, |v| catalogue::column_value(c.kind, v)),
        })
        .collect();
    let genre_ids = ids(input.get("genres"));
    let episodes: Vec<EpisodeProposal> = input
        .get("episodes")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|e| EpisodeProposal {
                    values: ["imdbid", "title", "year", "season_number", "episode_number"]
                        .iter()
                        .map(|k| match e.get(*k) {
                            Some(Value::String(s)) => Sql::Text(s.clone()),
                            Some(Value::Number(n)) => n.as_i64().map_or(Sql::Null, Sql::Integer),
                            _ => Sql::Null,
                        })
                        .collect(),
                    genres: ids(e.get("genres")),
                })
                .collect()
        })
        .unwrap_or_default();
    state
        .db
        .write(move |conn| {
            caller_in(conn, &token)?;
            auth::require(&token, "add_content")?;
            if !deferred.is_empty() {
                return Err(ApiError::PayloadInvalid(deferred));
            }
            let every_genre: Vec<i64> = genre_ids
                .iter()
                .chain(episodes.iter().flat_map(|e| e.genres.iter()))
                .copied()
                .collect();
            if let Some(unknown) = genres::first_unknown(conn, &every_genre)? {
                return Err(ApiError::not_found(format!("Genre {unknown} not found!")));
            }
            let tx = db::write_transaction(conn)?;
            match proposals::create(&tx, medium, &values, &genre_ids, &episodes) {
                Err(e) if db::is_unique_violation(&e) => {
                    return Err(ApiError::Validation(vec![format!(
                        "This {} is already proposed.",
                        medium.unique_column()
                    )]));
                }
                other => other?,
            };
            tx.commit()?;
            Ok(())
        })
        .await?;
    Ok(Reply::message(
        Status::Created,
        &format!("{} have been added to validation.", medium.display),
    ))
}

/// Everybody's pending proposals of a medium.
#[utoipa::path(get, path = "/api/{medium}/additional", tag = "media", security(("bearer" = [])),
    params(("medium" = String, Path), ("page" = Option<schemas::StrictPage>, Query)),
    responses((status = 200, description = "\"Additional <x> data sent\", paginated", body = schemas::ContentPage),
              (status = 400, description = "page is not an integer", body = schemas::PayloadErrors),
              (status = 403, description = "\"Permission missing\" (add_content)", body = schemas::MessageReply),
              (status = 404, description = "\"User not found!\"", body = schemas::MessageReply)))]
#[get("/<medium>/additional?<page>", rank = 2)]
async fn list_proposals(
    state: &State<AppState>,
    bearer: Bearer,
    medium: MediumParam,
    page: Option<String>,
) -> ApiResult<Reply> {
    let medium = medium.0;
    let token = state.auth.verify(&bearer).await?;
    let page = strict_page(page.as_deref())?;
    let (limit, offset) = page.window();
    let (rows, total) = state
        .db
        .run(move |conn| {
            caller_in(conn, &token)?;
            auth::require(&token, "add_content")?;
            Ok(proposals::list(conn, medium, limit, offset)?)
        })
        .await?;
    Ok(Reply::page(
        medium.proposal.list_message,
        &page,
        total,
        rows.into_iter().map(Value::Object).collect(),
    ))
}

fn proposal_not_found(medium: &Medium) -> ApiError {
    ApiError::not_found(format!("Additional {} not found!", medium.proposal.noun))
}

/// Accept a proposal: it becomes a content (with its `_added_event`), series with their episodes.
#[utoipa::path(put, path = "/api/{medium}/additional/{id}", tag = "media", security(("bearer" = [])),
    params(("medium" = String, Path), ("id" = i64, Path)),
    responses((status = 201, description = "\"Additional <x> data successfully validated\"", body = schemas::MessageReply),
              (status = 400, description = "The name/ISBN is already in the catalogue", body = schemas::ValidationErrors),
              (status = 403, description = "\"Permission missing\" (validate_added_content)", body = schemas::MessageReply),
              (status = 404, description = "\"User not found!\" or \"Additional <x> not found!\"", body = schemas::MessageReply)))]
#[put("/<medium>/additional/<id>")]
async fn validate_proposal(
    state: &State<AppState>,
    bearer: Bearer,
    medium: MediumParam,
    id: IntId,
) -> ApiResult<Reply> {
    let medium = medium.0;
    let token = state.auth.verify(&bearer).await?;
    state
        .db
        .write(move |conn| {
            caller_in(conn, &token)?;
            auth::require(&token, "validate_added_content")?;
            let tx = db::write_transaction(conn)?;
            // Added events carry no author (api-reference.md 4.1: occured_by NULL).
            match proposals::validate(&tx, &EventContext::now(None), medium, id.0) {
                Ok(Some(_)) => {}
                Ok(None) => return Err(proposal_not_found(medium)),
                Err(e) if db::is_unique_violation(&e) => return Err(taken_in_catalogue(medium)),
                Err(e) => return Err(e.into()),
            }
            tx.commit()?;
            Ok(())
        })
        .await?;
    Ok(Reply::message(
        Status::Created,
        &format!(
            "Additional {} data successfully validated",
            medium.proposal.noun
        ),
    ))
}

/// Reject a proposal.
#[utoipa::path(delete, path = "/api/{medium}/additional/{id}", tag = "media", security(("bearer" = [])),
    params(("medium" = String, Path), ("id" = i64, Path)),
    responses((status = 201, description = "\"Additional <x> successfully deleted\"", body = schemas::MessageReply),
              (status = 403, description = "\"Permission missing\" (delete_content)", body = schemas::MessageReply),
              (status = 404, description = "\"User not found!\" or \"Additional <x> not found!\"", body = schemas::MessageReply)))]
#[delete("/<medium>/additional/<id>")]
async fn decline_proposal(
    state: &State<AppState>,
    bearer: Bearer,
    medium: MediumParam,
    id: IntId,
) -> ApiResult<Reply> {
    let medium = medium.0;
    let token = state.auth.verify(&bearer).await?;
    state
        .db
        .write(move |conn| {
            caller_in(conn, &token)?;
            auth::require(&token, "delete_content")?;
            let tx = db::write_transaction(conn)?;
            if !proposals::exists(&tx, medium, id.0)? {
                return Err(proposal_not_found(medium));
            }
            proposals::delete(&tx, medium, id.0)?;
            tx.commit()?;
            Ok(())
        })
        .await?;
    Ok(Reply::message(
        Status::Created,
        &format!("Additional {} successfully deleted", medium.proposal.noun),
    ))
}

/// Report why a recommended content was wrong for the caller (every category and reason kept once).
#[utoipa::path(post, path = "/api/{medium}/{content_id}/bad_recommendation", tag = "media", security(("bearer" = [])),
    params(("medium" = String, Path), ("content_id" = i64, Path)),
    request_body(content = Object, description = "For each of the medium's reason categories, an array of reasons (strings)"),
    responses((status = 201, description = "\"Bad recommendation has been registered.\"", body = schemas::MessageReply),
              (status = 400, description = "A category's value is not an array of strings", body = schemas::PayloadErrors),
              (status = 404, description = "\"User not found!\" or \"<Media> not found!\"", body = schemas::MessageReply)))]
#[post("/<medium>/<content_id>/bad_recommendation", data = "<body>")]
async fn report_bad_recommendation(
    state: &State<AppState>,
    bearer: Bearer,
    medium: MediumParam,
    content_id: IntId,
    body: Body,
) -> ApiResult<Reply> {
    let medium = medium.0;
    let schema = schema_of(&REPORT_SCHEMAS, medium)?;
    let input = body.validate(schema)?;
    let token = state.auth.verify(&bearer).await?;
    // Keys that are not categories of the medium are ignored, as in the reference.
    let reasons: Vec<(String, String)> = medium
        .reason_categories
        .iter()
        .flat_map(|category| {
            input
                .get(*category)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(move |reason| ((*category).to_owned(), reason.to_owned()))
        })
        .collect();
    state
        .db
        .write(move |conn| {
            let me = caller_in(conn, &token)?;
            if !catalogue::is_of(conn, &medium.table, content_id.0)? {
                return Err(ApiError::not_found(medium.not_found_message()));
            }
            let tx = db::write_transaction(conn)?;
            meta::report_bad(&tx, me.user_id, content_id.0, &reasons)?;
            tx.commit()?;
            Ok(())
        })
        .await?;
    Ok(Reply::message(
        Status::Created,
        "Bad recommendation has been registered.",
    ))
}
