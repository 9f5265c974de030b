//! The compiled binary, started as a server process on a free port, with its log read line by line.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_recofinement");

pub struct Server {
    child: Child,
    /// `127.0.0.1:<port>`
    pub addr: String,
    pub database: PathBuf,
    pub log: std::sync::mpsc::Receiver<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// `recofinement serve` on `<dir>/live.db`, port 0, bcrypt cost 4, with extra arguments and
    /// environment; returns once the server announced its address.
    pub fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let database = dir.join("live.db");
        let mut command = Command::new(BIN);
        command
            .arg("--database")
            .arg(&database)
            .args(args)
            .arg("serve")
            .current_dir(dir)
            .env("ROCKET_PORT", "0")
            .env("RECOFINEMENT_BCRYPT_COST", "4")
            .env("RUST_LOG", "info")
            .env_remove("SECRET_KEY")
            .env_remove("URL_FRONT")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("spawn server");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server {
            child,
            addr: String::new(),
            database,
            log: rx,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let line = server
                .log
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("server announced its address");
            if let Some(rest) = line.split("recofinement listening on http://").nth(1) {
                server.addr = rest.split_whitespace().next().unwrap().to_owned();
                return server;
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// Runs a command of the binary on `database` (bcrypt cost 4), with `stdin` as its input.
pub fn run(database: &Path, args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .arg("--database")
        .arg(database)
        .args(["--bcrypt-cost", "4"])
        .args(args)
        .env_remove("SECRET_KEY")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the binary");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("the command ends")
}

/// [`run`], which must succeed; returns its stdout.
pub fn run_ok(database: &Path, args: &[&str], stdin: &str) -> String {
    let output = run(database, args, stdin);
    assert!(
        output.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
