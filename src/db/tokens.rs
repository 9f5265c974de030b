//! Revoked access tokens: one by one (logout, by `jti`), or all of a user's issued before a password
//! change (`token_cutoff`, migration V14).

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

/// Whether a token of `identity` issued at `issued_ms` is void by its user's last password change.
pub fn cut_off(
    conn: &Connection,
    identity: &str,
    issued_ms: i64,
    jti: Option<&str>,
) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        r#"SELECT EXISTS (SELECT 1 FROM token_cutoff c JOIN "user" u ON u.user_id = c.user_id
           WHERE u.uuid = ?1 AND ?2 < c.not_before_ms AND c.kept_jti IS NOT ?3)"#,
    )?
    .query_row(rusqlite::params![identity, issued_ms, jti], |r| r.get(0))
}

/// Voids every access token of the user issued before the current second, but `keep` (a jti).
/// Tokens carry their issue time in whole seconds (the reference's claim layout), so one issued in
/// the same second as the change survives it: a session that began in that second, not an old one.
pub fn void_all(conn: &Connection, user_id: i64, keep: Option<&str>) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO token_cutoff (user_id, not_before_ms, kept_jti) VALUES (?1, ?2, ?3)
         ON CONFLICT (user_id) DO UPDATE SET not_before_ms = excluded.not_before_ms, kept_jti = excluded.kept_jti",
    )?
    .execute(rusqlite::params![
        user_id,
        chrono::Utc::now().timestamp() * 1000,
        keep
    ])?;
    Ok(())
}
