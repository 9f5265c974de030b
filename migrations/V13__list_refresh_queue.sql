-- Lists follow what shapes them (issue 11). A user's lists depend on the genres they like, a group's on
-- its people; neither change writes an event of the reference's log. Triggers queue the user or group
-- whose lists are due, for whoever writes those rows (our routes, the CLI, SQL), in the writer's
-- transaction; the engine's fast loop recomputes them and removes what it consumed, in one transaction.
-- AUTOINCREMENT: a sequence number is never reused, so a run removes exactly the entries it read.
CREATE TABLE engine_refresh (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id  INTEGER,
    group_id INTEGER
);

CREATE TRIGGER liked_genres_insert_refresh AFTER INSERT ON liked_genres BEGIN
    INSERT INTO engine_refresh (user_id) VALUES (new.user_id);
END;
CREATE TRIGGER liked_genres_delete_refresh AFTER DELETE ON liked_genres BEGIN
    INSERT INTO engine_refresh (user_id) VALUES (old.user_id);
END;
CREATE TRIGGER group_members_insert_refresh AFTER INSERT ON group_members BEGIN
    INSERT INTO engine_refresh (group_id) VALUES (new.group_id);
END;
CREATE TRIGGER group_members_delete_refresh AFTER DELETE ON group_members BEGIN
    INSERT INTO engine_refresh (group_id) VALUES (old.group_id);
END;
CREATE TRIGGER group_insert_refresh AFTER INSERT ON "group" BEGIN
    INSERT INTO engine_refresh (group_id) VALUES (new.group_id);
END;
CREATE TRIGGER group_owner_refresh AFTER UPDATE OF owner_id ON "group" WHEN old.owner_id IS NOT new.owner_id BEGIN
    INSERT INTO engine_refresh (group_id) VALUES (new.group_id);
END;
