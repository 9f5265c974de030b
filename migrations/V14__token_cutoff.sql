-- Sessions end with a password change (decisions F20): a user's access tokens issued before
-- `not_before_ms` (milliseconds since the epoch; whole seconds, as tokens' `iat`) are void, but for `kept_jti` (the session that changed
-- its own password). One indexed read per request, beside the revocation list.
CREATE TABLE token_cutoff (
    user_id       INTEGER PRIMARY KEY REFERENCES "user" (user_id) ON DELETE CASCADE,
    not_before_ms INTEGER NOT NULL,
    kept_jti      TEXT
);
