//! Lists that are due without an event of the log (migration V13): a user whose liked genres
//! changed, a group whose people changed. Triggers queue them for whoever writes those rows; the
//! recommendations stage recomputes them and removes, in the same write transaction, exactly the
//! entries it read.

use rusqlite::{Connection, Transaction};
use std::collections::BTreeSet;

/// Entries one run takes at most: a burst (a seed, an import) is worked off run after run, each
/// write transaction short.
const BATCH: i64 = 2_000;

/// The oldest queued entries.
#[derive(Debug, Default, Clone)]
pub struct Due {
    /// The last entry read (0: none).
    pub through: i64,
    pub users: BTreeSet<i64>,
    pub groups: BTreeSet<i64>,
}

impl Due {
    pub fn is_empty(&self) -> bool {
        self.through == 0
    }
}

pub fn read(conn: &Connection) -> rusqlite::Result<Due> {
    let mut due = Due::default();
    let mut stmt = conn.prepare_cached(
        "SELECT seq, user_id, group_id FROM engine_refresh ORDER BY seq LIMIT ?1",
    )?;
    let mut rows = stmt.query([BATCH])?;
    while let Some(row) = rows.next()? {
        due.through = row.get(0)?;
        if let Some(user) = row.get::<_, Option<i64>>(1)? {
            due.users.insert(user);
        }
        if let Some(group) = row.get::<_, Option<i64>>(2)? {
            due.groups.insert(group);
        }
    }
    Ok(due)
}

/// The newest entry, for a run that recomputes every list (it covers all entries up to there).
pub fn newest(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT coalesce(max(seq), 0) FROM engine_refresh")?
        .query_row([], |r| r.get(0))
}

/// Whether anything is queued.
pub fn pending(conn: &Connection) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM engine_refresh)")?
        .query_row([], |r| r.get(0))
}

/// Removes the entries up to `through` (in the write transaction of the lists that served them).
pub fn consumed(tx: &Transaction<'_>, through: i64) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM engine_refresh WHERE seq <= ?1")?
        .execute([through])?;
    Ok(())
}
