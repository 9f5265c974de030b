//! `recofinement verify`: is this database file whole? Run after a restore (from Litestream, from a
//! backup, from a copied disk) before serving from it.
//!
//! 1. SQLite's `integrity_check` (every page, index and constraint of the file);
//! 2. `foreign_key_check` (no row points at a missing one);
//! 3. the event log's continuity: every event table shares one id sequence (`crate::events`), so the
//!    ids must be exactly 1..=`event_sequence.last_id`, each once — a hole or a counter ahead of the
//!    log means events were lost, a counter behind it means ids will collide;
//! 4. every interaction row (`meta_user_content`) equals the replay of its events, in id order, as
//!    `db::meta` writes them. Rows with no event at all were written by other tools (the reference's
//!    dataset loaders do that) and are counted, not failed; events of a row whose user or content was
//!    deleted since (the row went with them) are fine.
//!
//! Both sides of the replay are read sorted by (user, content) and merged, so memory stays flat on
//! any size; SQLite sorts the events in its temporary store. All checks read one snapshot, so a
//! live database (the server writing meanwhile) verifies too.

use crate::events::{self, META_MODEL};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::path::Path;

/// What `verify` found; `problems` empty means the file passed.
#[derive(Debug, Default)]
pub struct Report {
    pub events: i64,
    pub interactions: i64,
    /// Interaction rows with no event (written by other tools).
    pub unlogged_interactions: i64,
    pub problems: Vec<String>,
}

/// Problems listed per check before the rest are only counted.
const SHOWN: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("cannot open {0}: {1}")]
    Open(String, rusqlite::Error),
    #[error("{0} is not a RecoFinement database (no {1} table)")]
    NotOurs(String, &'static str),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

pub fn verify_file(path: &Path) -> Result<Report, VerifyError> {
    let name = path.display().to_string();
    if !path.is_file() {
        return Err(VerifyError::Open(
            name,
            rusqlite::Error::InvalidPath(path.to_owned()),
        ));
    }
    // Read-only: verifying never migrates, checkpoints or otherwise changes what it checks.
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| VerifyError::Open(name.clone(), e))?;
    for table in ["event_sequence", "meta_user_content"] {
        if !crate::db::has_table(&conn, table)? {
            return Err(VerifyError::NotOurs(name, table));
        }
    }
    verify(&conn)
}

pub fn verify(conn: &Connection) -> Result<Report, VerifyError> {
    // One read transaction: every check sees the same snapshot, also of a live database.
    conn.execute_batch("BEGIN")?;
    let mut report = Report::default();
    integrity(conn, &mut report)?;
    foreign_keys(conn, &mut report)?;
    event_sequence(conn, &mut report)?;
    interactions(conn, &mut report)?;
    conn.execute_batch("COMMIT")?;
    Ok(report)
}

fn integrity(conn: &Connection, report: &mut Report) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare("PRAGMA integrity_check")?;
    let lines: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if lines != ["ok"] {
        for line in lines.iter().take(SHOWN) {
            report.problems.push(format!("integrity: {line}"));
        }
    }
    Ok(())
}

fn foreign_keys(conn: &Connection, report: &mut Report) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare("PRAGMA foreign_key_check")?;
    let mut rows = stmt.query([])?;
    let mut found = 0usize;
    while let Some(row) = rows.next()? {
        found += 1;
        if found <= SHOWN {
            let table: String = row.get(0)?;
            let rowid: Option<i64> = row.get(1)?;
            let parent: String = row.get(2)?;
            report.problems.push(format!(
                "foreign key: a row of {table} (rowid {}) points at a missing {parent}",
                rowid.map_or("-".into(), |r| r.to_string())
            ));
        }
    }
    if found > SHOWN {
        report
            .problems
            .push(format!("foreign key: {} more such rows", found - SHOWN));
    }
    Ok(())
}

fn event_sequence(conn: &Connection, report: &mut Report) -> rusqlite::Result<()> {
    let last: i64 = conn
        .query_row("SELECT last_id FROM event_sequence WHERE id = 1", [], |r| {
            r.get(0)
        })
        .optional()?
        .unwrap_or(0);
    // Table names come from the static list, never from input.
    let union: Vec<String> = events::TABLES
        .iter()
        .map(|t| format!("SELECT id FROM {t}"))
        .collect();
    let sql = format!("{} ORDER BY 1", union.join(" UNION ALL "));
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    let (mut expected, mut faults) = (1i64, 0usize);
    let mut fault = |report: &mut Report, text: String| {
        faults += 1;
        if faults <= SHOWN {
            report.problems.push(format!("events: {text}"));
        }
    };
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        report.events += 1;
        if id < expected {
            fault(report, format!("id {id} is used twice"));
        } else if id > expected {
            let missing = if id == expected + 1 {
                format!("id {expected} is missing")
            } else {
                format!("ids {expected}..={} are missing", id - 1)
            };
            fault(report, missing);
            expected = id + 1;
        } else {
            expected += 1;
        }
    }
    let highest = expected - 1;
    if highest > last {
        fault(
            report,
            format!("the sequence's counter ({last}) is behind the highest event id ({highest})"),
        );
    } else if highest < last {
        fault(
            report,
            format!(
                "the sequence's counter ({last}) is ahead of the log: ids {}..={last} are missing",
                highest + 1
            ),
        );
    }
    if faults > SHOWN {
        report
            .problems
            .push(format!("events: {} more such faults", faults - SHOWN));
    }
    Ok(())
}

/// One interaction's columns, as stored or as replayed.
#[derive(Debug, Clone, PartialEq, Default)]
struct Meta {
    rating: Option<i64>,
    last_rating_date: Option<String>,
    review_see_count: i64,
    last_review_see_date: Option<String>,
    count: i64,
    last_count_increment: Option<String>,
}

type Key = (i64, i64);

/// Replays one (user, content)'s events; `Err` names the first event that cannot apply.
fn replay(events: &[ReplayedEvent]) -> Result<Meta, String> {
    let mut meta: Option<Meta> = None;
    for event in events {
        match &event.change {
            None => {
                if meta.is_some() {
                    return Err(format!("a second meta_added_event (id {})", event.id));
                }
                let (rating, seen, count) = event.added;
                // The added event carries the counters; each date is when its counter was set.
                meta = Some(Meta {
                    rating,
                    last_rating_date: rating.map(|_| event.at.clone()),
                    review_see_count: seen,
                    last_review_see_date: (seen > 0).then(|| event.at.clone()),
                    count,
                    last_count_increment: (count > 0).then(|| event.at.clone()),
                });
            }
            Some((attribute, value)) => {
                let Some(meta) = meta.as_mut() else {
                    return Err(format!(
                        "a change (id {}) before the row was added",
                        event.id
                    ));
                };
                let text = (value != "None").then(|| value.clone());
                let number = || {
                    value
                        .parse::<f64>()
                        .map(|v| v.round() as i64)
                        .map_err(|_| format!("event {}: {attribute} = {value:?}", event.id))
                };
                match attribute.as_str() {
                    "rating" => meta.rating = text.map(|_| number()).transpose()?,
                    "last_rating_date" => meta.last_rating_date = text,
                    "review_see_count" => meta.review_see_count = number()?,
                    "last_review_see_date" => meta.last_review_see_date = text,
                    "count" => meta.count = number()?,
                    "last_count_increment" => meta.last_count_increment = text,
                    other => return Err(format!("event {}: unknown attribute {other}", event.id)),
                }
            }
        }
    }
    meta.ok_or_else(|| "no meta_added_event".into())
}

struct ReplayedEvent {
    id: i64,
    at: String,
    added: (Option<i64>, i64, i64),
    change: Option<(String, String)>,
}

fn interactions(conn: &Connection, report: &mut Report) -> rusqlite::Result<()> {
    let mut events_stmt = conn.prepare(
        "SELECT occured_by, object_id, id, occured_at, rating, coalesce(review_see_count, 0),
                coalesce(count, 0), NULL, NULL
           FROM meta_added_event WHERE occured_by IS NOT NULL
         UNION ALL
         SELECT occured_by, object_id, id, occured_at, NULL, 0, 0, attribute_name, new_value
           FROM changed_event WHERE model_name = ?1 AND occured_by IS NOT NULL
         ORDER BY 1, 2, 3",
    )?;
    let mut events = events_stmt.query([META_MODEL])?;
    let mut rows_stmt = conn.prepare(
        "SELECT user_id, content_id, rating, last_rating_date, coalesce(review_see_count, 0),
                last_review_see_date, coalesce(count, 0), last_count_increment
           FROM meta_user_content ORDER BY user_id, content_id",
    )?;
    let mut rows = rows_stmt.query([])?;
    let mut faults = 0usize;
    let mut fault = |report: &mut Report, text: String| {
        faults += 1;
        if faults <= SHOWN {
            report.problems.push(format!("interactions: {text}"));
        }
    };
    let mut pending: Option<(Key, ReplayedEvent)> = next_event(&mut events)?;
    while let Some(row) = rows.next()? {
        report.interactions += 1;
        let key: Key = (row.get(0)?, row.get(1)?);
        let stored = Meta {
            rating: row.get(2)?,
            last_rating_date: row.get(3)?,
            review_see_count: row.get(4)?,
            last_review_see_date: row.get(5)?,
            count: row.get(6)?,
            last_count_increment: row.get(7)?,
        };
        // Events of rows that went with their user or content come first in the merge.
        skip_rowless(conn, &mut pending, &mut events, Some(key), &mut |t| {
            fault(report, t)
        })?;
        let group = match &pending {
            Some((event_key, _)) if *event_key == key => take_group(&mut pending, &mut events)?.1,
            _ => Vec::new(),
        };
        if !group.iter().any(|e| e.change.is_none()) {
            report.unlogged_interactions += 1;
            continue;
        }
        match replay(&group) {
            Ok(replayed) if replayed == stored => {}
            Ok(replayed) => fault(
                report,
                format!(
                    "user {} / content {}: stored {stored:?}, events give {replayed:?}",
                    key.0, key.1
                ),
            ),
            Err(e) => fault(report, format!("user {} / content {}: {e}", key.0, key.1)),
        }
    }
    skip_rowless(conn, &mut pending, &mut events, None, &mut |t| {
        fault(report, t)
    })?;
    if faults > SHOWN {
        report
            .problems
            .push(format!("interactions: {} more such rows", faults - SHOWN));
    }
    Ok(())
}

fn next_event(events: &mut rusqlite::Rows<'_>) -> rusqlite::Result<Option<(Key, ReplayedEvent)>> {
    let Some(row) = events.next()? else {
        return Ok(None);
    };
    let attribute: Option<String> = row.get(7)?;
    let change = match attribute {
        Some(attribute) => Some((
            attribute,
            row.get::<_, Option<String>>(8)?.unwrap_or_default(),
        )),
        None => None,
    };
    Ok(Some((
        (row.get(0)?, row.get(1)?),
        ReplayedEvent {
            id: row.get(2)?,
            at: row.get(3)?,
            added: (row.get(4)?, row.get(5)?, row.get(6)?),
            change,
        },
    )))
}

/// All consecutive events of the pending event's (user, content).
fn take_group(
    pending: &mut Option<(Key, ReplayedEvent)>,
    events: &mut rusqlite::Rows<'_>,
) -> rusqlite::Result<(Key, Vec<ReplayedEvent>)> {
    let Some((key, first)) = pending.take() else {
        return Ok(((0, 0), Vec::new()));
    };
    let mut group = vec![first];
    loop {
        match next_event(events)? {
            Some((k, event)) if k == key => group.push(event),
            other => {
                *pending = other;
                return Ok((key, group));
            }
        }
    }
}

/// Consumes the event groups before `before` (all, with `None`): interactions with events but no
/// row, a fault unless their user or content is gone (the row went with it).
fn skip_rowless(
    conn: &Connection,
    pending: &mut Option<(Key, ReplayedEvent)>,
    events: &mut rusqlite::Rows<'_>,
    before: Option<Key>,
    fault: &mut dyn FnMut(String),
) -> rusqlite::Result<()> {
    while let Some((key, _)) = pending {
        if before.is_some_and(|b| *key >= b) {
            break;
        }
        let (rowless, _) = take_group(pending, events)?;
        if still_exists(conn, rowless)? {
            fault(format!(
                "user {} / content {}: events but no row",
                rowless.0, rowless.1
            ));
        }
    }
    Ok(())
}

/// Whether both ends of an interaction still exist (then its row should too).
fn still_exists(conn: &Connection, (user, content): Key) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM \"user\" WHERE user_id = ?1)
            AND EXISTS (SELECT 1 FROM content WHERE content_id = ?2)",
        [user, content],
        |r| r.get(0),
    )
}
