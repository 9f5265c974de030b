-- Decisions F27: while writes fail for lack of space, the health check probes whether one would
-- succeed again by writing (and removing) 64 KB here, in one transaction.
CREATE TABLE storage_probe (
    id     INTEGER PRIMARY KEY,
    filler BLOB
);
