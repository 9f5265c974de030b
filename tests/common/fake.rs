//! A fake third-party service on loopback (wiremock), driven from blocking tests.
#![allow(dead_code)]

use wiremock::{Mock, MockServer, Request};

/// A fake provider: one wiremock server (on its own thread) and a runtime to talk to it.
pub struct Fake {
    rt: rocket::tokio::runtime::Runtime,
    server: MockServer,
}

impl Fake {
    pub fn start() -> Fake {
        let rt = rocket::tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let server = rt.block_on(MockServer::start());
        Fake { rt, server }
    }
    pub fn uri(&self) -> String {
        self.server.uri()
    }
    pub fn mount(&self, mock: Mock) {
        self.rt.block_on(mock.mount(&self.server));
    }
    pub fn requests(&self) -> Vec<Request> {
        self.rt
            .block_on(self.server.received_requests())
            .unwrap_or_default()
    }
    pub fn requests_to(&self, wanted: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.url.path() == wanted)
            .collect()
    }
}
