//! CORS as the reference answers it (api-reference.md 1.1): rocket_cors allows every origin and echoes
//! it; this fairing adds the two things flask-cors does differently — `*` when the request names no
//! origin, and a 200 (not 204) preflight answer with an `Allow` header.

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{Header, Method, Status};
use rocket::{Request, Response};
use rocket_cors::{AllowedHeaders, AllowedOrigins, Cors, CorsOptions};

pub const METHODS: &str = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT";

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

pub struct ReferenceCors;

#[rocket::async_trait]
impl Fairing for ReferenceCors {
    fn info(&self) -> Info {
        Info {
            name: "CORS as the reference answers it",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, request: &'r Request<'_>, response: &mut Response<'r>) {
        if request.headers().get_one("Origin").is_none() {
            response.set_header(Header::new("Access-Control-Allow-Origin", "*"));
            return;
        }
        let preflight = request.method() == Method::Options
            && request.headers().contains("Access-Control-Request-Method")
            && response.status() == Status::NoContent;
        if preflight {
            response.set_status(Status::Ok);
            response.set_header(Header::new("Allow", METHODS));
            response.set_header(Header::new("Access-Control-Allow-Methods", METHODS));
            response.remove_header("Content-Type");
        }
    }
}
