-- Catalogues written by anyone are part of the catalogue at once (decisions F19).
--
-- The reference loads its datasets by SQL into `content`, a media table and `content_genres`; other tools
-- do the same. Two things of ours are derived from those rows, so triggers derive them for every writer:
--
-- 1. `content.content_type` (V4), which the popular lists, their totals (V5) and search walk. A media
--    row sets its content's type, whichever of the two rows comes first; removing the media row alone
--    clears it.
-- 2. The event log (V4): a media row written by someone else gets its `<medium>_added_event`, and a
--    deletion its `deletion_event`, in the writer's transaction, so the engine and `export-events` see
--    them like any other change. Our own writes are told apart by what they do anyway: they set the
--    content's type before adding its media row, and write the deletion event just before deleting.
--    (`occured_by` is unknown, so NULL; the time is UTC with microseconds, as ours.)
--
-- Updates of existing rows by SQL are read at once by every route; the engine sees them at its next
-- full run.

CREATE TRIGGER content_type_from_media AFTER INSERT ON content WHEN new.content_type IS NULL BEGIN
    UPDATE content SET content_type = CASE
        WHEN EXISTS (SELECT 1 FROM application WHERE content_id = new.content_id) THEN 'APPLICATION'
        WHEN EXISTS (SELECT 1 FROM book WHERE content_id = new.content_id) THEN 'BOOK'
        WHEN EXISTS (SELECT 1 FROM game WHERE content_id = new.content_id) THEN 'GAME'
        WHEN EXISTS (SELECT 1 FROM movie WHERE content_id = new.content_id) THEN 'MOVIE'
        WHEN EXISTS (SELECT 1 FROM serie WHERE content_id = new.content_id) THEN 'SERIE'
        WHEN EXISTS (SELECT 1 FROM episode WHERE content_id = new.content_id) THEN 'EPISODE'
        WHEN EXISTS (SELECT 1 FROM track WHERE content_id = new.content_id) THEN 'TRACK'
    END WHERE content_id = new.content_id;
END;

CREATE TRIGGER application_written_elsewhere AFTER INSERT ON application
    WHEN (SELECT content_type FROM content WHERE content_id = new.content_id) IS NOT 'APPLICATION' BEGIN
    UPDATE content SET content_type = 'APPLICATION' WHERE content_id = new.content_id;
    UPDATE event_sequence SET last_id = last_id + 1 WHERE id = 1;
    INSERT INTO application_added_event (id, occured_at, occured_by, object_id, name, size, installs, type, price, content_rating, last_updated, current_version, android_version, cover)
        VALUES ((SELECT last_id FROM event_sequence WHERE id = 1), strftime('%Y-%m-%d %H:%M:%f000', 'now'), NULL,
                new.content_id, new.name, new.size, new.installs, new.type, new.price, new.content_rating, new.last_updated, new.current_version, new.android_version, new.cover);
END;
CREATE TRIGGER application_deleted_elsewhere AFTER DELETE ON application
    WHEN NOT EXISTS (SELECT 1 FROM deletion_event WHERE id = (SELECT last_id FROM event_sequence WHERE id = 1)
                     AND object_id = old.content_id) BEGIN
    UPDATE event_sequence SET last_id = last_id + 1 WHERE id = 1;
    INSERT INTO deletion_event (id, occured_at, occured_by, object_id, model_name)
        VALUES ((SELECT last_id FROM event_sequence WHERE id = 1), strftime('%Y-%m-%d %H:%M:%f000', 'now'), NULL,
                old.content_id, 'application');
    UPDATE content SET content_type = NULL WHERE content_id = old.content_id AND content_type = 'APPLICATION';
END;

CREATE TRIGGER book_written_elsewhere AFTER INSERT ON book
    WHEN (SELECT content_type FROM content WHERE content_id = new.content_id) IS NOT 'BOOK' BEGIN
    UPDATE content SET content_type = 'BOOK' WHERE content_id = new.content_id;
    UPDATE event_sequence SET last_id = last_id + 1 WHERE id = 1;
    INSERT INTO book_added_event (id, occured_at, occured_by, object_id, isbn, title, author, year_of_publication, publisher, image_url_s, image_url_m, image_url_l)
        VALUES ((SELECT last_id FROM event_sequence WHERE id = 1), strftime('%Y-%m-%d %H:%M:%f000', 'now'), NULL,
                new.content_id, new.isbn, new.title, new.author, new.year_of_publication, new.publisher, new.image_url_s, new.image_url_m, new.image_url_l);
END;
CREATE TRIGGER book_deleted_elsewhere AFTER DELETE ON book
    WHEN NOT EXISTS (SELECT 1 FROM deletion_event WHERE id = (SELECT last_id FROM event_sequence WHERE id = 1)
                     AND object_id = old.content_id) BEGIN
    UPDATE event_sequence SET last_id = last_id + 1 WHERE id = 1;
    INSERT INTO deletion_event (id, occured_at, occured_by, object_id, model_name)
        VALUES ((SELECT last_id FROM event_sequence WHERE id = 1), strftime('%Y-%m-%d %H:%M:%f000', 'now'), NULL,
                old.content_id, 'book');
    UPDATE content SET content_type = NULL WHERE content_id = old.content_id AND content_type = 'BOOK';
END;

CREATE TRIGGER game_written_elsewhere AFTER INSERT ON game
    WHEN (SELECT content_type FROM content WHERE content_id = new.content_id) IS NOT 'GAME' BEGIN
    UPDATE content SET content_type = 'GAME' WHERE content_id = new.content_id;
    UPDATE event_sequence SET last_id = last_id + 1 WHERE id = 1;
    INSERT INTO game_added_event (id, occured_at, occured_by, object_id, steamid, name, short_description, header_image, website, developers, publishers, price, recommendations, release_date)
        VALUES ((SELECT last_id FROM event_sequence WHERE id = 1), strftime('%Y-%m-%d %H:%M:%f000', 'now'), NULL,
                new.content_id, new.steamid, new.name, new.short_description, new.header_image, new.website, new.developers, new.publishers, new.price, new.recommendations, new.release_date);
END;
CREATE TRIGGER game_deleted_elsewhere AFTER DELETE ON game
    WHEN NOT EXISTS (SELECT 1 FROM deletion_event WHERE id = (SELECT last_id FROM event_sequence WHERE id = 1)
                     AND object_id = old.content_id) BEGIN
    UPDATE event_sequence SET last_id = last_id + 1 WHERE id = 1;
    INSERT INTO deletion_event (id, occured_at, occured_by, object_id, model_name)
        VALUES ((SELECT last_id FROM event_sequence WHERE id = 1), strftime('%Y-%m-%d %H:%M:%f000', 'now'), NULL,
                old.content_id, 'game');
    UPDATE content SET content_type = NULL WHERE content_id = old.content_id AND content_type = 'GAME';
END;

CREATE TRIGGER movie_written_elsewhere AFTER INSERT ON movie
    WHEN (SELECT content_type FROM content WHERE content_id = new.content_id) IS NOT 'MOVIE' BEGIN
    UPDATE content SET content_type = 'MOVIE' WHERE content_id = new.content_id;
    UPDATE event_sequence SET last_id = last_id + 1 WHERE id = 1;
    INSERT INTO movie_added_event (id, occured_at, occured_by, object_id, title, language, actors, year, producers, director, writer, imdbid, tmdbid, cover, plot_outline)
        VALUES ((SELECT last_id FROM event_sequence WHERE id = 1), strftime('%Y-%m-%d %H:%M:%f000', 'now'), NULL,
                new.content_id, new.title, new.language, new.actors, new.year, new.producers, new.director, new.writer, new.imdbid, new.tmdbid, new.cover, new.plot_outline);
END;
CREATE TRIGGER movie_deleted_elsewhere AFTER DELETE ON movie
    WHEN NOT EXISTS (SELECT 1 FROM deletion_event WHERE id = (SELECT last_id FROM event_sequence WHERE id = 1)
                     AND object_id = old.content_id) BEGIN
    UPDATE event_sequence SET last_id = last_id + 1 WHERE id = 1;
    INSERT INTO deletion_event (id, occured_at, occured_by, object_id, model_name)
        VALUES ((SELECT last_id FROM event_sequence WHERE id = 1), strftime('%Y-%m-%d %H:%M:%f000', 'now'), NULL,
                old.content_id, 'movie');
    UPDATE content SET content_type = NULL WHERE content_id = old.content_id AND content_type = 'MOVIE';
END;

CREATE TRIGGER serie_written_elsewhere AFTER INSERT ON serie
    WHEN (SELECT content_type FROM content WHERE content_id = new.content_id) IS NOT 'SERIE' BEGIN
    UPDATE content SET content_type = 'SERIE' WHERE content_id = new.content_id;
    UPDATE event_sequence SET last_id = last_id + 1 WHERE id = 1;
    INSERT INTO serie_added_event (id, occured_at, occured_by, object_id, imdbid, title, start_year, end_year, writers, directors, actors, cover, plot_outline)
        VALUES ((SELECT last_id FROM event_sequence WHERE id = 1), strftime('%Y-%m-%d %H:%M:%f000', 'now'), NULL,
                new.content_id, new.imdbid, new.title, new.start_year, new.end_year, new.writers, new.directors, new.actors, new.cover, new.plot_outline);
END;
CREATE TRIGGER serie_deleted_elsewhere AFTER DELETE ON serie
    WHEN NOT EXISTS (SELECT 1 FROM deletion_event WHERE id = (SELECT last_id FROM event_sequence WHERE id = 1)
                     AND object_id = old.content_id) BEGIN
    UPDATE event_sequence SET last_id = last_id + 1 WHERE id = 1;
    INSERT INTO deletion_event (id, occured_at, occured_by, object_id, model_name)
        VALUES ((SELECT last_id FROM event_sequence WHERE id = 1), strftime('%Y-%m-%d %H:%M:%f000', 'now'), NULL,
                old.content_id, 'serie');
    UPDATE content SET content_type = NULL WHERE content_id = old.content_id AND content_type = 'SERIE';
END;

CREATE TRIGGER episode_written_elsewhere AFTER INSERT ON episode
    WHEN (SELECT content_type FROM content WHERE content_id = new.content_id) IS NOT 'EPISODE' BEGIN
    UPDATE content SET content_type = 'EPISODE' WHERE content_id = new.content_id;
    UPDATE event_sequence SET last_id = last_id + 1 WHERE id = 1;
    INSERT INTO episode_added_event (id, occured_at, occured_by, object_id, imdbid, title, year, season_number, episode_number, serie_id)
        VALUES ((SELECT last_id FROM event_sequence WHERE id = 1), strftime('%Y-%m-%d %H:%M:%f000', 'now'), NULL,
                new.content_id, new.imdbid, new.title, new.year, new.season_number, new.episode_number, new.serie_id);
END;
CREATE TRIGGER episode_deleted_elsewhere AFTER DELETE ON episode
    WHEN NOT EXISTS (SELECT 1 FROM deletion_event WHERE id = (SELECT last_id FROM event_sequence WHERE id = 1)
                     AND object_id = old.content_id) BEGIN
    UPDATE event_sequence SET last_id = last_id + 1 WHERE id = 1;
    INSERT INTO deletion_event (id, occured_at, occured_by, object_id, model_name)
        VALUES ((SELECT last_id FROM event_sequence WHERE id = 1), strftime('%Y-%m-%d %H:%M:%f000', 'now'), NULL,
                old.content_id, 'episode');
    UPDATE content SET content_type = NULL WHERE content_id = old.content_id AND content_type = 'EPISODE';
END;

CREATE TRIGGER track_written_elsewhere AFTER INSERT ON track
    WHEN (SELECT content_type FROM content WHERE content_id = new.content_id) IS NOT 'TRACK' BEGIN
    UPDATE content SET content_type = 'TRACK' WHERE content_id = new.content_id;
    UPDATE event_sequence SET last_id = last_id + 1 WHERE id = 1;
    INSERT INTO track_added_event (id, occured_at, occured_by, object_id, title, year, artist_name, release, track_mmid, recording_mbid, spotify_id, covert_art_url)
        VALUES ((SELECT last_id FROM event_sequence WHERE id = 1), strftime('%Y-%m-%d %H:%M:%f000', 'now'), NULL,
                new.content_id, new.title, new.year, new.artist_name, new.release, new.track_mmid, new.recording_mbid, new.spotify_id, new.covert_art_url);
END;
CREATE TRIGGER track_deleted_elsewhere AFTER DELETE ON track
    WHEN NOT EXISTS (SELECT 1 FROM deletion_event WHERE id = (SELECT last_id FROM event_sequence WHERE id = 1)
                     AND object_id = old.content_id) BEGIN
    UPDATE event_sequence SET last_id = last_id + 1 WHERE id = 1;
    INSERT INTO deletion_event (id, occured_at, occured_by, object_id, model_name)
        VALUES ((SELECT last_id FROM event_sequence WHERE id = 1), strftime('%Y-%m-%d %H:%M:%f000', 'now'), NULL,
                old.content_id, 'track');
    UPDATE content SET content_type = NULL WHERE content_id = old.content_id AND content_type = 'TRACK';
END;

-- Contents already written by others before this migration.
UPDATE content SET content_type = 'APPLICATION' WHERE content_type IS NULL AND content_id IN (SELECT content_id FROM application);
UPDATE content SET content_type = 'BOOK' WHERE content_type IS NULL AND content_id IN (SELECT content_id FROM book);
UPDATE content SET content_type = 'GAME' WHERE content_type IS NULL AND content_id IN (SELECT content_id FROM game);
UPDATE content SET content_type = 'MOVIE' WHERE content_type IS NULL AND content_id IN (SELECT content_id FROM movie);
UPDATE content SET content_type = 'SERIE' WHERE content_type IS NULL AND content_id IN (SELECT content_id FROM serie);
UPDATE content SET content_type = 'EPISODE' WHERE content_type IS NULL AND content_id IN (SELECT content_id FROM episode);
UPDATE content SET content_type = 'TRACK' WHERE content_type IS NULL AND content_id IN (SELECT content_id FROM track);
