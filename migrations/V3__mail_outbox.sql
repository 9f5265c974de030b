-- decisions F7: mails are written here in the same transaction as the change that causes them, and a
-- background worker delivers them with retries. A mail failure therefore never fails (or half-applies)
-- the request that queued it.
CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at      TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('welcome', 'password_reset', 'password_reset_done')),
    recipient_email TEXT NOT NULL,
    recipient_name  TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    sent_at         TEXT,
    failed_at       TEXT,
    last_error      TEXT
);
-- The worker's query: pending mails whose next attempt is due.
CREATE INDEX mail_outbox_pending_idx ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
