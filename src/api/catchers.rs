//! Errors raised outside the handlers, answered in JSON (decisions F13): unknown URL → 404, known URL
//! with another method → 405, anything unhandled → 500.

use super::params::{IntId, is_canonical_uuid};
use crate::error::ApiError;
use rocket::http::{Method, Status};
use rocket::{Catcher, Request, catch, catchers};

pub fn catchers() -> Vec<Catcher> {
    catchers![default_catcher]
}

#[catch(default)]
fn default_catcher(status: Status, request: &Request<'_>) -> ApiError {
    match status.code {
        // 422 is what Rocket reports when a path segment does not convert: no route, as for 404.
        404 | 422 => {
            if path_known_for_other_method(request) {
                ApiError::MethodNotAllowed
            } else {
                ApiError::RouteNotFound
            }
        }
        400 => ApiError::MalformedBody,
        413 => ApiError::PayloadTooLarge {
            limit: super::body::DEFAULT_LIMIT.as_u64(),
        },
        500..=599 => ApiError::internal(format!(
            "unhandled {status} for {} {}",
            request.method(),
            request.uri()
        )),
        _ => ApiError::business(status, status.reason().unwrap_or("Error").to_owned()),
    }
}

/// Whether some route of another method has this path, with each dynamic segment accepting what our
/// converters accept: names ending in `id` take digits, names with `uuid` take UUIDs.
pub fn path_known_for_other_method(request: &Request<'_>) -> bool {
    let path: Vec<&str> = request.uri().path().segments().collect();
    let method = request.method();
    request.rocket().routes().any(|route| {
        // The front end's pages answer GET everywhere; other methods there stay unknown URLs.
        route.name.as_deref() != Some(super::ui::ROUTE_NAME)
            && route.method != method
            && !(method == Method::Head && route.method == Method::Get)
            && template_matches(route.uri.path(), &path)
    })
}

fn template_matches(template: &str, path: &[&str]) -> bool {
    let parts: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
    let mut index = 0;
    for part in &parts {
        if part.starts_with('<') && part.ends_with("..>") {
            return true;
        }
        let Some(segment) = path.get(index) else {
            return false;
        };
        if let Some(name) = part.strip_prefix('<').and_then(|p| p.strip_suffix('>')) {
            let name = name.trim_start_matches('_');
            let fits = if name == "medium" {
                crate::media::Medium::by_name(segment).is_some()
            } else if name == "service" {
                crate::external::Service::from_segment(segment).is_some()
            } else if name.contains("uuid") {
                is_canonical_uuid(segment)
            } else if name == "id" || name.ends_with("_id") {
                IntId::parse(segment).is_some()
            } else {
                !segment.is_empty()
            };
            if !fits {
                return false;
            }
        } else if part != segment {
            return false;
        }
        index += 1;
    }
    index == path.len()
}

/// The reference's routes are exact: `/api/user/genre/` is not `/api/user/genre` (1.1). Rocket ignores
/// a trailing slash when matching, so such requests are pointed at a path no route has. Only the API's
/// own paths: Engine.IO's is `/socket.io/`, and a front end's pages may end with a slash.
pub struct ExactPaths;

const NO_ROUTE: &str = "/.no-route";

#[rocket::async_trait]
impl rocket::fairing::Fairing for ExactPaths {
    fn info(&self) -> rocket::fairing::Info {
        rocket::fairing::Info {
            name: "exact paths (no trailing-slash tolerance)",
            kind: rocket::fairing::Kind::Request,
        }
    }

    async fn on_request(&self, request: &mut Request<'_>, _: &mut rocket::Data<'_>) {
        let path = request.uri().path();
        let trailing_slash = path.starts_with("/api/") && path.ends_with('/') && path != "/api/";
        if let (true, Ok(uri)) = (trailing_slash, rocket::http::uri::Origin::parse(NO_ROUTE)) {
            request.set_uri(uri);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::template_matches;

    #[test]
    fn templates() {
        assert!(template_matches(
            "/api/user/<uuid>",
            &["api", "user", "6d43749e-d519-45dc-bdb8-4e9c3f9bcb69"]
        ));
        assert!(!template_matches(
            "/api/user/<uuid>",
            &["api", "user", "abc"]
        ));
        assert!(template_matches(
            "/api/user/genre/<genre_id>",
            &["api", "user", "genre", "12"]
        ));
        assert!(!template_matches(
            "/api/user/genre/<genre_id>",
            &["api", "user", "genre", "-1"]
        ));
        assert!(!template_matches(
            "/api/auth/login",
            &["api", "auth", "login", "x"]
        ));
        assert!(template_matches(
            "/swaggerui/<file..>",
            &["swaggerui", "a", "b"]
        ));
    }
}
