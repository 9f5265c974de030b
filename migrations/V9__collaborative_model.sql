-- The engine's collaborative-filtering model: for each content, its nearest neighbours by who consumed
-- it (item-based, implicit feedback), packed as (content_id i64 LE, similarity f32 LE) pairs, best
-- first. One row per content keeps a full retrain to a million rows instead of tens of millions.
CREATE TABLE collaborative_neighbours (
    content_id INTEGER PRIMARY KEY REFERENCES content (content_id) ON DELETE CASCADE,
    neighbours BLOB NOT NULL
);
