-- paygate's first schema (SQLite). Times are unix milliseconds; money is integer fen.
-- Keep in step with migrations/postgres/0001_initial.sql: same tables, columns and constraints.

CREATE TABLE sites (
    id                TEXT    PRIMARY KEY,
    name              TEXT    NOT NULL,
    access_key        TEXT    NOT NULL UNIQUE,
    -- The SK sealed by crypto::SecretBox under the master key; never stored in clear.
    secret_key_sealed BLOB    NOT NULL,
    notify_url        TEXT,
    -- Comma-separated `channel.method` list, e.g. `wechat.native,alipay.qr`.
    enabled_methods   TEXT    NOT NULL,
    status            TEXT    NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at        BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL
);

CREATE TABLE orders (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id           TEXT    NOT NULL REFERENCES sites (id),
    out_trade_no      TEXT    NOT NULL,
    upstream_order_no TEXT    NOT NULL UNIQUE,
    channel           TEXT    NOT NULL CHECK (channel IN ('wechat', 'alipay')),
    method            TEXT    NOT NULL
        CHECK (method IN ('native', 'jsapi', 'miniapp', 'h5', 'app', 'qr', 'wap', 'page')),
    amount_fen        BIGINT  NOT NULL CHECK (amount_fen > 0),
    currency          TEXT    NOT NULL CHECK (currency = 'CNY'),
    description       TEXT    NOT NULL,
    attach            TEXT,
    notify_url        TEXT,
    payer_openid      TEXT,
    payer_buyer_id    TEXT,
    payer_client_ip   TEXT,
    fingerprint       TEXT    NOT NULL,
    status            TEXT    NOT NULL
        CHECK (status IN ('created', 'pending', 'paid', 'failed', 'closed', 'refunded')),
    checkout_token    TEXT    NOT NULL UNIQUE,
    prepay_id         TEXT,
    code_url          TEXT,
    h5_url            TEXT,
    qr_code           TEXT,
    transaction_id    TEXT,
    trade_no          TEXT,
    upstream_error    TEXT,
    created_at        BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL,
    expires_at        BIGINT  NOT NULL,
    paid_at           BIGINT,
    closed_at         BIGINT,
    version           BIGINT  NOT NULL DEFAULT 0,
    UNIQUE (site_id, out_trade_no)
);

-- Compensation and expiry scan non-final orders by status and age.
CREATE INDEX orders_status_expires_at ON orders (status, expires_at);

CREATE TABLE order_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id    BIGINT  NOT NULL REFERENCES orders (id),
    from_status TEXT    NOT NULL,
    to_status   TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    at          BIGINT  NOT NULL
);

CREATE INDEX order_events_order_id ON order_events (order_id, id);

-- Replay protection: a nonce is accepted once per AK within the signing window, across nodes.
CREATE TABLE api_nonces (
    access_key TEXT   NOT NULL,
    nonce      TEXT   NOT NULL,
    seen_at    BIGINT NOT NULL,
    PRIMARY KEY (access_key, nonce)
);

CREATE INDEX api_nonces_seen_at ON api_nonces (seen_at);
