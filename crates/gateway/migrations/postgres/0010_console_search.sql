-- The console's order search and dashboard (PostgreSQL): orders listed newest first, on their own
-- or by site or status, one page after another by (created_at, id) without OFFSET, so that a page
-- deep in a million orders costs what the first one does; the lookups by the numbers an operator
-- pastes; and the sums of what was paid and refunded in a period. Keep in step with
-- migrations/sqlite/0010_console_search.sql.

CREATE INDEX orders_created_at ON orders (created_at, id);
CREATE INDEX orders_site_created_at ON orders (site_id, created_at, id);
CREATE INDEX orders_status_created_at ON orders (status, created_at, id);

-- An operator searches by a site's order number without knowing the site; UNIQUE (site_id,
-- out_trade_no) cannot serve that.
CREATE INDEX orders_out_trade_no ON orders (out_trade_no);
-- The channel's numbers of a payment (WeChat Pay's transaction_id, Alipay's trade_no).
CREATE INDEX orders_transaction_id ON orders (transaction_id) WHERE transaction_id IS NOT NULL;
CREATE INDEX orders_trade_no ON orders (trade_no) WHERE trade_no IS NOT NULL;

-- What was paid, and refunded, in a period.
CREATE INDEX orders_paid_at ON orders (paid_at) WHERE paid_at IS NOT NULL;
CREATE INDEX refunds_succeeded_at ON refunds (succeeded_at) WHERE succeeded_at IS NOT NULL;

-- An order's anomalies, on its page.
CREATE INDEX anomalies_order_id ON anomalies (order_id) WHERE order_id IS NOT NULL;
