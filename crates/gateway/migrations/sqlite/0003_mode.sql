-- The database's mode, sandbox or live, recorded once when it is first initialised and never
-- changed: a sandbox database never meets a real channel, a live one never the simulators.
-- Keep in step with migrations/postgres/0003_mode.sql.

CREATE TABLE deployment (
    id             BIGINT  PRIMARY KEY CHECK (id = 1),
    mode           TEXT    NOT NULL CHECK (mode IN ('sandbox', 'live')),
    initialised_at BIGINT  NOT NULL
);

-- Not even a hand-written UPDATE or DELETE can turn a sandbox database live, or the reverse.
CREATE TRIGGER deployment_mode_is_fixed BEFORE UPDATE ON deployment
BEGIN
    SELECT RAISE(ABORT, 'the database mode is fixed when it is initialised');
END;

CREATE TRIGGER deployment_mode_is_kept BEFORE DELETE ON deployment
BEGIN
    SELECT RAISE(ABORT, 'the database mode is fixed when it is initialised');
END;
