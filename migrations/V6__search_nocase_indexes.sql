-- Search (decisions F10) lists exact matches, then prefixes, then the rest. For a term with many
-- matches, exact and prefix matches are found through these indexes instead of a scan.
CREATE INDEX application_name_nocase_idx ON application (name COLLATE NOCASE);
CREATE INDEX book_title_nocase_idx ON book (title COLLATE NOCASE);
CREATE INDEX game_name_nocase_idx ON game (name COLLATE NOCASE);
CREATE INDEX movie_title_nocase_idx ON movie (title COLLATE NOCASE);
CREATE INDEX serie_title_nocase_idx ON serie (title COLLATE NOCASE);
CREATE INDEX track_title_nocase_idx ON track (title COLLATE NOCASE);
