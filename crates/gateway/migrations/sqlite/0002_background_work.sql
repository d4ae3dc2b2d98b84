-- Payment results and background work (SQLite): the notification outbox, its delivery log, leased
-- jobs and anomalies. Times are unix milliseconds. See docs/background-work.md.
-- Keep in step with migrations/postgres/0002_background_work.sql.

-- The outbox: written in the same transaction as the status change it announces.
CREATE TABLE notification_events (
    id              TEXT    PRIMARY KEY,
    site_id         TEXT    NOT NULL REFERENCES sites (id),
    order_id        BIGINT  NOT NULL REFERENCES orders (id),
    -- No CHECK on the type: refund events come later without rebuilding the table (SQLite cannot
    -- alter a CHECK); the store parses every value it reads back.
    event_type      TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        BIGINT  NOT NULL DEFAULT 0,
    created_at      BIGINT  NOT NULL,
    last_attempt_at BIGINT,
    delivered_at    BIGINT
);

CREATE INDEX notification_events_order_id ON notification_events (order_id, created_at);
CREATE INDEX notification_events_status ON notification_events (status, created_at);

-- An order is paid once and closed once: a second such event would be a bug in the status machine,
-- so the database refuses it too (refund events, several per order, are not covered).
CREATE UNIQUE INDEX notification_events_once ON notification_events (order_id, event_type)
    WHERE event_type IN ('TRANSACTION.SUCCESS', 'TRANSACTION.CLOSED');

CREATE TABLE delivery_attempts (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id         TEXT    NOT NULL REFERENCES notification_events (id),
    attempt_no       BIGINT  NOT NULL,
    at               BIGINT  NOT NULL,
    http_status      BIGINT,
    latency_ms       BIGINT  NOT NULL,
    error            TEXT,
    -- Bounded by the deliverer before it gets here.
    response_excerpt TEXT,
    -- Which paygate node made the attempt.
    node             TEXT    NOT NULL
);

CREATE INDEX delivery_attempts_event_id ON delivery_attempts (event_id, attempt_no);

-- Background work, claimed with a lease (lease_owner, lease_until) so that several nodes share it and
-- a dead node's work is taken over when its lease runs out. One job per (kind, subject): the subject
-- is an event id (deliver_notification) or an order id (check_order). No CHECK on the kind, for the
-- same reason as event_type above; a worker only claims the kinds it knows.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    due_at      BIGINT  NOT NULL,
    attempt     BIGINT  NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until BIGINT,
    UNIQUE (kind, subject)
);

CREATE INDEX jobs_due_at ON jobs (due_at);

-- What paygate refused from a channel (amount or merchant mismatch…). `detail` never holds secrets.
CREATE TABLE anomalies (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    kind     TEXT    NOT NULL,
    channel  TEXT    NOT NULL CHECK (channel IN ('wechat', 'alipay')),
    order_id BIGINT  REFERENCES orders (id),
    detail   TEXT    NOT NULL,
    at       BIGINT  NOT NULL
);

CREATE INDEX anomalies_at ON anomalies (at);

-- Orders stored before this migration get the check job that new orders get on insert, so none is
-- left waiting for a callback that may never come.
INSERT INTO jobs (kind, subject, due_at, attempt)
SELECT 'check_order', CAST(id AS TEXT), created_at, 0
FROM orders
WHERE status NOT IN ('paid', 'closed', 'refunded');
