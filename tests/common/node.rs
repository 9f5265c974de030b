//! Real JavaScript clients for the tests: the front end's own `socket.io-client` 3.1.1 and Playwright
//! driving Debian's Chromium, run by Node.js from `tests/js` (installed by `scripts/test-setup`).
#![allow(dead_code)]

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub fn js_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/js")
}

/// `node` with `tests/js/node_modules`, or a panic that says how to get them.
pub fn node() -> Command {
    let modules = js_dir().join("node_modules");
    assert!(
        modules.join("socket.io-client").is_dir() && modules.join("playwright-core").is_dir(),
        "the JavaScript test clients are not installed: run scripts/test-setup (npm ci in tests/js)"
    );
    let mut command = Command::new("node");
    command.current_dir(js_dir());
    command
}

/// One Socket.IO client process (`tests/js/socket-client.js`).
pub struct SocketClient {
    child: Child,
    stdin: ChildStdin,
    events: Receiver<Value>,
    /// The transports its Engine.IO session opened with and upgraded to (reported apart from the
    /// other events, whose order they do not fix).
    transports: Arc<Mutex<Vec<String>>>,
}

impl Drop for SocketClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SocketClient {
    /// Connects to `http://<addr>/recommend` with the token in the polling requests' `token` header
    /// (or none), over the given transports.
    pub fn connect(addr: &str, token: Option<&str>, transports: &[&str]) -> SocketClient {
        let url = format!("http://{addr}/recommend");
        let options = json!({"token": token, "transports": transports});
        let mut child = node()
            .arg("socket-client.js")
            .arg(url)
            .arg(options.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs (install Node.js)");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, events) = std::sync::mpsc::channel();
        let transports = Arc::new(Mutex::new(Vec::new()));
        let seen = transports.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let event: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("client printed {line:?}: {e}"));
                if event["event"] == "open" || event["event"] == "upgrade" {
                    let transport = event["transport"].as_str().unwrap_or_default().to_owned();
                    seen.lock().unwrap().push(transport);
                } else if tx.send(event).is_err() {
                    break;
                }
            }
        });
        SocketClient {
            child,
            stdin,
            events,
            transports,
        }
    }

    pub fn emit(&mut self, event: &str, args: Value) {
        let line = json!({"emit": event, "args": args}).to_string();
        writeln!(self.stdin, "{line}").expect("client takes commands");
        self.stdin.flush().expect("flush");
    }

    /// The next thing the client saw, within `timeout`.
    pub fn next(&self, timeout: Duration) -> Option<Value> {
        match self.events.recv_timeout(timeout) {
            Ok(event) => Some(event),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => panic!("the client process ended"),
        }
    }

    /// The next event, or a panic after 30 s (a loaded machine runs many tests at once).
    #[track_caller]
    pub fn expect_next(&self) -> Value {
        self.next(Duration::from_secs(30)).unwrap_or_else(|| {
            panic!(
                "no event within 30 s (Engine.IO transports seen: {:?})",
                self.transports.lock().unwrap()
            )
        })
    }

    /// The next `server_response` payload (panics on anything else).
    #[track_caller]
    pub fn expect_response(&self) -> Value {
        let event = self.expect_next();
        assert_eq!(event["event"], "server_response", "{event}");
        event["data"].clone()
    }

    /// Waits for the connection and its `connect` answer; returns the transport it connected over.
    #[track_caller]
    pub fn expect_connected(&self) -> String {
        let event = self.expect_next();
        assert_eq!(event["event"], "connect", "{event}");
        let transport = event["transport"].as_str().unwrap_or_default().to_owned();
        assert_eq!(
            self.expect_response(),
            json!({"on": "connect", "action": "connect", "message": "Connected"})
        );
        transport
    }

    /// Everything the client saw during `window`.
    pub fn quiet_for(&self, window: Duration) -> Vec<Value> {
        let deadline = Instant::now() + window;
        let mut seen = Vec::new();
        while let Some(event) = self.next(deadline.saturating_duration_since(Instant::now())) {
            seen.push(event);
        }
        seen
    }

    /// Waits (30 s at most) until the session opened over `first` and upgraded to a websocket.
    #[track_caller]
    pub fn expect_upgrade_from(&self, first: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let transports = self.transports.lock().unwrap().clone();
            if transports.len() >= 2 {
                assert_eq!(transports, [first, "websocket"]);
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "no upgrade within 30 s: {:?}",
            self.transports.lock().unwrap()
        );
    }
}
