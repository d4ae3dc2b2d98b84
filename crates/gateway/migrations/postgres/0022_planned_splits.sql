-- Splits paygate makes itself after payment (PostgreSQL): the operator's fee taken by profit sharing
-- from a site served as a sub-merchant, and the receivers a site named when it made the order.
-- Keep in step with migrations/sqlite/0022_planned_splits.sql.

-- The receivers the operator has set up for a site, with the real name the channel needs to add
-- them (WeChat Pay requires it for a MERCHANT_ID). An order may name only these in its plan.
CREATE TABLE site_receivers (
    site_id     TEXT    NOT NULL REFERENCES sites (id),
    kind        TEXT    NOT NULL
        CHECK (kind IN ('MERCHANT_ID', 'PERSONAL_OPENID', 'userId', 'loginName')),
    account     TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (site_id, kind, account)
);

-- What paygate splits once the order is paid, as JSON (receivers with their amounts, the
-- operator's fee and its receiver, whether to unfreeze the rest); NULL: nothing. Fixed when the
-- order is made, so a later change of the site's settings changes no order's plan.
ALTER TABLE orders ADD COLUMN split_plan TEXT;

-- Who asked for a split: the site through the API ('site'), the site's order plan ('ledger'),
-- or the operator's fee ('fee', booked as the fee, not as a share of the site's money).
ALTER TABLE splits ADD COLUMN purpose TEXT NOT NULL DEFAULT 'site'
    CHECK (purpose IN ('site', 'ledger', 'fee'));

-- 1: the channel unfreezes what the order has left after this split (WeChat Pay
-- unfreeze_unsplit, Alipay royalty_finish); no later split of the order is possible.
ALTER TABLE splits ADD COLUMN unfreeze_rest BIGINT NOT NULL DEFAULT 0
    CHECK (unfreeze_rest IN (0, 1));

-- A site's statement of a day sums its ledger entries booked that day.
CREATE INDEX ledger_entries_site_at ON ledger_entries (site_id, at);
