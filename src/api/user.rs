//! `/api/user`: accounts, liked genres, search and export (api-reference.md 2.3; decisions F1, F4, F9).

use super::body::{Body, Field, Rule, Schema, Ty, text, unknown_fields};
use super::params::{IntId, UuidParam};
use super::reply::{Page, Reply, to_value, to_values};
use super::schemas;
use super::shapes::{UserBase, UserExport, UserObject};
use super::{AppState, caller};
use crate::auth::{self, Bearer};
use crate::db::users::{self, User, UserChanges};
use crate::db::{self, genres, tokens};
use crate::error::{ApiError, ApiResult};
use crate::rules::{self, PasswordPolicy};
use rocket::http::Status;
use rocket::{Route, State, delete, get, patch, put, routes};

pub fn routes() -> Vec<Route> {
    routes![
        get_user,
        update_user,
        delete_user,
        define_preferences,
        search_users,
        list_liked_genres,
        like_genre,
        unlike_genre,
        export_user
    ]
}

const USER_NOT_FOUND: &str = "User not found!";
const MODIFY_PROFILE: &str = "modify_user_profil";

async fn find_user(state: &AppState, uuid: String) -> ApiResult<Option<User>> {
    state
        .db
        .run(move |conn| Ok(users::find_by_uuid(conn, &uuid)?))
        .await
}

/// One user's data (the target's, decisions F1).
#[utoipa::path(get, path = "/api/user/{uuid}", tag = "user", security(("bearer" = [])),
    params(("uuid" = String, Path, description = "User UUID")),
    responses(
        (status = 200, description = "\"User data sent\"", body = schemas::UserReply),
        (status = 404, description = "\"User not found!\" (target, then caller)", body = schemas::MessageReply),
    ))]
#[get("/<uuid>")]
async fn get_user(state: &State<AppState>, bearer: Bearer, uuid: UuidParam) -> ApiResult<Reply> {
    let token = state.auth.verify(&bearer).await?;
    let target = find_user(state, uuid.0)
        .await?
        .ok_or_else(|| ApiError::not_found(USER_NOT_FOUND))?;
    caller(state, &token).await?;
    let user = state
        .db
        .run(move |conn| Ok(UserObject::load(conn, &target, &token.identity)?))
        .await?;
    Ok(Reply::with(
        Status::Ok,
        "User data sent",
        &[("user", to_value(&user))],
    ))
}

pub static USER_PATCH: Schema = Schema(&[
    Field::optional("username", Ty::String).checked(Rule::Text(&rules::USERNAME)),
    Field::optional("password", Ty::String).checked(Rule::Password(PasswordPolicy::ResetOrUpdate)),
    Field::optional("email", Ty::String).checked(Rule::Text(&rules::EMAIL)),
]);

/// Change one's own username, e-mail or password.
#[utoipa::path(patch, path = "/api/user/{uuid}", tag = "user", security(("bearer" = [])),
    params(("uuid" = String, Path, description = "User UUID")), request_body = schemas::UserPatchBody,
    responses(
        (status = 201, description = "\"User updated successfully\"", body = schemas::MessageReply),
        (status = 400, description = "Validation error, or \"Email is already being used.\"", body = schemas::ValidationErrors),
        (status = 403, description = "\"Permission missing\" or not one's own account", body = schemas::MessageReply),
        (status = 404, description = "\"User not found!\"", body = schemas::MessageReply),
    ))]
#[patch("/<uuid>", data = "<body>")]
async fn update_user(
    state: &State<AppState>,
    bearer: Bearer,
    uuid: UuidParam,
    body: Body,
) -> ApiResult<Reply> {
    let input = body.validate(&USER_PATCH)?;
    let token = state.auth.verify(&bearer).await?;
    let mut errors = Vec::new();
    unknown_fields(&input, &USER_PATCH, &mut errors);
    let (username, email, password) = (
        text(&input, "username"),
        text(&input, "email"),
        text(&input, "password"),
    );
    if let Some(email) = email {
        rules::check_email(email, &mut errors);
    }
    if let Some(username) = username {
        rules::check_username(username, &mut errors);
    }
    if let Some(password) = password {
        rules::check_password(password, PasswordPolicy::ResetOrUpdate, &mut errors);
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }

    let target = find_user(state, uuid.0)
        .await?
        .ok_or_else(|| ApiError::not_found(USER_NOT_FOUND))?;
    auth::require(&token, MODIFY_PROFILE)?;
    let me = caller(state, &token).await?;
    if me.user_id != target.user_id {
        return Err(ApiError::forbidden(
            "Unable to update an account which is not your's",
        ));
    }
    let password_hash = match password {
        Some(password) => Some(state.auth.hasher.hash(password.to_owned()).await?),
        None => None,
    };
    let changes = UserChanges {
        username: username.map(str::to_owned),
        email: email.map(str::to_owned),
        password_hash,
    };
    let kept = token.jti.clone();
    state
        .db
        .write(move |conn| {
            let tx = db::write_transaction(conn)?;
            if let Some(email) = &changes.email
                && users::email_taken(&tx, email, Some(me.user_id))?
            {
                return Err(ApiError::Validation(vec![rules::EMAIL_TAKEN.into()]));
            }
            match users::update(&tx, me.user_id, &changes) {
                Err(e) if db::is_unique_violation(&e) => {
                    return Err(ApiError::Validation(vec![rules::EMAIL_TAKEN.into()]));
                }
                other => other?,
            }
            // A new password ends the other sessions; the caller's own goes on (decisions F20).
            if changes.password_hash.is_some() {
                tokens::void_all(&tx, me.user_id, kept.as_deref())?;
            }
            tx.commit()?;
            Ok(())
        })
        .await?;
    Ok(Reply::message(Status::Created, "User updated successfully"))
}

/// Delete one's own account and everything that belongs to it.
#[utoipa::path(delete, path = "/api/user/{uuid}", tag = "user", security(("bearer" = [])),
    params(("uuid" = String, Path, description = "User UUID")),
    responses(
        (status = 201, description = "\"User account deleted successfully\"", body = schemas::MessageReply),
        (status = 403, description = "\"Permission missing\" or not one's own account", body = schemas::MessageReply),
        (status = 404, description = "\"User not found!\"", body = schemas::MessageReply),
    ))]
#[delete("/<uuid>")]
async fn delete_user(state: &State<AppState>, bearer: Bearer, uuid: UuidParam) -> ApiResult<Reply> {
    let token = state.auth.verify(&bearer).await?;
    let target = find_user(state, uuid.0)
        .await?
        .ok_or_else(|| ApiError::not_found(USER_NOT_FOUND))?;
    auth::require(&token, MODIFY_PROFILE)?;
    let me = caller(state, &token).await?;
    if me.user_id != target.user_id {
        return Err(ApiError::forbidden(
            "Unable to delete an account which is not your's",
        ));
    }
    state
        .db
        .write(move |conn| Ok(users::delete(conn, me.user_id)?))
        .await?;
    Ok(Reply::message(
        Status::Created,
        "User account deleted successfully",
    ))
}

/// Mark the onboarding (liked genres, first ratings) as done.
#[utoipa::path(put, path = "/api/user/preferences_defined", tag = "user", security(("bearer" = [])),
    responses(
        (status = 201, description = "\"User updated successfully\"", body = schemas::MessageReply),
        (status = 403, description = "\"Permission missing\"", body = schemas::MessageReply),
        (status = 404, description = "\"User not found!\"", body = schemas::MessageReply),
    ))]
#[put("/preferences_defined")]
async fn define_preferences(state: &State<AppState>, bearer: Bearer) -> ApiResult<Reply> {
    let token = state.auth.verify(&bearer).await?;
    let me = caller(state, &token).await?;
    auth::require(&token, MODIFY_PROFILE)?;
    state
        .db
        .write(move |conn| {
            users::set_preferences_defined(conn, me.user_id)?;
            // The reference asked its engine for this user's lists here (5.6); ours computes them now.
            crate::engine::personal::refresh_user(conn, me.user_id)
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            Ok(())
        })
        .await?;
    Ok(Reply::message(Status::Created, "User updated successfully"))
}

/// Users whose name contains the term (case-insensitive, literal), 24 a page.
#[utoipa::path(get, path = "/api/user/search/{search_term}", tag = "user", security(("bearer" = [])),
    params(("search_term" = String, Path), ("page" = Option<schemas::LenientPage>, Query)),
    responses(
        (status = 200, description = "Paginated, message \"Track data sent\" (sic)", body = schemas::UserPage),
        (status = 404, description = "\"User not found!\"", body = schemas::MessageReply),
    ))]
#[get("/search/<search_term>?<page>")]
async fn search_users(
    state: &State<AppState>,
    bearer: Bearer,
    search_term: String,
    page: Option<String>,
) -> ApiResult<Reply> {
    let token = state.auth.verify(&bearer).await?;
    caller(state, &token).await?;
    let page = Page::lenient(page.as_deref());
    let (limit, offset) = page.window();
    let (found, total) = state
        .db
        .run(move |conn| Ok(users::search(conn, &search_term, limit, offset)?))
        .await?;
    let content: Vec<UserBase> = found
        .iter()
        .map(|user| UserBase::seen_by(user, &token.identity))
        .collect();
    Ok(Reply::page(
        "Track data sent",
        &page,
        total,
        to_values(&content),
    ))
}

/// The genres the caller likes (all media).
#[utoipa::path(get, path = "/api/user/genre", tag = "user", security(("bearer" = [])),
    responses(
        (status = 200, description = "\"User liked genre sent\"", body = schemas::GenreList),
        (status = 404, description = "\"User not found!\"", body = schemas::MessageReply),
    ))]
#[get("/genre")]
async fn list_liked_genres(state: &State<AppState>, bearer: Bearer) -> ApiResult<Reply> {
    let token = state.auth.verify(&bearer).await?;
    let me = caller(state, &token).await?;
    let liked = state
        .db
        .run(move |conn| Ok(users::liked_genres(conn, me.user_id)?))
        .await?;
    Ok(Reply::with(
        Status::Ok,
        "User liked genre sent",
        &[("content", to_value(&liked))],
    ))
}

/// Shared checks of like/unlike: caller, permission, genre.
async fn genre_target(state: &AppState, bearer: &Bearer, genre_id: i64) -> ApiResult<User> {
    let token = state.auth.verify(bearer).await?;
    let me = caller(state, &token).await?;
    auth::require(&token, MODIFY_PROFILE)?;
    if !state
        .db
        .run(move |conn| Ok(genres::exists(conn, genre_id)?))
        .await?
    {
        return Err(ApiError::not_found("Genre not found!"));
    }
    Ok(me)
}

/// Like a genre (liking it again changes nothing, decisions F4).
#[utoipa::path(put, path = "/api/user/genre/{genre_id}", tag = "user", security(("bearer" = [])),
    params(("genre_id" = i64, Path)),
    responses(
        (status = 201, description = "\"User liked this genre\"", body = schemas::MessageReply),
        (status = 403, description = "\"Permission missing\"", body = schemas::MessageReply),
        (status = 404, description = "\"User not found!\" or \"Genre not found!\"", body = schemas::MessageReply),
    ))]
#[put("/genre/<genre_id>")]
async fn like_genre(state: &State<AppState>, bearer: Bearer, genre_id: IntId) -> ApiResult<Reply> {
    let me = genre_target(state, &bearer, genre_id.0).await?;
    state
        .db
        .write(move |conn| Ok(users::like_genre(conn, me.user_id, genre_id.0)?))
        .await?;
    // The user's lists follow their genres (queued by the trigger of V13).
    state.engine_signal.wake();
    Ok(Reply::message(Status::Created, "User liked this genre"))
}

/// Stop liking a genre.
#[utoipa::path(delete, path = "/api/user/genre/{genre_id}", tag = "user", security(("bearer" = [])),
    params(("genre_id" = i64, Path)),
    responses(
        (status = 201, description = "\"User liked this genre\" (sic)", body = schemas::MessageReply),
        (status = 400, description = "\"You didn't like this genre\"", body = schemas::MessageReply),
        (status = 403, description = "\"Permission missing\"", body = schemas::MessageReply),
        (status = 404, description = "\"User not found!\" or \"Genre not found!\"", body = schemas::MessageReply),
    ))]
#[delete("/genre/<genre_id>")]
async fn unlike_genre(
    state: &State<AppState>,
    bearer: Bearer,
    genre_id: IntId,
) -> ApiResult<Reply> {
    let me = genre_target(state, &bearer, genre_id.0).await?;
    let removed = state
        .db
        .write(move |conn| Ok(users::unlike_genre(conn, me.user_id, genre_id.0)?))
        .await?;
    if !removed {
        return Err(ApiError::bad_request("You didn't like this genre"));
    }
    state.engine_signal.wake();
    Ok(Reply::message(Status::Created, "User liked this genre"))
}

/// Everything stored about the caller (decisions F9).
#[utoipa::path(get, path = "/api/user/export", tag = "user", security(("bearer" = [])),
    responses(
        (status = 200, description = "\"User data exported\"", body = schemas::ExportReply),
        (status = 404, description = "\"User not found!\"", body = schemas::MessageReply),
    ))]
#[get("/export")]
async fn export_user(state: &State<AppState>, bearer: Bearer) -> ApiResult<Reply> {
    let token = state.auth.verify(&bearer).await?;
    let me = caller(state, &token).await?;
    let export = state
        .db
        .run(move |conn| Ok(UserExport::load(conn, &me)?))
        .await?;
    Ok(Reply::with(
        Status::Ok,
        "User data exported",
        &[("user", to_value(&export))],
    ))
}
