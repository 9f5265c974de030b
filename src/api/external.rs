//! `/api/external`: linking Spotify, TMDB and Google Books accounts (api-reference.md 2.7; decisions
//! F25 and the `DELETE` addition). One set of routes over the three services; what differs per
//! provider lives in `crate::external`.

use super::body::{Body, Field, Schema, Ty, text};
use super::reply::Reply;
use super::schemas;
use super::{AppState, caller};
use crate::auth::Bearer;
use crate::db::links;
use crate::error::{ApiError, ApiResult};
use crate::external::{self, LinkError, Service, Tokens, gbooks, import, spotify, tmdb};
use rocket::http::Status;
use rocket::request::FromParam;
use rocket::{Route, State, delete, get, post, routes};
use serde_json::{Map, Value};

pub fn routes() -> Vec<Route> {
    routes![link_url, link_callback, unlink]
}

/// `spotify`, `tmdb` or `gbooks`; anything else is no route (404).
pub struct ServiceParam(Service);

impl<'a> FromParam<'a> for ServiceParam {
    type Error = &'a str;

    fn from_param(param: &'a str) -> Result<Self, Self::Error> {
        Service::from_segment(param).map(ServiceParam).ok_or(param)
    }
}

#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum ServiceName {
    Spotify,
    Tmdb,
    Gbooks,
}

async fn is_linked(state: &AppState, user_id: i64, service: Service) -> ApiResult<bool> {
    state
        .db
        .run(move |conn| Ok(links::find(conn, user_id, service.name())?.is_some()))
        .await
}

fn not_configured(service: Service) -> String {
    format!("{service} is not configured on this server")
}

/// The provider's page where the user approves the link, or `"linked"`.
#[utoipa::path(get, path = "/api/external/{service}", tag = "external", security(("bearer" = [])),
    params(("service" = ServiceName, Path, description = "Provider")),
    responses(
        (status = 201, description = "\"<Svc> oauth url sent\" with `<svc>_url`; \"<Svc> is already linked\" with \"linked\"; \"<Svc> is not configured on this server\" with \"\"", body = schemas::LinkUrlReply),
        (status = 404, description = "\"User not found!\"", body = schemas::MessageReply),
        (status = 500, description = "Unreadable Google client-secrets file", body = schemas::MessageReply),
    ))]
#[get("/external/<service>")]
async fn link_url(
    state: &State<AppState>,
    bearer: Bearer,
    service: ServiceParam,
) -> ApiResult<Reply> {
    let service = service.0;
    let token = state.auth.verify(&bearer).await?;
    let me = caller(state, &token).await?;
    let user_id = me.user_id;
    let linked = is_linked(state, user_id, service).await?;
    let answer = |message: String, url: String| {
        Reply::with(
            Status::Created,
            &message,
            &[(service.url_key(), Value::String(url))],
        )
    };
    if linked {
        return Ok(answer(
            format!("{service} is already linked"),
            "linked".into(),
        ));
    }
    let providers = state.imports.providers();
    if !providers.configured(service) {
        return Ok(answer(not_configured(service), String::new()));
    }
    let redirect = external::redirect_url(state.front_url.get());
    let url = match service {
        Service::Spotify => {
            let link_state = state.auth.keys.issue_state(&me.uuid, service.name())?;
            spotify::authorize_url(providers, &redirect, &link_state)
        }
        Service::Tmdb => tmdb::authorize_url(providers, &redirect)
            .await
            .map(Option::unwrap_or_default),
        Service::GBooks => {
            let link_state = state.auth.keys.issue_state(&me.uuid, service.name())?;
            gbooks::authorize_url(providers, &redirect, &link_state)
        }
    }
    .map_err(link_failed)?;
    Ok(answer(format!("{service} oauth url sent"), url))
}

fn link_failed(error: LinkError) -> ApiError {
    match error {
        LinkError::NotConfigured(service) => {
            ApiError::Validation(vec![format!("{}.", not_configured(service))])
        }
        LinkError::Provider(why) => ApiError::internal(why),
    }
}

static SPOTIFY_CALLBACK: Schema = Schema(&[
    Field::optional("state", Ty::String),
    Field::optional("code", Ty::String),
]);
static TMDB_CALLBACK: Schema = Schema(&[
    Field::optional("request_token", Ty::String),
    Field::optional("approved", Ty::String),
    Field::optional("denied", Ty::String),
]);
static GBOOKS_CALLBACK: Schema = Schema(&[
    Field::optional("state", Ty::String),
    Field::optional("code", Ty::String),
    Field::optional("scope", Ty::String),
]);

/// A callback field the flow cannot go on without: the reference fails there with a bare 500.
fn required<'a>(input: &'a Map<String, Value>, key: &str) -> ApiResult<&'a str> {
    text(input, key).ok_or_else(|| ApiError::internal(format!("link callback without \"{key}\"")))
}

/// Where the provider sent the user back: stores the link's tokens and starts an import.
#[utoipa::path(post, path = "/api/external/{service}/callback", tag = "external", security(("bearer" = [])),
    params(("service" = ServiceName, Path, description = "Provider")),
    request_body = schemas::LinkCallbackBody,
    responses(
        (status = 201, description = "\"Spotify tokens stored\" / \"TMDB token stored\" / \"GBooks token stored\"", body = schemas::MessageReply),
        (status = 200, description = "Cancelled at the provider: \"Spotify oauth canceled\", \"Authorization denied\", \"Authorization canceled by user\" (`status` false)", body = schemas::MessageReply),
        (status = 400, description = "\"<svc> Oauth is already done.\" or \"<Svc> is not configured on this server.\"", body = schemas::ValidationErrors),
        (status = 404, description = "\"CSRF invalid!\" (state of another user or flow) or \"User not found!\"", body = schemas::MessageReply),
        (status = 422, description = "Undecodable state", body = schemas::TokenErrorBody),
        (status = 500, description = "Missing state/code/request_token, or the provider failed", body = schemas::MessageReply),
    ))]
#[post("/external/<service>/callback", data = "<body>")]
async fn link_callback(
    state: &State<AppState>,
    bearer: Bearer,
    service: ServiceParam,
    body: Body,
) -> ApiResult<Reply> {
    let service = service.0;
    let schema = match service {
        Service::Spotify => &SPOTIFY_CALLBACK,
        Service::Tmdb => &TMDB_CALLBACK,
        Service::GBooks => &GBOOKS_CALLBACK,
    };
    let input = body.validate(schema)?;
    let token = state.auth.verify(&bearer).await?;
    let providers = state.imports.providers();
    if !providers.configured(service) {
        return Err(link_failed(LinkError::NotConfigured(service)));
    }
    let cancelled = |message: &str| {
        Ok(Reply::Json {
            status: Status::Ok,
            body: serde_json::json!({"status": false, "message": message}),
        })
    };
    // Each provider's order of checks (2.7); TMDB's flow carries no state.
    let (code, link_state) = match service {
        Service::Spotify => {
            if input.contains_key("error") {
                return cancelled("Spotify oauth canceled");
            }
            let link_state = required(&input, "state")?;
            (required(&input, "code")?, Some(link_state))
        }
        Service::Tmdb => {
            if input.contains_key("denied") {
                return cancelled("Authorization denied");
            }
            (required(&input, "request_token")?, None)
        }
        Service::GBooks => {
            let link_state = required(&input, "state")?;
            if input.contains_key("error") {
                return cancelled("Authorization canceled by user");
            }
            (required(&input, "code")?, Some(link_state))
        }
    };
    if let Some(link_state) = link_state {
        let identity = state.auth.keys.decode_state(link_state, service.name())?;
        if identity.as_deref() != Some(token.identity.as_str()) {
            return Err(ApiError::not_found("CSRF invalid!"));
        }
    }
    let me = caller(state, &token).await?;
    let user_id = me.user_id;
    let linked = is_linked(state, user_id, service).await?;
    if linked {
        return Err(ApiError::Validation(vec![service.already_done().into()]));
    }
    let redirect = external::redirect_url(state.front_url.get());
    let tokens: Tokens = match service {
        Service::Spotify => spotify::exchange(providers, code, &redirect).await,
        Service::Tmdb => tmdb::exchange(providers, code).await,
        Service::GBooks => gbooks::exchange(providers, code, &redirect).await,
    }
    .map_err(link_failed)?;
    let (access, refresh) = import::seal(state.imports.vault(), user_id, service, &tokens);
    state
        .db
        .write(move |conn| {
            match links::insert(conn, user_id, service.name(), &access, refresh.as_deref()) {
                // Two callbacks raced: the first one linked.
                Err(e) if crate::db::is_unique_violation(&e) => {
                    Err(ApiError::Validation(vec![service.already_done().into()]))
                }
                other => Ok(other?),
            }
        })
        .await?;
    state.imports.start(user_id, service);
    let stored = match service {
        Service::Spotify => "Spotify tokens stored",
        Service::Tmdb => "TMDB token stored",
        Service::GBooks => "GBooks token stored",
    };
    Ok(Reply::message(Status::Created, stored))
}

/// Unlink a service (its tokens are deleted; what was imported stays).
#[utoipa::path(delete, path = "/api/external/{service}", tag = "external", security(("bearer" = [])),
    params(("service" = ServiceName, Path, description = "Provider")),
    responses(
        (status = 204, description = "Unlinked"),
        (status = 404, description = "\"<Svc> is not linked\" or \"User not found!\"", body = schemas::MessageReply),
    ))]
#[delete("/external/<service>")]
async fn unlink(
    state: &State<AppState>,
    bearer: Bearer,
    service: ServiceParam,
) -> ApiResult<Reply> {
    let service = service.0;
    let token = state.auth.verify(&bearer).await?;
    let me = caller(state, &token).await?;
    let user_id = me.user_id;
    let deleted = state
        .db
        .write(move |conn| Ok(links::delete(conn, user_id, service.name())?))
        .await?;
    if !deleted {
        return Err(ApiError::not_found(format!("{service} is not linked")));
    }
    Ok(Reply::empty(
        Status::NoContent,
        rocket::http::ContentType::JSON,
    ))
}
