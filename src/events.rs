//! The event log (api-reference.md section 4): the rows the recommendation engine reads to know
//! exactly what changed between two launches.
//!
//! Only the catalogue and interaction writers (`db::catalogue`, `db::meta`) call this module, always
//! inside the transaction of the change itself, so an event is written if and only if its change
//! commits. Every event takes its id from one shared counter (`event_sequence`): ids are strictly
//! increasing across all event tables in commit order, because a writer holds SQLite's write lock from
//! the moment it takes an id until it commits.

use crate::media::MediaTable;
use rusqlite::types::Value;
use rusqlite::{Connection, params, params_from_iter};

/// Every event table, in the order readers list them (all share the id sequence).
pub const TABLES: [&str; 11] = [
    "meta_added_event",
    "changed_event",
    "deletion_event",
    "application_added_event",
    "book_added_event",
    "game_added_event",
    "movie_added_event",
    "serie_added_event",
    "episode_added_event",
    "track_added_event",
    "recommendation_launched_for_profile_event",
];

/// The model name of user↔content interaction events.
pub const META_MODEL: &str = "meta_user_content";

/// Who caused the events of one change, and when (UTC, database text form).
#[derive(Debug, Clone)]
pub struct EventContext {
    pub at: String,
    pub by: Option<i64>,
}

impl EventContext {
    pub fn now(by: Option<i64>) -> Self {
        EventContext {
            at: crate::util::time::now_text(),
            by,
        }
    }
}

/// Takes the next id of the shared sequence.
pub fn next_id(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "UPDATE event_sequence SET last_id = last_id + 1 WHERE id = 1 RETURNING last_id",
    )?
    .query_row([], |r| r.get(0))
}

/// A `meta_user_content` row was inserted.
pub fn meta_added(
    conn: &Connection,
    ctx: &EventContext,
    content_id: i64,
    rating: Option<i64>,
    review_see_count: i64,
    count: i64,
) -> rusqlite::Result<i64> {
    let id = next_id(conn)?;
    conn.prepare_cached(
        "INSERT INTO meta_added_event (id, occured_at, occured_by, object_id, rating, review_see_count, count)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![id, ctx.at, ctx.by, content_id, rating, review_see_count, count])?;
    Ok(id)
}

/// One column of a row changed; `new_value` in the reference's text form (`None` → "None").
pub fn changed(
    conn: &Connection,
    ctx: &EventContext,
    object_id: i64,
    model_name: &str,
    attribute_name: &str,
    new_value: &str,
) -> rusqlite::Result<i64> {
    let id = next_id(conn)?;
    conn.prepare_cached(
        "INSERT INTO changed_event (id, occured_at, occured_by, object_id, model_name, attribute_name, new_value)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![id, ctx.at, ctx.by, object_id, model_name, attribute_name, new_value])?;
    Ok(id)
}

/// A media row was inserted: `values` are its columns, in the table's column order.
pub fn media_added(
    conn: &Connection,
    ctx: &EventContext,
    table: &MediaTable,
    content_id: i64,
    values: &[Value],
) -> rusqlite::Result<i64> {
    let id = next_id(conn)?;
    let columns: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
    let placeholders: Vec<String> = (5..5 + columns.len()).map(|i| format!("?{i}")).collect();
    // Table and column names come from the static media table, never from input.
    let sql = format!(
        "INSERT INTO {} (id, occured_at, occured_by, object_id, {}) VALUES (?1, ?2, ?3, ?4, {})",
        table.added_event_table(),
        columns.join(", "),
        placeholders.join(", ")
    );
    let head = [
        Value::Integer(id),
        Value::Text(ctx.at.clone()),
        ctx.by.map_or(Value::Null, Value::Integer),
        Value::Integer(content_id),
    ];
    conn.prepare_cached(&sql)?
        .execute(params_from_iter(head.iter().chain(values.iter())))?;
    Ok(id)
}

/// A media row was deleted.
pub fn deletion(
    conn: &Connection,
    ctx: &EventContext,
    object_id: i64,
    model_name: &str,
) -> rusqlite::Result<i64> {
    let id = next_id(conn)?;
    conn.prepare_cached(
        "INSERT INTO deletion_event (id, occured_at, occured_by, object_id, model_name) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![id, ctx.at, ctx.by, object_id, model_name])?;
    Ok(id)
}

/// The reference's text form of a value in `changed_event.new_value` (Python's `str()`).
pub fn value_text(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Integer(i) => i.to_string(),
        Value::Real(f) => crate::util::pyjson::python_float(*f),
        Value::Text(t) => t.clone(),
        Value::Blob(b) => format!("{b:?}"),
    }
}
