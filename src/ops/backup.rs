//! `recofinement backup`: a consistent copy of a live database (SQLite's online backup), verified
//! with `PRAGMA integrity_check` before it takes the output's name — a failed backup leaves nothing.

use rusqlite::Connection;
use rusqlite::backup::{Backup, Progress, StepResult};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} already exists; remove it or choose another --output")]
    Exists(PathBuf),
    #[error("cannot write {0}: {1}")]
    Output(PathBuf, String),
    #[error("the copy failed its integrity check: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// Copies `source` into `output`; `progress(done, total)` is called as pages are copied.
pub fn backup(
    source: &Connection,
    output: &Path,
    progress: &dyn Fn(u64, u64),
) -> Result<u64, BackupError> {
    if output.exists() {
        return Err(BackupError::Exists(output.to_owned()));
    }
    let mut partial = output.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let _ = std::fs::remove_file(&partial);
    let result = copy_and_verify(source, &partial, progress);
    match result {
        Ok(pages) => {
            std::fs::rename(&partial, output)
                .map_err(|e| BackupError::Output(output.to_owned(), e.to_string()))?;
            Ok(pages)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

fn copy_and_verify(
    source: &Connection,
    partial: &Path,
    progress: &dyn Fn(u64, u64),
) -> Result<u64, BackupError> {
    let mut target = Connection::open(partial)
        .map_err(|e| BackupError::Output(partial.to_owned(), e.to_string()))?;
    let total = {
        let copy = Backup::new(source, &mut target)?;
        // Small steps with pauses: writers on the live database are never blocked for long. A write
        // during the copy makes SQLite restart it, so the result is one consistent snapshot.
        loop {
            let step = copy.step(1024)?;
            let Progress {
                remaining,
                pagecount,
            } = copy.progress();
            progress((pagecount - remaining) as u64, pagecount as u64);
            match step {
                StepResult::Done => break,
                StepResult::More => {}
                _ => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        copy.progress().pagecount as u64
    };
    // A backup file stands alone: no WAL beside it.
    let _mode: String = target.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))?;
    let verdict: String = target.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if verdict != "ok" {
        return Err(BackupError::Corrupt(verdict));
    }
    Ok(total)
}
