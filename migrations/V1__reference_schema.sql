-- The reference RecoFinement schema (api-reference.md section 3), in SQLite form.
--
-- Table and column names are the reference's, so that its engine and tooling keep reading them.
-- Type mapping: varchar/text -> TEXT, integer/smallint -> INTEGER, float8 -> REAL, boolean -> INTEGER (0/1),
-- uuid -> TEXT (lowercase hyphenated), timestamp -> TEXT 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC,
-- the contenttype enum -> TEXT restricted by a CHECK to its six upper-case names.
--
-- Serial keys that other rows or events refer to use AUTOINCREMENT, so a deleted id is never handed out
-- again: the event tables keep user and content ids after the rows are gone, and a reused id would make
-- history point at the wrong thing.

-- Users, roles, permissions ------------------------------------------------------------------------------

CREATE TABLE "user" (
    user_id             INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid                TEXT,
    email               TEXT,
    username            TEXT NOT NULL,
    password_hash       TEXT NOT NULL,
    preferences_defined INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT user_email_key UNIQUE (email),
    CONSTRAINT user_uuid_key UNIQUE (uuid)
);

CREATE TABLE role (
    role_id INTEGER PRIMARY KEY AUTOINCREMENT,
    name    TEXT
);

CREATE TABLE permission (
    permission TEXT NOT NULL PRIMARY KEY
);

CREATE TABLE role_permission (
    role_id    INTEGER NOT NULL REFERENCES role (role_id),
    permission TEXT NOT NULL REFERENCES permission (permission),
    PRIMARY KEY (role_id, permission)
);

CREATE TABLE user_role (
    user_id INTEGER NOT NULL REFERENCES "user" (user_id) ON DELETE CASCADE,
    role_id INTEGER NOT NULL REFERENCES role (role_id),
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX user_role_role_id_idx ON user_role (role_id);

CREATE TABLE revoked_token (
    id  INTEGER PRIMARY KEY AUTOINCREMENT,
    jti TEXT
);
-- Looked up on every authenticated request (the reference had no index here).
CREATE UNIQUE INDEX revoked_token_jti_idx ON revoked_token (jti);

CREATE TABLE external_service (
    service_id    INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER NOT NULL REFERENCES "user" (user_id) ON DELETE CASCADE,
    service_name  TEXT NOT NULL,
    access_token  TEXT,
    refresh_token TEXT,
    CONSTRAINT "unique_userID_serviceName" UNIQUE (user_id, service_name)
);

-- Catalogue ------------------------------------------------------------------------------------------------

CREATE TABLE content (
    content_id       INTEGER PRIMARY KEY AUTOINCREMENT,
    rating           REAL,
    rating_count     INTEGER,
    popularity_score REAL
);

CREATE TABLE genre (
    genre_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL,
    count        INTEGER,
    content_type TEXT CHECK (content_type IN ('APPLICATION', 'BOOK', 'GAME', 'MOVIE', 'SERIE', 'TRACK'))
);
CREATE INDEX genre_content_type_idx ON genre (content_type);

CREATE TABLE content_genres (
    content_id INTEGER NOT NULL REFERENCES content (content_id),
    genre_id   INTEGER NOT NULL REFERENCES genre (genre_id),
    PRIMARY KEY (content_id, genre_id)
);
CREATE INDEX content_genres_genre_id_idx ON content_genres (genre_id);

CREATE TABLE linked_genre (
    genre_id0 INTEGER NOT NULL REFERENCES genre (genre_id),
    genre_id1 INTEGER NOT NULL REFERENCES genre (genre_id),
    ratio     REAL,
    PRIMARY KEY (genre_id0, genre_id1)
);

CREATE TABLE similars_content (
    content_id0   INTEGER NOT NULL REFERENCES content (content_id),
    content_id1   INTEGER NOT NULL REFERENCES content (content_id),
    similarity    REAL,
    content_type0 TEXT CHECK (content_type0 IN ('APPLICATION', 'BOOK', 'GAME', 'MOVIE', 'SERIE', 'TRACK')),
    content_type1 TEXT CHECK (content_type1 IN ('APPLICATION', 'BOOK', 'GAME', 'MOVIE', 'SERIE', 'TRACK')),
    PRIMARY KEY (content_id0, content_id1)
);
CREATE INDEX similars_content_content_id1_idx ON similars_content (content_id1);

CREATE TABLE application (
    name            TEXT,
    size            TEXT,
    installs        TEXT,
    type            TEXT,
    price           TEXT,
    content_rating  TEXT,
    last_updated    TEXT,
    current_version TEXT,
    android_version TEXT,
    cover           TEXT,
    content_id      INTEGER NOT NULL PRIMARY KEY REFERENCES content (content_id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX application_name_idx ON application (name);

CREATE TABLE book (
    isbn                TEXT NOT NULL,
    title               TEXT,
    author              TEXT,
    year_of_publication INTEGER,
    publisher           TEXT,
    image_url_s         TEXT,
    image_url_m         TEXT,
    image_url_l         TEXT,
    content_id          INTEGER NOT NULL PRIMARY KEY REFERENCES content (content_id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX book_isbn_idx ON book (isbn);
CREATE INDEX book_author_idx ON book (author);
CREATE INDEX book_title_idx ON book (title);

CREATE TABLE game (
    steamid           INTEGER,
    name              TEXT,
    short_description TEXT,
    header_image      TEXT,
    website           TEXT,
    developers        TEXT,
    publishers        TEXT,
    price             TEXT,
    recommendations   INTEGER,
    release_date      TEXT,
    content_id        INTEGER NOT NULL PRIMARY KEY REFERENCES content (content_id) ON DELETE CASCADE
);
CREATE INDEX game_name_idx ON game (name);

CREATE TABLE movie (
    title        TEXT,
    language     TEXT,
    actors       TEXT,
    year         TEXT,
    producers    TEXT,
    director     TEXT,
    writer       TEXT,
    imdbid       TEXT,
    tmdbid       TEXT,
    cover        TEXT,
    plot_outline TEXT,
    content_id   INTEGER NOT NULL PRIMARY KEY REFERENCES content (content_id) ON DELETE CASCADE
);
CREATE INDEX movie_title_idx ON movie (title);

CREATE TABLE serie (
    imdbid       TEXT,
    title        TEXT,
    start_year   INTEGER,
    end_year     INTEGER,
    writers      TEXT,
    directors    TEXT,
    actors       TEXT,
    cover        TEXT,
    plot_outline TEXT,
    content_id   INTEGER NOT NULL PRIMARY KEY REFERENCES content (content_id) ON DELETE CASCADE
);
CREATE INDEX serie_title_idx ON serie (title);

CREATE TABLE episode (
    imdbid         TEXT,
    title          TEXT,
    year           INTEGER,
    season_number  INTEGER,
    episode_number INTEGER,
    serie_id       INTEGER REFERENCES serie (content_id),
    content_id     INTEGER NOT NULL PRIMARY KEY REFERENCES content (content_id) ON DELETE CASCADE
);
CREATE INDEX episode_title_idx ON episode (title);
CREATE INDEX episode_serie_id_idx ON episode (serie_id, season_number, episode_number);

CREATE TABLE track (
    title          TEXT,
    year           INTEGER,
    artist_name    TEXT,
    release        TEXT,
    track_mmid     TEXT,
    recording_mbid TEXT,
    spotify_id     TEXT,
    covert_art_url TEXT,
    content_id     INTEGER NOT NULL PRIMARY KEY REFERENCES content (content_id) ON DELETE CASCADE
);
CREATE INDEX track_artist_name_idx ON track (artist_name);
CREATE INDEX track_title_idx ON track (title);

-- Content proposals ("additional") -----------------------------------------------------------------------

CREATE TABLE application_additional (
    app_id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT,
    size            TEXT,
    installs        TEXT,
    type            TEXT,
    price           TEXT,
    content_rating  TEXT,
    last_updated    TEXT,
    current_version TEXT,
    android_version TEXT,
    cover           TEXT
);
CREATE UNIQUE INDEX application_additional_name_idx ON application_additional (name);

CREATE TABLE application_additional_genres (
    app_id   INTEGER NOT NULL REFERENCES application_additional (app_id),
    genre_id INTEGER NOT NULL REFERENCES genre (genre_id),
    PRIMARY KEY (app_id, genre_id)
);

CREATE TABLE book_additional (
    book_id             INTEGER PRIMARY KEY AUTOINCREMENT,
    isbn                TEXT NOT NULL,
    title               TEXT,
    author              TEXT,
    year_of_publication INTEGER,
    publisher           TEXT,
    image_url_s         TEXT,
    image_url_m         TEXT,
    image_url_l         TEXT
);
CREATE UNIQUE INDEX book_additional_isbn_idx ON book_additional (isbn);
CREATE INDEX book_additional_author_idx ON book_additional (author);
CREATE INDEX book_additional_title_idx ON book_additional (title);

CREATE TABLE game_additional (
    game_id           INTEGER PRIMARY KEY AUTOINCREMENT,
    steamid           INTEGER,
    name              TEXT,
    short_description TEXT,
    header_image      TEXT,
    website           TEXT,
    developers        TEXT,
    publishers        TEXT,
    price             TEXT,
    release_date      TEXT
);
CREATE INDEX game_additional_name_idx ON game_additional (name);

CREATE TABLE game_additional_genres (
    game_id  INTEGER NOT NULL REFERENCES game_additional (game_id),
    genre_id INTEGER NOT NULL REFERENCES genre (genre_id),
    PRIMARY KEY (game_id, genre_id)
);

CREATE TABLE movie_additional (
    movie_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    title        TEXT,
    language     TEXT,
    actors       TEXT,
    year         TEXT,
    producers    TEXT,
    director     TEXT,
    writer       TEXT,
    imdbid       TEXT,
    tmdbid       TEXT,
    cover        TEXT,
    plot_outline TEXT
);
CREATE INDEX movie_additional_title_idx ON movie_additional (title);

CREATE TABLE movie_additional_genres (
    movie_id INTEGER NOT NULL REFERENCES movie_additional (movie_id),
    genre_id INTEGER NOT NULL REFERENCES genre (genre_id),
    PRIMARY KEY (movie_id, genre_id)
);

CREATE TABLE serie_additional (
    serie_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    imdbid       TEXT,
    title        TEXT,
    start_year   INTEGER,
    end_year     INTEGER,
    writers      TEXT,
    directors    TEXT,
    actors       TEXT,
    cover        TEXT,
    plot_outline TEXT
);
CREATE INDEX serie_additional_title_idx ON serie_additional (title);

CREATE TABLE serie_additional_genres (
    serie_id INTEGER NOT NULL REFERENCES serie_additional (serie_id),
    genre_id INTEGER NOT NULL REFERENCES genre (genre_id),
    PRIMARY KEY (serie_id, genre_id)
);

CREATE TABLE episode_additional (
    episode_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    imdbid         TEXT,
    title          TEXT,
    year           INTEGER,
    season_number  INTEGER,
    episode_number INTEGER,
    serie_id       INTEGER REFERENCES serie_additional (serie_id)
);
CREATE INDEX episode_additional_title_idx ON episode_additional (title);
CREATE INDEX episode_additional_serie_id_idx ON episode_additional (serie_id);

CREATE TABLE episode_additional_genres (
    episode_id INTEGER NOT NULL REFERENCES episode_additional (episode_id),
    genre_id   INTEGER NOT NULL REFERENCES genre (genre_id),
    PRIMARY KEY (episode_id, genre_id)
);

CREATE TABLE track_additional (
    track_id       INTEGER PRIMARY KEY AUTOINCREMENT,
    title          TEXT,
    year           INTEGER,
    artist_name    TEXT,
    release        TEXT,
    track_mmid     TEXT,
    recording_mbid TEXT,
    spotify_id     TEXT,
    covert_art_url TEXT
);
CREATE INDEX track_additional_artist_name_idx ON track_additional (artist_name);
CREATE INDEX track_additional_title_idx ON track_additional (title);

CREATE TABLE track_additional_genres (
    track_id INTEGER NOT NULL REFERENCES track_additional (track_id),
    genre_id INTEGER NOT NULL REFERENCES genre (genre_id),
    PRIMARY KEY (track_id, genre_id)
);

-- User activity ----------------------------------------------------------------------------------------------

CREATE TABLE meta_user_content (
    user_id              INTEGER NOT NULL REFERENCES "user" (user_id) ON DELETE CASCADE,
    content_id           INTEGER NOT NULL REFERENCES content (content_id) ON DELETE CASCADE,
    rating               INTEGER,
    last_rating_date     TEXT,
    review_see_count     INTEGER,
    last_review_see_date TEXT,
    count                INTEGER,
    last_count_increment TEXT,
    PRIMARY KEY (user_id, content_id)
);
CREATE INDEX meta_user_content_content_id_idx ON meta_user_content (content_id);

CREATE TABLE bad_recommendation_content (
    user_id          INTEGER NOT NULL REFERENCES "user" (user_id) ON DELETE CASCADE,
    content_id       INTEGER NOT NULL REFERENCES content (content_id) ON DELETE CASCADE,
    reason_categorie TEXT NOT NULL,
    reason           TEXT NOT NULL,
    -- decisions F3: every (category, reason) is kept, so the reason is part of the key.
    PRIMARY KEY (user_id, content_id, reason_categorie, reason)
);
CREATE INDEX bad_recommendation_content_content_id_idx ON bad_recommendation_content (content_id);

CREATE TABLE liked_genres (
    user_id  INTEGER NOT NULL REFERENCES "user" (user_id) ON DELETE CASCADE,
    genre_id INTEGER NOT NULL REFERENCES genre (genre_id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, genre_id)
);
CREATE INDEX liked_genres_genre_id_idx ON liked_genres (genre_id);

CREATE TABLE recommended_content (
    user_id         INTEGER NOT NULL REFERENCES "user" (user_id) ON DELETE CASCADE,
    content_id      INTEGER NOT NULL REFERENCES content (content_id) ON DELETE CASCADE,
    score           REAL,
    engine          TEXT,
    engine_priority INTEGER,
    content_type    TEXT CHECK (content_type IN ('APPLICATION', 'BOOK', 'GAME', 'MOVIE', 'SERIE', 'TRACK')),
    PRIMARY KEY (user_id, content_id)
);
CREATE INDEX recommended_content_content_id_idx ON recommended_content (content_id);

-- Groups ----------------------------------------------------------------------------------------------------

CREATE TABLE "group" (
    group_id INTEGER PRIMARY KEY AUTOINCREMENT,
    name     TEXT NOT NULL,
    owner_id INTEGER REFERENCES "user" (user_id) ON DELETE CASCADE
);
CREATE INDEX group_owner_id_idx ON "group" (owner_id);

CREATE TABLE group_members (
    user_id  INTEGER NOT NULL REFERENCES "user" (user_id) ON DELETE CASCADE,
    group_id INTEGER NOT NULL REFERENCES "group" (group_id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX group_members_group_id_idx ON group_members (group_id);

CREATE TABLE invitations (
    user_id  INTEGER NOT NULL REFERENCES "user" (user_id) ON DELETE CASCADE,
    group_id INTEGER NOT NULL REFERENCES "group" (group_id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX invitations_group_id_idx ON invitations (group_id);

CREATE TABLE recommended_content_for_group (
    group_id        INTEGER NOT NULL REFERENCES "group" (group_id) ON DELETE CASCADE,
    content_id      INTEGER NOT NULL REFERENCES content (content_id) ON DELETE CASCADE,
    score           REAL,
    engine          TEXT,
    engine_priority INTEGER,
    content_type    TEXT CHECK (content_type IN ('APPLICATION', 'BOOK', 'GAME', 'MOVIE', 'SERIE', 'TRACK')),
    PRIMARY KEY (group_id, content_id)
);
CREATE INDEX recommended_content_for_group_content_id_idx ON recommended_content_for_group (content_id);

-- Sandbox profiles ------------------------------------------------------------------------------------------

CREATE TABLE profile (
    profile_id  INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid        TEXT,
    profilename TEXT NOT NULL,
    user_id     INTEGER NOT NULL REFERENCES "user" (user_id) ON DELETE CASCADE,
    CONSTRAINT profile_uuid_key UNIQUE (uuid)
);
CREATE INDEX profile_user_id_idx ON profile (user_id);

CREATE TABLE liked_genres_profile (
    profile_id INTEGER NOT NULL REFERENCES profile (profile_id) ON DELETE CASCADE,
    genre_id   INTEGER NOT NULL REFERENCES genre (genre_id) ON DELETE CASCADE,
    PRIMARY KEY (profile_id, genre_id)
);
CREATE INDEX liked_genres_profile_genre_id_idx ON liked_genres_profile (genre_id);

CREATE TABLE meta_profile_content (
    profile_id           INTEGER NOT NULL REFERENCES profile (profile_id) ON DELETE CASCADE,
    content_id           INTEGER NOT NULL REFERENCES content (content_id) ON DELETE CASCADE,
    rating               INTEGER,
    last_rating_date     TEXT,
    review_see_count     INTEGER,
    last_review_see_date TEXT,
    count                INTEGER,
    last_count_increment TEXT,
    PRIMARY KEY (profile_id, content_id)
);
CREATE INDEX meta_profile_content_content_id_idx ON meta_profile_content (content_id);

CREATE TABLE recommendation_launched_for_profile_event (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    occured_at TEXT NOT NULL,
    profile_id INTEGER REFERENCES profile (profile_id) ON DELETE CASCADE
);
CREATE INDEX recommendation_launched_for_profile_event_profile_id_idx
    ON recommendation_launched_for_profile_event (profile_id, occured_at);

CREATE TABLE recommendation_launched_liked_genre (
    event_id     INTEGER NOT NULL REFERENCES recommendation_launched_for_profile_event (id) ON DELETE CASCADE,
    genre_id     INTEGER NOT NULL,
    name         TEXT,
    content_type TEXT CHECK (content_type IN ('APPLICATION', 'BOOK', 'GAME', 'MOVIE', 'SERIE', 'TRACK')),
    PRIMARY KEY (event_id, genre_id)
);

CREATE TABLE recommendation_launched_meta (
    event_id             INTEGER NOT NULL REFERENCES recommendation_launched_for_profile_event (id) ON DELETE CASCADE,
    content_id           INTEGER NOT NULL REFERENCES content (content_id) ON DELETE CASCADE,
    rating               INTEGER,
    last_rating_date     TEXT,
    review_see_count     INTEGER,
    last_review_see_date TEXT,
    count                INTEGER,
    last_count_increment TEXT,
    PRIMARY KEY (event_id, content_id)
);
CREATE INDEX recommendation_launched_meta_content_id_idx ON recommendation_launched_meta (content_id);

CREATE TABLE recommendation_launched_result (
    event_id   INTEGER NOT NULL REFERENCES recommendation_launched_for_profile_event (id) ON DELETE CASCADE,
    content_id INTEGER NOT NULL REFERENCES content (content_id) ON DELETE CASCADE,
    score      REAL,
    engine     TEXT NOT NULL,
    PRIMARY KEY (event_id, content_id, engine)
);
CREATE INDEX recommendation_launched_result_content_id_idx ON recommendation_launched_result (content_id);

-- Engine bookkeeping ----------------------------------------------------------------------------------------

CREATE TABLE engine (
    engine           TEXT NOT NULL,
    last_launch_date TEXT,
    content_type     TEXT NOT NULL CHECK (content_type IN ('APPLICATION', 'BOOK', 'GAME', 'MOVIE', 'SERIE', 'TRACK')),
    PRIMARY KEY (engine, content_type)
);

-- Event log (api-reference.md section 4). No foreign keys: events outlive the rows they describe. -----------

CREATE TABLE meta_added_event (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    occured_at       TEXT NOT NULL,
    occured_by       INTEGER,
    object_id        INTEGER NOT NULL,
    rating           INTEGER,
    review_see_count INTEGER,
    count            INTEGER
);

CREATE TABLE changed_event (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    occured_at     TEXT NOT NULL,
    occured_by     INTEGER,
    object_id      INTEGER NOT NULL,
    model_name     TEXT NOT NULL,
    attribute_name TEXT NOT NULL,
    new_value      TEXT
);

CREATE TABLE deletion_event (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    occured_at TEXT NOT NULL,
    occured_by INTEGER,
    object_id  INTEGER NOT NULL,
    model_name TEXT NOT NULL
);

CREATE TABLE application_added_event (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    occured_at      TEXT NOT NULL,
    occured_by      INTEGER,
    object_id       INTEGER NOT NULL,
    name            TEXT,
    size            TEXT,
    installs        TEXT,
    type            TEXT,
    price           TEXT,
    content_rating  TEXT,
    last_updated    TEXT,
    current_version TEXT,
    android_version TEXT,
    cover           TEXT
);

CREATE TABLE book_added_event (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    occured_at          TEXT NOT NULL,
    occured_by          INTEGER,
    object_id           INTEGER NOT NULL,
    isbn                TEXT,
    title               TEXT,
    author              TEXT,
    year_of_publication INTEGER,
    publisher           TEXT,
    image_url_s         TEXT,
    image_url_m         TEXT,
    image_url_l         TEXT
);

CREATE TABLE game_added_event (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    occured_at        TEXT NOT NULL,
    occured_by        INTEGER,
    object_id         INTEGER NOT NULL,
    steamid           INTEGER,
    name              TEXT,
    short_description TEXT,
    header_image      TEXT,
    website           TEXT,
    developers        TEXT,
    publishers        TEXT,
    price             TEXT,
    recommendations   INTEGER,
    release_date      TEXT
);

CREATE TABLE movie_added_event (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    occured_at   TEXT NOT NULL,
    occured_by   INTEGER,
    object_id    INTEGER NOT NULL,
    title        TEXT,
    language     TEXT,
    actors       TEXT,
    year         TEXT,
    producers    TEXT,
    director     TEXT,
    writer       TEXT,
    imdbid       TEXT,
    tmdbid       TEXT,
    cover        TEXT,
    plot_outline TEXT
);

CREATE TABLE serie_added_event (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    occured_at   TEXT NOT NULL,
    occured_by   INTEGER,
    object_id    INTEGER NOT NULL,
    imdbid       TEXT,
    title        TEXT,
    start_year   INTEGER,
    end_year     INTEGER,
    writers      TEXT,
    directors    TEXT,
    actors       TEXT,
    cover        TEXT,
    plot_outline TEXT
);

CREATE TABLE episode_added_event (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    occured_at     TEXT NOT NULL,
    occured_by     INTEGER,
    object_id      INTEGER NOT NULL,
    imdbid         TEXT,
    title          TEXT,
    year           INTEGER,
    season_number  INTEGER,
    episode_number INTEGER,
    serie_id       INTEGER
);

CREATE TABLE track_added_event (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    occured_at     TEXT NOT NULL,
    occured_by     INTEGER,
    object_id      INTEGER NOT NULL,
    title          TEXT,
    year           INTEGER,
    artist_name    TEXT,
    release        TEXT,
    track_mmid     TEXT,
    recording_mbid TEXT,
    spotify_id     TEXT,
    covert_art_url TEXT
);
