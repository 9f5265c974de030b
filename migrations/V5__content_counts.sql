-- The number of contents of each type, kept by triggers: a medium's popular list needs its total on
-- every page, and counting half a million index entries costs more than the page itself.
CREATE TABLE content_type_count (
    content_type TEXT PRIMARY KEY,
    n            INTEGER NOT NULL
);
INSERT INTO content_type_count (content_type, n)
    SELECT content_type, count(*) FROM content WHERE content_type IS NOT NULL GROUP BY content_type;

CREATE TRIGGER content_type_count_insert AFTER INSERT ON content WHEN new.content_type IS NOT NULL BEGIN
    INSERT INTO content_type_count (content_type, n) VALUES (new.content_type, 1)
        ON CONFLICT (content_type) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER content_type_count_delete AFTER DELETE ON content WHEN old.content_type IS NOT NULL BEGIN
    UPDATE content_type_count SET n = n - 1 WHERE content_type = old.content_type;
END;
CREATE TRIGGER content_type_count_update AFTER UPDATE OF content_type ON content
    WHEN old.content_type IS NOT new.content_type BEGIN
    UPDATE content_type_count SET n = n - 1 WHERE content_type = old.content_type;
    INSERT INTO content_type_count (content_type, n) SELECT new.content_type, 1 WHERE new.content_type IS NOT NULL
        ON CONFLICT (content_type) DO UPDATE SET n = n + 1;
END;
