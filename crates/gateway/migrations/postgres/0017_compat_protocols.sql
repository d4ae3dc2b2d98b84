-- The other payment protocols a site may speak (EPay, weidoufu, Jeepay).
-- Keep in step with migrations/sqlite/0017_compat_protocols.sql.

-- An order made through one of them: which (NULL for paygate's own API), and what of its request
-- the notification needs that the order has no column for (a JSON object of strings).
ALTER TABLE orders ADD COLUMN protocol TEXT;
ALTER TABLE orders ADD COLUMN protocol_data TEXT;

-- A site's keys for one protocol, off until the operator enables it. Separate from the site's AK/SK:
-- the protocols sign with MD5 and send keys in the clear, so a leak of one must not expose the other.
CREATE TABLE compat_keys (
    site_id        TEXT    NOT NULL REFERENCES sites (id),
    protocol       TEXT    NOT NULL CHECK (protocol IN ('epay', 'weidoufu', 'jeepay')),
    -- EPay's numeric pid, weidoufu's access_key, Jeepay's mchNo: what a request names the site by.
    key_id         TEXT    NOT NULL,
    -- Jeepay's appId; NULL for the others.
    app_id         TEXT,
    -- The key, sealed under the master key and bound to the site and protocol; never in clear.
    secret_sealed  BYTEA   NOT NULL,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL,
    PRIMARY KEY (site_id, protocol),
    UNIQUE (protocol, key_id)
);
