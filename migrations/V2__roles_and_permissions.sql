-- decisions F16: a fresh install must let people register with working permissions, so the nine
-- permissions and the two roles of api-reference.md section 3.5 are part of the schema.
-- role_id 1 = "user", role_id 2 = "admin", as in the reference's fixtures.

INSERT OR IGNORE INTO permission (permission) VALUES
    ('indicate_interest'),
    ('modify_user_profil'),
    ('view_recommendation'),
    ('play_music'),
    ('add_content'),
    ('access_sandbox'),
    ('modify_content'),
    ('validate_added_content'),
    ('delete_content');

INSERT OR IGNORE INTO role (role_id, name) VALUES (1, 'user'), (2, 'admin');

INSERT OR IGNORE INTO role_permission (role_id, permission) VALUES
    (1, 'indicate_interest'),
    (1, 'modify_user_profil'),
    (1, 'view_recommendation'),
    (1, 'play_music'),
    (1, 'add_content'),
    (2, 'indicate_interest'),
    (2, 'modify_user_profil'),
    (2, 'view_recommendation'),
    (2, 'play_music'),
    (2, 'add_content'),
    (2, 'access_sandbox'),
    (2, 'modify_content'),
    (2, 'validate_added_content'),
    (2, 'delete_content');
