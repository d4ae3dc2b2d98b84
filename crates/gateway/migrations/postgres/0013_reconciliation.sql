-- Reconciliation (PostgreSQL): one row per channel account and bill day with what the bill adds up to,
-- and the lines of the bill that did not match paygate's records, each with what was done about
-- it. Running a day again updates its row and adds no line twice. Times are unix milliseconds.
-- Keep in step with migrations/sqlite/0013_reconciliation.sql.

CREATE TABLE reconciliations (
    id               BIGSERIAL PRIMARY KEY,
    channel          TEXT   NOT NULL CHECK (channel IN ('wechat', 'alipay')),
    -- The merchant account the bill is of: WeChat Pay's mchid, Alipay's app id.
    account          TEXT   NOT NULL,
    -- The bill's day, YYYY-MM-DD in China time.
    bill_date        TEXT   NOT NULL,
    -- running, then complete or failed (a bill not yet published, corrupt or truncated, a hash
    -- mismatch): only a complete row is a report.
    status           TEXT   NOT NULL CHECK (status IN ('running', 'complete', 'failed')),
    started_at       BIGINT NOT NULL,
    finished_at      BIGINT,
    error            TEXT,
    -- What the bill lists, all of it (paygate's and others' trades).
    payments         BIGINT NOT NULL DEFAULT 0,
    payments_fen     BIGINT NOT NULL DEFAULT 0,
    refunds          BIGINT NOT NULL DEFAULT 0,
    refunds_fen      BIGINT NOT NULL DEFAULT 0,
    -- Fees the channel kept on payments, less those it gave back with refunds.
    fees_fen         BIGINT NOT NULL DEFAULT 0,
    -- Lines whose number, amount and status agree with paygate's.
    matched          BIGINT NOT NULL DEFAULT 0,
    UNIQUE (channel, account, bill_date)
);

CREATE TABLE reconciliation_discrepancies (
    id                BIGSERIAL PRIMARY KEY,
    reconciliation_id BIGINT NOT NULL REFERENCES reconciliations (id),
    -- paid_upstream_only, paid_here_only, missing_from_bill, amount_mismatch, other_payment,
    -- not_ours, refund_succeeded_upstream_only, refund_outcome_mismatch, refund_amount_mismatch,
    -- refund_not_ours.
    kind              TEXT   NOT NULL,
    -- The upstream order's or refund's number, as the bill (or paygate) has it.
    upstream_no       TEXT   NOT NULL,
    order_id          BIGINT REFERENCES orders (id),
    refund_id         BIGINT REFERENCES refunds (id),
    billed_fen        BIGINT,
    ours_fen          BIGINT,
    -- repaired (recorded through the upstream-news path), anomaly (left to a person), listed
    -- (another system's trade), or retry (the channel could not be asked; the next run asks again).
    resolution        TEXT   NOT NULL CHECK (resolution IN ('repaired', 'anomaly', 'listed', 'retry')),
    detail            TEXT   NOT NULL,
    at                BIGINT NOT NULL,
    UNIQUE (reconciliation_id, kind, upstream_no)
);

CREATE INDEX reconciliation_discrepancies_order_id ON reconciliation_discrepancies (order_id)
    WHERE order_id IS NOT NULL;

-- The channel's fee as its bill states it, once a bill has listed the payment (the fee the channel
-- kept) or the refund (the part of the fee it gave back): what each site's statement attributes
-- to its orders. NULL until a bill has listed it.
ALTER TABLE orders ADD COLUMN channel_fee_fen BIGINT;
ALTER TABLE refunds ADD COLUMN channel_fee_returned_fen BIGINT;
