-- The engine rewrites these tables in bulk (tens of millions of rows on a large catalogue). Keyed by
-- their primary key alone (WITHOUT ROWID), each row lives in one B-tree instead of a table plus its
-- primary-key index: faster rebuilds, a smaller file. Same names, columns, keys and references.
CREATE TABLE similars_content_next (
    content_id0   INTEGER NOT NULL REFERENCES content (content_id),
    content_id1   INTEGER NOT NULL REFERENCES content (content_id),
    similarity    REAL,
    content_type0 TEXT CHECK (content_type0 IN ('APPLICATION', 'BOOK', 'GAME', 'MOVIE', 'SERIE', 'TRACK')),
    content_type1 TEXT CHECK (content_type1 IN ('APPLICATION', 'BOOK', 'GAME', 'MOVIE', 'SERIE', 'TRACK')),
    PRIMARY KEY (content_id0, content_id1)
) WITHOUT ROWID;
INSERT INTO similars_content_next SELECT content_id0, content_id1, similarity, content_type0, content_type1 FROM similars_content;
DROP TABLE similars_content;
ALTER TABLE similars_content_next RENAME TO similars_content;
CREATE INDEX similars_content_content_id1_idx ON similars_content (content_id1);

CREATE TABLE recommended_content_next (
    user_id         INTEGER NOT NULL REFERENCES "user" (user_id) ON DELETE CASCADE,
    content_id      INTEGER NOT NULL REFERENCES content (content_id) ON DELETE CASCADE,
    score           REAL,
    engine          TEXT,
    engine_priority INTEGER,
    content_type    TEXT CHECK (content_type IN ('APPLICATION', 'BOOK', 'GAME', 'MOVIE', 'SERIE', 'TRACK')),
    PRIMARY KEY (user_id, content_id)
) WITHOUT ROWID;
INSERT INTO recommended_content_next SELECT user_id, content_id, score, engine, engine_priority, content_type FROM recommended_content;
DROP TABLE recommended_content;
ALTER TABLE recommended_content_next RENAME TO recommended_content;
CREATE INDEX recommended_content_content_id_idx ON recommended_content (content_id);
