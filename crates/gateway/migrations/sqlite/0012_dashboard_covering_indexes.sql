-- The console dashboard's sums (SQLite), answered from indexes alone: each index below holds every
-- column its sum reads, so a month of a million orders is added up without visiting the orders.
-- They replace 0010's narrower indexes of the same purpose; the order search's keyset paging still
-- walks (created_at, id) and (site_id, created_at, id), now with paid_at beside them.
-- Keep in step with migrations/postgres/0012_dashboard_covering_indexes.sql.

-- What was paid per day, by site and channel; and a site's own.
DROP INDEX orders_paid_at;
CREATE INDEX orders_paid_at ON orders (paid_at, site_id, channel, amount_fen)
    WHERE paid_at IS NOT NULL;
CREATE INDEX orders_site_paid_at ON orders (site_id, paid_at, channel, amount_fen)
    WHERE paid_at IS NOT NULL;

-- How many of the orders created each day were paid.
DROP INDEX orders_created_at;
CREATE INDEX orders_created_at ON orders (created_at, id, paid_at);
DROP INDEX orders_site_created_at;
CREATE INDEX orders_site_created_at ON orders (site_id, created_at, id, paid_at);

-- What was refunded per day, in all and by site.
DROP INDEX refunds_succeeded_at;
CREATE INDEX refunds_succeeded_at ON refunds (succeeded_at, site_id, amount_fen)
    WHERE status = 'succeeded';
CREATE INDEX refunds_site_succeeded_at ON refunds (site_id, succeeded_at, amount_fen)
    WHERE status = 'succeeded';

-- Notifications that failed for good, in all and by site.
CREATE INDEX notification_events_failed ON notification_events (site_id)
    WHERE status = 'failed';
