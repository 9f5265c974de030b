//! The engine on the `large` seed (1M contents, 100k users, 10M interactions): full rebuild time and
//! memory, the API's latency while it runs, and the latency from a rating to that user's updated lists.
//!
//!     ./target/release/recofinement --database target/bench-data/large.db seed --size large   # once
//!     cargo bench --bench engine
//!     ENGINE_BENCH_DB=path/to/other.db cargo bench --bench engine
//!     ENGINE_BENCH_PARTS=latency cargo bench --bench engine     # some parts (rebuild, latency, shaping)
//!
//! Runs on a copy of the database (the original stays as seeded):
//! 1. the server (background engine off) serves while `recofinement recommend --full` runs beside it
//!    under `/usr/bin/time`; one client reads (popular list, the caller's recommendations, a search) in
//!    a loop, another writes a rating every 50 ms, until the rebuild ends;
//! 2. the server with its engine on (interval 5 s) gets a rating from each of 40 users in turn; the
//!    latency is from sending the PATCH to the commit of that user's new lists (the recommendations
//!    stage's watermark passing the rating's event);
//! 3. the same server gets, from 40 users, a liked genre and an accepted group invitation each; the
//!    latency is from the request to the commit of the lists it changed (the queue entry it wrote,
//!    migration V13, is removed in that commit).
//!
//! Targets (issues 6, 11): rebuild under 2 minutes and 1 GB; reads p99 under 50 ms during it; rating,
//! liked genre, accepted invitation → lists under 200 ms.

#[path = "support/server.rs"]
mod server;
#[path = "../tests/common/tcp.rs"]
mod tcp;

use server::{percentile, serve};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn login(addr: &str, email: &str) -> String {
    let body = format!(r#"{{"email": "{email}", "password": "Demo1234!"}}"#);
    let reply = tcp::request(addr, "POST", "/api/auth/login", &[], Some(&body)).expect("login");
    assert_eq!(reply.status, 200, "{}", reply.body);
    let json: serde_json::Value = serde_json::from_str(&reply.body).expect("json");
    format!("Bearer {}", json["access_token"].as_str().expect("token"))
}

fn summary(label: &str, mut samples: Vec<f64>) {
    samples.sort_by(|a, b| a.total_cmp(b));
    if samples.is_empty() {
        println!("| {label} | – | – | – | 0 |");
        return;
    }
    println!(
        "| {label} | {:.2} | {:.2} | {:.2} | {} |",
        percentile(&samples, 50.0),
        percentile(&samples, 99.0),
        samples[samples.len() - 1],
        samples.len()
    );
}

fn full_rebuild_under_load(work: &Path) {
    let server = serve(work, "0");
    let addr = server.1.clone();
    let auth = login(&addr, "admin@example.com");
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (addr, auth, done) = (addr.clone(), auth.clone(), done.clone());
        std::thread::spawn(move || {
            let mut conn = tcp::KeepAlive::connect(&addr).expect("connect");
            let paths = ["/api/movie", "/api/movie/user", "/api/track/search/ove"];
            let mut samples = vec![Vec::new(); paths.len()];
            let mut i = 0;
            while !done.load(Ordering::Relaxed) {
                let started = Instant::now();
                let reply = conn
                    .request(
                        "GET",
                        paths[i % paths.len()],
                        &[("Authorization", &auth)],
                        None,
                    )
                    .expect("read");
                assert_eq!(reply.status, 200, "{}", reply.body);
                samples[i % paths.len()].push(started.elapsed().as_secs_f64() * 1000.0);
                i += 1;
            }
            samples
        })
    };
    let writer = {
        let (addr, auth, done) = (addr.clone(), auth.clone(), done.clone());
        std::thread::spawn(move || {
            let mut conn = tcp::KeepAlive::connect(&addr).expect("connect");
            let mut samples = Vec::new();
            let mut failed = Vec::new();
            let mut id = 1000;
            while !done.load(Ordering::Relaxed) {
                id += 7919;
                let started = Instant::now();
                let reply = conn
                    .request(
                        "PATCH",
                        &format!("/api/movie/{}/meta", id % 900_000 + 1),
                        &[("Authorization", &auth)],
                        Some(r#"{"rating": 4}"#),
                    )
                    .expect("write");
                if reply.status == 201 {
                    samples.push(started.elapsed().as_secs_f64() * 1000.0);
                } else {
                    failed.push(format!("{} {}", reply.status, reply.body));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            (samples, failed)
        })
    };
    let started = Instant::now();
    let rebuild = Command::new("/usr/bin/time")
        .args(["-f", "%e s wall, %M KB max RSS"])
        .arg(env!("CARGO_BIN_EXE_recofinement"))
        .arg("--database")
        .arg(work)
        .args(["recommend", "--full"])
        .env("RUST_LOG", "warn")
        .output()
        .expect("run recommend --full under /usr/bin/time");
    let seconds = started.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    let reads = reader.join().expect("reader");
    let (writes, failed) = writer.join().expect("writer");
    println!("\n`recommend --full`: {seconds:.1} s");
    println!("{}", String::from_utf8_lossy(&rebuild.stdout));
    println!("{}", String::from_utf8_lossy(&rebuild.stderr).trim());
    println!("\n| during the rebuild | p50 ms | p99 ms | max ms | requests |");
    println!("|---|---|---|---|---|");
    for (label, samples) in [
        "GET /api/movie",
        "GET /api/movie/user",
        "GET /api/track/search/ove",
    ]
    .iter()
    .zip(reads)
    {
        summary(label, samples);
    }
    summary("PATCH /api/movie/<id>/meta (every 50 ms)", writes);
    println!("\nfailed writes: {}", failed.len());
    for failure in failed.iter().take(5) {
        println!("  {failure}");
    }
}

fn rating_to_lists(work: &Path) {
    let server = serve(work, "5");
    let addr = server.1.clone();
    let db = rusqlite::Connection::open(work).expect("open");
    db.busy_timeout(Duration::from_secs(5))
        .expect("busy timeout");
    let watermark = |db: &rusqlite::Connection| -> i64 {
        db.query_row(
            "SELECT coalesce((SELECT last_event_id FROM engine_stage WHERE stage = 'recommendations'), 0)",
            [],
            |r| r.get(0),
        )
        .expect("watermark")
    };
    let mut samples = Vec::new();
    let mut conn = tcp::KeepAlive::connect(&addr).expect("connect");
    for n in 1..=40u64 {
        let auth = login(&addr, &format!("user{n}@example.com"));
        std::thread::sleep(Duration::from_millis(300));
        let (content, medium): (i64, String) = db
            .query_row(
                "SELECT content_id, lower(content_type) FROM content
                 WHERE content_id >= ?1 AND content_type <> 'EPISODE' ORDER BY content_id LIMIT 1",
                [1 + (n as i64 * 24_593) % 900_000],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("content");
        let started = Instant::now();
        let reply = conn
            .request(
                "PATCH",
                &format!("/api/{medium}/{content}/meta"),
                &[("Authorization", &auth)],
                Some(r#"{"rating": 5}"#),
            )
            .expect("rate");
        assert_eq!(reply.status, 201, "{}", reply.body);
        let event: i64 = db
            .query_row("SELECT last_id FROM event_sequence", [], |r| r.get(0))
            .expect("event");
        while watermark(&db) < event {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "lists not updated"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let in_order: Vec<String> = samples.iter().map(|ms| format!("{ms:.0}")).collect();
    println!("\nrating → lists, ms, in order: {}", in_order.join(" "));
    println!("\n| rating → that user's lists committed | p50 ms | p99 ms | max ms | ratings |");
    println!("|---|---|---|---|---|");
    summary("PATCH meta, server engine on", samples);
}

/// The queue entry just written by a request (`engine_refresh`, migration V13) is removed in the
/// commit of the lists it asked for: the time until then is the latency to committed lists.
fn until_consumed(db: &rusqlite::Connection, started: Instant) -> f64 {
    let queued: i64 = db
        .query_row(
            "SELECT coalesce(max(seq), 0) FROM engine_refresh",
            [],
            |r| r.get(0),
        )
        .expect("queue");
    loop {
        let pending: bool = db
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM engine_refresh WHERE seq <= ?1)",
                [queued],
                |r| r.get(0),
            )
            .expect("queue");
        if !pending {
            return started.elapsed().as_secs_f64() * 1000.0;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "lists not updated"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Liking a genre → that user's lists; accepting an invitation → the group's lists (issue 11).
fn shaping_to_lists(work: &Path) {
    let server = serve(work, "5");
    let addr = server.1.clone();
    let db = rusqlite::Connection::open(work).expect("open");
    db.busy_timeout(Duration::from_secs(5))
        .expect("busy timeout");
    let mut conn = tcp::KeepAlive::connect(&addr).expect("connect");
    let genres: Vec<i64> = db
        .prepare("SELECT genre_id FROM genre ORDER BY genre_id")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("genres");
    let (mut liked, mut accepted) = (Vec::new(), Vec::new());
    for n in 1..=40u64 {
        let auth = login(&addr, &format!("user{}@example.com", 1_000 + n));
        std::thread::sleep(Duration::from_millis(300));
        let genre = genres[(n as usize * 7) % genres.len()];
        let started = Instant::now();
        let reply = conn
            .request(
                "PUT",
                &format!("/api/user/genre/{genre}"),
                &[("Authorization", &auth)],
                None,
            )
            .expect("like");
        assert_eq!(reply.status, 201, "{}", reply.body);
        liked.push(until_consumed(&db, started));

        // A group of two: its owner creates it (its list is computed), then the invitee accepts.
        let reply = conn
            .request(
                "POST",
                "/api/group",
                &[("Authorization", &auth)],
                Some(&format!(r#"{{"name": "bench{n}"}}"#)),
            )
            .expect("group");
        assert_eq!(reply.status, 201, "{}", reply.body);
        let group: serde_json::Value = serde_json::from_str(&reply.body).expect("json");
        let group = group["group"]["group_id"].as_i64().expect("group id");
        until_consumed(&db, Instant::now());
        let invitee = format!("user{}@example.com", 2_000 + n);
        let uuid: String = db
            .query_row(
                r#"SELECT uuid FROM "user" WHERE email = ?1"#,
                [&invitee],
                |r| r.get(0),
            )
            .expect("invitee");
        let reply = conn
            .request(
                "POST",
                &format!("/api/group/{group}/invitations"),
                &[("Authorization", &auth)],
                Some(&format!(r#"{{"uuid": "{uuid}"}}"#)),
            )
            .expect("invite");
        assert!(reply.status < 300, "{}", reply.body);
        let invitee_auth = login(&addr, &invitee);
        std::thread::sleep(Duration::from_millis(300));
        let started = Instant::now();
        let reply = conn
            .request(
                "PUT",
                &format!("/api/group/{group}/invitations/{uuid}"),
                &[("Authorization", &invitee_auth)],
                None,
            )
            .expect("accept");
        assert_eq!(reply.status, 200, "{}", reply.body);
        accepted.push(until_consumed(&db, started));
    }
    println!(
        "\n| change → lists committed (server engine on) | p50 ms | p99 ms | max ms | changes |"
    );
    println!("|---|---|---|---|---|");
    summary("PUT /api/user/genre/<id> → that user's lists", liked);
    summary(
        "PUT /api/group/<id>/invitations/<uuid> → the group's lists",
        accepted,
    );
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let source = std::env::var_os("ENGINE_BENCH_DB")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("../bench-data/large.db")
        });
    assert!(
        source.exists(),
        "{} is missing: seed it with `recofinement --database {0} seed --size large`",
        source.display()
    );
    let work = source.with_extension("engine-run.db");
    let remove_work = || server::remove_database(&work);
    remove_work();
    std::fs::copy(&source, &work).expect("copy");
    // ENGINE_BENCH_PARTS=latency (or rebuild) runs one part only.
    let parts =
        std::env::var("ENGINE_BENCH_PARTS").unwrap_or_else(|_| "rebuild,latency,shaping".into());
    if parts.contains("rebuild") {
        full_rebuild_under_load(&work);
    }
    if parts.contains("latency") {
        rating_to_lists(&work);
    }
    if parts.contains("shaping") {
        shaping_to_lists(&work);
    }
    remove_work();
}
