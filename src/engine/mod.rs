//! The built-in recommendation engine (decisions F17), incremental from the event log.
//!
//! Each stage keeps a watermark: the id of the last event it consumed. A run reads the watermark and
//! the newest event id in one read snapshot, computes from that snapshot without holding SQLite's write
//! lock (the API keeps writing), then writes its outputs and the new watermark in one write
//! transaction — only if the watermark is still the one it started from. So a crash loses nothing (the
//! watermark did not move), a concurrent run cannot double-count (the compare fails), and a stage with
//! no new relevant events does nothing.

pub mod collaborative;
pub mod due;
pub mod ease;
pub mod evaluate;
pub mod launch;
pub mod linalg;
pub mod metrics;
pub mod personal;
pub mod popularity;
pub mod regression;
pub mod similarity;
pub mod taste;

use crate::db;
use crate::util::idhash::IdSet;
use rocket::tokio::sync::Notify;
use rusqlite::{Connection, OptionalExtension, Transaction};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("an engine worker thread panicked")]
    WorkerPanicked,
}

/// What one run of one stage did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// No event since the watermark is relevant to the stage: nothing computed, the watermark
    /// advanced past the irrelevant ones.
    UpToDate { watermark: i64 },
    /// Outputs written for the events in (from, to].
    Ran { from: i64, to: i64, updated: usize },
    /// Another run moved the watermark meanwhile; this run's work was dropped.
    Superseded,
}

impl RunOutcome {
    /// What a run that tried to commit did: dropped if the watermark moved meanwhile, up to date if
    /// there was nothing to compute, otherwise `updated` outputs for the window.
    pub fn of(committed: bool, nothing: bool, w: Window, updated: usize) -> RunOutcome {
        match (committed, nothing) {
            (false, _) => RunOutcome::Superseded,
            (true, true) => RunOutcome::UpToDate { watermark: w.to },
            (true, false) => RunOutcome::Ran {
                from: w.from,
                to: w.to,
                updated,
            },
        }
    }
}

/// The events a run covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: i64,
    pub to: i64,
}

pub fn watermark(conn: &Connection, stage: &str) -> rusqlite::Result<i64> {
    Ok(conn
        .query_row(
            "SELECT last_event_id FROM engine_stage WHERE stage = ?1",
            [stage],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

/// The window of a run: from the stage's watermark (0 for a full rebuild) to the newest event.
pub fn window(conn: &Connection, stage: &str, full: bool) -> rusqlite::Result<Window> {
    let from = if full { 0 } else { watermark(conn, stage)? };
    let to: i64 = conn.query_row("SELECT last_id FROM event_sequence", [], |r| r.get(0))?;
    Ok(Window {
        from,
        to: to.max(from),
    })
}

/// Writes a run's outputs and moves the watermark to `window.to`, in one write transaction, if the
/// watermark is still where the run started (for a full rebuild: wherever it is, unless it passed
/// `window.to`). Returns whether it committed.
pub fn commit<F>(
    conn: &mut Connection,
    stage: &str,
    window: Window,
    full: bool,
    write: F,
) -> Result<bool, EngineError>
where
    F: FnOnce(&Transaction<'_>) -> Result<(), EngineError>,
{
    let started = std::time::Instant::now();
    let tx = db::write_transaction(conn)?;
    let current = watermark(&tx, stage)?;
    let still_ours = if full {
        current <= window.to
    } else {
        current == window.from
    };
    if !still_ours {
        return Ok(false);
    }
    write(&tx)?;
    tx.execute(
        "INSERT INTO engine_stage (stage, last_event_id, last_run_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (stage) DO UPDATE SET last_event_id = excluded.last_event_id, last_run_at = excluded.last_run_at",
        rusqlite::params![stage, window.to, crate::util::time::now_text()],
    )?;
    tx.commit()?;
    let seconds = started.elapsed().as_secs_f64();
    if seconds >= 1.0 {
        tracing::info!(stage, seconds, "engine outputs written");
    } else {
        tracing::debug!(stage, seconds, "engine outputs written");
    }
    Ok(true)
}

/// Runs `work` with foreign-key enforcement off on this connection, then turns it back on.
///
/// For a full rebuild's bulk writes only: they write ids the run itself read from the database, and the
/// writer removes, in the same transaction, the rows of contents deleted since its snapshot
/// (`deleted_since`). Checking two keys per row would cost more than computing the rows.
pub fn without_foreign_keys<T>(
    conn: &mut Connection,
    work: impl FnOnce(&mut Connection) -> Result<T, EngineError>,
) -> Result<T, EngineError> {
    conn.execute_batch("PRAGMA foreign_keys = OFF")?;
    let result = work(conn);
    conn.execute_batch("PRAGMA foreign_keys = ON")?;
    result
}

/// Rows per write transaction of a bulk write: the API's writers, queued behind it, wait for one of
/// them at most (tens of milliseconds). Measured on the large seed: 20,000 gave p99 62 ms to the
/// API's writes during a rebuild, 5,000 made the rebuild 27 % slower; 10,000 costs nothing over
/// 20,000 (BENCHMARKS.md).
pub const ROWS_PER_TRANSACTION: usize = 10_000;

/// Rows per multi-row INSERT of a bulk write.
const ROWS_PER_STATEMENT: usize = 100;

/// Inserts `rows` through multi-row `INSERT ... VALUES (...), (...), ...` statements of up to
/// `ROWS_PER_STATEMENT` rows: a rebuild writes tens of millions of rows, and SQLite's per-statement
/// cost (step, reset, bind) is then paid a hundred times less often. `bind` binds one row's `width`
/// values from the given 1-based parameter index on.
pub fn insert_batched<T>(
    tx: &Transaction<'_>,
    head: &str,
    width: usize,
    rows: &[T],
    mut bind: impl FnMut(&mut rusqlite::Statement<'_>, usize, &T) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    let tuple = format!("({})", vec!["?"; width].join(", "));
    let sql = |n: usize| format!("{head} {}", vec![tuple.as_str(); n].join(", "));
    let full = rows.chunks_exact(ROWS_PER_STATEMENT);
    let rest = full.remainder();
    let mut statement = tx.prepare_cached(&sql(ROWS_PER_STATEMENT))?;
    for chunk in full {
        for (i, row) in chunk.iter().enumerate() {
            bind(&mut statement, i * width + 1, row)?;
        }
        statement.raw_execute()?;
    }
    if !rest.is_empty() {
        let mut statement = tx.prepare(&sql(rest.len()))?;
        for (i, row) in rest.iter().enumerate() {
            bind(&mut statement, i * width + 1, row)?;
        }
        statement.raw_execute()?;
    }
    Ok(())
}

/// How long a forced checkpoint may wait for readers (and so hold writers back).
pub const CHECKPOINT_WAIT_MS: u64 = 200;
/// Transactions of a bulk write between two forced checkpoints (about 320,000 rows: each checkpoint
/// copies back and syncs what they wrote, and checkpointing more often made rebuilds slower).
const TRANSACTIONS_PER_CHECKPOINT: usize = 32;
static BULK_TRANSACTIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Call after each committed transaction of a bulk write (the API's writers queued meanwhile have
/// their turn before the next one). Every few of them, copies the WAL back and truncates it, waiting (busy timeout) for readers to move on: under a steady stream of API reads a
/// passive checkpoint never finds a moment when the log can restart, and a rebuild's log would grow
/// by gigabytes (measured: 24 GB before this).
pub fn chunk_committed(conn: &Connection) {
    use std::sync::atomic::Ordering;
    // Under an external replicator the log is its to checkpoint (`db::wal_external`).
    if db::wal_external() {
        return;
    }
    if BULK_TRANSACTIONS.fetch_add(1, Ordering::Relaxed) % TRANSACTIONS_PER_CHECKPOINT
        == TRANSACTIONS_PER_CHECKPOINT - 1
    {
        // While it waits for readers, writers wait too (it takes its turn as one): give up quickly
        // (it returns "busy") and retry at the next turn rather than stall the API's writes.
        let _ = conn.busy_timeout(std::time::Duration::from_millis(CHECKPOINT_WAIT_MS));
        db::writer::with_turn(|| {
            if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
                tracing::warn!("engine: WAL checkpoint: {e}");
            }
        });
        let _ = db::wait_when_busy(conn);
    }
}

/// Contents deleted by events after `after`.
pub fn deleted_since(conn: &Connection, after: i64) -> rusqlite::Result<IdSet<i64>> {
    deleted_in(
        conn,
        Window {
            from: after,
            to: i64::MAX,
        },
    )
}

/// Contents deleted by the window's events.
pub fn deleted_in(conn: &Connection, w: Window) -> rusqlite::Result<IdSet<i64>> {
    conn.prepare_cached("SELECT object_id FROM deletion_event WHERE id > ?1 AND id <= ?2")?
        .query_map([w.from, w.to], |r| r.get(0))?
        .collect()
}

/// An engine output table whose rows name contents in a column that is not indexed (migration V11):
/// a deleted content's rows there stay, unseen (readers join the content tables), until the
/// engine's next run removes them.
#[derive(Debug, Clone, Copy)]
pub struct NamingTable {
    pub table: &'static str,
    /// The leading key column.
    pub owner: &'static str,
    /// The other key column, naming a content.
    pub content: &'static str,
}

impl NamingTable {
    /// Keys (owner, content) of the rows that name one of `deleted`: one scan, read outside the
    /// write lock, and only when the window deleted something.
    pub fn rows_naming(
        &self,
        conn: &Connection,
        deleted: &IdSet<i64>,
    ) -> rusqlite::Result<Vec<(i64, i64)>> {
        if deleted.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {owner}, {content} FROM {table} WHERE {content} IN (SELECT value FROM json_each(?1))",
            owner = self.owner,
            content = self.content,
            table = self.table
        );
        let ids: Vec<String> = deleted.iter().map(i64::to_string).collect();
        conn.prepare(&sql)?
            .query_map([format!("[{}]", ids.join(","))], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect()
    }

    /// Deletes rows by key (in the caller's write transaction).
    pub fn delete(&self, tx: &Transaction<'_>, keys: &[(i64, i64)]) -> rusqlite::Result<()> {
        let mut stmt = tx.prepare_cached(&format!(
            "DELETE FROM {table} WHERE {owner} = ?1 AND {content} = ?2",
            owner = self.owner,
            content = self.content,
            table = self.table
        ))?;
        for (owner, content) in keys {
            stmt.execute([owner, content])?;
        }
        Ok(())
    }
}

/// The stages in dependency order: lists read the scores, neighbours and model of the earlier ones.
pub const STAGES: [&str; 4] = [
    popularity::STAGE,
    similarity::STAGE,
    collaborative::STAGE,
    personal::STAGE,
];

/// Runs one stage by name.
pub fn run_stage(
    conn: &mut Connection,
    stage: &str,
    full: bool,
) -> Result<RunOutcome, EngineError> {
    match stage {
        popularity::STAGE => popularity::run(conn, full),
        similarity::STAGE => similarity::run(conn, full),
        collaborative::STAGE => collaborative::run(conn, full),
        _ => personal::run(conn, full),
    }
}

/// Runs every stage once (in dependency order). `full` ignores the watermarks and recomputes all.
pub fn run_all(
    conn: &mut Connection,
    full: bool,
) -> Result<Vec<(&'static str, RunOutcome)>, EngineError> {
    run_all_reporting(conn, full, |_, _| {})
}

/// `run_all`, telling `report` each stage's outcome and seconds as it finishes (the stages before
/// the lists all at once: they run side by side, see `run_before_lists`).
pub fn run_all_reporting(
    conn: &mut Connection,
    full: bool,
    mut report: impl FnMut(&'static str, f64),
) -> Result<Vec<(&'static str, RunOutcome)>, EngineError> {
    tune(conn)?;
    let mut out = Vec::new();
    for (stage, outcome, seconds) in run_before_lists(conn, full)? {
        report(stage, seconds);
        out.push((stage, outcome));
    }
    let started = std::time::Instant::now();
    out.push((personal::STAGE, personal::run(conn, full)?));
    report(personal::STAGE, started.elapsed().as_secs_f64());
    Ok(out)
}

/// The stages before the lists, in two lanes that run side by side: the first on the caller's
/// connection, the second on a companion connection to the same file. No stage reads what another
/// of them writes (similarity reads the contents' descriptions, popularity and the collaborative
/// model the interactions; only the lists read all three), and each writes in short transactions:
/// while one lane's writer holds the lock, which is one core's work, the other lane computes on the
/// other core. One after the other, a rebuild left a core idle through every stage's writing.
const LANES: [&[&str]; 2] = [
    &[similarity::STAGE],
    &[popularity::STAGE, collaborative::STAGE],
];

/// Runs the stages before the lists (side by side, see `LANES`; one after the other for a database
/// without a file), returning each one's outcome and seconds in `STAGES` order.
pub fn run_before_lists(
    conn: &mut Connection,
    full: bool,
) -> Result<Vec<(&'static str, RunOutcome, f64)>, EngineError> {
    let mut out = match companion(conn)? {
        None => run_timed(conn, &STAGES[..STAGES.len() - 1], full)?,
        Some(mut other) => {
            let scope = db::writer::inherit();
            let (here, aside) = std::thread::scope(|threads| {
                let aside =
                    threads.spawn(move || scope.enter(|| run_timed(&mut other, LANES[1], full)));
                (run_timed(conn, LANES[0], full), aside.join())
            });
            let mut out = here?;
            out.extend(aside.map_err(|_| EngineError::WorkerPanicked)??);
            out
        }
    };
    out.sort_by_key(|(stage, ..)| STAGES.iter().position(|s| s == stage));
    // The lanes' threads freed their working sets into arenas of their own: on the large seed the
    // lists' stage then peaked 170 MB higher (1,041 MB) unless those pages go back first.
    crate::util::memory::release_free_memory();
    Ok(out)
}

fn run_timed(
    conn: &mut Connection,
    stages: &[&'static str],
    full: bool,
) -> Result<Vec<(&'static str, RunOutcome, f64)>, EngineError> {
    stages
        .iter()
        .map(|stage| {
            let started = std::time::Instant::now();
            let outcome = run_stage(conn, stage, full)?;
            crate::util::memory::release_free_memory();
            Ok((*stage, outcome, started.elapsed().as_secs_f64()))
        })
        .collect()
}

/// A second connection to `conn`'s database file with its settings, or none when the database
/// has no file (in memory, temporary).
fn companion(conn: &Connection) -> Result<Option<Connection>, EngineError> {
    let Some(path) = conn.path().filter(|path| !path.is_empty()) else {
        return Ok(None);
    };
    let other = Connection::open(path)?;
    db::wait_when_busy(&other)?;
    for pragma in [
        "foreign_keys",
        "synchronous",
        "wal_autocheckpoint",
        "cache_size",
    ] {
        let value: i64 = conn.query_row(&format!("PRAGMA {pragma}"), [], |r| r.get(0))?;
        // An integer SQLite itself returned: nothing from outside goes into this statement.
        other.execute_batch(&format!("PRAGMA {pragma} = {value}"))?;
    }
    Ok(Some(other))
}

/// Where a full run's time goes, for the log.
pub struct Timer {
    last: std::time::Instant,
    spent: std::collections::BTreeMap<&'static str, f64>,
}

impl Default for Timer {
    fn default() -> Timer {
        Timer {
            last: std::time::Instant::now(),
            spent: Default::default(),
        }
    }
}

impl Timer {
    pub fn lap(&mut self, what: &'static str) {
        let now = std::time::Instant::now();
        *self.spent.entry(what).or_default() += (now - self.last).as_secs_f64();
        self.last = now;
    }

    pub fn log(&self, stage: &'static str) {
        tracing::info!(stage, seconds = ?self.spent, "full run");
    }
}

/// Settings of the engine's own connections: its writes touch many pages of few tables, and a page
/// cache far above SQLite's 2 MB default keeps a rebuild from spilling and rewriting the same pages.
/// Since rebuilds append in key order (V11), 64 MB does as well as 128 MB did, within 3 %.
/// Commits sync as the API's do (`NORMAL`: the WAL is synced at checkpoints, not at each of a
/// rebuild's thousand commits).
pub fn tune(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("PRAGMA cache_size = -65536; PRAGMA synchronous = NORMAL;")
}

/// Whether one of `stages` has events to consume.
pub fn behind(conn: &Connection, stages: &[&str]) -> rusqlite::Result<bool> {
    let newest: i64 = conn.query_row("SELECT last_id FROM event_sequence", [], |r| r.get(0))?;
    for stage in stages {
        if watermark(conn, stage)? < newest {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Wakes the engine's fast worker right after a request wrote an interaction or changed what shapes
/// someone's lists (liked genres, a group's people).
#[derive(Clone, Default)]
pub struct EngineSignal(Arc<Notify>);

impl EngineSignal {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// Bursts of interactions within this time are folded in by one run.
const DEBOUNCE: Duration = Duration::from_millis(20);
/// Runs of the fast loop at most per wake-up, before it lets the slow loop have the lock a while.
const FOLD_IN_RUNS_PER_WAKE: usize = 50;

/// Runs `work` on a loop's own connection (set up as the API's, see `serve_setup`), logging
/// failures.
async fn on_own_connection<F>(conn: &mut db::HeldConnection, work: F)
where
    F: FnOnce(&mut Connection) -> Result<(), EngineError> + Send + 'static,
{
    if let Err(e) = conn
        .run(|conn, _| work(conn).map_err(|e| e.to_string()))
        .await
    {
        tracing::error!("engine: {e}");
    }
}

/// The server's engine connections: set up as the API's (in particular, they leave WAL
/// checkpoints to the server's checkpointer — a fold-in whose commit crossed SQLite's threshold
/// paid 0.5 s for one, on the rating's path), with the engine's page cache.
fn serve_setup(conn: &mut Connection) -> rusqlite::Result<()> {
    db::configure_connection(conn)?;
    tune(conn)
}

/// The server's engine, as two loops on their own connections:
/// * the fast one folds new interactions into their authors' lists, woken by the API right after
///   each one (debounced) and every `interval` — it never waits behind a rebuild;
/// * the slow one runs the heavier stages (popularity, similarity, model retraining, and the full
///   recomputation of lists a retrained model calls for) every `interval` when events are pending.
pub async fn run_workers(db: db::Db, interval: Duration, signal: EngineSignal) {
    let mut fast = db::HeldConnection::new(&db, serve_setup);
    let mut slow = db::HeldConnection::new(&db, serve_setup).in_background();
    rocket::tokio::spawn(async move {
        loop {
            let _ = rocket::tokio::time::timeout(interval, signal.0.notified()).await;
            rocket::tokio::time::sleep(DEBOUNCE).await;
            on_own_connection(&mut fast, |conn| {
                // A burst of queued lists (an import, a seed) is worked off batch after batch.
                for _ in 0..FOLD_IN_RUNS_PER_WAKE {
                    if !behind(conn, &[personal::STAGE])? && !due::pending(conn)? {
                        break;
                    }
                    let outcome = personal::run_fold_ins(conn)?;
                    tracing::debug!(stage = personal::STAGE, ?outcome, "engine");
                    if matches!(outcome, RunOutcome::UpToDate { .. }) {
                        break;
                    }
                }
                Ok(())
            })
            .await;
        }
    });
    loop {
        rocket::tokio::time::sleep(interval).await;
        on_own_connection(&mut slow, |conn| {
            if behind(
                conn,
                &[popularity::STAGE, similarity::STAGE, collaborative::STAGE],
            )? {
                for (stage, outcome, _) in run_before_lists(conn, false)? {
                    tracing::debug!(stage, ?outcome, "engine");
                }
                // A first run or a retrained model calls for everyone's lists (the fast loop leaves
                // that to us); otherwise this folds in what the fast loop has not yet.
                let outcome = personal::run(conn, false)?;
                tracing::debug!(stage = personal::STAGE, ?outcome, "engine");
            }
            Ok(())
        })
        .await;
    }
}
