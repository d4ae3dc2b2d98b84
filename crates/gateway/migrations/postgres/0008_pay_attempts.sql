-- Channel-neutral orders: the site fixes no channel or method, and the payer's app decides. Each
-- app the payer opens the checkout in gets its own upstream order (a pay attempt) under the same
-- paygate order; the first one paid is the order's payment. Keep in step with
-- migrations/sqlite/0008_pay_attempts.sql.

-- 1 for a channel-neutral order. Until it is paid its channel, method and upstream number are
-- placeholders that no channel ever sees; the transition to paid writes the paying attempt's.
ALTER TABLE orders ADD COLUMN neutral BIGINT NOT NULL DEFAULT 0 CHECK (neutral IN (0, 1));

CREATE TABLE pay_attempts (
    id                BIGSERIAL PRIMARY KEY,
    order_id          BIGINT  NOT NULL REFERENCES orders (id),
    -- paygate's own number at the channel, unique across orders and attempts alike.
    upstream_order_no TEXT    NOT NULL UNIQUE,
    channel           TEXT    NOT NULL CHECK (channel IN ('wechat', 'alipay')),
    method            TEXT    NOT NULL
        CHECK (method IN ('native', 'jsapi', 'miniapp', 'h5', 'app', 'qr', 'wap', 'page')),
    payer_openid      TEXT,
    payer_buyer_id    TEXT,
    payer_client_ip   TEXT,
    prepay_id         TEXT,
    code_url          TEXT,
    h5_url            TEXT,
    qr_code           TEXT,
    created_at        BIGINT  NOT NULL,
    -- When the channel last answered the create: WeChat H5 links expire five minutes after it.
    updated_at        BIGINT  NOT NULL,
    -- Set once the channel confirmed it closed (or never had it): it can no longer be paid.
    closed_at         BIGINT
);

CREATE INDEX pay_attempts_order_id ON pay_attempts (order_id);
