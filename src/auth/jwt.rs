//! HS256 access tokens with flask-jwt-extended 3.25's claim layout and error texts
//! (api-reference.md 1.5, 1.5.1). Signing and signature checks use `jsonwebtoken`; the structural
//! checks before them are spelled out here so that each failure gets the reference's own message.

use crate::error::ApiError;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use rocket::http::Status;
use serde_json::{Map, Value, json};

/// Login and registration tokens live 12 hours.
pub const ACCESS_TOKEN_SECONDS: i64 = 43_200;
/// Password-reset links live one hour (decisions F20).
pub const RESET_TOKEN_SECONDS: i64 = 3_600;

/// The `state` of a linking flow (api-reference.md 2.7) lives an hour: long enough to approve the
/// link at the provider, and it opens nothing but that service's callback.
pub const STATE_TOKEN_SECONDS: i64 = 3_600;

/// A decoded access token whose signature, dates and claims passed (revocation is checked separately).
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub identity: String,
    pub jti: Option<String>,
    /// The claim's permissions when decoded; the caller's current ones once checked against the
    /// database (decisions F21, `super::Auth::verify`).
    pub permissions: Vec<String>,
    /// When it was issued (`iat`), in milliseconds: tokens issued before their user's last password
    /// change are void.
    pub issued_ms: i64,
}

/// A decoded password-reset token (decisions F20): bound to the password it resets.
#[derive(Debug, Clone)]
pub struct ResetToken {
    pub identity: String,
    /// [`password_fingerprint`] of the password hash when the token was issued.
    pub password: String,
}

/// The `type` claim of reset tokens: never accepted where an access token is expected.
const RESET_TYPE: &str = "reset";
/// The `type` claim of linking states: the reference sends a 12-hour access token through the
/// provider (its logs, the browser's history); ours is bound to the flow and refused as a bearer.
const STATE_TYPE: &str = "link_state";

/// A short digest of a stored password hash: a reset token carries it and is void once the password
/// changed (each new hash has a new salt, so even the same password voids it: single use).
pub fn password_fingerprint(password_hash: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(password_hash.as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

impl AccessToken {
    pub fn has_permission(&self, permission: &str) -> bool {
        self.permissions.iter().any(|p| p == permission)
    }
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl JwtKeys {
    pub fn new(secret: &[u8]) -> Self {
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    /// A fresh access token for `identity` carrying `permissions`, valid `lifetime_seconds` from now.
    pub fn issue(
        &self,
        identity: &str,
        permissions: &[String],
        lifetime_seconds: i64,
    ) -> Result<String, ApiError> {
        let seconds = chrono::Utc::now().timestamp();
        let claims = json!({
            "iat": seconds,
            "nbf": seconds,
            "jti": uuid::Uuid::new_v4().to_string(),
            "exp": seconds + lifetime_seconds,
            "identity": identity,
            "fresh": false,
            "type": "access",
            "user_claims": {"permissions": permissions},
        });
        self.sign(&claims)
    }

    /// A one-hour password-reset token for `identity`, bound to its current password hash.
    pub fn issue_reset(&self, identity: &str, password_hash: &str) -> Result<String, ApiError> {
        let now = chrono::Utc::now().timestamp();
        self.sign(&json!({
            "iat": now,
            "nbf": now,
            "jti": uuid::Uuid::new_v4().to_string(),
            "exp": now + RESET_TOKEN_SECONDS,
            "identity": identity,
            "type": RESET_TYPE,
            "pwd": password_fingerprint(password_hash),
        }))
    }

    /// The `state` of `identity`'s flow linking `service`.
    pub fn issue_state(&self, identity: &str, service: &str) -> Result<String, ApiError> {
        let now = chrono::Utc::now().timestamp();
        self.sign(&json!({
            "iat": now,
            "nbf": now,
            "jti": uuid::Uuid::new_v4().to_string(),
            "exp": now + STATE_TOKEN_SECONDS,
            "identity": identity,
            "type": STATE_TYPE,
            "service": service,
        }))
    }

    /// The identity of a linking state for `service` (the access token's checks and texts first);
    /// `None` for any other token, e.g. another service's state or an access token.
    pub fn decode_state(&self, token: &str, service: &str) -> Result<Option<String>, ApiError> {
        let (claims, identity) = self.claims(token)?;
        let genuine = claims.get("type").and_then(Value::as_str) == Some(STATE_TYPE)
            && claims.get("service").and_then(Value::as_str) == Some(service);
        Ok(genuine.then_some(identity))
    }

    fn sign(&self, claims: &Value) -> Result<String, ApiError> {
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &self.encoding,
        )?)
    }

    /// Decodes and checks an access token the way PyJWT 1.7 + flask-jwt-extended 3.25 do, in their
    /// order. A reset token is refused as flask-jwt-extended refuses a refresh token.
    pub fn decode(&self, token: &str) -> Result<AccessToken, ApiError> {
        let invalid = |msg: &'static str| ApiError::token(Status::UnprocessableEntity, msg);
        let (claims, identity) = self.claims(token)?;
        match claims.get("type").map(|t| t.as_str()) {
            None | Some(Some("access")) => {}
            Some(Some("refresh" | RESET_TYPE | STATE_TYPE)) => {
                return Err(invalid("Only access tokens are allowed"));
            }
            Some(_) => return Err(invalid("Missing or invalid claim: type")),
        }
        let jti = claims.get("jti").and_then(Value::as_str).map(str::to_owned);
        let permissions = claims
            .get("user_claims")
            .and_then(|c| c.get("permissions"))
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let issued_ms = claims
            .get("iat")
            .and_then(Value::as_f64)
            .map_or(0, |s| (s * 1000.0) as i64);
        Ok(AccessToken {
            identity,
            jti,
            permissions,
            issued_ms,
        })
    }

    /// Decodes a password-reset token: the same structural, signature and date checks (and texts) as
    /// an access token, then its purpose; an access token here is `None` (decisions F20).
    pub fn decode_reset(&self, token: &str) -> Result<Option<ResetToken>, ApiError> {
        let (claims, identity) = self.claims(token)?;
        if claims.get("type").and_then(Value::as_str) != Some(RESET_TYPE) {
            return Ok(None);
        }
        let password = claims
            .get("pwd")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Ok(Some(ResetToken { identity, password }))
    }

    /// The claims of a token whose structure, signature and dates passed, and its identity.
    fn claims(&self, token: &str) -> Result<(Map<String, Value>, String), ApiError> {
        let invalid = |msg: String| ApiError::token(Status::UnprocessableEntity, msg);

        let (signing_input, signature) = token
            .rsplit_once('.')
            .ok_or_else(|| invalid("Not enough segments".into()))?;
        let (header_b64, payload_b64) = signing_input
            .split_once('.')
            .ok_or_else(|| invalid("Not enough segments".into()))?;

        let header_bytes =
            b64url(header_b64).ok_or_else(|| invalid("Invalid header padding".into()))?;
        let header: Value = serde_json::from_slice(&header_bytes)
            .map_err(|e| invalid(format!("Invalid header string: {e}")))?;
        let Value::Object(header) = header else {
            return Err(invalid(
                "Invalid header string: must be a json object".into(),
            ));
        };
        let payload_bytes =
            b64url(payload_b64).ok_or_else(|| invalid("Invalid payload padding".into()))?;
        let signature_bytes =
            b64url(signature).ok_or_else(|| invalid("Invalid crypto padding".into()))?;

        if header.get("alg").and_then(Value::as_str) != Some("HS256") {
            return Err(invalid("The specified alg value is not allowed".into()));
        }
        // Re-encoded canonically: PyJWT accepts padding and stray low bits that jsonwebtoken refuses.
        let canonical = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signature_bytes);
        let genuine = jsonwebtoken::crypto::verify(
            &canonical,
            signing_input.as_bytes(),
            &self.decoding,
            Algorithm::HS256,
        )
        .unwrap_or(false);
        if !genuine {
            return Err(invalid("Signature verification failed".into()));
        }

        let payload: Value = serde_json::from_slice(&payload_bytes)
            .map_err(|e| invalid(format!("Invalid payload string: {e}")))?;
        let Value::Object(claims) = payload else {
            return Err(invalid(
                "Invalid payload string: must be a json object".into(),
            ));
        };
        check_dates(&claims, chrono::Utc::now().timestamp())?;

        let identity = match claims.get("identity") {
            Some(Value::String(s)) => s.clone(),
            Some(other) if !other.is_null() => other.to_string(),
            _ => return Err(invalid("Missing claim: identity".into())),
        };
        Ok((claims, identity))
    }
}

/// PyJWT's registered-claim checks: `iat`, then `nbf`, then `exp`, with no leeway.
fn check_dates(claims: &Map<String, Value>, now: i64) -> Result<(), ApiError> {
    let invalid = |msg: &'static str| ApiError::token(Status::UnprocessableEntity, msg);
    let number = |key: &str| -> Option<Result<f64, ()>> {
        claims.get(key).map(|v| match v {
            Value::Number(n) => n.as_f64().ok_or(()),
            Value::String(s) => s.trim().parse::<i64>().map(|i| i as f64).map_err(|_| ()),
            _ => Err(()),
        })
    };
    if let Some(Err(())) = number("iat") {
        return Err(invalid("Issued At claim (iat) must be an integer."));
    }
    match number("nbf") {
        Some(Err(())) => return Err(invalid("Not Before claim (nbf) must be an integer.")),
        Some(Ok(nbf)) if nbf > now as f64 => {
            return Err(invalid("The token is not yet valid (nbf)"));
        }
        _ => {}
    }
    match number("exp") {
        Some(Err(())) => Err(invalid("Expiration Time claim (exp) must be an integer.")),
        Some(Ok(exp)) if exp < now as f64 => Err(ApiError::TokenExpired),
        _ => Ok(()),
    }
}

/// base64url as PyJWT decodes it: padding optional, unused low bits of the last character ignored.
fn b64url(segment: &str) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    LENIENT.decode(segment).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> JwtKeys {
        JwtKeys::new(b"test-secret")
    }

    fn message(err: ApiError) -> String {
        match err {
            ApiError::Token { msg, .. } => msg.into_owned(),
            ApiError::TokenExpired => "expired".into(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn round_trip_keeps_identity_and_permissions() {
        let token = keys().issue("abc", &["access_sandbox".into()], 60).unwrap();
        let decoded = keys().decode(&token).unwrap();
        assert_eq!(decoded.identity, "abc");
        assert!(decoded.has_permission("access_sandbox"));
        assert!(decoded.jti.is_some());
    }

    #[test]
    fn reset_tokens_serve_their_purpose_only() {
        let reset = keys().issue_reset("abc", "$2b$hash").unwrap();
        let decoded = keys().decode_reset(&reset).unwrap().unwrap();
        assert_eq!(decoded.identity, "abc");
        assert_eq!(decoded.password, password_fingerprint("$2b$hash"));
        assert_ne!(decoded.password, password_fingerprint("$2b$other"));
        assert_eq!(
            message(keys().decode(&reset).unwrap_err()),
            "Only access tokens are allowed"
        );
        let access = keys().issue("abc", &[], 60).unwrap();
        assert!(keys().decode_reset(&access).unwrap().is_none());
    }

    #[test]
    fn structural_errors_use_pyjwt_texts() {
        assert_eq!(
            message(keys().decode("not-a-token").unwrap_err()),
            "Not enough segments"
        );
        assert_eq!(
            message(keys().decode("a.b").unwrap_err()),
            "Not enough segments"
        );
        assert_eq!(
            message(keys().decode("!!.e30.sig").unwrap_err()),
            "Invalid header padding"
        );
        let other = JwtKeys::new(b"other").issue("abc", &[], 60).unwrap();
        assert_eq!(
            message(keys().decode(&other).unwrap_err()),
            "Signature verification failed"
        );
        let expired = keys().issue("abc", &[], -10).unwrap();
        assert_eq!(message(keys().decode(&expired).unwrap_err()), "expired");
    }
}
