-- Service-provider mode: a site served as a WeChat Pay sub-merchant (特约商户) of the operator, or
-- as an Alipay merchant that authorised the operator's app (第三方应用授权).
-- Keep in step with migrations/postgres/0018_sub_merchants.sql.

-- The site's sub-merchant number and, optionally, its own appid (its mini-program), set by the
-- operator. NULL: the site is paid to the operator's direct merchant.
ALTER TABLE sites ADD COLUMN wechat_sub_mchid TEXT;
ALTER TABLE sites ADD COLUMN wechat_sub_appid TEXT;
-- The Alipay merchant account (seller_id, 2088…) that authorised the operator's app, and its
-- app_auth_token, sealed under the master key and bound to the site; both or neither.
ALTER TABLE sites ADD COLUMN alipay_seller_id TEXT;
ALTER TABLE sites ADD COLUMN alipay_app_auth_token_sealed BLOB;

-- The merchant an order was made for, copied from its site when the order is stored: every later
-- call about the order (query, close, refund) and every callback is judged by these, not by what
-- the site says now. An Alipay order's calls carry the site's token for that same account.
ALTER TABLE orders ADD COLUMN wechat_sub_mchid TEXT;
ALTER TABLE orders ADD COLUMN wechat_sub_appid TEXT;
ALTER TABLE orders ADD COLUMN alipay_seller_id TEXT;
