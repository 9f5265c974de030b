//! Success envelopes (api-reference.md 1.2.1, 1.2.2, 1.4), written the way the reference writes them.

use crate::util::pyjson;
use rocket::Request;
use rocket::http::{ContentType, Status};
use rocket::response::{self, Responder, Response};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::io::Cursor;

/// Page size of every paginated list.
pub const PAGE_SIZE: i64 = 24;

#[derive(Debug)]
pub enum Reply {
    Json {
        status: Status,
        body: Value,
    },
    /// An empty body with the reference's content type for that route.
    Empty {
        status: Status,
        content_type: ContentType,
    },
    /// A 200 JSON body rendered earlier (a kept catalogue page, `super::pages`).
    Rendered(std::sync::Arc<[u8]>),
}

impl Reply {
    /// `{"status": true, "message": ...}`.
    pub fn message(status: Status, message: &str) -> Reply {
        Reply::Json {
            status,
            body: json!({"status": true, "message": message}),
        }
    }

    /// `{"status": true, "message": ..., <key>: <value>, ...}`.
    pub fn with(status: Status, message: &str, payload: &[(&str, Value)]) -> Reply {
        let mut body = Map::new();
        body.insert("status".into(), Value::Bool(true));
        body.insert("message".into(), Value::String(message.into()));
        for (key, value) in payload {
            body.insert((*key).into(), value.clone());
        }
        Reply::Json {
            status,
            body: Value::Object(body),
        }
    }

    /// The paginated envelope; always 200.
    pub fn page(message: &str, page: &Page, total_rows: i64, content: Vec<Value>) -> Reply {
        let total_pages = (total_rows + PAGE_SIZE - 1) / PAGE_SIZE;
        Reply::Json {
            status: Status::Ok,
            body: json!({
                "status": true,
                "message": message,
                "content": content,
                "number_of_elements": content.len(),
                "page": page.number,
                "total_pages": total_pages,
            }),
        }
    }

    pub fn empty(status: Status, content_type: ContentType) -> Reply {
        Reply::Empty {
            status,
            content_type,
        }
    }

    /// The body as it goes out (empty for an empty reply).
    pub fn body_bytes(&self) -> Vec<u8> {
        match self {
            Reply::Json { body, .. } => format!("{}\n", pyjson::to_string(body)).into_bytes(),
            Reply::Empty { .. } => Vec::new(),
            Reply::Rendered(bytes) => bytes.to_vec(),
        }
    }
}

impl<'r> Responder<'r, 'static> for Reply {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        match self {
            Reply::Json { status, .. } => {
                let text = self.body_bytes();
                Response::build()
                    .status(status)
                    .header(ContentType::JSON)
                    .sized_body(text.len(), Cursor::new(text))
                    .ok()
            }
            // In one write: a page is tens of kilobytes, and Rocket's chunks are 4 KiB.
            Reply::Rendered(bytes) => Response::build()
                .status(Status::Ok)
                .header(ContentType::JSON)
                .max_chunk_size(bytes.len().max(4096))
                .sized_body(bytes.len(), Cursor::new(bytes))
                .ok(),
            Reply::Empty {
                status,
                content_type,
            } => Response::build().status(status).header(content_type).ok(),
        }
    }
}

/// Serializes a shape into the envelope's payload.
pub fn to_value<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

pub fn to_values<T: Serialize>(items: &[T]) -> Vec<Value> {
    items.iter().map(to_value).collect()
}

/// A requested page. `page <= 0` is valid and yields an empty page (1.4).
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub number: i64,
}

impl Page {
    /// Lenient parsing: missing or not a number → page 1.
    pub fn lenient(raw: Option<&str>) -> Page {
        Page {
            number: raw.and_then(|r| r.trim().parse().ok()).unwrap_or(1),
        }
    }

    /// `(limit, offset)`; a limit of 0 for pages before the first.
    pub fn window(&self) -> (i64, i64) {
        if self.number <= 0 {
            (0, 0)
        } else {
            (PAGE_SIZE, (self.number - 1).saturating_mul(PAGE_SIZE))
        }
    }
}

/// `page` parsed the way flask-restx's reqparse does (`int()`): surrounding spaces, a sign and
/// single underscores between digits are accepted; anything else is a Layer-A error (1.3.3).
pub fn strict_page(raw: Option<&str>) -> Result<Page, crate::error::ApiError> {
    let Some(raw) = raw else {
        return Ok(Page { number: 1 });
    };
    let invalid = || {
        crate::error::ApiError::payload_field(
            "page",
            format!(
                "invalid literal for int() with base 10: {}",
                crate::util::pyjson::repr_str(raw)
            ),
        )
    };
    let trimmed = raw.trim();
    let digits = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    let well_formed = !digits.is_empty()
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && !digits.contains("__")
        && digits.chars().all(|c| c.is_ascii_digit() || c == '_');
    if !well_formed {
        return Err(invalid());
    }
    // Python ints have no limit; past i64 a page is simply far before the first or after the last.
    let negative = trimmed.starts_with('-');
    let number =
        trimmed
            .replace('_', "")
            .parse()
            .unwrap_or(if negative { i64::MIN } else { i64::MAX });
    Ok(Page { number })
}
