//! Response headers for the browser's side of security (issue 13).

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{ContentType, Header};
use rocket::{Request, Response};

/// The Swagger UI's page runs only its own files: its script and init script, its stylesheet (it also
/// sets inline styles), its icons (data: URIs), and requests to this server.
pub const SWAGGER_UI_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// * `Cache-Control: no-store` on JSON answered to a request that carried credentials: no shared
///   cache or browser history keeps a user's data;
/// * a Content-Security-Policy on the Swagger UI page.
pub struct SecurityHeaders;

#[rocket::async_trait]
impl Fairing for SecurityHeaders {
    fn info(&self) -> Info {
        Info {
            name: "security headers",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, request: &'r Request<'_>, response: &mut Response<'r>) {
        let json = response.content_type() == Some(ContentType::JSON);
        if json && request.headers().contains("Authorization") {
            response.set_header(Header::new("Cache-Control", "no-store"));
        }
        let path = request.uri().path();
        if (path == "/api" || path == "/api/") && response.content_type() == Some(ContentType::HTML)
        {
            response.set_header(Header::new("Content-Security-Policy", SWAGGER_UI_CSP));
        }
    }
}
