//! Content proposals ("additional", api-reference.md 2.8, 5.10): pending contents that users with
//! `add_content` propose and admins validate into the catalogue (through `catalogue::add`, so with
//! their `_added_event`) or reject. Series proposals carry episode proposals (decisions F8).

use super::catalogue::{self, NewContent};
use crate::events::EventContext;
use crate::media::{Column, EPISODE, Medium};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params_from_iter};
use serde_json::{Map, Value as Json};

/// The columns a medium's proposals have, in table order.
pub fn columns(medium: &Medium) -> impl Iterator<Item = &'static Column> {
    medium
        .table
        .columns
        .iter()
        .filter(|c| !medium.proposal.skipped_columns.contains(&c.name))
}

/// An episode proposal of a serie proposal.
#[derive(Debug, Clone)]
pub struct EpisodeProposal {
    /// Values of `episode_additional` columns imdbid, title, year, season_number, episode_number.
    pub values: Vec<Value>,
    pub genres: Vec<i64>,
}

/// Stores a proposal with its genres (and episodes). Returns its id.
pub fn create(
    conn: &Connection,
    medium: &Medium,
    values: &[Value],
    genres: &[i64],
    episodes: &[EpisodeProposal],
) -> rusqlite::Result<i64> {
    let names: Vec<&str> = columns(medium).map(|c| c.name).collect();
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ({})",
        medium.proposal.table,
        names.join(", "),
        vec!["?"; names.len()].join(", ")
    );
    conn.prepare_cached(&sql)?
        .execute(params_from_iter(values))?;
    let id = conn.last_insert_rowid();
    if let Some(link) = medium.proposal.genres_table {
        let mut stmt = conn.prepare_cached(&format!(
            "INSERT OR IGNORE INTO {link} ({}, genre_id) VALUES (?1, ?2)",
            medium.proposal.id_column
        ))?;
        for genre in genres {
            stmt.execute([id, *genre])?;
        }
    }
    for episode in episodes {
        let mut row = episode.values.clone();
        row.push(Value::Integer(id));
        conn.prepare_cached(
            "INSERT INTO episode_additional (imdbid, title, year, season_number, episode_number, serie_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params_from_iter(row))?;
        let episode_id = conn.last_insert_rowid();
        let mut stmt = conn.prepare_cached("INSERT OR IGNORE INTO episode_additional_genres (episode_id, genre_id) VALUES (?1, ?2)")?;
        for genre in &episode.genres {
            stmt.execute([episode_id, *genre])?;
        }
    }
    Ok(id)
}

/// One page of a medium's proposals, as the API shows them (every column of the proposal table).
pub fn list(
    conn: &Connection,
    medium: &Medium,
    limit: i64,
    offset: i64,
) -> rusqlite::Result<(Vec<Map<String, Json>>, i64)> {
    let p = &medium.proposal;
    let total = conn
        .prepare_cached(&format!("SELECT count(*) FROM {}", p.table))?
        .query_row([], |r| r.get(0))?;
    let names: Vec<&str> = columns(medium).map(|c| c.name).collect();
    let sql = format!(
        "SELECT {}, {} FROM {} ORDER BY {} LIMIT ?1 OFFSET ?2",
        p.id_column,
        names.join(", "),
        p.table,
        p.id_column
    );
    let rows = conn
        .prepare_cached(&sql)?
        .query_map([limit, offset], |r| {
            let mut item = Map::new();
            item.insert(p.id_column.into(), Json::from(r.get::<_, i64>(0)?));
            for (i, name) in names.iter().enumerate() {
                item.insert((*name).into(), catalogue::json_of(r.get_ref(i + 1)?));
            }
            Ok(item)
        })?
        .collect::<Result<_, _>>()?;
    Ok((rows, total))
}

pub fn exists(conn: &Connection, medium: &Medium, id: i64) -> rusqlite::Result<bool> {
    let p = &medium.proposal;
    conn.prepare_cached(&format!(
        "SELECT EXISTS (SELECT 1 FROM {} WHERE {} = ?1)",
        p.table, p.id_column
    ))?
    .query_row([id], |r| r.get(0))
}

/// Removes a proposal with its genre links and episode proposals.
pub fn delete(conn: &Connection, medium: &Medium, id: i64) -> rusqlite::Result<()> {
    let p = &medium.proposal;
    if medium.name() == "serie" {
        conn.prepare_cached(
            "DELETE FROM episode_additional_genres WHERE episode_id IN (SELECT episode_id FROM episode_additional WHERE serie_id = ?1)",
        )?
        .execute([id])?;
        conn.prepare_cached("DELETE FROM episode_additional WHERE serie_id = ?1")?
            .execute([id])?;
    }
    if let Some(link) = p.genres_table {
        conn.prepare_cached(&format!("DELETE FROM {link} WHERE {} = ?1", p.id_column))?
            .execute([id])?;
    }
    conn.prepare_cached(&format!(
        "DELETE FROM {} WHERE {} = ?1",
        p.table, p.id_column
    ))?
    .execute([id])?;
    Ok(())
}

/// Turns a proposal into a content (and its episodes into episodes), each with its `_added_event`,
/// then removes the proposal. Returns the new content id, or `None` if there is no such proposal.
pub fn validate(
    conn: &Connection,
    ctx: &EventContext,
    medium: &Medium,
    id: i64,
) -> rusqlite::Result<Option<i64>> {
    let p = &medium.proposal;
    let names: Vec<&str> = columns(medium).map(|c| c.name).collect();
    let sql = format!(
        "SELECT {} FROM {} WHERE {} = ?1",
        names.join(", "),
        p.table,
        p.id_column
    );
    let Some(proposed): Option<Vec<Value>> = conn
        .prepare_cached(&sql)?
        .query_row([id], |r| {
            (0..names.len()).map(|i| r.get::<_, Value>(i)).collect()
        })
        .optional()?
    else {
        return Ok(None);
    };
    // Media columns in table order; the ones a proposal lacks start empty.
    let values: Vec<Value> = medium
        .table
        .columns
        .iter()
        .map(|c| {
            names
                .iter()
                .position(|n| *n == c.name)
                .map_or(Value::Null, |i| proposed[i].clone())
        })
        .collect();
    let genres: Vec<i64> = match p.genres_table {
        Some(link) => conn
            .prepare_cached(&format!(
                "SELECT genre_id FROM {link} WHERE {} = ?1 ORDER BY rowid",
                p.id_column
            ))?
            .query_map([id], |r| r.get(0))?
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    let content_id = catalogue::add(conn, ctx, &medium.table, &NewContent { values, genres })?;
    if medium.name() == "serie" {
        let episodes: Vec<(i64, Vec<Value>)> = conn
            .prepare_cached(
                "SELECT episode_id, imdbid, title, year, season_number, episode_number FROM episode_additional
                 WHERE serie_id = ?1 ORDER BY episode_id",
            )?
            .query_map([id], |r| Ok((r.get(0)?, (1..6).map(|i| r.get::<_, Value>(i)).collect::<Result<Vec<_>, _>>()?)))?
            .collect::<Result<_, _>>()?;
        for (episode_id, mut values) in episodes {
            values.push(Value::Integer(content_id));
            let genres: Vec<i64> = conn
                .prepare_cached("SELECT genre_id FROM episode_additional_genres WHERE episode_id = ?1 ORDER BY rowid")?
                .query_map([episode_id], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            catalogue::add(conn, ctx, &EPISODE, &NewContent { values, genres })?;
        }
    }
    delete(conn, medium, id)?;
    Ok(Some(content_id))
}
