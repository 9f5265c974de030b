-- The implicit signal of each content (total views, users who consumed it), kept by the engine's
-- popularity stage so that an incremental run reads the interactions of the touched contents only.
CREATE TABLE content_signal (
    content_id INTEGER PRIMARY KEY REFERENCES content (content_id) ON DELETE CASCADE,
    views      INTEGER NOT NULL,
    consumers  INTEGER NOT NULL
);
