//! What the load benchmarks share: the release server on a free port, and percentiles.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The server process and its address; killed when dropped.
pub struct Server(Child, pub String);
impl Drop for Server {
    fn drop(&mut self) {
        // The process group, if it leads one (a supervisor and the server it runs).
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the server binary on `database` with the background engine every `engine_interval`
/// seconds ("0": off), bcrypt cost 4 for new hashes; prints the server's ERROR lines.
pub fn serve(database: &Path, engine_interval: &str) -> Server {
    serve_binary(
        Path::new(env!("CARGO_BIN_EXE_recofinement")),
        database,
        engine_interval,
    )
}

/// [`serve`] with another build of the server (a baseline to compare with).
pub fn serve_binary(binary: &Path, database: &Path, engine_interval: &str) -> Server {
    let mut command = Command::new(binary);
    command.arg("--database").arg(database);
    serve_command(command, engine_interval)
}

/// [`serve`] through a command that runs the server (a supervisor such as `litestream replicate
/// -exec`, killed with it when dropped: give it a process group of its own).
pub fn serve_command(mut command: Command, engine_interval: &str) -> Server {
    let mut child = command
        .env("ROCKET_PORT", "0")
        .env("RECOFINEMENT_BCRYPT_COST", "4")
        .env("RECOFINEMENT_ENGINE_INTERVAL", engine_interval)
        .env("RUST_LOG", "warn,recofinement::api=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start server");
    let stderr = child.stderr.take();
    let mut server = Server(child, String::new());
    let mut lines = BufReader::new(stderr.expect("stderr")).lines();
    while server.1.is_empty() {
        let line = lines.next().expect("server exited").expect("log line");
        if let Some(rest) = line.split("listening on http://").nth(1) {
            server.1 = rest.split_whitespace().next().expect("address").to_owned();
        }
    }
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if line.contains("ERROR") {
                eprintln!("server: {line}");
            }
        }
    });
    server
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Removes a database file and everything the server keeps beside it (WAL, shared memory, secret,
/// mail folder): a stale WAL beside a fresh copy would be replayed into it.
pub fn remove_database(database: &Path) {
    for suffix in ["", "-wal", "-shm", ".secret"] {
        let mut path = database.as_os_str().to_owned();
        path.push(suffix);
        let _ = std::fs::remove_file(std::path::PathBuf::from(path));
    }
    let mut mail = database.as_os_str().to_owned();
    mail.push(".mail");
    let _ = std::fs::remove_dir_all(std::path::PathBuf::from(mail));
}
