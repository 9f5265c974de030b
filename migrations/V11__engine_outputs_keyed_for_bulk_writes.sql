-- The engine rewrites these tables in bulk, in key order. A secondary index on their content column
-- (which runs across the key order) turned each rebuild's appends into random B-tree inserts: on a
-- large catalogue, five times slower, and each short transaction rewrote most index pages. The
-- references to content from those columns go with the indexes (a content delete would have to scan
-- for them): the engine removes rows naming deleted contents at its next run, and every reader joins
-- the content tables, so such a row is never shown. Same names, columns and keys; references along
-- the key (user, group, listed content) stay.
CREATE TABLE similars_content_next (
    content_id0   INTEGER NOT NULL REFERENCES content (content_id),
    content_id1   INTEGER NOT NULL,
    similarity    REAL,
    content_type0 TEXT CHECK (content_type0 IN ('APPLICATION', 'BOOK', 'GAME', 'MOVIE', 'SERIE', 'TRACK')),
    content_type1 TEXT CHECK (content_type1 IN ('APPLICATION', 'BOOK', 'GAME', 'MOVIE', 'SERIE', 'TRACK')),
    PRIMARY KEY (content_id0, content_id1)
) WITHOUT ROWID;
INSERT INTO similars_content_next SELECT content_id0, content_id1, similarity, content_type0, content_type1 FROM similars_content;
DROP TABLE similars_content;
ALTER TABLE similars_content_next RENAME TO similars_content;

CREATE TABLE recommended_content_next (
    user_id         INTEGER NOT NULL REFERENCES "user" (user_id) ON DELETE CASCADE,
    content_id      INTEGER NOT NULL,
    score           REAL,
    engine          TEXT,
    engine_priority INTEGER,
    content_type    TEXT CHECK (content_type IN ('APPLICATION', 'BOOK', 'GAME', 'MOVIE', 'SERIE', 'TRACK')),
    PRIMARY KEY (user_id, content_id)
) WITHOUT ROWID;
INSERT INTO recommended_content_next SELECT user_id, content_id, score, engine, engine_priority, content_type FROM recommended_content;
DROP TABLE recommended_content;
ALTER TABLE recommended_content_next RENAME TO recommended_content;

CREATE TABLE recommended_content_for_group_next (
    group_id        INTEGER NOT NULL REFERENCES "group" (group_id) ON DELETE CASCADE,
    content_id      INTEGER NOT NULL,
    score           REAL,
    engine          TEXT,
    engine_priority INTEGER,
    content_type    TEXT CHECK (content_type IN ('APPLICATION', 'BOOK', 'GAME', 'MOVIE', 'SERIE', 'TRACK')),
    PRIMARY KEY (group_id, content_id)
) WITHOUT ROWID;
INSERT INTO recommended_content_for_group_next SELECT group_id, content_id, score, engine, engine_priority, content_type FROM recommended_content_for_group;
DROP TABLE recommended_content_for_group;
ALTER TABLE recommended_content_for_group_next RENAME TO recommended_content_for_group;
