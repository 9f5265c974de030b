//! `/api/auth`: login, registration, logout, password forget/reset (api-reference.md 2.2).

use super::AppState;
use super::body::{Body, Field, Rule, Schema, Ty, text, unknown_fields};
use super::reply::{Reply, to_value};
use super::schemas::{self, LoginReply};
use super::shapes::UserBase;
use crate::auth::Bearer;
use crate::auth::jwt::password_fingerprint;
use crate::db::{self, mail as outbox, tokens, users};
use crate::error::{ApiError, ApiResult};
use crate::mail;
use crate::rules::{self, PasswordPolicy};
use rocket::http::{ContentType, Status};
use rocket::{Route, State, post, routes};

pub fn routes() -> Vec<Route> {
    routes![login, register, logout, forget, reset]
}

pub static LOGIN: Schema = Schema(&[
    Field::required("email", Ty::String).checked(Rule::Text(&rules::EMAIL)),
    Field::required("password", Ty::String).checked(Rule::Text(&rules::PASSWORD_AT_LOGIN)),
]);
pub static REGISTER: Schema = Schema(&[
    Field::required("email", Ty::String).checked(Rule::Text(&rules::EMAIL)),
    Field::required("username", Ty::String).checked(Rule::Text(&rules::USERNAME)),
    Field::required("password", Ty::String).checked(Rule::Password(PasswordPolicy::Register)),
]);
pub static FORGET: Schema =
    Schema(&[Field::required("email", Ty::String).checked(Rule::Text(&rules::EMAIL))]);
pub static RESET: Schema = Schema(&[
    Field::required("reset_password_token", Ty::String).checked(Rule::Text(&rules::RESET_TOKEN)),
    Field::required("password", Ty::String).checked(Rule::Password(PasswordPolicy::ResetOrUpdate)),
]);

fn reject(errors: Vec<String>) -> ApiResult<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// The client's address: the socket's, or the trusted proxy's header (Rocket's `ip_header`).
pub struct ClientAddress(Option<std::net::IpAddr>);

#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for ClientAddress {
    type Error = std::convert::Infallible;

    async fn from_request(
        request: &'r rocket::Request<'_>,
    ) -> rocket::request::Outcome<Self, Self::Error> {
        rocket::request::Outcome::Success(ClientAddress(request.client_ip()))
    }
}

fn email_taken() -> ApiError {
    ApiError::Validation(vec![rules::EMAIL_TAKEN.into()])
}

/// Log in with e-mail and password.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = schemas::LoginBody,
    responses(
        (status = 200, description = "Logged in", body = LoginReply),
        (status = 400, description = "Layer A or Layer B validation error", body = schemas::ValidationErrors),
        (status = 401, description = "Unknown e-mail or wrong password: \"Failed to log in.\"", body = schemas::MessageReply),
    ))]
#[post("/login", data = "<body>")]
async fn login(state: &State<AppState>, client: ClientAddress, body: Body) -> ApiResult<Reply> {
    let input = body.validate(&LOGIN)?;
    let (email, password) = (
        text(&input, "email").unwrap_or_default(),
        text(&input, "password").unwrap_or_default(),
    );
    let mut errors = Vec::new();
    unknown_fields(&input, &LOGIN, &mut errors);
    rules::check_email(email, &mut errors);
    rules::check_password_length(password, &mut errors);
    reject(errors)?;

    // Over the limit of failures (F22): refused before the password is even checked.
    if let Some(retry_after) = state.throttle.login_refused_for(email, client.0) {
        return Err(ApiError::TooManyAttempts { retry_after });
    }
    let lookup = email.to_owned();
    let user = state
        .db
        .run(move |conn| Ok(users::find_by_email(conn, &lookup)?))
        .await?;
    let matches = state
        .auth
        .hasher
        .verify(
            password.to_owned(),
            user.as_ref().map(|u| u.password_hash.clone()),
        )
        .await?;
    let Some(user) = user.filter(|_| matches) else {
        state.throttle.login_failed(email, client.0);
        return Err(ApiError::unauthorized("Failed to log in."));
    };
    let user_id = user.user_id;
    let permissions = state
        .db
        .run(move |conn| Ok(users::permissions(conn, user_id)?))
        .await?;
    let token = state.auth.access_token(&user.uuid, &permissions)?;
    // Linked services are imported in the background (5.7): the login neither waits nor fails.
    state.imports.after_login(user_id);
    Ok(Reply::with(
        Status::Ok,
        "Successfully logged in.",
        &[
            ("user", to_value(&UserBase::seen_by(&user, &user.uuid))),
            ("access_token", token.into()),
        ],
    ))
}

/// Create an account (with the `user` role) and log it in.
#[utoipa::path(post, path = "/api/auth/register", tag = "auth", request_body = schemas::RegisterBody,
    responses(
        (status = 201, description = "Registered", body = LoginReply),
        (status = 400, description = "Validation error, or \"Email is already being used.\"", body = schemas::ValidationErrors),
    ))]
#[post("/register", data = "<body>")]
async fn register(state: &State<AppState>, body: Body) -> ApiResult<Reply> {
    let input = body.validate(&REGISTER)?;
    let email = text(&input, "email").unwrap_or_default().to_owned();
    let username = text(&input, "username").unwrap_or_default().to_owned();
    let password = text(&input, "password").unwrap_or_default().to_owned();
    let mut errors = Vec::new();
    unknown_fields(&input, &REGISTER, &mut errors);
    rules::check_email(&email, &mut errors);
    rules::check_username(&username, &mut errors);
    rules::check_password(&password, PasswordPolicy::Register, &mut errors);
    reject(errors)?;

    let probe = email.clone();
    if state
        .db
        .run(move |conn| Ok(users::email_taken(conn, &probe, None)?))
        .await?
    {
        return Err(email_taken());
    }
    let password_hash = state.auth.hasher.hash(password).await?;
    let uuid = uuid::Uuid::new_v4().to_string();
    let front_url = state.front_url.get().to_owned();
    let (user, permissions) = state
        .db
        .write(move |conn| {
            let tx = db::write_transaction(conn)?;
            let new_user = users::NewUser {
                uuid: &uuid,
                email: &email,
                username: &username,
                password_hash: &password_hash,
            };
            // A concurrent registration may have taken the address since the check above.
            match users::insert(&tx, &new_user) {
                Err(e) if db::is_unique_violation(&e) => return Err(email_taken()),
                other => other?,
            };
            let user = users::find_by_uuid(&tx, &uuid)?
                .ok_or_else(|| ApiError::internal("new user vanished"))?;
            users::attach_role(&tx, user.user_id, "user")?;
            outbox::enqueue(&tx, &mail::welcome(&front_url, &email, &username))?;
            let permissions = users::permissions(&tx, user.user_id)?;
            tx.commit()?;
            Ok((user, permissions))
        })
        .await?;
    state.mail_signal.wake();
    let token = state.auth.access_token(&user.uuid, &permissions)?;
    Ok(Reply::with(
        Status::Created,
        "User has been registered.",
        &[
            ("user", to_value(&UserBase::seen_by(&user, &user.uuid))),
            ("access_token", token.into()),
        ],
    ))
}

/// Revoke the presented access token.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 204, description = "Token revoked (empty body)"),
        (status = 401, description = "Missing or revoked token", body = schemas::TokenErrorBody),
        (status = 422, description = "Malformed token", body = schemas::TokenErrorBody),
    ))]
#[post("/logout")]
async fn logout(state: &State<AppState>, bearer: Bearer) -> ApiResult<Reply> {
    let token = state.auth.verify(&bearer).await?;
    let Some(jti) = token.jti else {
        return Err(ApiError::token(
            Status::UnprocessableEntity,
            "Missing claim: jti",
        ));
    };
    state
        .db
        .write(move |conn| Ok(tokens::revoke(conn, &jti)?))
        .await?;
    Ok(Reply::empty(Status::NoContent, ContentType::HTML))
}

const FORGET_MESSAGE: &str =
    "If your account exist, you will find an email to recover your password in your mailbox";

/// Mail a password-reset link (a one-hour token good for one reset) if the address has an account;
/// the answer is the same either way.
#[utoipa::path(post, path = "/api/auth/forget", tag = "auth", request_body = schemas::ForgetBody,
    responses(
        (status = 200, description = "Always the same message", body = schemas::MessageReply),
        (status = 400, description = "Validation error", body = schemas::ValidationErrors),
    ))]
#[post("/forget", data = "<body>")]
async fn forget(state: &State<AppState>, client: ClientAddress, body: Body) -> ApiResult<Reply> {
    let input = body.validate(&FORGET)?;
    let email = text(&input, "email").unwrap_or_default().to_owned();
    let mut errors = Vec::new();
    unknown_fields(&input, &FORGET, &mut errors);
    rules::check_email(&email, &mut errors);
    reject(errors)?;
    // Over the limit of requests (F22): the same answer, and no mail.
    if !state.throttle.reset_allowed(client.0) {
        return Ok(Reply::message(Status::Ok, FORGET_MESSAGE));
    }

    let lookup = email.clone();
    let found = state
        .db
        .run(move |conn| Ok(users::find_by_email(conn, &lookup)?))
        .await?;
    if let Some(user) = found {
        // Bound to its purpose and to the password it replaces (decisions F20).
        let token = state
            .auth
            .keys
            .issue_reset(&user.uuid, &user.password_hash)?;
        let reset_mail =
            mail::password_reset(state.front_url.get(), &email, &user.username, &token);
        state
            .db
            .write(move |conn| Ok(outbox::enqueue(conn, &reset_mail)?))
            .await?;
        state.mail_signal.wake();
    }
    Ok(Reply::message(Status::Ok, FORGET_MESSAGE))
}

/// Set a new password with the token of a reset mail (decisions F20: an access token is refused; the
/// reset ends every session of the user).
#[utoipa::path(post, path = "/api/auth/reset", tag = "auth", request_body = schemas::ResetBody,
    responses(
        (status = 200, description = "Password changed", body = schemas::MessageReply),
        (status = 400, description = "Validation error", body = schemas::ValidationErrors),
        (status = 401, description = "Expired or revoked token, or \"Invalid token.\" for an unknown user", body = schemas::MessageReply),
        (status = 422, description = "Undecodable token", body = schemas::TokenErrorBody),
    ))]
#[post("/reset", data = "<body>")]
async fn reset(state: &State<AppState>, body: Body) -> ApiResult<Reply> {
    let input = body.validate(&RESET)?;
    let reset_token = text(&input, "reset_password_token").unwrap_or_default();
    let password = text(&input, "password").unwrap_or_default().to_owned();
    let mut errors = Vec::new();
    unknown_fields(&input, &RESET, &mut errors);
    rules::check_reset_token(reset_token, &mut errors);
    rules::check_password(&password, PasswordPolicy::ResetOrUpdate, &mut errors);
    reject(errors)?;

    let invalid = || ApiError::unauthorized("Invalid token.");
    let token = state
        .auth
        .keys
        .decode_reset(reset_token)?
        .ok_or_else(invalid)?;
    let identity = token.identity.clone();
    let user = state
        .db
        .run(move |conn| Ok(users::find_by_uuid(conn, &identity)?))
        .await?
        .ok_or_else(invalid)?;
    // Void once the password changed, this reset included: single use (F20).
    if password_fingerprint(&user.password_hash) != token.password {
        return Err(invalid());
    }
    let password_hash = state.auth.hasher.hash(password).await?;
    let done_mail = mail::password_reset_done(
        state.front_url.get(),
        user.email.as_deref().unwrap_or_default(),
        &user.username,
    );
    state
        .db
        .write(move |conn| {
            let tx = db::write_transaction(conn)?;
            // The token was checked before the hashing: check again under the write lock, so that
            // two resets with one token cannot both succeed.
            let now = users::find_by_uuid(&tx, &user.uuid)?.ok_or_else(invalid)?;
            if password_fingerprint(&now.password_hash) != token.password {
                return Err(invalid());
            }
            users::set_password_hash(&tx, user.user_id, &password_hash)?;
            tokens::void_all(&tx, user.user_id, None)?;
            if !done_mail.recipient_email.is_empty() {
                outbox::enqueue(&tx, &done_mail)?;
            }
            tx.commit()?;
            Ok(())
        })
        .await?;
    state.mail_signal.wake();
    Ok(Reply::message(Status::Ok, "Password reset successfully"))
}
