//! The reply and body shapes of the API document: the handlers build these envelopes through `Reply`
//! and name them in their `#[utoipa::path]` annotations; the document (`docs`) lists them. Both
//! import this module, so the handlers never import the document.

use super::shapes::{UserBase, UserExport, UserObject};
use crate::db::genres::Genre;
use serde::Serialize;
use utoipa::ToSchema;

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
    pub group: super::shapes::GroupObject,
}

#[derive(Serialize, ToSchema)]
pub struct ProfileBody {
    /// 1..45 characters
    pub profilename: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProfileRenameBody {
    /// 1..45 characters; absent: nothing changes
    pub profilename: Option<String>,
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

/// `page` read leniently (api-reference.md 1.3.3, 1.4): an integer picks the page (1-based; ≤ 0 is an
/// empty page), anything else reads as page 1 — so any text is accepted.
#[derive(ToSchema)]
#[schema(value_type = String, example = "1")]
pub struct LenientPage(pub String);

/// `page` read as Python's `int()` reads it (1.3.3): any integer (≤ 0 and past the last page are
/// empty pages); anything else is a 400.
#[derive(ToSchema)]
#[schema(value_type = i128, example = 1)]
pub struct StrictPage(pub i64);

/// A body that claims to be JSON and does not parse: `{"message": ...}` (Werkzeug's text).
#[derive(Serialize, ToSchema)]
pub struct MalformedBody {
    pub message: String,
}
