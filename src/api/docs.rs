//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` annotations so that it cannot
//! drift from the routes (a test compares it with Rocket's route table), and the Swagger UI, served
//! from files embedded in the binary.

use super::schemas::*; // every shape the document lists
use super::shapes::{UserBase, UserExport, UserObject};
use crate::db::genres::Genre;
use crate::db::groups::GroupBase;
use crate::db::links::LinkedService;
use crate::db::users::{BadRecommendation, ExportedMeta};
use include_dir::{Dir, include_dir};
use rocket::http::{ContentType, Header};
use rocket::{Responder, Route, get, routes};
use std::path::PathBuf;
use std::sync::LazyLock;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

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
        super::shapes::GroupObject, GroupBody, InviteBody, GroupReply,
        crate::db::profiles::ProfileBase, ProfileBody, ProfileRenameBody, ProfileReply, ProfileMetaBody,
        LinkUrlReply, LinkCallbackBody, super::external::ServiceName, LenientPage, StrictPage, MalformedBody,
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
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    super::openapi::complete(&mut doc);
    serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
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
