//! One writer (issue 12). SQLite lets one connection write at a time; rather than have every
//! connection of the process discover it by polling SQLite's lock (unfairly, and with timeouts under
//! load), the process queues its writers itself, first come first served, on one gate per database:
//!
//! * the API's writes run on a dedicated connection, after an async wait for the gate
//!   ([`super::Db::write`]), so that a queued write holds neither an async worker nor a pooled
//!   connection — the pool's connections only read, and SQLite refuses them any write (`query_only`);
//! * the server's background loops (engine, checkpointer) keep their own connections for their long
//!   reads, and take the gate for each write transaction ([`write_transaction`]), queueing behind and
//!   ahead of API writes in arrival order; their transactions are short, so API writes interleave;
//! * other processes (the CLI beside a running server) are not in the queue: they meet SQLite's busy
//!   handler, wait, and get a clear error if the server keeps the lock too long.
//!
//! Which gate a piece of database work may take is the work's scope: the thread it runs on knows
//! (a thread-local set by the functions that run database work), so that functions deep in the engine
//! take the gate without being handed it.

use rocket::tokio::sync::{Mutex, OwnedMutexGuard};
use rusqlite::{Connection, Transaction, TransactionBehavior};
use std::cell::RefCell;
use std::sync::Arc;

/// The queue of a database's writers: FIFO for async and blocking waiters alike (Tokio's mutex).
pub type Gate = Arc<Mutex<()>>;

#[derive(Clone)]
struct Scope {
    gate: Gate,
    /// The work runs for a writer that already holds the gate.
    held: bool,
}

thread_local! {
    static SCOPES: RefCell<Vec<Scope>> = const { RefCell::new(Vec::new()) };
}

/// Runs `work` with `gate` as the gate its write transactions take (`held`: already taken for it).
pub fn in_scope<T>(gate: &Gate, held: bool, work: impl FnOnce() -> T) -> T {
    struct Leave;
    impl Drop for Leave {
        fn drop(&mut self) {
            SCOPES.with(|s| s.borrow_mut().pop());
        }
    }
    SCOPES.with(|s| {
        s.borrow_mut().push(Scope {
            gate: gate.clone(),
            held,
        })
    });
    let _leave = Leave;
    work()
}

/// The calling thread's scope, carried to a thread it starts (`Inherited::enter`) so that the work
/// there queues for the same gate.
pub struct Inherited(Option<Scope>);

pub fn inherit() -> Inherited {
    Inherited(SCOPES.with(|s| s.borrow().last().cloned()))
}

impl Inherited {
    pub fn enter<T>(self, work: impl FnOnce() -> T) -> T {
        match self.0 {
            Some(scope) => in_scope(&scope.gate, scope.held, work),
            None => work(),
        }
    }
}

/// The gate to take for a write transaction now, if any: none when the work's writer holds it
/// already, or when the work runs outside the server (a CLI command is its process's only writer).
fn gate_to_take() -> Option<Gate> {
    SCOPES.with(|s| {
        s.borrow()
            .last()
            .filter(|scope| !scope.held)
            .map(|scope| scope.gate.clone())
    })
}

/// A write transaction: SQLite's write lock taken at once (`BEGIN IMMEDIATE`), after the process's
/// gate when the work's scope asks for it. Fields drop in order: the transaction (rolled back unless
/// committed), then the gate.
pub struct WriteTransaction<'c> {
    tx: Transaction<'c>,
    _turn: Option<OwnedMutexGuard<()>>,
    /// Where it was opened, and when it had the lock: long holders are logged (at debug).
    opened_at: &'static std::panic::Location<'static>,
    locked: std::time::Instant,
}

impl<'c> std::ops::Deref for WriteTransaction<'c> {
    type Target = Transaction<'c>;

    fn deref(&self) -> &Transaction<'c> {
        &self.tx
    }
}

impl WriteTransaction<'_> {
    pub fn commit(self) -> rusqlite::Result<()> {
        let WriteTransaction {
            tx,
            _turn,
            opened_at,
            locked,
        } = self;
        let result = tx.commit();
        let held = locked.elapsed();
        if held >= LONG_HOLD {
            tracing::debug!(at = %opened_at, ms = held.as_millis() as u64, "write lock held long");
        }
        result
    }
}

/// Starts a write transaction that takes SQLite's write lock at once, queueing first for the gate of
/// the work's scope (see the module's documentation). A deferred transaction that reads first and
/// writes later can fail with SQLITE_BUSY when another process's writer got in between (the busy
/// handler cannot help there); taking the lock up front makes such writers wait instead.
#[track_caller]
pub fn write_transaction(conn: &mut Connection) -> rusqlite::Result<WriteTransaction<'_>> {
    let opened_at = std::panic::Location::caller();
    // The blocking wait is on a blocking thread: every caller runs database work there.
    let turn = gate_to_take().map(|gate| gate.blocking_lock_owned());
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    Ok(WriteTransaction {
        tx,
        _turn: turn,
        opened_at,
        locked: std::time::Instant::now(),
    })
}

/// Write transactions holding the lock this long are logged at debug level.
const LONG_HOLD: std::time::Duration = std::time::Duration::from_millis(50);

/// Runs `work` holding the gate of the work's scope, if any: for writes that are not transactions
/// (a truncating WAL checkpoint).
pub fn with_turn<T>(work: impl FnOnce() -> T) -> T {
    let _turn = gate_to_take().map(|gate| gate.blocking_lock_owned());
    work()
}

#[cfg(test)]
mod tests {
    use super::super::Db;

    #[test]
    fn pooled_connections_only_read_and_writes_take_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("w.db")).unwrap();
        let write = "INSERT INTO revoked_token (jti) VALUES ('x')";
        let refused = db.connection().unwrap().execute(write, []).unwrap_err();
        assert_eq!(
            refused.sqlite_error_code(),
            Some(rusqlite::ErrorCode::ReadOnly),
            "{refused}"
        );
        db.write_blocking(|conn| Ok(conn.execute(write, [])?))
            .unwrap();
        let n: i64 = db
            .connection()
            .unwrap()
            .query_row("SELECT count(*) FROM revoked_token", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn writers_take_turns_in_arrival_order() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("w.db")).unwrap();
        let order = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let first = db.gate().clone().blocking_lock_owned();
        let waiters: Vec<_> = (0..4)
            .map(|i| {
                let (db, order) = (db.clone(), order.clone());
                let handle = std::thread::spawn(move || {
                    db.write_blocking(|_| {
                        order.lock().unwrap().push(i);
                        Ok(())
                    })
                    .unwrap()
                });
                // Let each one queue before the next arrives.
                std::thread::sleep(std::time::Duration::from_millis(50));
                handle
            })
            .collect();
        drop(first);
        for waiter in waiters {
            waiter.join().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3]);
    }
}
