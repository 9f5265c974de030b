//! The one error type of the server, and its mapping onto the reference API's envelopes
//! (api-reference.md 1.2, 1.3, 1.5.1; decisions F13).

use crate::util::pyjson;
use rocket::Request;
use rocket::http::{ContentType, Status};
use rocket::response::{self, Responder, Response};
use serde_json::{Map, Value, json};
use std::borrow::Cow;
use std::io::Cursor;

pub type ApiResult<T> = Result<T, ApiError>;

pub const INTERNAL_MESSAGE: &str = "Something went wrong during the process!";
pub const MALFORMED_BODY_MESSAGE: &str =
    "The browser (or proxy) sent a request that this server could not understand.";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// `{"status": false, "message": ...}` with a chosen status (1.2.3).
    #[error("{message}")]
    Business {
        status: Status,
        message: Cow<'static, str>,
    },
    /// Layer A, JSON-Schema body validation (1.3.1): field path → message.
    #[error("input payload validation failed")]
    PayloadInvalid(Map<String, Value>),
    /// Layer B, field rules (1.3.2): a flat list of messages.
    #[error("validation errors: {0:?}")]
    Validation(Vec<String>),
    /// A body that claims to be JSON but does not parse (1.1).
    #[error("malformed request body")]
    MalformedBody,
    #[error("request body larger than {limit} bytes")]
    PayloadTooLarge { limit: u64 },
    /// flask-jwt-extended's `{"msg": ...}` answers (1.5.1).
    #[error("{msg}")]
    Token {
        status: Status,
        msg: Cow<'static, str>,
    },
    /// The custom body for an expired token (1.5.1).
    #[error("token expired")]
    TokenExpired,
    #[error("no route for this URL")]
    RouteNotFound,
    #[error("method not allowed for this URL")]
    MethodNotAllowed,
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A write failed because the storage is full or read-only (decisions F27).
    #[error("storage unavailable: {0}")]
    StorageUnavailable(String),
    /// Over a limit on repeated attempts (decisions F22).
    #[error("too many attempts")]
    TooManyAttempts { retry_after: std::time::Duration },
    /// Another process held SQLite's write lock longer than a writer waits (the server's own writers
    /// queue in-process and never meet this).
    #[error("database busy: {0}")]
    Busy(String),
    /// Anything unexpected: logged in full, answered with the generic 500 envelope.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn business(status: Status, message: impl Into<Cow<'static, str>>) -> Self {
        ApiError::Business {
            status,
            message: message.into(),
        }
    }
    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Self {
        Self::business(Status::NotFound, message)
    }
    pub fn forbidden(message: impl Into<Cow<'static, str>>) -> Self {
        Self::business(Status::Forbidden, message)
    }
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::business(Status::BadRequest, message)
    }
    pub fn unauthorized(message: impl Into<Cow<'static, str>>) -> Self {
        Self::business(Status::Unauthorized, message)
    }
    pub fn token(status: Status, msg: impl Into<Cow<'static, str>>) -> Self {
        ApiError::Token {
            status,
            msg: msg.into(),
        }
    }
    pub fn internal(context: impl std::fmt::Display) -> Self {
        ApiError::Internal(context.to_string())
    }
    /// A single Layer-A error, e.g. for a query-string parse failure (1.3.3).
    pub fn payload_field(field: &str, message: impl Into<String>) -> Self {
        let mut errors = Map::new();
        errors.insert(field.to_owned(), Value::String(message.into()));
        ApiError::PayloadInvalid(errors)
    }

    pub fn status(&self) -> Status {
        match self {
            ApiError::Business { status, .. } | ApiError::Token { status, .. } => *status,
            ApiError::PayloadInvalid(_) | ApiError::Validation(_) | ApiError::MalformedBody => {
                Status::BadRequest
            }
            ApiError::PayloadTooLarge { .. } => Status::PayloadTooLarge,
            ApiError::TokenExpired => Status::Unauthorized,
            ApiError::RouteNotFound => Status::NotFound,
            ApiError::MethodNotAllowed => Status::MethodNotAllowed,
            ApiError::Unavailable(_) | ApiError::Busy(_) | ApiError::StorageUnavailable(_) => {
                Status::ServiceUnavailable
            }
            ApiError::TooManyAttempts { .. } => Status::TooManyRequests,
            ApiError::Internal(_) => Status::InternalServerError,
        }
    }

    /// The response body, as the reference writes it.
    pub fn body(&self) -> String {
        let value = match self {
            ApiError::Business { message, .. } => json!({"status": false, "message": message}),
            ApiError::PayloadInvalid(errors) => {
                json!({"errors": errors, "message": "Input payload validation failed"})
            }
            ApiError::Validation(errors) => {
                json!({"status": false, "message": "Validation errors", "errors": errors})
            }
            ApiError::MalformedBody => json!({"message": MALFORMED_BODY_MESSAGE}),
            ApiError::PayloadTooLarge { limit } => json!({
                "status": false,
                "message": format!("The request body is larger than the limit of {limit} bytes."),
            }),
            // flask-jwt-extended writes these compactly.
            ApiError::Token { msg, .. } => return format!("{}\n", json!({ "msg": msg })),
            ApiError::TokenExpired => json!({"status": false, "message": "The token has expired"}),
            ApiError::RouteNotFound => json!({"status": false, "message": "Resource not found"}),
            ApiError::MethodNotAllowed => {
                json!({"message": "The method is not allowed for the requested URL."})
            }
            ApiError::Unavailable(_) => {
                json!({"status": false, "message": "The database is not available."})
            }
            ApiError::TooManyAttempts { .. } => {
                json!({"status": false, "message": "Too many attempts, try again later."})
            }
            ApiError::StorageUnavailable(_) => {
                json!({"status": false, "message": "Storage unavailable"})
            }
            ApiError::Busy(_) => {
                json!({"status": false, "message": "The database is busy, try again in a moment."})
            }
            ApiError::Internal(_) => json!({"status": false, "message": INTERNAL_MESSAGE}),
        };
        format!("{}\n", pyjson::to_string(&value))
    }
}

impl<'r> Responder<'r, 'static> for ApiError {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        match &self {
            ApiError::Internal(detail) => {
                tracing::error!(method = %request.method(), uri = %request.uri(), "{detail}")
            }
            ApiError::Unavailable(detail)
            | ApiError::Busy(detail)
            | ApiError::StorageUnavailable(detail) => tracing::warn!("{detail}"),
            _ => {}
        }
        let body = self.body();
        let mut response = Response::build();
        response
            .status(self.status())
            .header(ContentType::JSON)
            .sized_body(body.len(), Cursor::new(body));
        match &self {
            ApiError::Busy(_) => {
                response.raw_header("Retry-After", "1");
            }
            ApiError::TooManyAttempts { retry_after } => {
                let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                response.raw_header("Retry-After", seconds.max(1).to_string());
            }
            _ => {}
        }
        response.ok()
    }
}

macro_rules! internal_from {
    ($($source:ty),* $(,)?) => {
        $(impl From<$source> for ApiError {
            fn from(error: $source) -> Self {
                ApiError::Internal(format!("{}: {error}", stringify!($source)))
            }
        })*
    };
}

impl From<rusqlite::Error> for ApiError {
    fn from(error: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode::*;
        let extended = match &error {
            rusqlite::Error::SqliteFailure(e, _) => e.extended_code,
            _ => 0,
        };
        match error.sqlite_error_code() {
            Some(DatabaseBusy | DatabaseLocked) => ApiError::Busy(error.to_string()),
            // A full disk or file system, a read-only file system or file, an I/O failure. (A plain
            // READONLY is a write on a reading connection: a defect of ours, not the storage.)
            Some(DiskFull | SystemIoFailure) => ApiError::StorageUnavailable(error.to_string()),
            Some(ReadOnly) if extended != rusqlite::ffi::SQLITE_READONLY => {
                ApiError::StorageUnavailable(error.to_string())
            }
            _ => ApiError::Internal(format!("rusqlite::Error: {error}")),
        }
    }
}

internal_from!(
    r2d2::Error,
    rocket::tokio::task::JoinError,
    bcrypt::BcryptError,
    jsonwebtoken::errors::Error,
    serde_json::Error,
    std::io::Error,
);
