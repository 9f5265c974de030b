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
fn default_catcher(status: Status, request: &Request<'_>) -> Result<ApiError, NotAllowed> {
    Ok(match status.code {
        // 422 is what Rocket reports when a path segment does not convert: no route, as for 404.
        404 | 422 => {
            let methods = allowed_methods(request);
            let method = request.method();
            let other = methods.iter().any(|m| {
                *m != method
                    && *m != Method::Options
                    && !(*m == Method::Head && method == Method::Get)
                    && !(*m == Method::Get && method == Method::Head)
            });
            if other {
                return Err(NotAllowed(allow_header(&methods)));
            }
            ApiError::RouteNotFound
        }
        // Before routing, Rocket refuses a method it does not know (`QUERY`, `PROPFIND`, …) with 400
        // on a stand-in GET of the same URL: the URL's methods are the answer.
        400 if request.route().is_none() => {
            let methods = allowed_methods(request);
            if methods.is_empty() {
                ApiError::MalformedBody
            } else {
                return Err(NotAllowed(allow_header(&methods)));
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
    })
}

/// The methods some route answers on this path, with each dynamic segment accepting what our
/// converters accept (names ending in `id` take digits, names with `uuid` take UUIDs): HEAD with GET,
/// and OPTIONS on any known path. Empty for an unknown URL.
pub fn allowed_methods(request: &Request<'_>) -> Vec<Method> {
    let path: Vec<&str> = request.uri().path().segments().collect();
    let mut methods: Vec<Method> = request
        .rocket()
        .routes()
        // The front end's pages answer GET everywhere; other methods there stay unknown URLs.
        .filter(|route| route.name.as_deref() != Some(super::ui::ROUTE_NAME))
        .filter(|route| template_matches(route.uri.path(), &path))
        .map(|route| route.method)
        .collect();
    if methods.is_empty() {
        return methods;
    }
    if methods.contains(&Method::Get) {
        methods.push(Method::Head);
    }
    methods.push(Method::Options);
    methods.sort_by_key(|m| m.as_str());
    methods.dedup();
    methods
}

/// `Allow`'s value for those methods.
pub fn allow_header(methods: &[Method]) -> String {
    methods
        .iter()
        .map(|m| m.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A 405 names what the path does answer.
pub struct NotAllowed(String);

impl<'r> rocket::response::Responder<'r, 'static> for NotAllowed {
    fn respond_to(self, request: &'r Request<'_>) -> rocket::response::Result<'static> {
        let mut response = ApiError::MethodNotAllowed.respond_to(request)?;
        response.set_raw_header("Allow", self.0);
        Ok(response)
    }
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
            return;
        }
        if let Some(uri) = first_values_only(request.uri()) {
            request.set_uri(uri);
        }
    }
}

/// The URI without later repeats of a query parameter: Flask's `request.args.get` reads the first of
/// `?page=2&page=x`, where Rocket would refuse the pair and read no `page` at all.
fn first_values_only(
    uri: &rocket::http::uri::Origin<'_>,
) -> Option<rocket::http::uri::Origin<'static>> {
    let query = uri.query()?.as_str();
    let mut seen = std::collections::HashSet::new();
    let pairs: Vec<&str> = query.split('&').collect();
    let kept: Vec<&str> = pairs
        .iter()
        .copied()
        .filter(|pair| seen.insert(pair.split('=').next().unwrap_or_default()))
        .collect();
    if kept.len() == pairs.len() {
        return None;
    }
    rocket::http::uri::Origin::parse_owned(format!("{}?{}", uri.path(), kept.join("&"))).ok()
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
