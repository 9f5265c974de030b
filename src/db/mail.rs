//! The mail outbox (decisions F7): queued in the request's transaction, delivered by a worker.

use crate::util::time::now_text;
use rusqlite::{Connection, params};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    Welcome,
    PasswordReset,
    PasswordResetDone,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::Welcome => "welcome",
            MailKind::PasswordReset => "password_reset",
            MailKind::PasswordResetDone => "password_reset_done",
        }
    }
}

#[derive(Debug, Clone)]
pub struct OutgoingMail {
    pub kind: MailKind,
    pub recipient_email: String,
    pub recipient_name: String,
    pub subject: String,
    pub body: String,
}

pub fn enqueue(conn: &Connection, mail: &OutgoingMail) -> rusqlite::Result<i64> {
    let now = now_text();
    conn.prepare_cached(
        "INSERT INTO mail_outbox (created_at, kind, recipient_email, recipient_name, subject, body, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?1)",
    )?
    .execute(params![now, mail.kind.as_str(), mail.recipient_email, mail.recipient_name, mail.subject, mail.body])?;
    Ok(conn.last_insert_rowid())
}

#[derive(Debug, Clone)]
pub struct PendingMail {
    pub id: i64,
    pub attempts: i64,
    pub recipient_email: String,
    pub recipient_name: String,
    pub subject: String,
    pub body: String,
}

/// Mails not yet sent nor given up whose next attempt is due, oldest first.
pub fn due(conn: &Connection, now: &str, limit: i64) -> rusqlite::Result<Vec<PendingMail>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, attempts, recipient_email, recipient_name, subject, body FROM mail_outbox
         WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?1
         ORDER BY next_attempt_at, id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now, limit], |r| {
        Ok(PendingMail {
            id: r.get(0)?,
            attempts: r.get(1)?,
            recipient_email: r.get(2)?,
            recipient_name: r.get(3)?,
            subject: r.get(4)?,
            body: r.get(5)?,
        })
    })?;
    rows.collect()
}

pub fn mark_sent(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE mail_outbox SET sent_at = ?2, attempts = attempts + 1, last_error = NULL WHERE id = ?1")?
        .execute(params![id, now_text()])?;
    Ok(())
}

/// Records a failed attempt: retried at `retry_at`, or given up when it is `None`.
pub fn mark_attempt_failed(
    conn: &Connection,
    id: i64,
    error: &str,
    retry_at: Option<&str>,
) -> rusqlite::Result<()> {
    let now = now_text();
    conn.prepare_cached(
        "UPDATE mail_outbox SET attempts = attempts + 1, last_error = ?2,
                next_attempt_at = coalesce(?3, next_attempt_at),
                failed_at = CASE WHEN ?3 IS NULL THEN ?4 END
         WHERE id = ?1",
    )?
    .execute(params![id, error, retry_at, now])?;
    Ok(())
}
