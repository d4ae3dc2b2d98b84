-- Anomalies seen to by a person: when, by whom (their email as it was; the audit log has the
-- rest) and their note. An anomaly that happens again afterwards is open again (its row's
-- acknowledgement is cleared by the repeat). The dashboard counts the open ones, by this index.
-- Keep in step with migrations/sqlite/0011_anomaly_acknowledgement.sql.

ALTER TABLE anomalies ADD COLUMN acknowledged_at BIGINT;
ALTER TABLE anomalies ADD COLUMN acknowledged_by TEXT;
ALTER TABLE anomalies ADD COLUMN ack_note TEXT;

CREATE INDEX anomalies_open ON anomalies (last_at) WHERE acknowledged_at IS NULL;
