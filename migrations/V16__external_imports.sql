-- Linked accounts (api-reference.md 5.7, decisions F25): one row per import run of a user's linked
-- service, so that operators (and tests) see what an import did and how it ended.
CREATE TABLE external_import (
    import_id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id              INTEGER NOT NULL REFERENCES "user" (user_id) ON DELETE CASCADE,
    service_name         TEXT NOT NULL,
    started_at           TEXT NOT NULL,
    finished_at          TEXT,
    -- 'imported', 'revoked' (the link was deleted), or 'failed: <why>'.
    outcome              TEXT,
    contents_added       INTEGER NOT NULL DEFAULT 0,
    interactions_changed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX external_import_user_idx ON external_import (user_id, service_name, import_id);

-- Imports match what they bring against these columns.
CREATE INDEX IF NOT EXISTS track_spotify_id_idx ON track (spotify_id);
CREATE INDEX IF NOT EXISTS movie_imdbid_idx ON movie (imdbid);
CREATE INDEX IF NOT EXISTS movie_tmdbid_idx ON movie (tmdbid);
