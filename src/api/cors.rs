//! CORS as the reference answers it (api-reference.md 1.1, 2.12): rocket_cors allows every origin and
//! echoes it; this fairing adds the two things flask-cors does differently — `*` when the request
//! names no origin, and a 200 (not 204) preflight answer with an `Allow` header — and, on Engine.IO's
//! path, credentials allowed as python-socketio answers.

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{Header, Method, Status};
use rocket::{Request, Response};
use rocket_cors::{AllowedHeaders, AllowedOrigins, Cors, CorsOptions};

pub fn cors() -> Result<Cors, rocket_cors::Error> {
    let methods = [
        Method::Delete,
        Method::Get,
        Method::Head,
        Method::Options,
        Method::Patch,
        Method::Post,
        Method::Put,
    ];
    CorsOptions {
        allowed_origins: AllowedOrigins::all(),
        allowed_methods: methods.into_iter().map(From::from).collect(),
        allowed_headers: AllowedHeaders::all(),
        allow_credentials: false,
        send_wildcard: false,
        ..Default::default()
    }
    .to_cors()
}

/// Attached after rocket_cors, so that its answers have the last word.
pub struct ReferenceCors;

/// Attached before rocket_cors: notes what was asked before rocket_cors may reroute a request it
/// refuses (it turns some OPTIONS requests into a GET of its own error route).
pub struct NoteRequest;

#[rocket::async_trait]
impl Fairing for NoteRequest {
    fn info(&self) -> Info {
        Info {
            name: "note the request before CORS",
            kind: Kind::Request,
        }
    }

    async fn on_request(&self, request: &mut Request<'_>, _: &mut rocket::Data<'_>) {
        let method = request.method();
        // Only OPTIONS answers depend on it; other requests skip the route scan.
        let allowed = if method == Method::Options {
            super::catchers::allowed_methods(request)
        } else {
            Vec::new()
        };
        request.local_cache(|| Asked { method, allowed });
    }
}

/// The method of a request as it arrived, and (for OPTIONS) the methods of its path.
struct Asked {
    method: Method,
    allowed: Vec<Method>,
}

#[rocket::async_trait]
impl Fairing for ReferenceCors {
    fn info(&self) -> Info {
        Info {
            name: "CORS as the reference answers it",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, request: &'r Request<'_>, response: &mut Response<'r>) {
        let origin = request.headers().get_one("Origin");
        match origin {
            None => {
                response.set_header(Header::new("Access-Control-Allow-Origin", "*"));
            }
            Some(origin) => {
                response.set_header(Header::new(
                    "Access-Control-Allow-Origin",
                    origin.to_owned(),
                ));
                response.set_header(Header::new("Vary", "Origin"));
                // As Engine.IO answers with its `cors: {origin: true, credentials: true}`.
                if request.uri().path().starts_with("/socket.io/") {
                    response.set_header(Header::new("Access-Control-Allow-Credentials", "true"));
                }
            }
        }
        // Flask answers OPTIONS on every known URL itself: 200, empty, with Allow.
        let asked = request.local_cache(|| Asked {
            method: request.method(),
            allowed: Vec::new(),
        });
        if asked.method == Method::Options && !asked.allowed.is_empty() {
            let allow = super::catchers::allow_header(&asked.allowed);
            response.set_status(Status::Ok);
            response.set_header(Header::new("Allow", allow.clone()));
            if origin.is_some() {
                response.set_header(Header::new("Access-Control-Allow-Methods", allow));
            }
            response.remove_header("Content-Type");
            response.set_sized_body(0, std::io::Cursor::new(Vec::new()));
        }
    }
}
