//! Identity: password hashing, access tokens, the JWT secret, and the request guard that carries a
//! caller's bearer token into a handler.
//!
//! Handlers check the token themselves (`state.auth.verify(&bearer)`), because the reference validates
//! a request body *before* it looks at the token (api-reference.md 1.3.1): the guard only captures the
//! header, and the handler decides the order.

pub mod jwt;
pub mod password;
pub mod secret;
pub mod throttle;

use crate::db::{Db, tokens};
use crate::error::{ApiError, ApiResult};
use jwt::{AccessToken, JwtKeys};
use password::PasswordHasher;
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};

pub const PERMISSION_MISSING: &str = "Permission missing";

/// The raw `Authorization` header of a request, not yet checked.
pub struct Bearer(Option<String>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Bearer {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(Bearer(
            request
                .headers()
                .get_one("Authorization")
                .map(str::to_owned),
        ))
    }
}

impl Bearer {
    /// The token text, with flask-jwt-extended's header errors.
    fn token(&self) -> ApiResult<&str> {
        let header = self.0.as_deref().unwrap_or("");
        if header.is_empty() {
            return Err(ApiError::token(
                Status::Unauthorized,
                "Missing Authorization Header",
            ));
        }
        // flask-jwt-extended splits a header like `Basic abc, Bearer <jwt>` on commas and takes the
        // Bearer part.
        let part = header
            .split(',')
            .map(str::trim)
            .find(|p| p.starts_with("Bearer"))
            .unwrap_or(header);
        let words: Vec<&str> = part.split_whitespace().collect();
        match words.as_slice() {
            ["Bearer", token] => Ok(token),
            _ => Err(ApiError::token(
                Status::UnprocessableEntity,
                "Bad Authorization header. Expected value 'Bearer <JWT>'",
            )),
        }
    }
}

pub struct Auth {
    pub keys: JwtKeys,
    pub hasher: PasswordHasher,
    db: Db,
}

impl Auth {
    pub fn new(secret: &[u8], bcrypt_cost: u32, db: Db) -> Self {
        Auth {
            keys: JwtKeys::new(secret),
            hasher: PasswordHasher::new(bcrypt_cost),
            db,
        }
    }

    /// Checks a request's bearer token: header, signature, dates, claims, then revocation; the token
    /// comes back with its caller's current permissions (decisions F21).
    pub async fn verify(&self, bearer: &Bearer) -> ApiResult<AccessToken> {
        let token = self.decode(bearer)?;
        self.current(token).await
    }

    /// The first part of [`Auth::verify`]: header, signature, dates and claims, without the database.
    /// Work that reads the database anyway checks revocation there ([`not_revoked`]), saving a round
    /// trip to the blocking pool.
    pub fn decode(&self, bearer: &Bearer) -> ApiResult<AccessToken> {
        self.keys.decode(bearer.token()?)
    }

    /// [`current`] on the pool.
    pub async fn current(&self, token: AccessToken) -> ApiResult<AccessToken> {
        self.db.run(move |conn| current(conn, token)).await
    }

    /// A 12-hour access token for a user, with the permissions of its roles as they are now.
    pub fn access_token(&self, identity: &str, permissions: &[String]) -> ApiResult<String> {
        self.keys
            .issue(identity, permissions, jwt::ACCESS_TOKEN_SECONDS)
    }
}

/// A decoded token as it stands now: 401 "Token has been revoked" if it was revoked — by a logout
/// (decisions F12) or by its user's password change since it was issued (F20) — otherwise the token
/// with its caller's current permissions in place of the claim's (F21: a granted or revoked role, a
/// deleted account act at once). Inside database work already running.
pub fn current(conn: &rusqlite::Connection, mut token: AccessToken) -> ApiResult<AccessToken> {
    let jti = token.jti.as_deref();
    let revoked = match jti {
        Some(jti) => tokens::is_revoked(conn, jti)?,
        None => false,
    } || tokens::cut_off(conn, &token.identity, token.issued_ms, jti)?;
    if revoked {
        return Err(ApiError::token(
            Status::Unauthorized,
            "Token has been revoked",
        ));
    }
    // An unknown caller keeps the claim's: the route's caller lookup answers 404 where the
    // reference's order puts it (a permission check may come first).
    if let Some(permissions) = crate::db::users::permissions_of(conn, &token.identity)? {
        token.permissions = permissions;
    }
    Ok(token)
}

/// 403 "Permission missing" unless the token carries `permission`.
pub fn require(token: &AccessToken, permission: &str) -> ApiResult<()> {
    if token.has_permission(permission) {
        Ok(())
    } else {
        Err(ApiError::forbidden(PERMISSION_MISSING))
    }
}
