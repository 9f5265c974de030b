//! A sandbox profile's recommendation launch, as both the HTTP route (`POST /api/profile/<uuid>/recommend`)
//! and the Socket.IO `recommend` event run it (api-reference.md 2.12, steps 5–7).

use super::personal;
use crate::db::{self, profiles};
use rusqlite::Connection;

/// What a launch did: the snapshot's event id, and whether the engine's results were written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Launched {
    pub event_id: i64,
    pub computed: bool,
}

/// Snapshots the profile (the event with copies of its liked genres and metas) and commits it, then
/// computes the engine's results for that snapshot and commits them. As in the reference, the snapshot
/// stays in the history when the engine fails; the failure is logged and reported as `computed: false`.
pub fn launch(conn: &mut Connection, profile_id: i64) -> rusqlite::Result<Launched> {
    let event_id = {
        let tx = db::write_transaction(conn)?;
        let event_id = profiles::snapshot(&tx, profile_id)?;
        tx.commit()?;
        event_id
    };
    let computed = (|| -> rusqlite::Result<()> {
        let results = personal::launch_results(conn, event_id)?;
        let tx = db::write_transaction(conn)?;
        personal::store_launch_results(&tx, event_id, &results)?;
        tx.commit()
    })();
    if let Err(e) = &computed {
        tracing::error!("profile recommendation {event_id}: {e}");
    }
    Ok(Launched {
        event_id,
        computed: computed.is_ok(),
    })
}
