//! Do logins stall the server? Starts the release binary (bcrypt cost 12, the production default), keeps
//! 8 logins in flight from 8 client threads, and meanwhile probes `GET /api/health` every 5 ms.
//! Prints login throughput and the probe's latency percentiles, idle and under load.
//!
//!     cargo bench --bench login_stall            # 10 s of load (LOGIN_STALL_SECONDS to change)
//!
//! Target (issue 2): health p99 under 10 ms with 8 concurrent logins in flight.

#[path = "../tests/common/tcp.rs"]
mod tcp;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const LOGINS_IN_FLIGHT: usize = 8;
const PASSWORD: &str = "Azerty123!";

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn probe(addr: &str, until: Instant, interval: Duration) -> Vec<f64> {
    let mut samples = Vec::new();
    while Instant::now() < until {
        let start = Instant::now();
        let reply = tcp::request(addr, "GET", "/api/health", &[], None).expect("health");
        assert_eq!(reply.status, 200);
        samples.push(start.elapsed().as_secs_f64() * 1000.0);
        std::thread::sleep(interval);
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    samples
}

fn summary(label: &str, samples: &[f64]) {
    println!(
        "| {label} | {} | {:.2} | {:.2} | {:.2} | {:.2} |",
        samples.len(),
        percentile(samples, 50.0),
        percentile(samples, 95.0),
        percentile(samples, 99.0),
        samples.last().copied().unwrap_or(f64::NAN)
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and must not start the load.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let seconds: u64 = std::env::var("LOGIN_STALL_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut server = Command::new(env!("CARGO_BIN_EXE_recofinement"))
        .arg("--database")
        .arg(dir.path().join("bench.db"))
        .current_dir(dir.path())
        .env("ROCKET_PORT", "0")
        .env("RUST_LOG", "warn,recofinement::api=info")
        .env_remove("RECOFINEMENT_BCRYPT_COST")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start server");
    let stderr = server.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines.next().expect("server exited").expect("log line");
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.split_whitespace().next().expect("address").to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});

    for i in 0..LOGINS_IN_FLIGHT {
        let body = format!(
            r#"{{"email": "user{i}@example.com", "username": "user{i}", "password": "{PASSWORD}"}}"#
        );
        let reply =
            tcp::request(&addr, "POST", "/api/auth/register", &[], Some(&body)).expect("register");
        assert_eq!(reply.status, 201, "{}", reply.body);
    }

    let idle = probe(
        &addr,
        Instant::now() + Duration::from_secs(3),
        Duration::from_millis(5),
    );

    let stop = Arc::new(AtomicBool::new(false));
    let logins = Arc::new(AtomicUsize::new(0));
    let load_start = Instant::now();
    let workers: Vec<_> = (0..LOGINS_IN_FLIGHT)
        .map(|i| {
            let (addr, stop, logins) = (addr.clone(), stop.clone(), logins.clone());
            std::thread::spawn(move || {
                let body =
                    format!(r#"{{"email": "user{i}@example.com", "password": "{PASSWORD}"}}"#);
                while !stop.load(Ordering::Relaxed) {
                    let reply = tcp::request(&addr, "POST", "/api/auth/login", &[], Some(&body))
                        .expect("login");
                    assert_eq!(reply.status, 200, "{}", reply.body);
                    logins.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    // Let the first logins get going before measuring.
    std::thread::sleep(Duration::from_millis(500));
    let loaded = probe(
        &addr,
        Instant::now() + Duration::from_secs(seconds),
        Duration::from_millis(5),
    );
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.join().expect("worker");
    }
    let elapsed = load_start.elapsed().as_secs_f64();
    let total = logins.load(Ordering::Relaxed);
    let _ = server.kill();
    let _ = server.wait();

    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    println!(
        "\nlogin_stall: {cores} cores, bcrypt cost 12, {LOGINS_IN_FLIGHT} logins in flight, {seconds} s\n"
    );
    println!("| GET /api/health | samples | p50 ms | p95 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|---|");
    summary("idle", &idle);
    summary(&format!("{LOGINS_IN_FLIGHT} logins in flight"), &loaded);
    println!(
        "\nlogin throughput: {:.2} logins/s ({total} in {elapsed:.1} s)",
        total as f64 / elapsed
    );
    let p99 = percentile(&loaded, 99.0);
    println!(
        "target p99 < 10 ms under load: {}",
        if p99 < 10.0 { "met" } else { "NOT met" }
    );
}
