//! The mail outbox and its delivery: through a real (fake, local) SMTP server, with retries and
//! backoff when the server is unreachable.

use recofinement::db::Db;
use recofinement::db::mail::{self as outbox, MailKind};
use recofinement::mail::{self, DeliveryReport, MAX_ATTEMPTS, Transport};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc;

/// A one-connection-at-a-time SMTP server that accepts everything and hands each message's DATA over.
fn fake_smtp() -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let _ = stream.write_all(b"220 fake ESMTP\r\n");
            let mut line = String::new();
            let mut in_data = false;
            let mut data = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                if in_data {
                    if line == ".\r\n" {
                        in_data = false;
                        let _ = tx.send(std::mem::take(&mut data));
                        let _ = stream.write_all(b"250 queued\r\n");
                    } else {
                        data.push_str(&line);
                    }
                } else {
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let answer: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 fake\r\n",
                        "DATA" => {
                            in_data = true;
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => b"221 bye\r\n",
                        _ => b"250 ok\r\n",
                    };
                    let _ = stream.write_all(answer);
                    if verb == "QUIT" {
                        break;
                    }
                }
                line.clear();
            }
        }
    });
    (addr, rx)
}

fn queue(db: &Db) {
    // Pooled connections only read: writes take the writer's turn, as the server's do.
    db.write_blocking(|conn| {
        outbox::enqueue(
            conn,
            &mail::welcome("http://front", "alice@example.com", "alice"),
        )?;
        outbox::enqueue(
            conn,
            &mail::password_reset("http://front", "bob@example.com", "bob", "TOKEN123"),
        )?;
        Ok(())
    })
    .unwrap();
}

#[test]
fn queued_mails_are_delivered_over_smtp_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("mail.db")).unwrap();
    queue(&db);
    let (addr, received) = fake_smtp();
    let transport = Transport::from_settings(
        Some(&format!("smtp://{addr}")),
        "RecoFinement <noreply@example.com>",
        &dir.path().join("unused"),
    )
    .unwrap();

    let report = mail::deliver_due(&db, &transport).unwrap();
    assert_eq!(
        report,
        DeliveryReport {
            sent: 2,
            retried: 0,
            given_up: 0
        }
    );
    let first = received.recv().unwrap();
    let second = received.recv().unwrap();
    assert!(
        first.contains("To: alice <alice@example.com>")
            && first.contains("Subject: Welcome to RecoFinement"),
        "{first}"
    );
    assert!(
        second.contains("http://front/app/reset/TOKEN123"),
        "{second}"
    );
    assert!(second.contains("From: RecoFinement <noreply@example.com>"));

    // Nothing is sent twice.
    assert_eq!(
        mail::deliver_due(&db, &transport).unwrap(),
        DeliveryReport::default()
    );
    let sent: i64 = db
        .connection()
        .unwrap()
        .query_row(
            "SELECT count(*) FROM mail_outbox WHERE sent_at IS NOT NULL AND attempts = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(sent, 2);
}

#[test]
fn an_unreachable_server_means_retries_with_backoff_then_giving_up() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("mail.db")).unwrap();
    queue(&db);
    // A port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let transport = Transport::from_settings(
        Some(&format!("smtp://127.0.0.1:{port}")),
        "noreply@example.com",
        &dir.path().join("unused"),
    )
    .unwrap();

    let report = mail::deliver_due(&db, &transport).unwrap();
    assert_eq!(
        report,
        DeliveryReport {
            sent: 0,
            retried: 2,
            given_up: 0
        }
    );
    let conn = db.connection().unwrap();
    let (attempts, error, later): (i64, Option<String>, bool) = conn
        .query_row(
            "SELECT attempts, last_error, next_attempt_at > created_at FROM mail_outbox WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(attempts, 1);
    assert!(error.is_some());
    assert!(later, "the next attempt is scheduled later");
    // Not due yet: nothing happens.
    assert_eq!(
        mail::deliver_due(&db, &transport).unwrap(),
        DeliveryReport::default()
    );

    // Make every retry due at once until the mails are given up.
    let mut given_up = 0;
    for _ in 1..MAX_ATTEMPTS {
        db.write_blocking(|conn| {
            Ok(conn.execute(
                "UPDATE mail_outbox SET next_attempt_at = '2000-01-01 00:00:00'",
                [],
            )?)
        })
        .unwrap();
        given_up += mail::deliver_due(&db, &transport).unwrap().given_up;
    }
    assert_eq!(given_up, 2);
    let failed: i64 = conn
        .query_row(
            "SELECT count(*) FROM mail_outbox WHERE failed_at IS NOT NULL AND attempts = ?1",
            [MAX_ATTEMPTS],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(failed, 2);
}

#[test]
fn without_smtp_mails_are_files_only_the_server_can_read() {
    // Decisions F26: files in a folder, never the log (a reset link is a credential).
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("mail.db")).unwrap();
    queue(&db);
    let folder = dir.path().join("mail.db.mail");
    let transport =
        Transport::from_settings(None, "RecoFinement <noreply@example.com>", &folder).unwrap();
    assert_eq!(mail::deliver_due(&db, &transport).unwrap().sent, 2);
    let kinds: Vec<String> = db
        .connection()
        .unwrap()
        .prepare("SELECT kind FROM mail_outbox WHERE sent_at IS NOT NULL ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        kinds,
        vec![MailKind::Welcome.as_str(), MailKind::PasswordReset.as_str()]
    );
    assert_eq!(
        std::fs::metadata(&folder).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let mut files: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    for file in &files {
        assert_eq!(file.extension().unwrap(), "eml");
        assert_eq!(
            std::fs::metadata(file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let reset = std::fs::read_to_string(&files[1]).unwrap();
    assert!(reset.contains("To: bob <bob@example.com>"), "{reset}");
    assert!(
        reset.contains("Subject: [RecoFinement] Reset Your Password"),
        "{reset}"
    );
    assert!(reset.contains("http://front/app/reset/TOKEN123"), "{reset}");
}

#[test]
fn bad_mail_settings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("mail");
    assert!(Transport::from_settings(Some("ftp://nowhere"), "a@b.co", &folder).is_err());
    assert!(Transport::from_settings(Some("smtp://localhost"), "not an address", &folder).is_err());
}
