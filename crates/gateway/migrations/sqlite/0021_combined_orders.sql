-- Combined orders (合单): one payment by the payer for orders of several sites, made by one site
-- (the platform) for sub-orders of itself and of the sites the operator let it combine for.
-- Keep in step with migrations/postgres/0021_combined_orders.sql.

-- Which member sites a platform site may put sub-orders of into its combined orders; set by the
-- operator (paygate site combine allow|revoke), audited. A site may always combine for itself.
CREATE TABLE combine_grants (
    platform_site_id  TEXT    NOT NULL REFERENCES sites (id),
    member_site_id    TEXT    NOT NULL REFERENCES sites (id),
    granted_at        BIGINT  NOT NULL,
    PRIMARY KEY (platform_site_id, member_site_id),
    CHECK (platform_site_id <> member_site_id)
);

-- The combined order as the platform asked for it and as WeChat Pay knows it (upstream_no is its
-- combine_out_trade_no there, unique across platforms). Each sub-order is an ordinary order of
-- its own site that names this row.
CREATE TABLE combined_orders (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id               TEXT    NOT NULL REFERENCES sites (id),
    combine_out_trade_no  TEXT    NOT NULL,
    upstream_no           TEXT    NOT NULL UNIQUE,
    method                TEXT    NOT NULL,
    fingerprint           TEXT    NOT NULL,
    amount_fen            BIGINT  NOT NULL,
    prepay_id             TEXT,
    code_url              TEXT,
    h5_url                TEXT,
    created_at            BIGINT  NOT NULL,
    updated_at            BIGINT  NOT NULL,
    expires_at            BIGINT  NOT NULL,
    UNIQUE (site_id, combine_out_trade_no)
);

-- A sub-order's combined order, and that order's upstream number copied so that every channel call
-- about the sub-order (query, close) goes through the combined order without a second read.
ALTER TABLE orders ADD COLUMN combined_order_id BIGINT REFERENCES combined_orders (id);
ALTER TABLE orders ADD COLUMN combine_no TEXT;
CREATE INDEX orders_combined_order ON orders (combined_order_id) WHERE combined_order_id IS NOT NULL;
-- Closing a sub-order closes its combined order with every sibling, found by this number.
CREATE INDEX orders_combine_no ON orders (combine_no) WHERE combine_no IS NOT NULL;
