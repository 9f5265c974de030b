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
