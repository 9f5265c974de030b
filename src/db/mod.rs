//! The store: one SQLite file behind an r2d2 pool, its embedded migrations, and a way to run blocking
//! database work off Rocket's async workers. One submodule per aggregate holds that aggregate's queries.

pub mod catalogue;
pub mod genres;
pub mod groups;
pub mod links;
pub mod mail;
pub mod meta;
pub mod profiles;
pub mod proposals;
pub mod tokens;
pub mod users;
pub mod writer;

pub use writer::{WriteTransaction, write_transaction};

use crate::error::{ApiError, ApiResult};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod embedded {
    refinery::embed_migrations!("migrations");
}

pub type Pool = r2d2::Pool<SqliteConnectionManager>;
/// One page of rows and the total number of rows.
pub type Paged<T> = (Vec<T>, i64);
pub type PooledConnection = r2d2::PooledConnection<SqliteConnectionManager>;

/// How long a statement waits for another connection's write lock before failing with "busy":
/// this many one-millisecond polls (about 5 s).
const BUSY_POLLS: i32 = 5_000;

/// Waits for a lock by polling every millisecond. SQLite's own timeout handler sleeps longer and
/// longer (up to 100 ms between tries) and so misses the short gaps between an engine rebuild's
/// transactions: API writes timed out behind a rebuild although the lock was free for a moment
/// every ~100 ms.
fn poll_when_busy(polls: i32) -> bool {
    std::thread::sleep(Duration::from_millis(1));
    polls < BUSY_POLLS
}

/// Makes `conn` wait for locks as every connection of ours does (see `poll_when_busy`).
pub fn wait_when_busy(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_handler(Some(poll_when_busy))
}

const POOL_SIZE: u32 = 8;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "{path} is read-only: the server writes its database (check the permissions and the file system)"
    )]
    ReadOnlyFile { path: PathBuf },
    #[error(
        "the folder {path} is read-only: the server creates its database's -wal and -shm files there (check the permissions and the file system)"
    )]
    ReadOnlyFolder { path: PathBuf },
    #[error("{path} is not a usable SQLite database: {source}")]
    NotADatabase {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("migration failed: {0}")]
    Migration(#[from] refinery::Error),
    #[error("migrations left {0} foreign-key violations")]
    ForeignKeys(i64),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot build the connection pool: {0}")]
    Pool(#[from] r2d2::Error),
}

/// A cheap, cloneable handle on the database: a pool of connections that only read, and the one
/// connection that writes, behind the process's queue of writers (see [`writer`]).
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    path: PathBuf,
    gate: writer::Gate,
    writer: Arc<Mutex<Connection>>,
    /// A connection that never writes: its `data_version` changes whenever anyone commits.
    watcher: Arc<Mutex<Connection>>,
    storage_fault: Arc<std::sync::atomic::AtomicBool>,
}

impl Db {
    /// Opens (creating if needed) and migrates the database, then builds the pool.
    ///
    /// WAL mode and migrations run on one dedicated connection before the pool exists: switching the
    /// journal mode needs an exclusive lock, which parallel pool connections would fight over.
    pub fn open(path: &Path) -> Result<Db, StoreError> {
        Db::open_limited(path, None)
    }

    /// [`Db::open`], with the database's size capped at `max_bytes` (SQLite's `max_page_count`):
    /// past it, writes fail as on a full disk (503) and reads go on.
    pub fn open_limited(path: &Path, max_bytes: Option<u64>) -> Result<Db, StoreError> {
        ensure_writable(path)?;
        let mut writer = open_connection(path)?;
        migrate(&mut writer)?;
        configure_connection(&mut writer)?;
        if let Some(max_bytes) = max_bytes {
            let page_size: i64 = writer.query_row("PRAGMA page_size", [], |r| r.get(0))?;
            let pages = (max_bytes as i64 / page_size.max(1)).max(1);
            let _: i64 =
                writer.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
                    r.get(0)
                })?;
        }
        let manager = SqliteConnectionManager::file(path).with_init(|conn| {
            configure_connection(conn)?;
            // Readers only: a write here would bypass the queue of writers; SQLite refuses it.
            conn.execute_batch("PRAGMA query_only = ON")
        });
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .connection_timeout(Duration::from_secs(10))
            .build(manager)?;
        let watcher = open_connection(path)?;
        watcher.execute_batch("PRAGMA query_only = ON")?;
        Ok(Db {
            pool,
            path: path.to_owned(),
            gate: writer::Gate::default(),
            writer: Arc::new(Mutex::new(writer)),
            watcher: Arc::new(Mutex::new(watcher)),
            storage_fault: Arc::default(),
        })
    }

    /// Whether a write failed because the storage is full or read-only (decisions F27), and no
    /// probe since showed that writes succeed again ([`Db::probe_storage`]). (Other writes do not
    /// tell: a row changed in place needs no new space.)
    pub fn storage_fault(&self) -> bool {
        self.storage_fault
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Writes and removes 64 KB, as much as a request's writes need; on success the storage fault
    /// is over.
    pub async fn probe_storage(&self) -> ApiResult<()> {
        self.write(|conn| Ok(probe_write(conn)?)).await?;
        if self
            .storage_fault
            .swap(false, std::sync::atomic::Ordering::Relaxed)
        {
            tracing::info!("writes succeed again");
        }
        Ok(())
    }

    /// A number that changes whenever a transaction that wrote to the database commits — from this
    /// process or another, through our code or not (SQLite's `data_version`, read on a connection that
    /// never writes). For caches of what the database says: read it before reading the data.
    pub fn version(&self) -> rusqlite::Result<i64> {
        let watcher = self.watcher.lock().unwrap_or_else(|p| p.into_inner());
        data_version(&watcher)
    }

    /// [`Db::version`] for an async worker: `None` rather than wait when another request is reading
    /// it. Reading it never waits on I/O (SQLite reads the WAL index, in shared memory).
    pub fn version_now(&self) -> Option<i64> {
        let watcher = self.watcher.try_lock().ok()?;
        data_version(&watcher).ok()
    }

    /// The queue of this database's writers, for connections of the server's own that write.
    pub fn gate(&self) -> &writer::Gate {
        &self.gate
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A pooled, read-only connection for synchronous callers. Request handlers use [`Db::run`].
    pub fn connection(&self) -> ApiResult<PooledConnection> {
        Ok(self.pool.get()?)
    }

    /// Runs blocking reads on Tokio's blocking pool, so that the async workers stay free, on a pooled
    /// connection that only reads (reads run in parallel; a write there fails: use [`Db::write`]).
    pub async fn run<T, F>(&self, work: F) -> ApiResult<T>
    where
        F: FnOnce(&mut Connection) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let (pool, gate) = (self.pool.clone(), self.gate.clone());
        rocket::tokio::task::spawn_blocking(move || {
            let mut conn = pool
                .get()
                .map_err(|e| ApiError::Unavailable(e.to_string()))?;
            writer::in_scope(&gate, false, || work(&mut conn))
        })
        .await?
    }

    /// Runs database work that writes, on the one writing connection, once every writer queued before
    /// it is done (an async wait: it holds no worker and no pooled connection meanwhile). The work may
    /// read, write outside transactions, and open write transactions.
    pub async fn write<T, F>(&self, work: F) -> ApiResult<T>
    where
        F: FnOnce(&mut Connection) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let turn = self.gate.clone().lock_owned().await;
        let db = self.clone();
        rocket::tokio::task::spawn_blocking(move || {
            let _turn = turn;
            db.on_writer(work)
        })
        .await?
    }

    /// [`Db::write`] for a caller that is already on a blocking thread (a background loop).
    pub fn write_blocking<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> ApiResult<T>,
    ) -> ApiResult<T> {
        let _turn = self.gate.clone().blocking_lock_owned();
        self.on_writer(work)
    }

    /// Runs `work` on the writing connection; the caller holds the gate. Notes storage faults.
    fn on_writer<T>(&self, work: impl FnOnce(&mut Connection) -> ApiResult<T>) -> ApiResult<T> {
        // A panic in earlier work rolled its transaction back while unwinding: the connection is
        // usable, so a poisoned lock is taken over.
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let outcome = writer::in_scope(&self.gate, true, || work(&mut conn));
        if matches!(outcome, Err(ApiError::StorageUnavailable(_)))
            && !self
                .storage_fault
                .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            tracing::error!("writes fail: the storage is full or read-only");
        }
        outcome
    }
}

fn data_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("PRAGMA data_version")?
        .query_row([], |r| r.get(0))
}

/// Refuses a database file, or the folder it is to be created in, that cannot be written, with a
/// message that says so (SQLite would only say "unable to open database file").
fn ensure_writable(path: &Path) -> Result<(), StoreError> {
    let denied = |e: &std::io::Error| {
        matches!(
            e.kind(),
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
        )
    };
    if path.exists()
        && let Err(e) = std::fs::OpenOptions::new().write(true).open(path)
        && denied(&e)
    {
        return Err(StoreError::ReadOnlyFile {
            path: path.to_owned(),
        });
    }
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let probe = folder.join(format!(".recofinement-write-probe-{}", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) if denied(&e) => Err(StoreError::ReadOnlyFolder { path: folder }),
        // Another problem (a missing folder...): SQLite's own error says it.
        Err(_) => Ok(()),
    }
}

/// Opens one connection, switches the file to WAL mode (stored in the file, so every later connection
/// gets it), and proves on the way that the file is an SQLite database.
pub fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(|source| StoreError::Open {
        path: path.to_owned(),
        source,
    })?;
    wait_when_busy(&conn)?;
    let _mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(|source| StoreError::NotADatabase {
            path: path.to_owned(),
            source,
        })?;
    Ok(conn)
}

/// Per-connection settings. The bundled SQLite already defaults foreign keys on; say it anyway.
///
/// The pool's connections never checkpoint the WAL themselves: SQLite makes the committer that
/// crosses the threshold copy the log back, and after an engine rebuild's bulk writes that would be
/// some request paying seconds. `run_checkpointer` does it in the background instead.
pub fn configure_connection(conn: &mut Connection) -> rusqlite::Result<()> {
    wait_when_busy(conn)?;
    conn.execute_batch(
        "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0;",
    )
}

/// WAL size past which the background checkpoint truncates the log.
const WAL_TRUNCATE_BYTES: u64 = 64 * 1024 * 1024;
/// With the WAL managed externally: the size past which the replicator is evidently not checkpointing
/// (Litestream truncates past ~500 MB by default) and the server checkpoints passively after all.
const WAL_EXTERNAL_LIMIT_BYTES: u64 = 1024 * 1024 * 1024;

/// Whether an external replicator (Litestream) owns the WAL's checkpoints (`--wal-external`).
/// Process-wide because the deployment decides it, and every holder of a connection (the server's
/// checkpointer, the engine's bulk writes, CLI commands) must follow it.
static WAL_EXTERNAL: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn set_wal_external(external: bool) {
    WAL_EXTERNAL.store(external, std::sync::atomic::Ordering::Relaxed);
}

pub fn wal_external() -> bool {
    WAL_EXTERNAL.load(std::sync::atomic::Ordering::Relaxed)
}

/// Whether the database has a table of that name.
pub fn has_table(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1)",
        [name],
        |r| r.get(0),
    )
}

/// Whether Litestream has replicated this database (it adds its own tables to the file).
pub fn replicated_by_litestream(conn: &Connection) -> rusqlite::Result<bool> {
    has_table(conn, "_litestream_seq")
}

/// A connection that a background loop keeps from one run to the next (its page cache and prepared
/// statements with it): opened and set up on first use, and again after a run that failed.
///
/// Its write transactions take their turn with the API's writes (the database's gate).
pub struct HeldConnection {
    path: PathBuf,
    gate: writer::Gate,
    setup: fn(&mut Connection) -> rusqlite::Result<()>,
    conn: Option<Connection>,
    /// Runs on threads of its own at a lower CPU priority (see `in_background`).
    background: bool,
}

impl HeldConnection {
    pub fn new(db: &Db, setup: fn(&mut Connection) -> rusqlite::Result<()>) -> HeldConnection {
        HeldConnection {
            path: db.path.clone(),
            gate: db.gate.clone(),
            setup,
            conn: None,
            background: false,
        }
    }

    /// Work that may compute for minutes (an engine rebuild) runs on a thread of its own at a lower
    /// CPU priority, so that requests keep the CPU they need meanwhile.
    pub fn in_background(mut self) -> HeldConnection {
        self.background = true;
        self
    }

    /// Runs `work` on the connection, on Tokio's blocking pool (or a background thread).
    pub async fn run<F>(&mut self, work: F) -> Result<(), String>
    where
        F: FnOnce(&mut Connection, &Path) -> Result<(), String> + Send + 'static,
    {
        let (held, path, setup) = (self.conn.take(), self.path.clone(), self.setup);
        let gate = self.gate.clone();
        let job = move || {
            let mut conn = match held {
                Some(conn) => conn,
                None => {
                    let mut conn = open_connection(&path).map_err(|e| e.to_string())?;
                    setup(&mut conn).map_err(|e| e.to_string())?;
                    conn
                }
            };
            writer::in_scope(&gate, false, || work(&mut conn, &path)).map(|()| conn)
        };
        let outcome = if self.background {
            let (done, outcome) = rocket::tokio::sync::oneshot::channel();
            std::thread::Builder::new()
                .name("background".into())
                .spawn(move || {
                    crate::util::priority::lower_this_thread();
                    let _ = done.send(job());
                })
                .map_err(|e| e.to_string())?;
            outcome
                .await
                .map_err(|_| "a background thread ended early".to_owned())?
        } else {
            rocket::tokio::task::spawn_blocking(job)
                .await
                .map_err(|e| e.to_string())?
        };
        self.conn = Some(outcome?);
        Ok(())
    }
}

/// Copies the WAL back into the database every `interval`, on a connection of its own (PASSIVE:
/// never waits for readers or writers), for the pool's connections that leave it to us.
pub async fn run_checkpointer(db: Db, interval: Duration) {
    // A truncating checkpoint holds writers back while it waits for readers: never for long; it is
    // retried every interval.
    let mut conn = HeldConnection::new(&db, |conn| conn.busy_timeout(Duration::from_millis(200)));
    let mut warned: Option<std::time::Instant> = None;
    loop {
        rocket::tokio::time::sleep(interval).await;
        let mut wal = db.path.clone().into_os_string();
        wal.push("-wal");
        let wal_bytes = std::fs::metadata(&wal).map_or(0, |m| m.len());
        if wal_external() {
            // Litestream's read lock makes any checkpoint of ours either void (passive) or a wait
            // that holds every writer back (truncate): leave them to it, unless it is gone.
            if wal_bytes <= WAL_EXTERNAL_LIMIT_BYTES {
                continue;
            }
            if warned.is_none_or(|at| at.elapsed() > Duration::from_secs(600)) {
                tracing::warn!(
                    "the WAL is {} MB although --wal-external leaves checkpoints to a replicator: is \
                     Litestream running? Checkpointing passively meanwhile",
                    wal_bytes / 1_000_000
                );
                warned = Some(std::time::Instant::now());
            }
        }
        let outcome = conn
            .run(move |conn, _| {
                // Under a steady stream of reads a passive checkpoint never lets the log restart;
                // past a size, truncate it (waits for the readers of the moment, briefly holds
                // writers back).
                let large = !wal_external() && wal_bytes > WAL_TRUNCATE_BYTES;
                let checkpoint = || {
                    let mode = if large { "TRUNCATE" } else { "PASSIVE" };
                    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(()))
                        .map_err(|e| e.to_string())
                };
                // Truncating waits for the log's readers while writers wait: it is a writer too.
                if large {
                    writer::with_turn(checkpoint)
                } else {
                    checkpoint()
                }
            })
            .await;
        if let Err(e) = outcome {
            tracing::warn!("WAL checkpoint: {e}");
        }
    }
}

/// Applies the embedded migrations that are not applied yet.
///
/// Foreign keys are switched off first: refinery runs each migration in a transaction, where the
/// pragma is a no-op, and a table rebuild with them on would cascade-delete child rows. The check
/// afterwards proves that the migrations left the data consistent.
pub fn migrate(conn: &mut Connection) -> Result<Vec<String>, StoreError> {
    conn.execute_batch("PRAGMA foreign_keys = OFF")?;
    let report = embedded::migrations::runner().run(conn);
    conn.execute_batch("PRAGMA foreign_keys = ON")?;
    let report = report?;
    // Only after a change: on a large database the check reads every row (seconds at 10M rows).
    if !report.applied_migrations().is_empty() {
        let violations: i64 =
            conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })?;
        if violations > 0 {
            return Err(StoreError::ForeignKeys(violations));
        }
    }
    Ok(report
        .applied_migrations()
        .iter()
        .map(|m| m.to_string())
        .collect())
}

/// Writes and removes 64 KB in one transaction: it fails where the writes of a request would, for
/// lack of space.
fn probe_write(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = write_transaction(conn)?;
    tx.execute(
        "INSERT INTO storage_probe (filler) VALUES (zeroblob(65536))",
        [],
    )?;
    tx.execute("DELETE FROM storage_probe", [])?;
    tx.commit()
}

/// The newest applied migration version.
pub fn schema_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT coalesce(max(version), 0) FROM refinery_schema_history",
        [],
        |r| r.get(0),
    )
}

/// Whether an error is a UNIQUE/PRIMARY KEY violation (for turning races into clean 4xx answers).
pub fn is_unique_violation(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(e, _)
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}
