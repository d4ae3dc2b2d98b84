-- A site's new SK, kept for the one page that shows it: the console's answer to creating a site or
-- rotating its key is a redirect to that page (so that reloading it does not post the form again),
-- and the page is served by whichever node the browser reaches next, so the SK waits here. Only
-- the session that made it can take it, once (the row is deleted as it is read), and only until
-- expires_at (a few minutes; the account purge deletes what was never taken). The SK is sealed under
-- the master key like the sites' own column, bound to the session and the site.
-- Keep in step with migrations/sqlite/0014_key_displays.sql.

CREATE TABLE key_displays (
    -- The SHA-256 of the session's token, as in sessions.token_hash (no foreign key: a session
    -- that ends takes its displays with it, and one that is purged leaves them to the purge).
    session_hash      TEXT    NOT NULL,
    site_id           TEXT    NOT NULL REFERENCES sites (id),
    -- Which page it is: a new site's keys, or a rotated SK.
    kind              TEXT    NOT NULL CHECK (kind IN ('created', 'rotated')),
    secret_key_sealed BYTEA   NOT NULL,
    expires_at        BIGINT  NOT NULL,
    PRIMARY KEY (session_hash, site_id)
);

CREATE INDEX key_displays_expires_at ON key_displays (expires_at);
