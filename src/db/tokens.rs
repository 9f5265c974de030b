//! Revoked access tokens (logout), by `jti`.

use rusqlite::Connection;

pub fn revoke(conn: &Connection, jti: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR IGNORE INTO revoked_token (jti) VALUES (?1)")?
        .execute([jti])?;
    Ok(())
}

pub fn is_revoked(conn: &Connection, jti: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM revoked_token WHERE jti = ?1)")?
        .query_row([jti], |r| r.get(0))
}
