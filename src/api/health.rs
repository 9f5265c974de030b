//! `GET /api/health`: 200 with the schema version while the database answers and takes writes, 503
//! otherwise (decisions F27: after a write failed for lack of space or a read-only storage, a probe
//! write decides, so that the server reports itself healthy again by itself once space is back).

use super::AppState;
use super::reply::Reply;
use super::schemas;
use crate::db;
use crate::error::{ApiError, ApiResult};
use rocket::http::Status;
use rocket::{Route, State, get, routes};

pub fn routes() -> Vec<Route> {
    routes![health]
}

/// Liveness and database check (no authentication).
#[utoipa::path(get, path = "/api/health", tag = "meta",
    responses(
        (status = 200, description = "The database answers", body = schemas::HealthReply),
        (status = 503, description = "The database does not answer", body = schemas::MessageReply),
    ))]
#[get("/health")]
async fn health(state: &State<AppState>) -> ApiResult<Reply> {
    if state.db.storage_fault() {
        state.db.probe_storage().await?;
    }
    let version = state
        .db
        .run(|conn| db::schema_version(conn).map_err(|e| ApiError::Unavailable(e.to_string())))
        .await
        .map_err(|e| match e {
            ApiError::Unavailable(_) => e,
            other => ApiError::Unavailable(other.to_string()),
        })?;
    Ok(Reply::with(
        Status::Ok,
        "The server is up",
        &[("schema_version", version.into())],
    ))
}
