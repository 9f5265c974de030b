//! Sandbox profiles (api-reference.md 2.5, 2.6, 4.2): fictitious users for trying the engine, their
//! liked genres and hand-written metas, and the snapshots taken when a recommendation is launched.

use super::Paged;
use super::genres::Genre;

/// A content id and the six meta values in API form.
pub type MetaValues = (i64, serde_json::Map<String, serde_json::Value>);
/// A liked genre copied at a launch: its name and its content type in lower case.
pub type LaunchGenre = (Option<String>, Option<String>);
/// An engine result: content id, score, engine.
pub type LaunchResult = (i64, Option<f64>, String);
use crate::events;
use crate::util::time::db_text_to_api;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProfileBase {
    pub uuid: String,
    pub profilename: String,
}

#[derive(Debug, Clone)]
pub struct Profile {
    pub profile_id: i64,
    pub base: ProfileBase,
    pub user_id: i64,
}

/// A profile by uuid, only if it belongs to `user_id` (another user's profile does not exist for them).
pub fn owned(conn: &Connection, uuid: &str, user_id: i64) -> rusqlite::Result<Option<Profile>> {
    conn.prepare_cached("SELECT profile_id, uuid, profilename, user_id FROM profile WHERE uuid = ?1 AND user_id = ?2")?
        .query_row(params![uuid, user_id], |r| {
            Ok(Profile { profile_id: r.get(0)?, base: ProfileBase { uuid: r.get(1)?, profilename: r.get(2)? }, user_id: r.get(3)? })
        })
        .optional()
}

pub fn list(
    conn: &Connection,
    user_id: i64,
    limit: i64,
    offset: i64,
) -> rusqlite::Result<(Vec<ProfileBase>, i64)> {
    let total = conn
        .prepare_cached("SELECT count(*) FROM profile WHERE user_id = ?1")?
        .query_row([user_id], |r| r.get(0))?;
    let rows = conn
        .prepare_cached("SELECT uuid, profilename FROM profile WHERE user_id = ?1 ORDER BY profile_id LIMIT ?2 OFFSET ?3")?
        .query_map(params![user_id, limit, offset], |r| Ok(ProfileBase { uuid: r.get(0)?, profilename: r.get(1)? }))?
        .collect::<Result<_, _>>()?;
    Ok((rows, total))
}

pub fn name_taken(conn: &Connection, user_id: i64, name: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM profile WHERE user_id = ?1 AND profilename = ?2)",
    )?
    .query_row(params![user_id, name], |r| r.get(0))
}

pub fn create(conn: &Connection, user_id: i64, uuid: &str, name: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT INTO profile (uuid, profilename, user_id) VALUES (?1, ?2, ?3)")?
        .execute(params![uuid, name, user_id])?;
    Ok(())
}

pub fn rename(conn: &Connection, profile_id: i64, name: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE profile SET profilename = ?2 WHERE profile_id = ?1")?
        .execute(params![profile_id, name])?;
    Ok(())
}

/// Deletes a profile; its genres, metas and launch history cascade.
pub fn delete(conn: &Connection, profile_id: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM profile WHERE profile_id = ?1")?
        .execute([profile_id])?;
    Ok(())
}

pub fn liked_genres(conn: &Connection, profile_id: i64) -> rusqlite::Result<Vec<Genre>> {
    conn.prepare_cached(
        "SELECT g.genre_id, g.name, g.count FROM liked_genres_profile l JOIN genre g ON g.genre_id = l.genre_id
         WHERE l.profile_id = ?1 ORDER BY g.genre_id",
    )?
    .query_map([profile_id], Genre::from_row)?
    .collect()
}

/// Liking again changes nothing (decisions F4).
pub fn like_genre(conn: &Connection, profile_id: i64, genre_id: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO liked_genres_profile (profile_id, genre_id) VALUES (?1, ?2)",
    )?
    .execute([profile_id, genre_id])?;
    Ok(())
}

pub fn unlike_genre(conn: &Connection, profile_id: i64, genre_id: i64) -> rusqlite::Result<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM liked_genres_profile WHERE profile_id = ?1 AND genre_id = ?2")?
        .execute([profile_id, genre_id])?
        > 0)
}

/// The six values of a profile meta (dates in database text form).
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileMeta {
    pub rating: i64,
    pub last_rating_date: String,
    pub review_see_count: i64,
    pub last_review_see_date: String,
    pub count: i64,
    pub last_count_increment: String,
}

/// Writes a profile's meta on a content (no events, no effect on the content's average: as the reference).
pub fn put_meta(
    conn: &Connection,
    profile_id: i64,
    content_id: i64,
    meta: &ProfileMeta,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO meta_profile_content (profile_id, content_id, rating, last_rating_date, review_see_count,
             last_review_see_date, count, last_count_increment) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (profile_id, content_id) DO UPDATE SET rating = excluded.rating,
             last_rating_date = excluded.last_rating_date, review_see_count = excluded.review_see_count,
             last_review_see_date = excluded.last_review_see_date, count = excluded.count,
             last_count_increment = excluded.last_count_increment",
    )?
    .execute(params![
        profile_id,
        content_id,
        meta.rating,
        meta.last_rating_date,
        meta.review_see_count,
        meta.last_review_see_date,
        meta.count,
        meta.last_count_increment
    ])?;
    Ok(())
}

/// Meta rows (of a profile, or of a launch snapshot) whose content is of one media table, as
/// (content id, the six values in API form), by content id.
pub fn metas_of(
    conn: &Connection,
    source: MetaSource,
    table: &str,
    limit: i64,
    offset: i64,
) -> rusqlite::Result<Paged<MetaValues>> {
    let (from, key) = match source {
        MetaSource::Profile(id) => ("meta_profile_content x WHERE x.profile_id = ?1", id),
        MetaSource::Launch(id) => ("recommendation_launched_meta x WHERE x.event_id = ?1", id),
    };
    let from = from.replacen(
        " WHERE ",
        &format!(" JOIN {table} m ON m.content_id = x.content_id WHERE "),
        1,
    );
    let total = conn
        .prepare_cached(&format!("SELECT count(*) FROM {from}"))?
        .query_row([key], |r| r.get(0))?;
    let rows = conn
        .prepare_cached(&format!(
            "SELECT x.content_id, x.rating, x.last_rating_date, x.review_see_count, x.last_review_see_date, x.count,
                    x.last_count_increment FROM {from} ORDER BY x.content_id LIMIT ?2 OFFSET ?3"
        ))?
        .query_map(params![key, limit, offset], |r| {
            let date = |d: Option<String>| d.map(|d| serde_json::Value::String(db_text_to_api(&d))).unwrap_or(serde_json::Value::Null);
            let mut values = serde_json::Map::new();
            values.insert("rating".into(), r.get::<_, Option<i64>>(1)?.into());
            values.insert("last_rating_date".into(), date(r.get(2)?));
            values.insert("review_see_count".into(), r.get::<_, Option<i64>>(3)?.into());
            values.insert("last_review_see_date".into(), date(r.get(4)?));
            values.insert("count".into(), r.get::<_, Option<i64>>(5)?.into());
            values.insert("last_count_increment".into(), date(r.get(6)?));
            Ok((r.get(0)?, values))
        })?
        .collect::<Result<_, _>>()?;
    Ok((rows, total))
}

#[derive(Debug, Clone, Copy)]
pub enum MetaSource {
    Profile(i64),
    Launch(i64),
}

/// Records a recommendation launch for a profile: the event, with copies of the profile's liked genres
/// and metas as they are now, in one transaction (api-reference.md 4.2). The event takes its id from
/// the shared event sequence. Returns the event id.
pub fn snapshot(conn: &Connection, profile_id: i64) -> rusqlite::Result<i64> {
    let id = events::next_id(conn)?;
    conn.prepare_cached("INSERT INTO recommendation_launched_for_profile_event (id, occured_at, profile_id) VALUES (?1, ?2, ?3)")?
        .execute(params![id, crate::util::time::now_text(), profile_id])?;
    conn.prepare_cached(
        "INSERT INTO recommendation_launched_liked_genre (event_id, genre_id, name, content_type)
         SELECT ?1, g.genre_id, g.name, g.content_type FROM liked_genres_profile l JOIN genre g ON g.genre_id = l.genre_id
         WHERE l.profile_id = ?2",
    )?
    .execute([id, profile_id])?;
    conn.prepare_cached(
        "INSERT INTO recommendation_launched_meta (event_id, content_id, rating, last_rating_date, review_see_count,
             last_review_see_date, count, last_count_increment)
         SELECT ?1, content_id, rating, last_rating_date, review_see_count, last_review_see_date, count, last_count_increment
         FROM meta_profile_content WHERE profile_id = ?2",
    )?
    .execute([id, profile_id])?;
    Ok(id)
}

#[derive(Debug, Clone)]
pub struct Launch {
    pub id: i64,
    pub profile_id: Option<i64>,
}

pub fn launch(conn: &Connection, event_id: i64) -> rusqlite::Result<Option<Launch>> {
    conn.prepare_cached(
        "SELECT id, profile_id FROM recommendation_launched_for_profile_event WHERE id = ?1",
    )?
    .query_row([event_id], |r| {
        Ok(Launch {
            id: r.get(0)?,
            profile_id: r.get(1)?,
        })
    })
    .optional()
}

/// A profile's launches, newest first: (id, occured_at in API form).
pub fn launches(
    conn: &Connection,
    profile_id: i64,
    limit: i64,
    offset: i64,
) -> rusqlite::Result<(Vec<(i64, String)>, i64)> {
    let total = conn
        .prepare_cached(
            "SELECT count(*) FROM recommendation_launched_for_profile_event WHERE profile_id = ?1",
        )?
        .query_row([profile_id], |r| r.get(0))?;
    let rows = conn
        .prepare_cached(
            "SELECT id, occured_at FROM recommendation_launched_for_profile_event WHERE profile_id = ?1
             ORDER BY occured_at DESC, id DESC LIMIT ?2 OFFSET ?3",
        )?
        .query_map(params![profile_id, limit, offset], |r| Ok((r.get(0)?, db_text_to_api(&r.get::<_, String>(1)?))))?
        .collect::<Result<_, _>>()?;
    Ok((rows, total))
}

/// The liked genres copied at a launch: (name, content type in lower case).
pub fn launch_genres(
    conn: &Connection,
    event_id: i64,
    limit: i64,
    offset: i64,
) -> rusqlite::Result<Paged<LaunchGenre>> {
    let total = conn
        .prepare_cached(
            "SELECT count(*) FROM recommendation_launched_liked_genre WHERE event_id = ?1",
        )?
        .query_row([event_id], |r| r.get(0))?;
    let rows = conn
        .prepare_cached(
            "SELECT name, lower(content_type) FROM recommendation_launched_liked_genre WHERE event_id = ?1
             ORDER BY genre_id LIMIT ?2 OFFSET ?3",
        )?
        .query_map(params![event_id, limit, offset], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok((rows, total))
}

/// The engine's results of a launch for one media table: (content id, score, engine), best first.
pub fn launch_results(
    conn: &Connection,
    event_id: i64,
    table: &str,
    limit: i64,
    offset: i64,
) -> rusqlite::Result<Paged<LaunchResult>> {
    let from = format!(
        "recommendation_launched_result r JOIN {table} m ON m.content_id = r.content_id
         JOIN content c ON c.content_id = r.content_id WHERE r.event_id = ?1"
    );
    let total = conn
        .prepare_cached(&format!("SELECT count(*) FROM {from}"))?
        .query_row([event_id], |r| r.get(0))?;
    let rows = conn
        .prepare_cached(&format!(
            "SELECT r.content_id, r.score, r.engine FROM {from}
             ORDER BY r.score DESC NULLS LAST, c.popularity_score DESC NULLS LAST, r.content_id, r.engine LIMIT ?2 OFFSET ?3"
        ))?
        .query_map(params![event_id, limit, offset], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    Ok((rows, total))
}
