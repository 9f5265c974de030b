//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` annotations so that it cannot
//! drift from the routes (a test compares it with Rocket's route table), and the Swagger UI, served
//! from files embedded in the binary.

use super::shapes::{UserBase, UserExport, UserObject};
use crate::db::genres::Genre;
use crate::db::groups::GroupBase;
use crate::db::users::{BadRecommendation, ExportedMeta, LinkedService};
use include_dir::{Dir, include_dir};
use rocket::http::{ContentType, Header};
use rocket::{Responder, Route, get, routes};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::LazyLock;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

static SWAGGER_UI: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/static/swagger-ui");

#[derive(OpenApi)]
#[openapi(
    info(title = "RecoFinement API", description = "Drop-in replacement for the reference RecoFinement API."),
    paths(
        super::auth::login, super::auth::register, super::auth::logout, super::auth::forget, super::auth::reset,
        super::user::get_user, super::user::update_user, super::user::delete_user, super::user::define_preferences,
        super::user::search_users, super::user::list_liked_genres, super::user::like_genre,
        super::user::unlike_genre, super::user::export_user,
        super::media::popular, super::media::search, super::media::list_genres, super::media::get_meta,
        super::media::update_meta, super::media::user_recommendations, super::media::group_recommendations,
        super::media::serie_episodes, super::media::track_history, super::media::get_content,
        super::media::modify_content, super::media::delete_content,
        super::proposal::propose, super::proposal::list_proposals, super::proposal::validate_proposal,
        super::proposal::decline_proposal, super::proposal::report_bad_recommendation,
        super::group::create_group, super::group::get_group, super::group::leave_group, super::group::invite,
        super::group::accept_invitation, super::group::delete_invitation,
        super::profile::list_profiles, super::profile::create_profile, super::profile::get_profile,
        super::profile::rename_profile, super::profile::delete_profile, super::profile::profile_genres,
        super::profile::like_genre, super::profile::unlike_genre, super::profile::put_meta,
        super::profile::profile_metas, super::profile::recommend, super::profile::history, super::profile::history_genres,
        super::profile::history_results, super::profile::history_metas,
        super::external::link_url, super::external::link_callback, super::external::unlink,
        super::health::health, swagger_ui_index, openapi_json,
    ),
    components(schemas(
        UserBase, UserObject, UserExport, Genre, GroupBase, LinkedService, ExportedMeta, BadRecommendation,
        MessageReply, PayloadErrors, ValidationErrors, TokenErrorBody, LoginReply, UserReply, ExportReply,
        UserPage, GenreList, HealthReply, LoginBody, RegisterBody, ForgetBody, ResetBody, UserPatchBody,
        ContentPage, ContentList, ContentReply, Meta, MetaReply, MetaPatchBody,
        super::group::GroupObject, GroupBody, InviteBody, GroupReply,
        crate::db::profiles::ProfileBase, ProfileBody, ProfileReply, ProfileMetaBody,
        LinkUrlReply, LinkCallbackBody, super::external::ServiceName,
    )),
    modifiers(&BearerSecurity),
    tags(
        (name = "auth", description = "Login, registration, logout, password reset"),
        (name = "user", description = "Accounts, liked genres, search, export"),
        (name = "media", description = "The six media (application, book, game, movie, serie, track): lists, search, metas, recommendations"),
        (name = "group", description = "Groups and invitations"),
        (name = "external", description = "Linked Spotify, TMDB and Google Books accounts, and their imports"),
        (name = "profile", description = "Sandbox profiles (admin tooling) and their recommendation history"),
        (name = "meta", description = "Health and API documentation"),
    )
)]
pub struct ApiDoc;

struct BearerSecurity;

impl Modify for BearerSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

static OPENAPI_JSON: LazyLock<String> = LazyLock::new(|| {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
});

pub fn routes() -> Vec<Route> {
    routes![swagger_ui_index, swagger_ui_asset, openapi_json]
}

#[derive(Responder)]
struct Asset {
    body: &'static [u8],
    content_type: ContentType,
    cache: Header<'static>,
}

fn asset(name: &str) -> Option<Asset> {
    let file = SWAGGER_UI.get_file(name)?;
    let extension = name.rsplit('.').next().unwrap_or("");
    Some(Asset {
        body: file.contents(),
        content_type: ContentType::from_extension(extension).unwrap_or(ContentType::Plain),
        cache: Header::new("Cache-Control", "public, max-age=86400"),
    })
}

/// The Swagger UI.
#[utoipa::path(get, path = "/api/", tag = "meta", responses((status = 200, description = "Swagger UI (HTML)")))]
#[get("/api")]
fn swagger_ui_index() -> Option<Asset> {
    asset("index.html")
}

#[get("/swaggerui/<file..>")]
fn swagger_ui_asset(file: PathBuf) -> Option<Asset> {
    asset(file.to_str()?)
}

/// This OpenAPI document.
#[utoipa::path(get, path = "/api/swagger.json", tag = "meta", responses((status = 200, description = "OpenAPI 3.1 document")))]
#[get("/api/swagger.json")]
fn openapi_json() -> (ContentType, &'static str) {
    (ContentType::JSON, OPENAPI_JSON.as_str())
}

// Documentation-only shapes: the handlers build these envelopes through `Reply`.

/// `{"status": ..., "message": ...}`.
#[derive(Serialize, ToSchema)]
pub struct MessageReply {
    pub status: bool,
    pub message: String,
}

/// Layer A: `{"errors": {"<field>": "<message>"}, "message": "Input payload validation failed"}`.
#[derive(Serialize, ToSchema)]
pub struct PayloadErrors {
    #[schema(value_type = Object)]
    pub errors: serde_json::Value,
    pub message: String,
}

/// Layer B: `{"status": false, "message": "Validation errors", "errors": [...]}` (Layer A errors also
/// answer 400, in the PayloadErrors shape).
#[derive(Serialize, ToSchema)]
pub struct ValidationErrors {
    pub status: bool,
    pub message: String,
    pub errors: Vec<String>,
}

/// The authorization URL of a provider, under the provider's own key (one of the three).
#[derive(Serialize, ToSchema)]
pub struct LinkUrlReply {
    pub status: bool,
    pub message: String,
    pub spotify_url: Option<String>,
    pub tmdb_url: Option<String>,
    pub gbooks_url: Option<String>,
}

/// What the provider sent back to the front end: Spotify `state` + `code` (or `error`), TMDB
/// `request_token` + `approved` (or `denied`), Google `state` + `code` + `scope` (or `error`).
#[derive(Serialize, ToSchema)]
pub struct LinkCallbackBody {
    pub state: Option<String>,
    pub code: Option<String>,
    pub scope: Option<String>,
    pub request_token: Option<String>,
    pub approved: Option<String>,
    pub denied: Option<String>,
    pub error: Option<String>,
}

/// Token errors: `{"msg": ...}`.
#[derive(Serialize, ToSchema)]
pub struct TokenErrorBody {
    pub msg: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginReply {
    pub status: bool,
    pub message: String,
    pub user: UserBase,
    pub access_token: String,
}

#[derive(Serialize, ToSchema)]
pub struct UserReply {
    pub status: bool,
    pub message: String,
    pub user: UserObject,
}

#[derive(Serialize, ToSchema)]
pub struct ExportReply {
    pub status: bool,
    pub message: String,
    pub user: UserExport,
}

#[derive(Serialize, ToSchema)]
pub struct UserPage {
    pub status: bool,
    pub message: String,
    pub content: Vec<UserBase>,
    pub number_of_elements: i64,
    pub page: i64,
    pub total_pages: i64,
}

#[derive(Serialize, ToSchema)]
pub struct GenreList {
    pub status: bool,
    pub message: String,
    pub content: Vec<Genre>,
}

#[derive(Serialize, ToSchema)]
pub struct HealthReply {
    pub status: bool,
    pub message: String,
    pub schema_version: i64,
}

#[derive(Serialize, ToSchema)]
pub struct LoginBody {
    pub email: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct RegisterBody {
    /// 5..64 characters, a valid address
    pub email: String,
    /// 4..15 characters: letters, digits, `_`, inner single dots
    pub username: String,
    /// 8..128 characters with a lower- and upper-case letter, a digit and one of `@$!%*?&.+-#_`
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct ForgetBody {
    pub email: String,
}

#[derive(Serialize, ToSchema)]
pub struct ResetBody {
    /// The token of the reset link (at least 50 characters)
    pub reset_password_token: String,
    /// 8..128 characters with a lower- and upper-case letter, a digit and one of `@$!%*?&`
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct UserPatchBody {
    pub username: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
}

/// A paginated list of contents; each item is the medium's Base or Object shape (api-reference.md 2.0),
/// recommendation lists add `reco_engine` and `reco_score`.
#[derive(Serialize, ToSchema)]
pub struct ContentPage {
    pub status: bool,
    pub message: String,
    #[schema(value_type = Vec<Object>)]
    pub content: Vec<serde_json::Value>,
    pub number_of_elements: i64,
    pub page: i64,
    pub total_pages: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ContentList {
    pub status: bool,
    pub message: String,
    #[schema(value_type = Vec<Object>)]
    pub content: Vec<serde_json::Value>,
}

#[derive(Serialize, ToSchema)]
pub struct ContentReply {
    pub status: bool,
    pub message: String,
    #[schema(value_type = Object)]
    pub content: serde_json::Value,
}

/// A user's interaction with a content (dates are UTC, ISO-8601 without timezone).
#[derive(Serialize, ToSchema)]
pub struct Meta {
    pub rating: Option<i64>,
    pub last_rating_date: Option<String>,
    pub review_see_count: i64,
    pub last_review_see_date: Option<String>,
    pub count: i64,
    pub last_count_increment: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MetaReply {
    pub status: bool,
    pub message: String,
    pub content: Meta,
}

#[derive(Serialize, ToSchema)]
pub struct MetaPatchBody {
    /// 0..5; replaces this user's previous rating in the content's average
    pub rating: Option<i64>,
    /// ≥ 0, may be fractional; added to the consumption count (stored rounded)
    pub additional_count: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct GroupBody {
    /// 3..45 characters: letters, digits, _ and inner single dots
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct InviteBody {
    /// The invitee's uuid
    pub uuid: String,
}

#[derive(Serialize, ToSchema)]
pub struct GroupReply {
    pub status: bool,
    pub message: String,
    pub group: super::group::GroupObject,
}

#[derive(Serialize, ToSchema)]
pub struct ProfileBody {
    /// 1..45 characters
    pub profilename: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProfileReply {
    pub status: bool,
    pub message: String,
    pub profile: crate::db::profiles::ProfileBase,
}

#[derive(Serialize, ToSchema)]
pub struct ProfileMetaBody {
    /// 0..5
    pub rating: i64,
    /// ISO-8601 date-time (an offset is dropped, not applied)
    pub last_rating_date: String,
    pub review_see_count: i64,
    pub last_review_see_date: String,
    pub count: i64,
    pub last_count_increment: String,
}
