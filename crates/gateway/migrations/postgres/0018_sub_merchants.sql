-- Service-provider mode: a site served as a WeChat Pay sub-merchant (特约商户) of the operator.
-- Keep in step with migrations/sqlite/0018_sub_merchants.sql.

-- The site's sub-merchant number and, optionally, its own appid (its mini-program), set by the
-- operator. NULL: the site is paid to the operator's direct merchant.
ALTER TABLE sites ADD COLUMN wechat_sub_mchid TEXT;
ALTER TABLE sites ADD COLUMN wechat_sub_appid TEXT;

-- The sub-merchant an order was made for, copied from its site when the order is stored: every
-- later call about the order (query, close, refund) and every callback is judged by these, not by
-- what the site says now.
ALTER TABLE orders ADD COLUMN wechat_sub_mchid TEXT;
ALTER TABLE orders ADD COLUMN wechat_sub_appid TEXT;
