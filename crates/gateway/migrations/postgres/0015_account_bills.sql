-- What each day's account bill says moved on the merchant's balance (WeChat Pay's fund-flow bill of
-- the basic account, Alipay's signcustomer bill), beside what the trade bill lists. NULL in a
-- report written before paygate read account bills; a complete run writes them all. Where the two
-- bills disagree, reconciliation_discrepancies has a row of kind funds_mismatch.
-- Keep in step with migrations/sqlite/0015_account_bills.sql.

-- The bill's rows, what came in and what went out (zero or more) in all.
ALTER TABLE reconciliations ADD COLUMN funds_movements BIGINT;
ALTER TABLE reconciliations ADD COLUMN funds_income_fen BIGINT;
ALTER TABLE reconciliations ADD COLUMN funds_expense_fen BIGINT;
-- Of those, the movements of the trades the trade bill lists: payments in, refunds out, and fees
-- taken less fees given back. The rest (withdrawals, transfers, others' trades) is neither.
ALTER TABLE reconciliations ADD COLUMN funds_payments_fen BIGINT;
ALTER TABLE reconciliations ADD COLUMN funds_refunds_fen BIGINT;
ALTER TABLE reconciliations ADD COLUMN funds_fees_fen BIGINT;
