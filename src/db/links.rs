//! Linked third-party accounts (`external_service`, api-reference.md 2.7) and the record of their
//! imports (`external_import`). Tokens arrive here already sealed by `external::vault`: this module
//! stores and returns them as opaque text.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// One `external_service` row.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub service_id: i64,
    pub user_id: i64,
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
}

pub fn find(conn: &Connection, user_id: i64, service_name: &str) -> rusqlite::Result<Option<Link>> {
    conn.prepare_cached(
        "SELECT service_id, user_id, access_token, refresh_token FROM external_service
         WHERE user_id = ?1 AND service_name = ?2",
    )?
    .query_row(params![user_id, service_name], |r| {
        Ok(Link {
            service_id: r.get(0)?,
            user_id: r.get(1)?,
            access_token: r.get(2)?,
            refresh_token: r.get(3)?,
        })
    })
    .optional()
}

/// A link as the user export shows it: no tokens (as the reference).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LinkedService {
    pub service_id: i64,
    pub service_name: String,
}

pub fn linked_services(conn: &Connection, user_id: i64) -> rusqlite::Result<Vec<LinkedService>> {
    let mut stmt = conn.prepare_cached(
        "SELECT service_id, service_name FROM external_service WHERE user_id = ?1 ORDER BY service_id",
    )?;
    let rows = stmt.query_map([user_id], |r| {
        Ok(LinkedService {
            service_id: r.get(0)?,
            service_name: r.get(1)?,
        })
    })?;
    rows.collect()
}

/// The names of the services a user has linked.
pub fn linked(conn: &Connection, user_id: i64) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached(
        "SELECT service_name FROM external_service WHERE user_id = ?1 ORDER BY service_id",
    )?
    .query_map([user_id], |r| r.get(0))?
    .collect()
}

/// Adds the link; a second one for the same user and service is a unique violation.
pub fn insert(
    conn: &Connection,
    user_id: i64,
    service_name: &str,
    access_token: &str,
    refresh_token: Option<&str>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO external_service (user_id, service_name, access_token, refresh_token)
         VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![user_id, service_name, access_token, refresh_token])?;
    Ok(())
}

/// Replaces the tokens of a link (a refresh token only when the provider sent a new one); false when
/// the link is gone (unlinked while an import ran).
pub fn update_tokens(
    conn: &Connection,
    service_id: i64,
    access_token: &str,
    refresh_token: Option<&str>,
) -> rusqlite::Result<bool> {
    let changed = conn
        .prepare_cached(
            "UPDATE external_service SET access_token = ?2,
                 refresh_token = COALESCE(?3, refresh_token)
             WHERE service_id = ?1",
        )?
        .execute(params![service_id, access_token, refresh_token])?;
    Ok(changed > 0)
}

/// Removes a user's link to a service; whether there was one.
pub fn delete(conn: &Connection, user_id: i64, service_name: &str) -> rusqlite::Result<bool> {
    let deleted = conn
        .prepare_cached("DELETE FROM external_service WHERE user_id = ?1 AND service_name = ?2")?
        .execute(params![user_id, service_name])?;
    Ok(deleted > 0)
}

/// What one import run did, as recorded when it ends.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportTally {
    pub contents_added: i64,
    pub interactions_changed: i64,
}

/// Runs kept per user and service; older ones are removed when a new one starts.
const RUNS_KEPT: i64 = 20;

/// Records the start of an import run; returns its id.
pub fn start_import(
    conn: &Connection,
    user_id: i64,
    service_name: &str,
    at: &str,
) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO external_import (user_id, service_name, started_at) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![user_id, service_name, at])?;
    let import_id = conn.last_insert_rowid();
    conn.prepare_cached(
        "DELETE FROM external_import WHERE user_id = ?1 AND service_name = ?2 AND import_id NOT IN
             (SELECT import_id FROM external_import WHERE user_id = ?1 AND service_name = ?2
              ORDER BY import_id DESC LIMIT ?3)",
    )?
    .execute(params![user_id, service_name, RUNS_KEPT])?;
    Ok(import_id)
}

/// Adds to a run's tally (each batch of an import, in that batch's transaction).
pub fn count_import(
    conn: &Connection,
    import_id: i64,
    tally: &ImportTally,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE external_import SET contents_added = contents_added + ?2,
             interactions_changed = interactions_changed + ?3
         WHERE import_id = ?1",
    )?
    .execute(params![
        import_id,
        tally.contents_added,
        tally.interactions_changed
    ])?;
    Ok(())
}

pub fn finish_import(
    conn: &Connection,
    import_id: i64,
    outcome: &str,
    at: &str,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE external_import SET finished_at = ?2, outcome = ?3 WHERE import_id = ?1",
    )?
    .execute(params![import_id, at, outcome])?;
    Ok(())
}
