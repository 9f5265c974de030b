//! The `user` aggregate: accounts, their roles/permissions, liked genres and what the export shows.

use super::genres::Genre;
use crate::util::time::db_text_to_api;
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

#[derive(Debug, Clone)]
pub struct User {
    pub user_id: i64,
    pub uuid: String,
    pub email: Option<String>,
    pub username: String,
    pub password_hash: String,
    pub preferences_defined: bool,
}

// A NULL uuid (possible in imported reference data) reads as "": such a row is simply unaddressable.
const USER_COLUMNS: &str =
    "user_id, coalesce(uuid, ''), email, username, password_hash, preferences_defined";

impl User {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<User> {
        Ok(User {
            user_id: row.get(0)?,
            uuid: row.get(1)?,
            email: row.get(2)?,
            username: row.get(3)?,
            password_hash: row.get(4)?,
            preferences_defined: row.get(5)?,
        })
    }
}

pub fn find_by_uuid(conn: &Connection, uuid: &str) -> rusqlite::Result<Option<User>> {
    conn.prepare_cached(&format!(
        r#"SELECT {USER_COLUMNS} FROM "user" WHERE uuid = ?1"#
    ))?
    .query_row([uuid], User::from_row)
    .optional()
}

pub fn find_by_id(conn: &Connection, user_id: i64) -> rusqlite::Result<Option<User>> {
    conn.prepare_cached(&format!(
        r#"SELECT {USER_COLUMNS} FROM "user" WHERE user_id = ?1"#
    ))?
    .query_row([user_id], User::from_row)
    .optional()
}

/// Exact, case-sensitive match, as the reference does.
pub fn find_by_email(conn: &Connection, email: &str) -> rusqlite::Result<Option<User>> {
    conn.prepare_cached(&format!(
        r#"SELECT {USER_COLUMNS} FROM "user" WHERE email = ?1"#
    ))?
    .query_row([email], User::from_row)
    .optional()
}

pub fn email_taken(
    conn: &Connection,
    email: &str,
    except_user_id: Option<i64>,
) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        r#"SELECT EXISTS (SELECT 1 FROM "user" WHERE email = ?1 AND user_id IS NOT ?2)"#,
    )?
    .query_row(params![email, except_user_id], |r| r.get(0))
}

pub struct NewUser<'a> {
    pub uuid: &'a str,
    pub email: &'a str,
    pub username: &'a str,
    pub password_hash: &'a str,
}

pub fn insert(conn: &Connection, user: &NewUser<'_>) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        r#"INSERT INTO "user" (uuid, email, username, password_hash, preferences_defined)
           VALUES (?1, ?2, ?3, ?4, 0)"#,
    )?
    .execute(params![
        user.uuid,
        user.email,
        user.username,
        user.password_hash
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Attaches the role of that name, if it exists (registration attaches `user`). Returns whether it did.
pub fn attach_role(conn: &Connection, user_id: i64, role_name: &str) -> rusqlite::Result<bool> {
    let added = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO user_role (user_id, role_id)
             SELECT ?1, role_id FROM role WHERE name = ?2 ORDER BY role_id LIMIT 1",
        )?
        .execute(params![user_id, role_name])?;
    Ok(added > 0)
}

pub fn detach_role(conn: &Connection, user_id: i64, role_name: &str) -> rusqlite::Result<bool> {
    let removed = conn
        .prepare_cached(
            "DELETE FROM user_role WHERE user_id = ?1 AND role_id IN (SELECT role_id FROM role WHERE name = ?2)",
        )?
        .execute(params![user_id, role_name])?;
    Ok(removed > 0)
}

/// Every permission of every role of the user, in database order, duplicates kept (1.5).
/// The permissions of the user with this uuid as they are now; `None` for an unknown user.
pub fn permissions_of(conn: &Connection, uuid: &str) -> rusqlite::Result<Option<Vec<String>>> {
    let user_id: Option<i64> = conn
        .prepare_cached(r#"SELECT user_id FROM "user" WHERE uuid = ?1"#)?
        .query_row([uuid], |r| r.get(0))
        .optional()?;
    user_id.map(|id| permissions(conn, id)).transpose()
}

pub fn permissions(conn: &Connection, user_id: i64) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT rp.permission FROM user_role ur
         JOIN role_permission rp ON rp.role_id = ur.role_id
         WHERE ur.user_id = ?1
         ORDER BY ur.role_id, rp.rowid",
    )?;
    let rows = stmt.query_map([user_id], |r| r.get(0))?;
    rows.collect()
}

#[derive(Debug, Default)]
pub struct UserChanges {
    pub username: Option<String>,
    pub email: Option<String>,
    pub password_hash: Option<String>,
}

pub fn update(conn: &Connection, user_id: i64, changes: &UserChanges) -> rusqlite::Result<()> {
    conn.prepare_cached(
        r#"UPDATE "user" SET username = coalesce(?2, username), email = coalesce(?3, email),
                              password_hash = coalesce(?4, password_hash)
           WHERE user_id = ?1"#,
    )?
    .execute(params![
        user_id,
        changes.username,
        changes.email,
        changes.password_hash
    ])?;
    Ok(())
}

pub fn set_password_hash(conn: &Connection, user_id: i64, hash: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(r#"UPDATE "user" SET password_hash = ?2 WHERE user_id = ?1"#)?
        .execute(params![user_id, hash])?;
    Ok(())
}

/// Deletes the account; the schema's cascades remove everything that belongs to it (3.4).
pub fn delete(conn: &Connection, user_id: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(r#"DELETE FROM "user" WHERE user_id = ?1"#)?
        .execute([user_id])?;
    Ok(())
}

pub fn set_preferences_defined(conn: &Connection, user_id: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(r#"UPDATE "user" SET preferences_defined = 1 WHERE user_id = ?1"#)?
        .execute([user_id])?;
    Ok(())
}

/// Case-insensitive literal substring match on usernames. Exact matches first, then prefixes, then by
/// name: the reference's order was unspecified, and `%`/`_` are plain characters here.
pub fn search(
    conn: &Connection,
    term: &str,
    limit: i64,
    offset: i64,
) -> rusqlite::Result<(Vec<User>, i64)> {
    let total = conn
        .prepare_cached(
            r#"SELECT count(*) FROM "user" WHERE instr(lower(username), lower(?1)) > 0"#,
        )?
        .query_row([term], |r| r.get(0))?;
    if limit == 0 {
        return Ok((Vec::new(), total));
    }
    let mut stmt = conn.prepare_cached(&format!(
        r#"SELECT {USER_COLUMNS} FROM "user" WHERE instr(lower(username), lower(?1)) > 0
           ORDER BY lower(username) = lower(?1) DESC, instr(lower(username), lower(?1)) = 1 DESC,
                    lower(username), user_id
           LIMIT ?2 OFFSET ?3"#
    ))?;
    let users = stmt
        .query_map(params![term, limit, offset], User::from_row)?
        .collect::<Result<_, _>>()?;
    Ok((users, total))
}

pub fn liked_genres(conn: &Connection, user_id: i64) -> rusqlite::Result<Vec<Genre>> {
    let mut stmt = conn.prepare_cached(
        "SELECT g.genre_id, g.name, g.count FROM liked_genres lg JOIN genre g ON g.genre_id = lg.genre_id
         WHERE lg.user_id = ?1 ORDER BY g.genre_id",
    )?;
    let rows = stmt.query_map([user_id], Genre::from_row)?;
    rows.collect()
}

/// Likes a genre; liking it again changes nothing (decisions F4).
pub fn like_genre(conn: &Connection, user_id: i64, genre_id: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR IGNORE INTO liked_genres (user_id, genre_id) VALUES (?1, ?2)")?
        .execute([user_id, genre_id])?;
    Ok(())
}

/// Returns whether the genre was liked.
pub fn unlike_genre(conn: &Connection, user_id: i64, genre_id: i64) -> rusqlite::Result<bool> {
    let removed = conn
        .prepare_cached("DELETE FROM liked_genres WHERE user_id = ?1 AND genre_id = ?2")?
        .execute([user_id, genre_id])?;
    Ok(removed > 0)
}

/// One `meta_user_content` row, as the export shows it (decisions F9).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExportedMeta {
    pub content_id: i64,
    pub rating: Option<i64>,
    pub last_rating_date: Option<String>,
    pub review_see_count: Option<i64>,
    pub last_review_see_date: Option<String>,
    pub count: Option<i64>,
    pub last_count_increment: Option<String>,
}

pub fn metas(conn: &Connection, user_id: i64) -> rusqlite::Result<Vec<ExportedMeta>> {
    let mut stmt = conn.prepare_cached(
        "SELECT content_id, rating, last_rating_date, review_see_count, last_review_see_date, count,
                last_count_increment
         FROM meta_user_content WHERE user_id = ?1 ORDER BY content_id",
    )?;
    let date = |text: Option<String>| text.as_deref().map(db_text_to_api);
    let rows = stmt.query_map([user_id], |r| {
        Ok(ExportedMeta {
            content_id: r.get(0)?,
            rating: r.get(1)?,
            last_rating_date: date(r.get(2)?),
            review_see_count: r.get(3)?,
            last_review_see_date: date(r.get(4)?),
            count: r.get(5)?,
            last_count_increment: date(r.get(6)?),
        })
    })?;
    rows.collect()
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BadRecommendation {
    pub content_id: i64,
    pub reason_categorie: String,
    pub reason: String,
}

pub fn bad_recommendations(
    conn: &Connection,
    user_id: i64,
) -> rusqlite::Result<Vec<BadRecommendation>> {
    let mut stmt = conn.prepare_cached(
        "SELECT content_id, reason_categorie, reason FROM bad_recommendation_content
         WHERE user_id = ?1 ORDER BY content_id, reason_categorie, reason",
    )?;
    let rows = stmt.query_map([user_id], |r| {
        Ok(BadRecommendation {
            content_id: r.get(0)?,
            reason_categorie: r.get(1)?,
            reason: r.get(2)?,
        })
    })?;
    rows.collect()
}
