//! The built-in recommendation engine (decisions F17), incremental from the event log.
//!
//! Each stage keeps a watermark: the id of the last event it consumed. A run reads the watermark and
//! the newest event id in one read snapshot, computes from that snapshot without holding SQLite's write
//! lock (the API keeps writing), then writes its outputs and the new watermark in one write
//! transaction — only if the watermark is still the one it started from. So a crash loses nothing (the
//! watermark did not move), a concurrent run cannot double-count (the compare fails), and a stage with
//! no new relevant events does nothing.

pub mod collaborative;
pub mod evaluate;
pub mod personal;
pub mod popularity;
pub mod similarity;
pub mod taste;

use crate::db;
use rocket::tokio::sync::Notify;
use rusqlite::{Connection, OptionalExtension, Transaction};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
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
    Ok(true)
}

/// Runs every stage once (in dependency order). `full` ignores the watermarks and recomputes all.
pub fn run_all(
    conn: &mut Connection,
    full: bool,
) -> Result<Vec<(&'static str, RunOutcome)>, EngineError> {
    Ok(vec![
        (popularity::STAGE, popularity::run(conn, full)?),
        (similarity::STAGE, similarity::run(conn, full)?),
        (collaborative::STAGE, collaborative::run(conn, full)?),
        (personal::STAGE, personal::run(conn, full)?),
    ])
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

/// Wakes the engine's fast worker right after a request wrote an interaction.
#[derive(Clone, Default)]
pub struct EngineSignal(Arc<Notify>);

impl EngineSignal {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// Bursts of interactions within this time are folded in by one run.
const DEBOUNCE: Duration = Duration::from_millis(20);

/// Runs `work` on a blocking thread with its own connection, logging failures.
async fn on_own_connection<F>(path: &Path, work: F)
where
    F: FnOnce(&mut Connection) -> Result<(), EngineError> + Send + 'static,
{
    let path = path.to_owned();
    let outcome = rocket::tokio::task::spawn_blocking(move || -> Result<(), String> {
        let mut conn = db::open_connection(&path).map_err(|e| e.to_string())?;
        work(&mut conn).map_err(|e| e.to_string())
    })
    .await;
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!("engine: {e}"),
        Err(e) => tracing::error!("engine: {e}"),
    }
}

/// The server's engine, as two loops on their own connections:
/// * the fast one folds new interactions into their authors' lists, woken by the API right after
///   each one (debounced) and every `interval` — it never waits behind a rebuild;
/// * the slow one runs the heavier stages (popularity, similarity, model retraining, and the full
///   recomputation of lists a retrained model calls for) every `interval` when events are pending.
pub async fn run_workers(path: PathBuf, interval: Duration, signal: EngineSignal) {
    let fast_path = path.clone();
    rocket::tokio::spawn(async move {
        loop {
            let _ = rocket::tokio::time::timeout(interval, signal.0.notified()).await;
            rocket::tokio::time::sleep(DEBOUNCE).await;
            on_own_connection(&fast_path, |conn| {
                if behind(conn, &[personal::STAGE])? {
                    let outcome = personal::run(conn, false)?;
                    tracing::debug!(stage = personal::STAGE, ?outcome, "engine");
                }
                Ok(())
            })
            .await;
        }
    });
    loop {
        rocket::tokio::time::sleep(interval).await;
        on_own_connection(&path, |conn| {
            if behind(
                conn,
                &[popularity::STAGE, similarity::STAGE, collaborative::STAGE],
            )? {
                for (stage, outcome) in [
                    (popularity::STAGE, popularity::run(conn, false)?),
                    (similarity::STAGE, similarity::run(conn, false)?),
                    (collaborative::STAGE, collaborative::run(conn, false)?),
                ] {
                    tracing::debug!(stage, ?outcome, "engine");
                }
            }
            Ok(())
        })
        .await;
    }
}
