-- Refunds (SQLite): the ledger that keeps the refunds of an order from ever adding up to more than
-- was paid. Keep in step with migrations/postgres/0006_refunds.sql.

-- What the order's refunds that are not failed add up to (processing, succeeded or abnormal): the
-- amount reserved. A refund reserves its amount with a conditional update of this column in the
-- transaction that inserts it, so the check holds under any concurrency on both databases.
ALTER TABLE orders
    ADD COLUMN refund_reserved_fen BIGINT NOT NULL DEFAULT 0 CHECK (refund_reserved_fen >= 0);

-- What the order's succeeded refunds add up to: the money given back.
ALTER TABLE orders
    ADD COLUMN refunded_fen BIGINT NOT NULL DEFAULT 0 CHECK (refunded_fen >= 0);

CREATE TABLE refunds (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id           BIGINT  NOT NULL REFERENCES orders (id),
    site_id            TEXT    NOT NULL REFERENCES sites (id),
    -- The site's own refund number: one refund per number and site, whatever is retried.
    out_refund_no      TEXT    NOT NULL,
    -- paygate's own number at the channel, unique across every site (as order numbers are).
    upstream_refund_no TEXT    NOT NULL UNIQUE,
    channel            TEXT    NOT NULL CHECK (channel IN ('wechat', 'alipay')),
    amount_fen         BIGINT  NOT NULL CHECK (amount_fen > 0),
    reason             TEXT,
    notify_url         TEXT,
    -- A hash of the request's content: a retry with another content is a conflict.
    fingerprint        TEXT    NOT NULL,
    status             TEXT    NOT NULL
        CHECK (status IN ('processing', 'succeeded', 'failed', 'abnormal')),
    -- The channel's own refund id (WeChat Pay's refund_id, Alipay's trade_no of the refund).
    channel_refund_id  TEXT,
    upstream_error     TEXT,
    created_at         BIGINT  NOT NULL,
    updated_at         BIGINT  NOT NULL,
    succeeded_at       BIGINT,
    version            BIGINT  NOT NULL DEFAULT 0,
    UNIQUE (site_id, out_refund_no)
);

CREATE INDEX refunds_order_id ON refunds (order_id);
-- The check job scans refunds still processing.
CREATE INDEX refunds_status ON refunds (status, updated_at);

-- A refund's notification events name the refund; payment events name none. A refund ends once, so
-- it has one event at most.
ALTER TABLE notification_events ADD COLUMN refund_id BIGINT REFERENCES refunds (id);
CREATE UNIQUE INDEX notification_events_refund_once ON notification_events (refund_id)
    WHERE refund_id IS NOT NULL;
