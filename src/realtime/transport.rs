//! Engine.IO on Rocket's port. Rocket cannot host a tower service, so two routes hand requests to
//! socketioxide's: long-polling requests go through as `http` requests (bodies are small and
//! buffered), and a websocket upgrade is answered by Rocket (101 with `Sec-WebSocket-Accept`), then the
//! upgraded stream is handed over.

use base64::Engine as _;
use bytes::Bytes;
use engineioxide::service::NotFoundService;
use http_body_util::{BodyExt, Full};
use rocket::data::{Data, IoHandler, IoStream, ToByteUnit};
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder, Response};
use rocket::{Route, State, get, post, routes};
use sha1::Digest;
use socketioxide::service::SocketIoService;
use std::io::Cursor;
use std::pin::Pin;
use tower_service::Service;

/// The Socket.IO server as Rocket state.
pub struct Engine {
    service: SocketIoService<NotFoundService>,
    max_payload: u64,
}

impl Engine {
    pub(super) fn new(service: SocketIoService<NotFoundService>, max_payload: u64) -> Engine {
        Engine {
            service,
            max_payload,
        }
    }

    async fn dispatch(&self, request: EngineRequest, body: Bytes) -> EngineReply {
        let mut builder = http::Request::builder()
            .method(request.method)
            .uri(request.uri);
        if let Some(headers) = builder.headers_mut() {
            *headers = request.headers;
        }
        let Ok(request) = builder.body(Full::new(body)) else {
            return EngineReply::bad_request();
        };
        let mut service = self.service.clone();
        let Ok(response) = service.call(request).await;
        let (parts, body) = response.into_parts();
        let Ok(body) = body.collect().await.map(|b| b.to_bytes());
        EngineReply::Http {
            status: parts.status.as_u16(),
            headers: parts
                .headers
                .iter()
                .filter_map(|(name, value)| {
                    Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
                })
                .collect(),
            body,
        }
    }
}

pub fn routes() -> Vec<Route> {
    routes![receive, send]
}

/// What Engine.IO reads of a request.
pub struct EngineRequest {
    method: http::Method,
    uri: String,
    headers: http::HeaderMap,
}

impl EngineRequest {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn asks_transport(&self, transport: &str) -> bool {
        self.uri.split_once('?').is_some_and(|(_, query)| {
            query
                .split('&')
                .any(|p| p == format!("transport={transport}"))
        })
    }

    /// A websocket handshake (RFC 6455: `Upgrade: websocket` and a key).
    fn websocket_key(&self) -> Option<&str> {
        let upgrade = self.header("upgrade").is_some_and(|v| {
            v.split(',')
                .any(|p| p.trim().eq_ignore_ascii_case("websocket"))
        });
        upgrade.then(|| self.header("sec-websocket-key")).flatten()
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for EngineRequest {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let mut headers = http::HeaderMap::new();
        for header in request.headers().iter() {
            if let (Ok(name), Ok(value)) = (
                http::HeaderName::from_bytes(header.name().as_str().as_bytes()),
                http::HeaderValue::from_str(header.value()),
            ) {
                headers.append(name, value);
            }
        }
        let method = http::Method::from_bytes(request.method().as_str().as_bytes())
            .unwrap_or(http::Method::GET);
        Outcome::Success(EngineRequest {
            method,
            uri: request.uri().to_string(),
            headers,
        })
    }
}

/// A polling GET, or the websocket handshake.
#[get("/socket.io/<_..>")]
async fn receive(engine: &State<Engine>, request: EngineRequest) -> EngineReply {
    if request.asks_transport("websocket") {
        return match request.websocket_key() {
            Some(key) => EngineReply::Upgrade {
                accept: websocket_accept(key),
                handoff: WebSocketHandoff {
                    service: engine.service.clone(),
                    request: handshake_of(&request),
                },
            },
            None => EngineReply::bad_request(),
        };
    }
    engine.dispatch(request, Bytes::new()).await
}

/// A polling POST: packets from the client.
#[post("/socket.io/<_..>", data = "<body>")]
async fn send(engine: &State<Engine>, request: EngineRequest, body: Data<'_>) -> EngineReply {
    // One byte more than allowed, so that Engine.IO sees an oversized body and refuses it itself.
    let limit = (engine.max_payload + 1).bytes();
    match body.open(limit).into_bytes().await {
        Ok(bytes) => {
            engine
                .dispatch(request, Bytes::from(bytes.into_inner()))
                .await
        }
        Err(_) => EngineReply::bad_request(),
    }
}

fn handshake_of(request: &EngineRequest) -> http::Request<()> {
    let mut handshake = http::Request::new(());
    *handshake.method_mut() = request.method.clone();
    if let Ok(uri) = request.uri.parse() {
        *handshake.uri_mut() = uri;
    }
    *handshake.headers_mut() = request.headers.clone();
    handshake
}

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (RFC 6455 section 4.2.2).
fn websocket_accept(key: &str) -> String {
    let mut sha1 = sha1::Sha1::new();
    sha1.update(key.trim().as_bytes());
    sha1.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(sha1.finalize())
}

pub enum EngineReply {
    Http {
        status: u16,
        headers: Vec<(String, String)>,
        body: Bytes,
    },
    Upgrade {
        accept: String,
        handoff: WebSocketHandoff,
    },
}

impl EngineReply {
    /// Engine.IO's own answer to a request it cannot read.
    fn bad_request() -> EngineReply {
        EngineReply::Http {
            status: 400,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: Bytes::from_static(br#"{"code":3,"message":"Bad request"}"#),
        }
    }
}

impl<'r> Responder<'r, 'static> for EngineReply {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        match self {
            EngineReply::Http {
                status,
                headers,
                body,
            } => {
                let mut response = Response::build();
                response
                    .status(Status::new(status))
                    .sized_body(body.len(), Cursor::new(body));
                for (name, value) in headers {
                    response.raw_header(name, value);
                }
                response.ok()
            }
            // Rocket answers 101 when the request asked for the upgrade; otherwise this 400 goes out.
            EngineReply::Upgrade { accept, handoff } => Response::build()
                .status(Status::BadRequest)
                .raw_header("Sec-WebSocket-Accept", accept)
                .upgrade("websocket", handoff)
                .ok(),
        }
    }
}

/// Hands an upgraded connection to Engine.IO, which runs the websocket from there.
pub struct WebSocketHandoff {
    service: SocketIoService<NotFoundService>,
    request: http::Request<()>,
}

#[rocket::async_trait]
impl IoHandler for WebSocketHandoff {
    async fn io(self: Pin<Box<Self>>, io: IoStream) -> std::io::Result<()> {
        let WebSocketHandoff {
            mut service,
            request,
        } = *Pin::into_inner(self);
        service
            .call((io, request))
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn websocket_accept_is_rfc_6455s() {
        // The example of RFC 6455 section 1.3.
        assert_eq!(
            super::websocket_accept("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
