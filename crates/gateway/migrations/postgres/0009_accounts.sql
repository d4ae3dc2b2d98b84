-- Console accounts: users with roles, their server-side sessions, failed logins counted per client
-- address, and the audit log. In the database so that any node serves any session and the limits
-- hold across nodes. Keep in step with migrations/sqlite/0009_accounts.sql.

CREATE TABLE users (
    id                 TEXT    PRIMARY KEY,
    -- Lower-cased by the domain before it is stored: one account per address whatever its case.
    email              TEXT    NOT NULL UNIQUE,
    role               TEXT    NOT NULL CHECK (role IN ('admin', 'viewer', 'site')),
    -- The one site a site user sees and acts on; operators (admin, viewer) have none.
    site_id            TEXT    REFERENCES sites (id),
    -- An Argon2id PHC string (algorithm, parameters, salt and hash); never the password.
    password_hash      TEXT    NOT NULL,
    -- The TOTP secret sealed by crypto::SecretBox under the master key, bound to the user's id;
    -- NULL when the user has no second factor.
    totp_secret_sealed BYTEA,
    disabled           BIGINT  NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    -- Wrong passwords since the last good one or the last lockout.
    failed_logins      BIGINT  NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until       BIGINT,
    created_at         BIGINT  NOT NULL,
    updated_at         BIGINT  NOT NULL,
    CHECK ((role = 'site') = (site_id IS NOT NULL))
);

CREATE TABLE sessions (
    -- SHA-256 (hex) of the token in the cookie: a copy of this table does not sign anyone in.
    token_hash   TEXT    PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES users (id),
    csrf_token   TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    last_seen_at BIGINT  NOT NULL,
    -- The absolute end, however active the session is.
    expires_at   BIGINT  NOT NULL,
    ip           TEXT
);

CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Failed logins per client address in a fixed window: counted with one atomic upsert, so that
-- concurrent attempts on several nodes are all counted.
CREATE TABLE login_failures (
    ip           TEXT    PRIMARY KEY,
    window_start BIGINT  NOT NULL,
    failures     BIGINT  NOT NULL CHECK (failures >= 0)
);

CREATE TABLE audit_log (
    id            BIGSERIAL PRIMARY KEY,
    at            BIGINT  NOT NULL,
    -- Who acted: a console user (id and email as they were), or NULL for the operator's command
    -- line on the server, or for a login attempt naming no known account.
    actor_user_id TEXT    REFERENCES users (id),
    actor_email   TEXT,
    action        TEXT    NOT NULL,
    object_kind   TEXT,
    object_id     TEXT,
    ip            TEXT,
    detail        TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX audit_log_at ON audit_log (at);
