//! Outgoing mail (decisions F7): the texts of the three mails, and the worker that delivers the outbox.
//!
//! Requests only *queue* mail, in their own transaction (`db::mail::enqueue`), so a mail never fails a
//! request nor survives a rolled-back one. The worker sends through SMTP when `RECOFINEMENT_SMTP_URL`
//! is set; otherwise (decisions F26) it writes each mail as a file (`.eml`) into a folder only the
//! server's user can read, so that a fresh install works offline, and the log names the file — never
//! the mail, whose reset link is a credential.

use crate::db::Db;
use crate::db::mail::{self as outbox, MailKind, OutgoingMail, PendingMail};
use crate::error::{ApiError, ApiResult};
use crate::util::time;
use lettre::message::Mailbox;
use lettre::{Message, SmtpTransport, Transport as _};
use rocket::tokio::sync::Notify;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The mail as a message. `readable`: the body as it is, so that a file of it reads as text;
/// otherwise as lettre encodes it for any SMTP server.
fn message(from: &Mailbox, mail: &PendingMail, readable: bool) -> Result<Message, String> {
    use lettre::message::{Body, SinglePart, header};
    let to = Mailbox::new(
        Some(mail.recipient_name.clone()),
        mail.recipient_email
            .parse()
            .map_err(|e| format!("invalid recipient: {e}"))?,
    );
    let builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone());
    // As it is ("binary": lines of any length, CRLF ends), so that the file reads as the text.
    let text = mail.body.replace("\r\n", "\n").replace('\n', "\r\n");
    let eight_bit = readable
        .then(|| Body::new_with_encoding(text, header::ContentTransferEncoding::Binary).ok())
        .flatten();
    let built = match eight_bit {
        Some(body) => builder.singlepart(
            SinglePart::builder()
                .header(header::ContentType::TEXT_PLAIN)
                .body(body),
        ),
        None => builder.body(mail.body.clone()),
    };
    built.map_err(|e| e.to_string())
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Writes `bytes` to a new file only its owner can read, under a temporary name first.
fn write_private(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let partial = file.with_extension("eml.partial");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut out = options.open(&partial)?;
    out.write_all(bytes)?;
    out.sync_all()?;
    std::fs::rename(partial, file)
}

/// Attempts before a mail is given up (the last retry comes about two hours after the first try).
pub const MAX_ATTEMPTS: i64 = 8;
const POLL_INTERVAL: Duration = Duration::from_secs(30);
const BATCH: i64 = 50;

pub fn welcome(front_url: &str, email: &str, username: &str) -> OutgoingMail {
    OutgoingMail {
        kind: MailKind::Welcome,
        recipient_email: email.into(),
        recipient_name: username.into(),
        subject: "Welcome to RecoFinement ".into(),
        body: format!(
            "Hello {username},\n\nWelcome to RecoFinement! Your account is ready: {front_url}\n\nThe RecoFinement team\n"
        ),
    }
}

/// The reset link is the reference's: `URL_FRONT/app/reset/<token>` (one hour, one use: F20).
pub fn password_reset(front_url: &str, email: &str, username: &str, token: &str) -> OutgoingMail {
    OutgoingMail {
        kind: MailKind::PasswordReset,
        recipient_email: email.into(),
        recipient_name: username.into(),
        subject: "[RecoFinement] Reset Your Password".into(),
        body: format!(
            "Hello {username},\n\nSomeone asked to reset the password of your RecoFinement account. \
             If it was you, open this link within an hour:\n\n{}\n\nIf it was not, ignore this mail.\n",
            reset_url(front_url, token)
        ),
    }
}

pub fn reset_url(front_url: &str, token: &str) -> String {
    format!("{front_url}/app/reset/{token}")
}

pub fn password_reset_done(front_url: &str, email: &str, username: &str) -> OutgoingMail {
    OutgoingMail {
        kind: MailKind::PasswordResetDone,
        recipient_email: email.into(),
        recipient_name: username.into(),
        subject: "[RecoFinement] Successful reset password".into(),
        body: format!(
            "Hello {username},\n\nThe password of your RecoFinement account has just been changed: {front_url}\n\n\
             If you did not do this, reset it again at once.\n"
        ),
    }
}

/// Where mail goes.
#[derive(Clone)]
pub enum Transport {
    /// One `.eml` file a mail in this folder (mode 0700, files 0600): no network needed.
    Folder { dir: PathBuf, from: Mailbox },
    Smtp {
        transport: Box<SmtpTransport>,
        from: Mailbox,
    },
}

impl Transport {
    /// SMTP when a URL is given, else the folder `mail_dir` (created when missing).
    pub fn from_settings(
        smtp_url: Option<&str>,
        from: &str,
        mail_dir: &Path,
    ) -> Result<Transport, String> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("invalid sender address {from:?}: {e}"))?;
        let Some(url) = smtp_url else {
            create_private_dir(mail_dir)
                .map_err(|e| format!("mail folder {}: {e}", mail_dir.display()))?;
            tracing::info!(dir = %mail_dir.display(), "no SMTP server configured: mails are written to files");
            return Ok(Transport::Folder {
                dir: mail_dir.to_owned(),
                from,
            });
        };
        let transport = SmtpTransport::from_url(url)
            .map_err(|e| format!("invalid SMTP URL: {e}"))?
            .timeout(Some(Duration::from_secs(20)))
            .build();
        Ok(Transport::Smtp {
            transport: Box::new(transport),
            from,
        })
    }

    fn send(&self, mail: &PendingMail) -> Result<(), String> {
        match self {
            Transport::Folder { dir, from } => {
                let message = message(from, mail, true)?;
                let file = dir.join(format!("{:08}.eml", mail.id));
                write_private(&file, &message.formatted())
                    .map_err(|e| format!("{}: {e}", file.display()))?;
                tracing::info!(file = %file.display(), to = %mail.recipient_email, "mail written to a file (no SMTP server configured)");
                Ok(())
            }
            Transport::Smtp { transport, from } => transport
                .send(&message(from, mail, false)?)
                .map(|_| ())
                .map_err(|e| e.to_string()),
        }
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: usize,
    pub retried: usize,
    pub given_up: usize,
}

/// Delivers every due mail once (blocking). Failures are scheduled again with exponential backoff.
pub fn deliver_due(db: &Db, transport: &Transport) -> ApiResult<DeliveryReport> {
    let conn = db.connection()?;
    let mut report = DeliveryReport::default();
    loop {
        let due = outbox::due(&conn, &time::now_text(), BATCH)?;
        if due.is_empty() {
            return Ok(report);
        }
        for mail in due {
            match transport.send(&mail) {
                Ok(()) => {
                    // Each mark takes its turn with the other writers; delivery holds no lock.
                    db.write_blocking(|conn| Ok(outbox::mark_sent(conn, mail.id)?))?;
                    report.sent += 1;
                }
                Err(error) => {
                    let attempts = mail.attempts + 1;
                    let retry_at = (attempts < MAX_ATTEMPTS).then(|| {
                        let delay = chrono::Duration::seconds(30 << attempts.min(10));
                        time::to_db_text(time::now() + delay)
                    });
                    tracing::warn!(id = mail.id, to = %mail.recipient_email, attempts, "mail delivery failed: {error}");
                    db.write_blocking(|conn| {
                        Ok(outbox::mark_attempt_failed(
                            conn,
                            mail.id,
                            &error,
                            retry_at.as_deref(),
                        )?)
                    })?;
                    if retry_at.is_some() {
                        report.retried += 1
                    } else {
                        report.given_up += 1
                    }
                }
            }
        }
    }
}

/// Wakes the worker right after a request queued mail, instead of at its next poll.
#[derive(Clone, Default)]
pub struct MailSignal(Arc<Notify>);

impl MailSignal {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// The delivery loop: on every wake-up and every 30 seconds, deliver what is due.
pub async fn run_worker(db: Db, transport: Transport, signal: MailSignal) {
    loop {
        let (db, transport) = (db.clone(), transport.clone());
        let outcome =
            rocket::tokio::task::spawn_blocking(move || deliver_due(&db, &transport)).await;
        match outcome {
            Ok(Ok(report)) if report != DeliveryReport::default() => {
                tracing::debug!(?report, "mail outbox")
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!("mail outbox: {e}"),
            Err(e) => tracing::error!("mail outbox: {}", ApiError::from(e)),
        }
        let _ = rocket::tokio::time::timeout(POLL_INTERVAL, signal.0.notified()).await;
    }
}
