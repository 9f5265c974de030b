//! Genres (per media type) as the API shows them.

use rusqlite::{Connection, Row};
use serde::Serialize;

/// The reference's Genre shape: no content type.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Genre {
    pub genre_id: i64,
    pub name: String,
    pub count: Option<i64>,
}

impl Genre {
    pub fn from_row(row: &Row<'_>) -> rusqlite::Result<Genre> {
        Ok(Genre {
            genre_id: row.get(0)?,
            name: row.get(1)?,
            count: row.get(2)?,
        })
    }
}

pub fn exists(conn: &Connection, genre_id: i64) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM genre WHERE genre_id = ?1)")?
        .query_row([genre_id], |r| r.get(0))
}

/// The genres of one medium, most used first (the reference's PostgreSQL put NULL counts first).
pub fn of_content_type(conn: &Connection, content_type: &str) -> rusqlite::Result<Vec<Genre>> {
    conn.prepare_cached(
        "SELECT genre_id, name, count FROM genre WHERE content_type = ?1 ORDER BY count DESC NULLS FIRST, genre_id",
    )?
    .query_map([content_type], Genre::from_row)?
    .collect()
}

/// The first id in `ids` that names no genre.
pub fn first_unknown(conn: &Connection, ids: &[i64]) -> rusqlite::Result<Option<i64>> {
    for id in ids {
        if !exists(conn, *id)? {
            return Ok(Some(*id));
        }
    }
    Ok(None)
}
