-- Where the payer's browser goes once the order is paid (the checkout page's redirect, and
-- Alipay's WAP and PC page payments). Optional, as before this column every order had none.
-- Keep in step with migrations/postgres/0007_return_url.sql.
ALTER TABLE orders ADD COLUMN return_url TEXT;
