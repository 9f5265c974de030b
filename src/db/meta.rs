//! User↔content interactions (`meta_user_content`, api-reference.md 5.2, 5.3): views, ratings and
//! consumption. The only writer of that table; every insert writes a `meta_added_event` and every
//! update one `changed_event` per column whose value changed, in the same transaction.

use crate::events::{self, EventContext, META_MODEL};
use crate::util::pyjson::python_float;
use crate::util::time::db_text_to_api;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value as Json, json};

/// One `meta_user_content` row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Meta {
    pub rating: Option<i64>,
    pub last_rating_date: Option<String>,
    pub review_see_count: i64,
    pub last_review_see_date: Option<String>,
    pub count: i64,
    pub last_count_increment: Option<String>,
}

impl Meta {
    /// The reference's Meta shape.
    pub fn to_json(&self) -> Json {
        let date = |d: &Option<String>| d.as_deref().map(db_text_to_api);
        json!({
            "rating": self.rating,
            "last_rating_date": date(&self.last_rating_date),
            "review_see_count": self.review_see_count,
            "last_review_see_date": date(&self.last_review_see_date),
            "count": self.count,
            "last_count_increment": date(&self.last_count_increment),
        })
    }
}

pub fn find(conn: &Connection, user_id: i64, content_id: i64) -> rusqlite::Result<Option<Meta>> {
    conn.prepare_cached(
        "SELECT rating, last_rating_date, review_see_count, last_review_see_date, count, last_count_increment
         FROM meta_user_content WHERE user_id = ?1 AND content_id = ?2",
    )?
    .query_row([user_id, content_id], |r| {
        Ok(Meta {
            rating: r.get(0)?,
            last_rating_date: r.get(1)?,
            review_see_count: r.get::<_, Option<i64>>(2)?.unwrap_or(0),
            last_review_see_date: r.get(3)?,
            count: r.get::<_, Option<i64>>(4)?.unwrap_or(0),
            last_count_increment: r.get(5)?,
        })
    })
    .optional()
}

/// An amount of consumption as the request gave it: an integer or a float (the reference keeps the
/// raw sum in the event text, e.g. `"2.5"`, while the integer column stores it rounded).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Amount {
    Int(i64),
    Float(f64),
}

/// What one request does to a user's meta on a content.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Interaction {
    pub view: bool,
    pub rating: Option<i64>,
    pub consumption: Option<Amount>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum InteractionError {
    #[error("the consumption count would exceed {}", i32::MAX)]
    CountOverflow,
}

/// Applies an interaction (creating the row if needed) with its events and, for a rating, the content's
/// running average. Returns the row as stored. Call inside a write transaction.
pub fn interact(
    conn: &Connection,
    ctx: &EventContext,
    user_id: i64,
    content_id: i64,
    interaction: Interaction,
) -> Result<Meta, MetaWriteError> {
    let existing = find(conn, user_id, content_id)?;
    let before = existing.clone().unwrap_or_default();
    let mut after = before.clone();
    let mut count_text = None;
    // The reference compares the raw sum (0 + 0.4 is a change, stored as 0): so do we.
    let mut count_moved = false;

    if interaction.view {
        after.review_see_count += 1;
        after.last_review_see_date = Some(ctx.at.clone());
    }
    if let Some(rating) = interaction.rating {
        update_average(
            conn,
            content_id,
            existing.as_ref().and_then(|m| m.rating),
            rating,
        )?;
        after.rating = Some(rating);
        after.last_rating_date = Some(ctx.at.clone());
    }
    if let Some(amount) = interaction.consumption {
        let (sum, text) = match amount {
            Amount::Int(i) => {
                let sum = before
                    .count
                    .checked_add(i)
                    .ok_or(InteractionError::CountOverflow)?;
                (sum as f64, sum.to_string())
            }
            Amount::Float(f) => {
                let sum = before.count as f64 + f;
                (sum, python_float(sum))
            }
        };
        // Rounded half away from zero, as the reference's integer column stores it.
        let rounded = sum.round();
        if !(0.0..=f64::from(i32::MAX)).contains(&rounded) {
            return Err(InteractionError::CountOverflow.into());
        }
        after.count = rounded as i64;
        after.last_count_increment = Some(ctx.at.clone());
        count_moved = sum != before.count as f64;
        count_text = Some(text);
    }

    match existing {
        None => insert(conn, ctx, user_id, content_id, &after)?,
        Some(_) if after == before => {}
        Some(_) => {
            conn.prepare_cached(
                "UPDATE meta_user_content SET rating = ?3, last_rating_date = ?4, review_see_count = ?5,
                     last_review_see_date = ?6, count = ?7, last_count_increment = ?8
                 WHERE user_id = ?1 AND content_id = ?2",
            )?
            .execute(params![
                user_id,
                content_id,
                after.rating,
                after.last_rating_date,
                after.review_see_count,
                after.last_review_see_date,
                after.count,
                after.last_count_increment
            ])?;
            let text = |v: &Option<String>| v.clone().unwrap_or_else(|| "None".into());
            let changes: [(&str, bool, String); 6] = [
                (
                    "rating",
                    before.rating != after.rating,
                    after.rating.map_or("None".into(), |r| r.to_string()),
                ),
                (
                    "last_rating_date",
                    before.last_rating_date != after.last_rating_date,
                    text(&after.last_rating_date),
                ),
                (
                    "review_see_count",
                    before.review_see_count != after.review_see_count,
                    after.review_see_count.to_string(),
                ),
                (
                    "last_review_see_date",
                    before.last_review_see_date != after.last_review_see_date,
                    text(&after.last_review_see_date),
                ),
                (
                    "count",
                    count_moved || before.count != after.count,
                    count_text
                        .clone()
                        .unwrap_or_else(|| after.count.to_string()),
                ),
                (
                    "last_count_increment",
                    before.last_count_increment != after.last_count_increment,
                    text(&after.last_count_increment),
                ),
            ];
            for (attribute, differs, new_value) in changes {
                if differs {
                    events::changed(conn, ctx, content_id, META_MODEL, attribute, &new_value)?;
                }
            }
        }
    }
    Ok(after)
}

/// Inserts a new row with its `meta_added_event` (also used by seeding, so that a seeded event log is
/// what the API would have written).
pub fn insert(
    conn: &Connection,
    ctx: &EventContext,
    user_id: i64,
    content_id: i64,
    meta: &Meta,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO meta_user_content (user_id, content_id, rating, last_rating_date, review_see_count,
             last_review_see_date, count, last_count_increment) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        user_id,
        content_id,
        meta.rating,
        meta.last_rating_date,
        meta.review_see_count,
        meta.last_review_see_date,
        meta.count,
        meta.last_count_increment
    ])?;
    events::meta_added(
        conn,
        ctx,
        content_id,
        meta.rating,
        meta.review_see_count,
        meta.count,
    )?;
    // The added event has no date columns; a replay infers each date from its counter, which fails
    // only for a consumption of zero. Say that one explicitly.
    if meta.count == 0 && meta.last_count_increment.is_some() {
        events::changed(
            conn,
            ctx,
            content_id,
            META_MODEL,
            "last_count_increment",
            &ctx.at,
        )?;
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum MetaWriteError {
    #[error(transparent)]
    Interaction(#[from] InteractionError),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// The running average of api-reference.md 5.2: a first rating adds one to the count, a new rating by
/// the same user replaces the old one.
fn update_average(
    conn: &Connection,
    content_id: i64,
    previous: Option<i64>,
    rating: i64,
) -> rusqlite::Result<()> {
    let (average, count): (Option<f64>, Option<i64>) = conn
        .prepare_cached("SELECT rating, rating_count FROM content WHERE content_id = ?1")?
        .query_row([content_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let (average, count) = (average.unwrap_or(0.0), count.unwrap_or(0));
    let new_count = count + i64::from(previous.is_none());
    let total = average * count as f64 - previous.unwrap_or(0) as f64 + rating as f64;
    // Inconsistent data (a previous rating but a count of 0) would divide by zero in the reference;
    // here the new rating simply stands alone.
    let (new_average, new_count) = if new_count > 0 {
        (total / new_count as f64, new_count)
    } else {
        (rating as f64, 1)
    };
    conn.prepare_cached("UPDATE content SET rating = ?2, rating_count = ?3 WHERE content_id = ?1")?
        .execute(params![content_id, new_average, new_count])?;
    Ok(())
}

/// Stores a bad-recommendation report: every (category, reason) once (decisions F3).
pub fn report_bad(
    conn: &Connection,
    user_id: i64,
    content_id: i64,
    reasons: &[(String, String)],
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT OR IGNORE INTO bad_recommendation_content (user_id, content_id, reason_categorie, reason) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (category, reason) in reasons {
        stmt.execute(params![user_id, content_id, category, reason])?;
    }
    // A reported content leaves the user's lists and their groups' at once (the engine never lists
    // it again).
    conn.prepare_cached("DELETE FROM recommended_content WHERE user_id = ?1 AND content_id = ?2")?
        .execute([user_id, content_id])?;
    conn.prepare_cached(
        r#"DELETE FROM recommended_content_for_group WHERE content_id = ?2 AND group_id IN
             (SELECT group_id FROM "group" WHERE owner_id = ?1 UNION SELECT group_id FROM group_members WHERE user_id = ?1)"#,
    )?
    .execute([user_id, content_id])?;
    Ok(())
}
