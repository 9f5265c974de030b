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
    /// The log lines before the server announced its address.
    pub startup: Vec<String>,
    /// Started in a process group of its own (a supervisor and the server it runs).
    group: bool,
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.group {
            self.signal_group("KILL");
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `signal` (a name for kill(1): KILL, TERM) to process group `group`.
pub fn signal_group(group: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{signal}"), "--", &format!("-{group}")])
        .stderr(Stdio::null())
        .status();
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
            .arg("serve");
        Server::launch(command, dir, env, database, false)
    }

    /// `command` runs the server (itself, or a supervisor such as `litestream replicate -exec`
    /// whose child it is: then `group` puts both in a process group of their own, which
    /// `signal_group` and dropping reach).
    pub fn launch(
        mut command: Command,
        dir: &Path,
        env: &[(&str, &str)],
        database: PathBuf,
        group: bool,
    ) -> Server {
        command
            .current_dir(dir)
            .env("ROCKET_PORT", "0")
            .env("RECOFINEMENT_BCRYPT_COST", "4")
            .env("RUST_LOG", "info")
            .env_remove("SECRET_KEY")
            .env_remove("URL_FRONT")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if group {
            use std::os::unix::process::CommandExt;
            command.process_group(0);
        }
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
            startup: Vec::new(),
            group,
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
            server.startup.push(line);
        }
    }

    /// Sends `signal` (a name for kill(1): KILL, TERM) to the whole process group.
    pub fn signal_group(&self, signal: &str) {
        signal_group(self.pid(), signal);
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process (the supervisor, in a group) to exit.
    pub fn wait(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
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
