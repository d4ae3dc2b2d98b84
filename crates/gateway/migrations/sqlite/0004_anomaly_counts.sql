-- Bounded anomalies and callback-driven queries (SQLite). Times are unix milliseconds.
-- Keep in step with migrations/postgres/0004_anomaly_counts.sql.

-- The same anomaly again (the same unverified source within one window, the same mismatch of one
-- order) adds to its row instead of writing another: a flood of junk callbacks is one row with a
-- count, not one row per callback. `dedupe_key` says what counts as "the same"; rows written before
-- this migration have none and stay as they are.
ALTER TABLE anomalies ADD COLUMN dedupe_key TEXT;
ALTER TABLE anomalies ADD COLUMN occurrences BIGINT NOT NULL DEFAULT 1;
ALTER TABLE anomalies ADD COLUMN last_at BIGINT;
UPDATE anomalies SET last_at = at;

CREATE UNIQUE INDEX anomalies_dedupe_key ON anomalies (dedupe_key);

-- When a callback last made paygate ask the channel about an order outside the order's check
-- schedule, per reason (`unverified`: a callback that failed verification expedited the check;
-- `confirm`: a verified callback was confirmed by a query). At most one such query per order,
-- reason and few minutes, so callbacks cannot turn into a stream of upstream calls.
CREATE TABLE callback_queries (
    order_id BIGINT NOT NULL REFERENCES orders (id),
    reason   TEXT   NOT NULL,
    at       BIGINT NOT NULL,
    PRIMARY KEY (order_id, reason)
);
