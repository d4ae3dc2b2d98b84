-- The database's mode, sandbox or live, recorded once when it is first initialised and never
-- changed: a sandbox database never meets a real channel, a live one never the simulators.
-- Keep in step with migrations/sqlite/0003_mode.sql.

CREATE TABLE deployment (
    id             BIGINT  PRIMARY KEY CHECK (id = 1),
    mode           TEXT    NOT NULL CHECK (mode IN ('sandbox', 'live')),
    initialised_at BIGINT  NOT NULL
);

-- Not even a hand-written UPDATE or DELETE can turn a sandbox database live, or the reverse.
CREATE FUNCTION deployment_mode_is_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the database mode is fixed when it is initialised';
END;
$$;

CREATE TRIGGER deployment_mode_is_fixed BEFORE UPDATE OR DELETE ON deployment
    FOR EACH ROW EXECUTE FUNCTION deployment_mode_is_fixed();

CREATE TRIGGER deployment_mode_is_truncated_never BEFORE TRUNCATE ON deployment
    FOR EACH STATEMENT EXECUTE FUNCTION deployment_mode_is_fixed();
