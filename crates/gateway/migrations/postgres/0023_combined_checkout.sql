-- The payer's checkout page of a combined order (合单): an unguessable token of its own, as an
-- order's checkout_token. Combined orders made before this have none until they are next read,
-- when paygate gives them one (a token needs randomness the database cannot make portably).
-- Keep in step with migrations/sqlite/0023_combined_checkout.sql.

ALTER TABLE combined_orders ADD COLUMN checkout_token TEXT;
CREATE UNIQUE INDEX combined_orders_checkout_token ON combined_orders (checkout_token)
    WHERE checkout_token IS NOT NULL;
