-- The built-in engine (decisions F17) keeps, per stage, the id of the last event it has consumed. A
-- stage commits its outputs and its new watermark in one transaction, so a crash never loses or
-- double-counts an event.
CREATE TABLE engine_stage (
    stage         TEXT PRIMARY KEY,
    last_event_id INTEGER NOT NULL DEFAULT 0,
    last_run_at   TEXT
);
