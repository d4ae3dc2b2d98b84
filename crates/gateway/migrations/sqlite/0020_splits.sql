-- Profit sharing (分账) (SQLite): an order made for it, and the splits of its money to receivers.
-- Keep in step with migrations/postgres/0020_splits.sql.

-- 1 for an order made for profit sharing (WeChat Pay settle_info.profit_sharing, Alipay
-- royalty_freeze): its money stays frozen at the channel until split (or unfrozen), and only
-- such an order can be split.
ALTER TABLE orders ADD COLUMN profit_sharing BIGINT NOT NULL DEFAULT 0
    CHECK (profit_sharing IN (0, 1));

-- What the order's splits that are not failed add up to. A split reserves its amount with a
-- conditional update in the transaction that inserts it, and so does a refund: each checks
-- refund_reserved_fen + split_reserved_fen against what was paid, on the same row, so splits and
-- refunds together never exceed it under any concurrency.
ALTER TABLE orders
    ADD COLUMN split_reserved_fen BIGINT NOT NULL DEFAULT 0 CHECK (split_reserved_fen >= 0);

CREATE TABLE splits (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id           BIGINT  NOT NULL REFERENCES orders (id),
    site_id            TEXT    NOT NULL REFERENCES sites (id),
    -- The site's own split number: one split per number and site, whatever is retried.
    out_split_no       TEXT    NOT NULL,
    -- paygate's own number at the channel (out_order_no, out_request_no), unique across sites.
    upstream_split_no  TEXT    NOT NULL UNIQUE,
    channel            TEXT    NOT NULL CHECK (channel IN ('wechat', 'alipay')),
    -- What its receivers take together.
    amount_fen         BIGINT  NOT NULL CHECK (amount_fen > 0),
    -- The receivers as a JSON array, in the order the site gave them: type, account, amount_fen,
    -- name, and what became of each share (result, channel_detail_id, fail_reason). They are read
    -- and written with the split, never queried one by one.
    receivers          TEXT    NOT NULL,
    description        TEXT,
    -- A hash of the request's content: a retry with another content is a conflict.
    fingerprint        TEXT    NOT NULL,
    status             TEXT    NOT NULL CHECK (status IN ('processing', 'succeeded', 'failed')),
    -- The channel's own id (WeChat Pay's order_id, Alipay's settle_no).
    channel_split_id   TEXT,
    upstream_error     TEXT,
    created_at         BIGINT  NOT NULL,
    updated_at         BIGINT  NOT NULL,
    finished_at        BIGINT,
    version            BIGINT  NOT NULL DEFAULT 0,
    UNIQUE (site_id, out_split_no)
);

CREATE INDEX splits_order_id ON splits (order_id);
CREATE INDEX splits_status ON splits (status, updated_at);

-- A split's notification events name the split. A split ends once, so it has one event at most.
ALTER TABLE notification_events ADD COLUMN split_id BIGINT REFERENCES splits (id);
CREATE UNIQUE INDEX notification_events_split_once ON notification_events (split_id)
    WHERE split_id IS NOT NULL;
