-- A reconciliation's progress while it reads its bill (PostgreSQL): the lines read so far,
-- written every few thousand lines, and how many the bill holds when it says so before its end
-- (Alipay's summary entry; WeChat Pay's bill says it only in its last row). A complete run has
-- both at the bill's count. Keep in step with migrations/sqlite/0016_reconciliation_progress.sql.

ALTER TABLE reconciliations ADD COLUMN lines_read BIGINT NOT NULL DEFAULT 0;
ALTER TABLE reconciliations ADD COLUMN lines_total BIGINT;
