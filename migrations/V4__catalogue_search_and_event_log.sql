-- The catalogue at scale, and one event log (issue 3).
--
-- 1. content.content_type: which medium a content belongs to (the six contenttype names, or EPISODE).
--    Not a reference column, but it lets each medium's popular list walk an index instead of sorting
--    the whole catalogue. Rows already present get it from their media table.
-- 2. Indexes for the popular orderings of api-reference.md 2.9. SQLite sorts NULL lowest, so a DESC
--    index already yields the reference's "DESC NULLS LAST"; content_id is the final tiebreaker.
-- 3. event_sequence: one counter shared by every event table, so that all events form one strictly
--    increasing id sequence in commit order (writers hold SQLite's write lock while they take ids).
-- 4. Per-medium FTS5 trigram indexes on the search column (decisions F10), kept in sync by triggers:
--    case-insensitive substring search without a full scan.
-- 5. event_log: one view over every event table, in id order, for readers (engine, export).

ALTER TABLE content ADD COLUMN content_type TEXT
    CHECK (content_type IN ('APPLICATION', 'BOOK', 'GAME', 'MOVIE', 'SERIE', 'TRACK', 'EPISODE'));

UPDATE content SET content_type = 'APPLICATION' WHERE content_id IN (SELECT content_id FROM application);
UPDATE content SET content_type = 'BOOK' WHERE content_id IN (SELECT content_id FROM book);
UPDATE content SET content_type = 'GAME' WHERE content_id IN (SELECT content_id FROM game);
UPDATE content SET content_type = 'MOVIE' WHERE content_id IN (SELECT content_id FROM movie);
UPDATE content SET content_type = 'SERIE' WHERE content_id IN (SELECT content_id FROM serie);
UPDATE content SET content_type = 'EPISODE' WHERE content_id IN (SELECT content_id FROM episode);
UPDATE content SET content_type = 'TRACK' WHERE content_id IN (SELECT content_id FROM track);

CREATE INDEX content_popularity_idx ON content (content_type, popularity_score DESC, content_id);
CREATE INDEX content_rating_count_idx ON content (content_type, rating_count DESC, rating DESC, content_id);
CREATE INDEX game_recommendations_idx ON game (recommendations DESC, content_id);
CREATE INDEX meta_user_content_history_idx ON meta_user_content (user_id, last_count_increment);

CREATE TABLE event_sequence (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    last_id INTEGER NOT NULL
);
INSERT INTO event_sequence (id, last_id) SELECT 1, coalesce(max(id), 0) FROM (
SELECT max(id) AS id FROM meta_added_event
    UNION ALL SELECT max(id) AS id FROM changed_event
    UNION ALL SELECT max(id) AS id FROM deletion_event
    UNION ALL SELECT max(id) AS id FROM application_added_event
    UNION ALL SELECT max(id) AS id FROM book_added_event
    UNION ALL SELECT max(id) AS id FROM game_added_event
    UNION ALL SELECT max(id) AS id FROM movie_added_event
    UNION ALL SELECT max(id) AS id FROM serie_added_event
    UNION ALL SELECT max(id) AS id FROM episode_added_event
    UNION ALL SELECT max(id) AS id FROM track_added_event
);

CREATE VIRTUAL TABLE application_search USING fts5(name, content='application', content_rowid='content_id', tokenize='trigram');
INSERT INTO application_search (application_search) VALUES ('rebuild');
CREATE TRIGGER application_search_insert AFTER INSERT ON application BEGIN
    INSERT INTO application_search (rowid, name) VALUES (new.content_id, new.name);
END;
CREATE TRIGGER application_search_delete AFTER DELETE ON application BEGIN
    INSERT INTO application_search (application_search, rowid, name) VALUES ('delete', old.content_id, old.name);
END;
CREATE TRIGGER application_search_update AFTER UPDATE OF name ON application BEGIN
    INSERT INTO application_search (application_search, rowid, name) VALUES ('delete', old.content_id, old.name);
    INSERT INTO application_search (rowid, name) VALUES (new.content_id, new.name);
END;

CREATE VIRTUAL TABLE book_search USING fts5(title, content='book', content_rowid='content_id', tokenize='trigram');
INSERT INTO book_search (book_search) VALUES ('rebuild');
CREATE TRIGGER book_search_insert AFTER INSERT ON book BEGIN
    INSERT INTO book_search (rowid, title) VALUES (new.content_id, new.title);
END;
CREATE TRIGGER book_search_delete AFTER DELETE ON book BEGIN
    INSERT INTO book_search (book_search, rowid, title) VALUES ('delete', old.content_id, old.title);
END;
CREATE TRIGGER book_search_update AFTER UPDATE OF title ON book BEGIN
    INSERT INTO book_search (book_search, rowid, title) VALUES ('delete', old.content_id, old.title);
    INSERT INTO book_search (rowid, title) VALUES (new.content_id, new.title);
END;

CREATE VIRTUAL TABLE game_search USING fts5(name, content='game', content_rowid='content_id', tokenize='trigram');
INSERT INTO game_search (game_search) VALUES ('rebuild');
CREATE TRIGGER game_search_insert AFTER INSERT ON game BEGIN
    INSERT INTO game_search (rowid, name) VALUES (new.content_id, new.name);
END;
CREATE TRIGGER game_search_delete AFTER DELETE ON game BEGIN
    INSERT INTO game_search (game_search, rowid, name) VALUES ('delete', old.content_id, old.name);
END;
CREATE TRIGGER game_search_update AFTER UPDATE OF name ON game BEGIN
    INSERT INTO game_search (game_search, rowid, name) VALUES ('delete', old.content_id, old.name);
    INSERT INTO game_search (rowid, name) VALUES (new.content_id, new.name);
END;

CREATE VIRTUAL TABLE movie_search USING fts5(title, content='movie', content_rowid='content_id', tokenize='trigram');
INSERT INTO movie_search (movie_search) VALUES ('rebuild');
CREATE TRIGGER movie_search_insert AFTER INSERT ON movie BEGIN
    INSERT INTO movie_search (rowid, title) VALUES (new.content_id, new.title);
END;
CREATE TRIGGER movie_search_delete AFTER DELETE ON movie BEGIN
    INSERT INTO movie_search (movie_search, rowid, title) VALUES ('delete', old.content_id, old.title);
END;
CREATE TRIGGER movie_search_update AFTER UPDATE OF title ON movie BEGIN
    INSERT INTO movie_search (movie_search, rowid, title) VALUES ('delete', old.content_id, old.title);
    INSERT INTO movie_search (rowid, title) VALUES (new.content_id, new.title);
END;

CREATE VIRTUAL TABLE serie_search USING fts5(title, content='serie', content_rowid='content_id', tokenize='trigram');
INSERT INTO serie_search (serie_search) VALUES ('rebuild');
CREATE TRIGGER serie_search_insert AFTER INSERT ON serie BEGIN
    INSERT INTO serie_search (rowid, title) VALUES (new.content_id, new.title);
END;
CREATE TRIGGER serie_search_delete AFTER DELETE ON serie BEGIN
    INSERT INTO serie_search (serie_search, rowid, title) VALUES ('delete', old.content_id, old.title);
END;
CREATE TRIGGER serie_search_update AFTER UPDATE OF title ON serie BEGIN
    INSERT INTO serie_search (serie_search, rowid, title) VALUES ('delete', old.content_id, old.title);
    INSERT INTO serie_search (rowid, title) VALUES (new.content_id, new.title);
END;

CREATE VIRTUAL TABLE track_search USING fts5(title, content='track', content_rowid='content_id', tokenize='trigram');
INSERT INTO track_search (track_search) VALUES ('rebuild');
CREATE TRIGGER track_search_insert AFTER INSERT ON track BEGIN
    INSERT INTO track_search (rowid, title) VALUES (new.content_id, new.title);
END;
CREATE TRIGGER track_search_delete AFTER DELETE ON track BEGIN
    INSERT INTO track_search (track_search, rowid, title) VALUES ('delete', old.content_id, old.title);
END;
CREATE TRIGGER track_search_update AFTER UPDATE OF title ON track BEGIN
    INSERT INTO track_search (track_search, rowid, title) VALUES ('delete', old.content_id, old.title);
    INSERT INTO track_search (rowid, title) VALUES (new.content_id, new.title);
END;

CREATE VIEW event_log (id, kind, occured_at, occured_by, object_id) AS
    SELECT id, 'meta_added_event', occured_at, occured_by, object_id FROM meta_added_event
    UNION ALL SELECT id, 'changed_event', occured_at, occured_by, object_id FROM changed_event
    UNION ALL SELECT id, 'deletion_event', occured_at, occured_by, object_id FROM deletion_event
    UNION ALL SELECT id, 'application_added_event', occured_at, occured_by, object_id FROM application_added_event
    UNION ALL SELECT id, 'book_added_event', occured_at, occured_by, object_id FROM book_added_event
    UNION ALL SELECT id, 'game_added_event', occured_at, occured_by, object_id FROM game_added_event
    UNION ALL SELECT id, 'movie_added_event', occured_at, occured_by, object_id FROM movie_added_event
    UNION ALL SELECT id, 'serie_added_event', occured_at, occured_by, object_id FROM serie_added_event
    UNION ALL SELECT id, 'episode_added_event', occured_at, occured_by, object_id FROM episode_added_event
    UNION ALL SELECT id, 'track_added_event', occured_at, occured_by, object_id FROM track_added_event;
